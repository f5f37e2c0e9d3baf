//! Ad sets and ads: `GET /act_{id}/adsets`, `GET /act_{id}/ads` (creative text through
//! `creative{object_story_spec}`), and insights at `level=adset|ad`.
//!
//! Clicks at these levels are link clicks (`inline_link_clicks`); Meta's `clicks` (every click
//! on the ad, reactions and profile taps included) is kept as all clicks.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{MetaAds, account_digits, campaign_status, numeric, p, type_figures};
use crate::platforms::errors::PlatformError;
use crate::platforms::meta_offset;
use crate::platforms::model::{
    AccountRef, Ad, AdGroup, BudgetPeriod, Credentials, Flight, Level, LevelBudget, LevelMetrics,
};
use crate::platforms::wire::{int, need, need_decimal, need_int, need_text, text};
use crate::types::{Currency, Money};

const P: &str = "Meta";

/// Every effective status of an ad set except deleted (enum of the v25 SDK's `adset.py`), so
/// paused and campaign-paused ones are listed too; a deleted object is absent, and the sync
/// marks what disappeared as removed.
const ADSETS_LISTED: &str =
    r#"["ACTIVE","PAUSED","CAMPAIGN_PAUSED","IN_PROCESS","WITH_ISSUES","ARCHIVED"]"#;
/// The same for ads, whose effective status has more values (`ad.py`).
const ADS_LISTED: &str = r#"["ACTIVE","PAUSED","CAMPAIGN_PAUSED","ADSET_PAUSED","IN_PROCESS","WITH_ISSUES","ARCHIVED","DISAPPROVED","PENDING_REVIEW","PREAPPROVED","PENDING_BILLING_INFO"]"#;

pub(super) const ADSET_FIELDS: &str = "id,name,campaign_id,status,effective_status,daily_budget,\
     lifetime_budget,bid_amount,bid_strategy,start_time,end_time,created_time";

fn campaign_filtering(
    campaign_id: Option<&str>,
) -> Result<Option<(String, String)>, PlatformError> {
    Ok(match campaign_id {
        Some(c) => Some(p(
            "filtering",
            json!([{"field": "campaign.id", "operator": "IN", "value": [numeric(c, "campaign")?]}])
                .to_string(),
        )),
        None => None,
    })
}

/// "2024-03-12T15:02:47-0700" (Meta's ISO 8601 with a colon-less offset).
fn meta_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = text(v)?;
    DateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(&s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// An amount in Meta's unit for the currency (cents for USD, whole units for JPY or HUF: see
/// `meta_offset`), as a string or, in some SDK fixtures, a float; absent or 0 = not set.
fn minor_money(r: &Value, key: &str, currency: Currency) -> Result<Option<Money>, PlatformError> {
    let units = int(r.get(key), &format!("{P} {key}"))?;
    if units <= 0 {
        return Ok(None);
    }
    meta_offset::from_units(units, currency)
        .map(Some)
        .ok_or_else(|| PlatformError::unexpected(format!("{P} {key} out of range")))
}

/// A campaign's flight figures (fields of the campaign listing). `budget_remaining` is kept
/// only beside a lifetime budget: with a daily budget Meta reports what is left of today's.
pub(super) fn campaign_flight(r: &Value, currency: Currency) -> Result<Flight, PlatformError> {
    let lifetime = minor_money(r, "lifetime_budget", currency)?;
    let remaining = match lifetime {
        Some(_) => remaining_money(r, currency)?,
        None => None,
    };
    Ok(Flight {
        lifetime_budget: lifetime,
        budget_remaining: remaining,
        starts_at: meta_time(r.get("start_time")),
        ends_at: meta_time(r.get("stop_time")),
        created_at: meta_time(r.get("created_time")),
    })
}

/// `budget_remaining` in Meta's unit; 0 is a real figure here (the budget is spent), and an
/// overspent budget may come back below zero (UNVERIFIED whether Meta ever sends that).
fn remaining_money(r: &Value, currency: Currency) -> Result<Option<Money>, PlatformError> {
    if r.get("budget_remaining").is_none_or(Value::is_null) {
        return Ok(None);
    }
    let units = int(r.get("budget_remaining"), &format!("{P} budget_remaining"))?;
    meta_offset::from_units(units, currency)
        .map(Some)
        .ok_or_else(|| PlatformError::unexpected(format!("{P} budget_remaining out of range")))
}

impl MetaAds {
    pub(crate) async fn list_ad_groups(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: Option<&str>,
    ) -> Result<Vec<AdGroup>, PlatformError> {
        let id = account_digits(&account.id)?;
        let mut params = vec![
            p("fields", ADSET_FIELDS),
            p("effective_status", ADSETS_LISTED),
            p("limit", "200"),
        ];
        params.extend(campaign_filtering(campaign_id)?);
        let rows = self
            .get_all(creds, &id, &format!("act_{id}/adsets"), params)
            .await?;
        rows.iter().map(|r| adset_of(r, account.currency)).collect()
    }

    pub(crate) async fn list_ads(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: Option<&str>,
    ) -> Result<Vec<Ad>, PlatformError> {
        let id = account_digits(&account.id)?;
        let mut params = vec![
            p(
                "fields",
                "id,name,adset_id,campaign_id,status,effective_status,created_time,\
                 creative{id,object_story_spec}",
            ),
            p("effective_status", ADS_LISTED),
            p("limit", "200"),
        ];
        params.extend(campaign_filtering(campaign_id)?);
        let rows = self
            .get_all(creds, &id, &format!("act_{id}/ads"), params)
            .await?;
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
        let id = account_digits(&account.id)?;
        let range = json!({
            "since": from.format("%Y-%m-%d").to_string(),
            "until": to.format("%Y-%m-%d").to_string(),
        });
        let (meta_level, fields) = match level {
            Level::Ad => (
                "ad",
                "campaign_id,adset_id,ad_id,ad_name,impressions,clicks,inline_link_clicks,spend,actions,action_values",
            ),
            _ => (
                "adset",
                "campaign_id,adset_id,adset_name,impressions,clicks,inline_link_clicks,spend,actions,action_values",
            ),
        };
        let rows = self
            .get_all(
                creds,
                &id,
                &format!("act_{id}/insights"),
                vec![
                    p("level", meta_level),
                    p("time_increment", "1"),
                    p("time_range", range.to_string()),
                    p("fields", fields),
                    p("limit", "500"),
                ],
            )
            .await?;
        let priority = creds
            .conversion_action_types
            .as_deref()
            .unwrap_or(&self.settings().conversion_action_types);
        rows.iter()
            .map(|r| metrics_of(r, level, account.currency, priority))
            .collect()
    }
}

/// An ad set as `GET /act_{id}/adsets` or `GET /{adset_id}` gives it (the fields of
/// [`ADSET_FIELDS`]).
pub(super) fn adset_of(r: &Value, currency: Currency) -> Result<AdGroup, PlatformError> {
    let daily = minor_money(r, "daily_budget", currency)?;
    let lifetime = minor_money(r, "lifetime_budget", currency)?;
    let budget = match (daily, lifetime) {
        (Some(a), _) => Some(LevelBudget {
            period: BudgetPeriod::Daily,
            amount: a,
        }),
        (None, Some(a)) => Some(LevelBudget {
            period: BudgetPeriod::Lifetime,
            amount: a,
        }),
        (None, None) => None,
    };
    Ok(AdGroup {
        id: need_text(r, "id", P)?,
        campaign_id: need_text(r, "campaign_id", P)?,
        name: need_text(r, "name", P)?,
        status: campaign_status(Some(need(r, "status", P)?), None),
        delivery: text(r.get("effective_status")),
        budget,
        bid: minor_money(r, "bid_amount", currency)?,
        bid_strategy: text(r.get("bid_strategy")),
        starts_at: meta_time(r.get("start_time")),
        ends_at: meta_time(r.get("end_time")),
        created_at: meta_time(r.get("created_time")),
    })
}

fn ad_of(r: &Value) -> Result<Ad, PlatformError> {
    let spec = r.get("creative").and_then(|c| c.get("object_story_spec"));
    let (kind, data) = match spec {
        Some(s) if s.get("link_data").is_some() => (Some("link"), s.get("link_data")),
        Some(s) if s.get("video_data").is_some() => (Some("video"), s.get("video_data")),
        Some(_) => (Some("other"), None),
        None => (None, None),
    };
    let field = |k: &str| data.and_then(|d| text(d.get(k)));
    let headline = field("name").or_else(|| field("title"));
    let link = field("link").or_else(|| {
        data.and_then(|d| d.get("call_to_action"))
            .and_then(|c| c.get("value"))
            .and_then(|v| text(v.get("link")))
    });
    Ok(Ad {
        id: need_text(r, "id", P)?,
        ad_group_id: need_text(r, "adset_id", P)?,
        campaign_id: need_text(r, "campaign_id", P)?,
        name: need_text(r, "name", P)?,
        status: campaign_status(Some(need(r, "status", P)?), None),
        delivery: text(r.get("effective_status")),
        ad_type: kind.map(str::to_string),
        headlines: headline.into_iter().collect(),
        descriptions: field("description").into_iter().collect(),
        primary_text: field("message"),
        final_url: link,
        created_at: meta_time(r.get("created_time")),
    })
}

fn metrics_of(
    r: &Value,
    level: Level,
    currency: Currency,
    priority: &[String],
) -> Result<LevelMetrics, PlatformError> {
    let date = need_text(r, "date_start", P)?;
    let date = date.parse::<NaiveDate>().map_err(|_| {
        PlatformError::unexpected(format!("{P} sent date_start \"{date}\" that is not a date"))
    })?;
    let money = |d: Decimal| {
        Money::from_major(d, currency)
            .ok_or_else(|| PlatformError::unexpected(format!("{P} amount out of range")))
    };
    let (count, value, conversion_types) = type_figures(r, priority)?;
    let (ad_id, name) = match level {
        Level::Ad => (Some(need_text(r, "ad_id", P)?), text(r.get("ad_name"))),
        _ => (None, text(r.get("adset_name"))),
    };
    Ok(LevelMetrics {
        level,
        campaign_id: need_text(r, "campaign_id", P)?,
        ad_group_id: Some(need_text(r, "adset_id", P)?),
        ad_id,
        name: name.unwrap_or_default(),
        date,
        impressions: need_int(r, "impressions", P)?,
        clicks: need_int(r, "inline_link_clicks", P)?,
        all_clicks: Some(need_int(r, "clicks", P)?),
        spend: money(need_decimal(r, "spend", P)?)?,
        conversions: count,
        revenue: money(value)?,
        conversion_types,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_set_times_read_with_colonless_offsets() {
        let t = meta_time(Some(&json!("2024-03-12T15:02:47-0700"))).expect("time");
        assert_eq!(t.to_rfc3339(), "2024-03-12T22:02:47+00:00");
    }

    #[test]
    fn a_row_without_link_clicks_is_an_error_naming_platform_and_field() {
        let row = json!({"date_start": "2026-01-01", "campaign_id": "1", "adset_id": "2",
                         "impressions": "3", "clicks": "1", "spend": "1.00"});
        let e = metrics_of(&row, Level::AdGroup, "USD".parse().expect("usd"), &[])
            .expect_err("missing");
        assert!(e.message().contains("Meta") && e.message().contains("inline_link_clicks"));
    }
}
