//! Ad groups and ads over GAQL: structure from unsegmented queries (so idle objects are listed
//! too and ad text is not repeated on every daily row), daily metrics from `FROM ad_group` and
//! `FROM ad_group_ad` with `segments.date` (Google leaves out rows whose metrics are all zero).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{GoogleAds, campaign_status, customer_id, merge_actions, numeric_id};
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{
    AccountRef, Ad, AdGroup, CampaignStatus, ConversionTypes, Credentials, DEFAULT_TYPE, Flight,
    Level, LevelMetrics, TypeFigure,
};
use crate::platforms::wire::{need, need_decimal, need_int, need_text, text};
use crate::types::{Currency, Money};

const P: &str = "Google Ads";

/// Google has no single serving-status field for ad groups and ads: an enabled object serves
/// only when its parents are enabled too, so the state is computed the way the Google Ads UI
/// words it (ELIGIBLE, or the first parent that stops it).
fn serving(own: &str, parents: &[(&str, &str)]) -> String {
    if own != "ENABLED" {
        return own.to_string();
    }
    for (what, st) in parents {
        if *st != "ENABLED" {
            return format!("{what}_{st}");
        }
    }
    "ELIGIBLE".to_string()
}

/// "2026-04-10 23:59:59" in the customer's time zone (v23+ `start_date_time` and
/// `end_date_time`, which replaced `start_date`/`end_date`), as an instant.
fn customer_time(v: Option<&Value>, tz: Option<chrono_tz::Tz>) -> Option<DateTime<Utc>> {
    let s = text(v)?;
    let local = NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDate::parse_from_str(&s, "%Y-%m-%d").map(|d| d.and_time(NaiveTime::MIN)))
        .ok()?;
    // Older versions wrote "no end" as 2037-12-30.
    if local.year() >= 2037 {
        return None;
    }
    tz?.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// A campaign row's flight figures (the campaign listing selects them). A total budget is a
/// budget whose period is `CUSTOM_PERIOD`, with `total_amount_micros` as the amount; Google
/// reports no creation time for a campaign, and no figure of what is left of a total budget.
/// UNVERIFIED against a live account: whether `amount_micros` is absent on such a budget (the
/// daily budget is read from it as before).
pub(super) fn campaign_flight(
    r: &Value,
    shared: bool,
    currency: Currency,
) -> Result<Flight, PlatformError> {
    let c = r.get("campaign");
    let b = r.get("campaignBudget");
    let custom = b.and_then(|b| b.get("period")).and_then(Value::as_str) == Some("CUSTOM_PERIOD");
    let total = match b.and_then(|b| b.get("totalAmountMicros")) {
        Some(v) if custom && !shared && !v.is_null() => {
            let micros = crate::platforms::wire::int(Some(v), "campaignBudget.totalAmountMicros")?;
            (micros > 0).then(|| Money::new(micros, currency))
        }
        _ => None,
    };
    let tz = r
        .get("customer")
        .and_then(|c| c.get("timeZone"))
        .and_then(Value::as_str)
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok());
    Ok(Flight {
        lifetime_budget: total,
        budget_remaining: None,
        starts_at: customer_time(c.and_then(|c| c.get("startDateTime")), tz),
        ends_at: customer_time(c.and_then(|c| c.get("endDateTime")), tz),
        created_at: None,
    })
}

fn campaign_filter(campaign_id: Option<&str>) -> Result<String, PlatformError> {
    Ok(match campaign_id {
        Some(c) => format!(" WHERE campaign.id = {}", numeric_id(c, "campaign")?),
        None => String::new(),
    })
}

impl GoogleAds {
    pub(crate) async fn list_ad_groups(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: Option<&str>,
    ) -> Result<Vec<AdGroup>, PlatformError> {
        let cid = customer_id(&account.id)?;
        // Removed ad groups are listed too (status REMOVED), so a removal is seen as such.
        let query = format!(
            "SELECT campaign.id, campaign.status, ad_group.id, ad_group.name, ad_group.status, \
             ad_group.type, ad_group.cpc_bid_micros FROM ad_group{}",
            campaign_filter(campaign_id)?
        );
        let rows = self.search(creds, &cid, &query).await?;
        rows.iter()
            .map(|r| ad_group_of(r, account.currency))
            .collect()
    }

    pub(crate) async fn list_ads(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: Option<&str>,
    ) -> Result<Vec<Ad>, PlatformError> {
        let cid = customer_id(&account.id)?;
        let query = format!(
            "SELECT campaign.id, campaign.status, ad_group.id, ad_group.status, \
             ad_group_ad.status, ad_group_ad.ad.id, ad_group_ad.ad.name, ad_group_ad.ad.type, \
             ad_group_ad.ad.final_urls, ad_group_ad.ad.responsive_search_ad.headlines, \
             ad_group_ad.ad.responsive_search_ad.descriptions, \
             ad_group_ad.policy_summary.approval_status FROM ad_group_ad{}",
            campaign_filter(campaign_id)?
        );
        let rows = self.search(creds, &cid, &query).await?;
        rows.iter().map(ad_of).collect()
    }

    pub(crate) async fn level_metrics(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<LevelMetrics>, PlatformError> {
        let cid = customer_id(&account.id)?;
        let (ids, resource) = match level {
            Level::Ad => (
                "campaign.id, ad_group.id, ad_group_ad.ad.id, ad_group_ad.ad.name",
                "ad_group_ad",
            ),
            _ => ("campaign.id, ad_group.id, ad_group.name", "ad_group"),
        };
        // No status filter: removed objects keep reporting their past days.
        let range = format!(
            "FROM {resource} WHERE segments.date BETWEEN '{}' AND '{}'",
            from.format("%Y-%m-%d"),
            to.format("%Y-%m-%d")
        );
        let query = format!(
            "SELECT {ids}, segments.date, metrics.impressions, metrics.clicks, \
             metrics.interactions, metrics.cost_micros, metrics.conversions, \
             metrics.conversions_value {range}"
        );
        let rows = self.search(creds, &cid, &query).await?;
        let mut out: Vec<LevelMetrics> = rows
            .iter()
            .map(|r| metrics_of(r, level, account.currency))
            .collect::<Result<_, _>>()?;
        // Per conversion action, in a query of its own as at campaign level.
        let by_action = self
            .search(
                creds,
                &cid,
                &format!(
                    "SELECT {ids}, segments.date, segments.conversion_action_name, \
                     segments.conversion_action_category, metrics.all_conversions, \
                     metrics.all_conversions_value {range}"
                ),
            )
            .await?;
        let object_of = |r: &Value| match level {
            Level::Ad => need_text(r, "adGroupAd.ad.id", P),
            _ => need_text(r, "adGroup.id", P),
        };
        merge_actions(
            &mut out,
            &by_action,
            object_of,
            |m| (m.object_id().to_string(), m.date),
            |m| &mut m.conversion_types,
            |r, date| {
                Ok(LevelMetrics {
                    level,
                    campaign_id: need_text(r, "campaign.id", P)?,
                    ad_group_id: Some(need_text(r, "adGroup.id", P)?),
                    ad_id: match level {
                        Level::Ad => Some(object_of(r)?),
                        _ => None,
                    },
                    name: String::new(),
                    date,
                    impressions: 0,
                    clicks: 0,
                    all_clicks: Some(0),
                    spend: Money::new(0, account.currency),
                    conversions: Decimal::ZERO,
                    revenue: Money::new(0, account.currency),
                    conversion_types: ConversionTypes::new(),
                })
            },
        )?;
        Ok(out)
    }
}

/// One row of `FROM ad_group` (campaign.status, ad_group.status, ad_group.cpc_bid_micros
/// selected) as an ad group.
pub(super) fn ad_group_of(r: &Value, currency: Currency) -> Result<AdGroup, PlatformError> {
    let own = need_text(r, "adGroup.status", P)?;
    let camp = need_text(r, "campaign.status", P)?;
    let bid = match r.get("adGroup").and_then(|g| g.get("cpcBidMicros")) {
        Some(v) if !v.is_null() => Some(Money::new(
            need_int(r, "adGroup.cpcBidMicros", P)?,
            currency,
        )),
        _ => None,
    };
    Ok(AdGroup {
        id: need_text(r, "adGroup.id", P)?,
        campaign_id: need_text(r, "campaign.id", P)?,
        name: need_text(r, "adGroup.name", P)?,
        status: campaign_status(Some(&Value::String(own.clone()))),
        delivery: Some(serving(&own, &[("CAMPAIGN", &camp)])),
        // Budgets live on the campaign's CampaignBudget in Google Ads.
        budget: None,
        bid_strategy: bid.map(|_| "MANUAL_CPC".to_string()),
        bid,
        starts_at: None,
        ends_at: None,
        created_at: None,
    })
}

fn texts(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| text(a.get("text")))
        .collect()
}

fn ad_of(r: &Value) -> Result<Ad, PlatformError> {
    let own = need_text(r, "adGroupAd.status", P)?;
    let group = need_text(r, "adGroup.status", P)?;
    let camp = need_text(r, "campaign.status", P)?;
    let ad = need(r, "adGroupAd.ad", P)?;
    let approval = ad_approval(r);
    let mut delivery = serving(&own, &[("AD_GROUP", &group), ("CAMPAIGN", &camp)]);
    if delivery == "ELIGIBLE" && approval.as_deref() == Some("DISAPPROVED") {
        delivery = "DISAPPROVED".to_string();
    }
    let rsa = ad.get("responsiveSearchAd");
    let headlines = texts(rsa.and_then(|x| x.get("headlines")));
    let id = need_text(r, "adGroupAd.ad.id", P)?;
    Ok(Ad {
        // RSAs usually have no name of their own; the first headline is what the UI shows.
        name: text(ad.get("name"))
            .or_else(|| headlines.first().cloned())
            .unwrap_or_else(|| format!("Ad {id}")),
        id,
        ad_group_id: need_text(r, "adGroup.id", P)?,
        campaign_id: need_text(r, "campaign.id", P)?,
        status: match own.as_str() {
            "ENABLED" => CampaignStatus::Active,
            "REMOVED" => CampaignStatus::Removed,
            _ => CampaignStatus::Paused,
        },
        delivery: Some(delivery),
        ad_type: text(ad.get("type")),
        headlines,
        descriptions: texts(rsa.and_then(|x| x.get("descriptions"))),
        primary_text: None,
        final_url: ad
            .get("finalUrls")
            .and_then(Value::as_array)
            .and_then(|u| u.first())
            .and_then(|u| text(Some(u))),
        created_at: None,
    })
}

fn ad_approval(r: &Value) -> Option<String> {
    text(
        r.get("adGroupAd")
            .and_then(|a| a.get("policySummary"))
            .and_then(|p| p.get("approvalStatus")),
    )
}

fn metrics_of(r: &Value, level: Level, currency: Currency) -> Result<LevelMetrics, PlatformError> {
    let date = need_text(r, "segments.date", P)?;
    let date = date.parse::<NaiveDate>().map_err(|_| {
        PlatformError::unexpected(format!(
            "{P} sent segments.date \"{date}\" that is not a date"
        ))
    })?;
    let revenue = need_decimal(r, "metrics.conversionsValue", P)?;
    let conversions = need_decimal(r, "metrics.conversions", P)?;
    let mut conversion_types = ConversionTypes::new();
    conversion_types.insert(
        DEFAULT_TYPE.to_string(),
        TypeFigure {
            count: conversions,
            value: revenue,
            category: None,
        },
    );
    let (ad_id, name) = match level {
        Level::Ad => (
            Some(need_text(r, "adGroupAd.ad.id", P)?),
            text(
                r.get("adGroupAd")
                    .and_then(|a| a.get("ad"))
                    .and_then(|a| a.get("name")),
            ),
        ),
        _ => (None, text(r.get("adGroup").and_then(|g| g.get("name")))),
    };
    Ok(LevelMetrics {
        level,
        campaign_id: need_text(r, "campaign.id", P)?,
        ad_group_id: Some(need_text(r, "adGroup.id", P)?),
        ad_id,
        name: name.unwrap_or_default(),
        date,
        impressions: need_int(r, "metrics.impressions", P)?,
        clicks: need_int(r, "metrics.clicks", P)?,
        // Interactions, as at campaign level (the closest figure to Meta's clicks (all)).
        all_clicks: Some(need_int(r, "metrics.interactions", P)?),
        spend: Money::new(need_int(r, "metrics.costMicros", P)?, currency),
        conversions,
        revenue: Money::from_major(revenue, currency).ok_or_else(|| {
            PlatformError::unexpected(format!("{P} conversions value out of range"))
        })?,
        conversion_types,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_row_without_its_clicks_is_an_error_naming_platform_and_field() {
        let row = json!({
            "campaign": {"id": "1"}, "adGroup": {"id": "2", "name": "x"},
            "segments": {"date": "2026-01-01"},
            "metrics": {"impressions": "5", "costMicros": "10000", "conversions": 0.0,
                        "conversionsValue": 0.0}
        });
        let e =
            metrics_of(&row, Level::AdGroup, "USD".parse().expect("usd")).expect_err("no clicks");
        assert!(e.message().contains("Google Ads"), "{}", e.message());
        assert!(e.message().contains("metrics.clicks"), "{}", e.message());
    }

    #[test]
    fn serving_state_names_the_parent_that_stops_delivery() {
        assert_eq!(serving("ENABLED", &[("CAMPAIGN", "ENABLED")]), "ELIGIBLE");
        assert_eq!(
            serving("ENABLED", &[("CAMPAIGN", "PAUSED")]),
            "CAMPAIGN_PAUSED"
        );
        assert_eq!(serving("PAUSED", &[("CAMPAIGN", "PAUSED")]), "PAUSED");
        assert_eq!(
            serving(
                "ENABLED",
                &[("AD_GROUP", "PAUSED"), ("CAMPAIGN", "ENABLED")]
            ),
            "AD_GROUP_PAUSED"
        );
    }
}
