//! Changes below the campaign: `POST /{adset_id}` and `POST /{ad_id}` with `status`,
//! `daily_budget` or `lifetime_budget`, and `bid_amount` (amounts in Meta's unit for the
//! currency, see `meta_offset`), and one ad set read back by id.
//!
//! Meta refuses a budget on an ad set whose campaign has the budget (Advantage campaign
//! budget) and a bid amount under a strategy without one; those refusals come back in Meta's
//! own words (`error_user_msg`) through `errors::classify`.

use reqwest::Method;
use serde_json::Value;

use super::levels::{ADSET_FIELDS, adset_of};
use super::{MetaAds, Params, account_digits, numeric, p};
use crate::platforms::errors::PlatformError;
use crate::platforms::meta_offset;
use crate::platforms::model::{
    AccountRef, AdGroup, BudgetPeriod, CampaignStatus, Credentials, LevelBudget,
};
use crate::types::Money;

fn status_word(status: CampaignStatus) -> &'static str {
    match status {
        CampaignStatus::Active => "ACTIVE",
        _ => "PAUSED",
    }
}

/// An amount in Meta's unit, refused (never rounded) when it is not a whole number of them:
/// a person's 12.345 must not quietly become 12.35.
fn units(money: Money, what: &str) -> Result<i64, PlatformError> {
    let per = meta_offset::micros_per_unit(money.currency);
    if money.micros <= 0 {
        return Err(PlatformError::invalid(format!(
            "a {what} must be more than zero"
        )));
    }
    if money.micros % per != 0 {
        return Err(PlatformError::invalid(format!(
            "Meta takes {what}s in whole {} of {}; {} is not one",
            if meta_offset::offset(money.currency) == 1 {
                "units"
            } else {
                "cents"
            },
            money.currency,
            money.to_major()
        )));
    }
    Ok(money.micros / per)
}

impl MetaAds {
    /// `POST /{id}` on an ad set or ad; `what` names it in errors.
    async fn update_object(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        object_id: &str,
        what: &str,
        params: Params,
    ) -> Result<(), PlatformError> {
        let id = account_digits(&account.id)?;
        let object = numeric(object_id, what)?;
        let v = self
            .request(
                Some(&creds.access_token),
                &id,
                Method::POST,
                &self.graph(&object),
                &params,
                true,
            )
            .await?;
        if v.get("success").and_then(Value::as_bool) == Some(false) {
            return Err(PlatformError::unexpected(format!(
                "Meta did not apply the change to {what} {object}"
            )));
        }
        Ok(())
    }

    pub(crate) async fn ad_group(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
    ) -> Result<AdGroup, PlatformError> {
        let id = account_digits(&account.id)?;
        let adset = numeric(ad_group_id, "ad set")?;
        let v = self
            .request(
                Some(&creds.access_token),
                &id,
                Method::GET,
                &self.graph(&adset),
                &vec![p("fields", ADSET_FIELDS)],
                true,
            )
            .await?;
        adset_of(&v, account.currency)
    }

    pub(crate) async fn set_ad_group_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        self.update_object(
            creds,
            account,
            ad_group_id,
            "ad set",
            vec![p("status", status_word(status))],
        )
        .await
    }

    pub(crate) async fn set_ad_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        _ad_group_id: &str,
        ad_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        self.update_object(
            creds,
            account,
            ad_id,
            "ad",
            vec![p("status", status_word(status))],
        )
        .await
    }

    pub(crate) async fn set_ad_group_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        budget: LevelBudget,
    ) -> Result<(), PlatformError> {
        let key = match budget.period {
            BudgetPeriod::Daily => "daily_budget",
            BudgetPeriod::Lifetime => "lifetime_budget",
        };
        let amount = units(budget.amount, "budget")?;
        self.update_object(
            creds,
            account,
            ad_group_id,
            "ad set",
            vec![p(key, amount.to_string())],
        )
        .await
    }

    pub(crate) async fn set_ad_group_bid(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        bid: Money,
    ) -> Result<(), PlatformError> {
        let amount = units(bid, "bid")?;
        self.update_object(
            creds,
            account,
            ad_group_id,
            "ad set",
            vec![p("bid_amount", amount.to_string())],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_go_out_in_metas_unit_and_are_never_rounded() {
        let usd = "USD".parse().expect("usd");
        let jpy = "JPY".parse().expect("jpy");
        assert_eq!(
            units(Money::new(75_000_000, usd), "budget").ok(),
            Some(7500)
        );
        assert_eq!(
            units(Money::new(2_500_000_000, jpy), "bid").ok(),
            Some(2500)
        );
        assert!(units(Money::new(12_345_000, usd), "budget").is_err());
        assert!(units(Money::new(0, usd), "bid").is_err());
    }
}
