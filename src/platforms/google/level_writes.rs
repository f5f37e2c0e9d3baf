//! Changes below the campaign: `adGroups:mutate` (status, `cpcBidMicros`) and
//! `adGroupAds:mutate` (status), each an update with its `updateMask`, and one ad group read
//! back by id. Google Ads has no ad-group budgets (the budget is the campaign's
//! CampaignBudget), so a budget change there is refused before any call.

use serde_json::json;

use super::levels::ad_group_of;
use super::{GoogleAds, customer_id, numeric_id};
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{AccountRef, AdGroup, CampaignStatus, Credentials, LevelBudget};
use crate::platforms::whole_minor_units;
use crate::types::Money;

fn status_word(status: CampaignStatus) -> &'static str {
    match status {
        CampaignStatus::Active => "ENABLED",
        _ => "PAUSED",
    }
}

impl GoogleAds {
    pub(crate) async fn ad_group(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
    ) -> Result<AdGroup, PlatformError> {
        let cid = customer_id(&account.id)?;
        let group = numeric_id(ad_group_id, "ad group")?;
        let query = format!(
            "SELECT campaign.id, campaign.status, ad_group.id, ad_group.name, ad_group.status, \
             ad_group.type, ad_group.cpc_bid_micros FROM ad_group WHERE ad_group.id = {group}"
        );
        let rows = self.search(creds, &cid, &query).await?;
        match rows.first() {
            Some(r) => ad_group_of(r, account.currency),
            None => Err(PlatformError::invalid(format!(
                "Google Ads has no ad group {group} in account {cid}"
            ))),
        }
    }

    pub(crate) async fn set_ad_group_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        let cid = customer_id(&account.id)?;
        let group = numeric_id(ad_group_id, "ad group")?;
        let op = json!({
            "update": {
                "resourceName": format!("customers/{cid}/adGroups/{group}"),
                "status": status_word(status),
            },
            "updateMask": "status",
        });
        self.mutate(creds, &cid, "adGroups", vec![op], true).await?;
        Ok(())
    }

    /// An ad is `adGroupAds/{ad group id}~{ad id}`: its id is unique only in its ad group.
    pub(crate) async fn set_ad_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        ad_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        let cid = customer_id(&account.id)?;
        let group = numeric_id(ad_group_id, "ad group")?;
        let ad = numeric_id(ad_id, "ad")?;
        let op = json!({
            "update": {
                "resourceName": format!("customers/{cid}/adGroupAds/{group}~{ad}"),
                "status": status_word(status),
            },
            "updateMask": "status",
        });
        self.mutate(creds, &cid, "adGroupAds", vec![op], true)
            .await?;
        Ok(())
    }

    pub(crate) async fn set_ad_group_budget(
        &self,
        _creds: &Credentials,
        _account: &AccountRef,
        _ad_group_id: &str,
        _budget: LevelBudget,
    ) -> Result<(), PlatformError> {
        Err(PlatformError::invalid(
            "Google Ads ad groups have no budget of their own: the campaign's budget pays for \
             all of its ad groups, so change it on the campaign",
        ))
    }

    /// The ad group's default max CPC (honoured under Manual CPC), in micros that are whole
    /// minor units of the currency, as Google requires.
    pub(crate) async fn set_ad_group_bid(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        bid: Money,
    ) -> Result<(), PlatformError> {
        let cid = customer_id(&account.id)?;
        let group = numeric_id(ad_group_id, "ad group")?;
        whole_minor_units(&bid, "bid")?;
        let op = json!({
            "update": {
                "resourceName": format!("customers/{cid}/adGroups/{group}"),
                "cpcBidMicros": bid.micros.to_string(),
            },
            "updateMask": "cpcBidMicros",
        });
        self.mutate(creds, &cid, "adGroups", vec![op], true).await?;
        Ok(())
    }
}
