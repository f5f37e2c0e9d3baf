//! Changes below the campaign: `adgroup/status/update/` and `ad/status/update/`
//! (`operation_status`), `adgroup/budget/update/` (the ad group's budget in its own mode, daily
//! or total) and `adgroup/update/` for the bid (`bid_price` for CPC/CPM billing,
//! `conversion_bid_price` for oCPM, as TikTok has no bid endpoint of its own). Amounts are
//! major units of the account currency, written from the exact decimal.
//!
//! TikTok refuses a budget on an ad group whose campaign has budget optimisation on and a bid
//! on an ad group without a custom bid; those refusals come back in TikTok's words.

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::levels::{ADGROUP_FIELDS, adgroup_of};
use super::{TiktokAds, body_with_number, json_list, numeric, p};
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{AccountRef, AdGroup, CampaignStatus, Credentials, LevelBudget};
use crate::platforms::whole_minor_units;
use crate::types::Money;

fn switch(status: CampaignStatus) -> &'static str {
    match status {
        CampaignStatus::Active => "ENABLE",
        _ => "DISABLE",
    }
}

/// `{"advertiser_id":…,"budget":[{"adgroup_id":…,"budget":75.5}]}` with the number written
/// from the decimal's text (serde_json would pass it through f64).
fn budget_body(advertiser: &str, ad_group: &str, amount: Decimal) -> String {
    format!(
        "{{\"advertiser_id\":{},\"budget\":[{{\"adgroup_id\":{},\"budget\":{}}}]}}",
        Value::String(advertiser.to_string()),
        Value::String(ad_group.to_string()),
        amount.normalize()
    )
}

impl TiktokAds {
    async fn raw_ad_group(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
    ) -> Result<Value, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let group = numeric(ad_group_id, "ad group")?;
        let params = vec![
            p("advertiser_id", id.clone()),
            p(
                "filtering",
                json!({"adgroup_ids": [group], "primary_status": "STATUS_ALL"}).to_string(),
            ),
            p("fields", json_list(ADGROUP_FIELDS)),
        ];
        let rows = self.get_pages(creds, &id, "adgroup/get/", &params).await?;
        rows.into_iter()
            .find(|r| r.get("adgroup_id").and_then(numeric_text) == Some(group.clone()))
            .ok_or_else(|| {
                PlatformError::invalid(format!(
                    "TikTok has no ad group {group} under advertiser {id}"
                ))
            })
    }

    pub(crate) async fn ad_group(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
    ) -> Result<AdGroup, PlatformError> {
        let raw = self.raw_ad_group(creds, account, ad_group_id).await?;
        adgroup_of(&raw, account.currency)
    }

    pub(crate) async fn set_ad_group_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let group = numeric(ad_group_id, "ad group")?;
        let body = json!({
            "advertiser_id": id,
            "adgroup_ids": [group],
            "operation_status": switch(status),
            "allow_partial_success": false,
        });
        self.post(creds, &id, "adgroup/status/update/", body.to_string(), true)
            .await?;
        Ok(())
    }

    pub(crate) async fn set_ad_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        _ad_group_id: &str,
        ad_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let ad = numeric(ad_id, "ad")?;
        let body = json!({
            "advertiser_id": id,
            "ad_ids": [ad],
            "operation_status": switch(status),
        });
        self.post(creds, &id, "ad/status/update/", body.to_string(), true)
            .await?;
        Ok(())
    }

    /// The budget in the ad group's own mode (a daily budget stays daily, a total one total).
    pub(crate) async fn set_ad_group_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        budget: LevelBudget,
    ) -> Result<(), PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let group = numeric(ad_group_id, "ad group")?;
        whole_minor_units(&budget.amount, "budget")?;
        let body = budget_body(&id, &group, budget.amount.to_major());
        self.post(creds, &id, "adgroup/budget/update/", body, true)
            .await?;
        Ok(())
    }

    pub(crate) async fn set_ad_group_bid(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        bid: Money,
    ) -> Result<(), PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let group = numeric(ad_group_id, "ad group")?;
        whole_minor_units(&bid, "bid")?;
        // oCPM ad groups bid per conversion; CPC/CPM/CPV ones per click, mille or view.
        let raw = self.raw_ad_group(creds, account, &group).await?;
        let key = match raw.get("billing_event").and_then(Value::as_str) {
            Some("OCPM") => "conversion_bid_price",
            _ => "bid_price",
        };
        let mut fields = Map::new();
        fields.insert("advertiser_id".into(), json!(id));
        fields.insert("adgroup_id".into(), json!(group));
        let body = body_with_number(fields, key, bid.to_major());
        self.post(creds, &id, "adgroup/update/", body, true).await?;
        Ok(())
    }
}

/// An id sent as a string or a bare number, as text (never through f64).
fn numeric_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_bodies_carry_the_exact_decimal() {
        let b = budget_body("7001", "1790002", Decimal::new(7550, 2));
        let v: Value = serde_json::from_str(&b).expect("json");
        assert_eq!(v["budget"][0]["adgroup_id"], "1790002");
        assert!(b.contains("\"budget\":75.5}"), "{b}");
    }
}
