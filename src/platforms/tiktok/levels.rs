//! Ad groups and ads: `GET /adgroup/get/`, `GET /ad/get/`, and the integrated report at
//! `data_level=AUCTION_ADGROUP|AUCTION_AD`.
//!
//! Reports are asked for deleted objects too (`adgroup_status`/`ad_status` `STATUS_ALL`, as
//! Airbyte's connector does), so a deleted ad group keeps its history. Ids are read from the
//! `dimensions` (strings) or as integers, never through floating point: the attribute
//! "metrics" carry them as bare JSON numbers above 2^53.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::{
    MAX_DAYS_PER_REPORT, TiktokAds, day_chunks, json_list, numeric, p, report_metrics, type_figures,
};
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{
    AccountRef, Ad, AdGroup, BudgetPeriod, CampaignStatus, Credentials, Flight, Level, LevelBudget,
    LevelMetrics,
};
use crate::platforms::settings::TiktokSettings;
use crate::platforms::wire::{need, need_decimal, need_int, need_text, text};
use crate::types::{Currency, Money};

const P: &str = "TikTok";

/// The switch (`operation_status`); where TikTok leaves it out (Smart+ objects, some
/// listings) the status is derived from `secondary_status`, and with neither it is an error.
fn status_of(r: &Value, what: &str) -> Result<CampaignStatus, PlatformError> {
    match r.get("operation_status").and_then(Value::as_str) {
        Some("ENABLE") => Ok(CampaignStatus::Active),
        Some("DELETE") => Ok(CampaignStatus::Removed),
        // DISABLE, and FROZEN (cannot be re-enabled).
        Some(_) => Ok(CampaignStatus::Paused),
        None => {
            let s = need_text(r, "secondary_status", P).map_err(|_| {
                PlatformError::unexpected(format!(
                    "{P} sent {what} without operation_status or secondary_status"
                ))
            })?;
            Ok(if s.contains("DELETE") {
                CampaignStatus::Removed
            } else if s.ends_with("DELIVERY_OK") {
                CampaignStatus::Active
            } else {
                CampaignStatus::Paused
            })
        }
    }
}

/// "2025-02-28 10:11:12" in UTC (TikTok's schedule times are UTC+0).
fn tt_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = text(v)?;
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

fn major(r: &Value, key: &str, currency: Currency) -> Result<Option<Money>, PlatformError> {
    let Some(v) = r.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let d = crate::platforms::wire::decimal(Some(v), &format!("{P} {key}"))?;
    if d <= rust_decimal::Decimal::ZERO {
        return Ok(None);
    }
    Money::from_major(d, currency)
        .map(Some)
        .ok_or_else(|| PlatformError::unexpected(format!("{P} {key} out of range")))
}

/// A campaign's flight figures as `campaign/get/` gives them. TikTok campaigns carry no
/// schedule (start and end live on their ad groups), so there is no end date here; a budget in
/// `BUDGET_MODE_TOTAL` is the campaign's lifetime budget.
pub(super) fn campaign_flight(r: &Value, currency: Currency) -> Result<Flight, PlatformError> {
    let total = r.get("budget_mode").and_then(Value::as_str) == Some("BUDGET_MODE_TOTAL");
    Ok(Flight {
        lifetime_budget: if total {
            major(r, "budget", currency)?
        } else {
            None
        },
        budget_remaining: None,
        starts_at: None,
        ends_at: None,
        created_at: tt_time(r.get("create_time")),
    })
}

fn filtering(campaign_id: Option<&str>) -> Result<String, PlatformError> {
    let mut f = json!({"primary_status": "STATUS_NOT_DELETE"});
    if let Some(c) = campaign_id {
        f["campaign_ids"] = json!([numeric(c, "campaign")?]);
    }
    Ok(f.to_string())
}

/// An ad group as `GET /adgroup/get/` lists it (the fields of [`ADGROUP_FIELDS`]).
pub(super) fn adgroup_of(r: &Value, currency: Currency) -> Result<AdGroup, PlatformError> {
    let budget = match r.get("budget_mode").and_then(Value::as_str) {
        Some("BUDGET_MODE_DAY") | Some("BUDGET_MODE_DYNAMIC_DAILY_BUDGET") => {
            major(r, "budget", currency)?.map(|amount| LevelBudget {
                period: BudgetPeriod::Daily,
                amount,
            })
        }
        Some("BUDGET_MODE_TOTAL") => major(r, "budget", currency)?.map(|amount| LevelBudget {
            period: BudgetPeriod::Lifetime,
            amount,
        }),
        // BUDGET_MODE_INFINITE: the campaign's budget optimisation decides.
        _ => None,
    };
    let bid = match major(r, "bid_price", currency)? {
        Some(b) => Some(b),
        None => major(r, "conversion_bid_price", currency)?,
    };
    Ok(AdGroup {
        id: need_text(r, "adgroup_id", P)?,
        campaign_id: need_text(r, "campaign_id", P)?,
        name: need_text(r, "adgroup_name", P)?,
        status: status_of(r, "an ad group")?,
        delivery: text(r.get("secondary_status")),
        budget,
        bid,
        bid_strategy: text(r.get("bid_type")),
        starts_at: tt_time(r.get("schedule_start_time")),
        ends_at: tt_time(r.get("schedule_end_time")),
        created_at: tt_time(r.get("create_time")),
    })
}

/// The ad-group fields adpilot reads (`billing_event` says which bid field a write sets).
pub(super) const ADGROUP_FIELDS: &[&str] = &[
    "adgroup_id",
    "adgroup_name",
    "campaign_id",
    "operation_status",
    "secondary_status",
    "budget",
    "budget_mode",
    "bid_type",
    "bid_price",
    "conversion_bid_price",
    "billing_event",
    "schedule_start_time",
    "schedule_end_time",
    "create_time",
];

impl TiktokAds {
    pub(crate) async fn list_ad_groups(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: Option<&str>,
    ) -> Result<Vec<AdGroup>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let params = vec![
            p("advertiser_id", id.clone()),
            p("filtering", filtering(campaign_id)?),
            p("fields", json_list(ADGROUP_FIELDS)),
        ];
        let rows = self.get_pages(creds, &id, "adgroup/get/", &params).await?;
        rows.iter()
            .map(|r| adgroup_of(r, account.currency))
            .collect()
    }

    pub(crate) async fn list_ads(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: Option<&str>,
    ) -> Result<Vec<Ad>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let params = vec![
            p("advertiser_id", id.clone()),
            p("filtering", filtering(campaign_id)?),
            p(
                "fields",
                json_list(&[
                    "ad_id",
                    "ad_name",
                    "adgroup_id",
                    "campaign_id",
                    "operation_status",
                    "secondary_status",
                    "ad_format",
                    "ad_text",
                    "landing_page_url",
                    "create_time",
                ]),
            ),
        ];
        let rows = self.get_pages(creds, &id, "ad/get/", &params).await?;
        rows.iter()
            .map(|r| {
                Ok(Ad {
                    id: need_text(r, "ad_id", P)?,
                    ad_group_id: need_text(r, "adgroup_id", P)?,
                    campaign_id: need_text(r, "campaign_id", P)?,
                    name: need_text(r, "ad_name", P)?,
                    status: status_of(r, "an ad")?,
                    delivery: text(r.get("secondary_status")),
                    ad_type: text(r.get("ad_format")),
                    headlines: Vec::new(),
                    descriptions: Vec::new(),
                    primary_text: text(r.get("ad_text")).filter(|t| !t.is_empty()),
                    final_url: text(r.get("landing_page_url")).filter(|t| !t.is_empty()),
                    created_at: tt_time(r.get("create_time")),
                })
            })
            .collect()
    }

    pub(crate) async fn level_metrics(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<LevelMetrics>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let s = self.settings();
        let (data_level, id_dim, names, status_field) = match level {
            Level::Ad => (
                "AUCTION_AD",
                "ad_id",
                vec!["campaign_id", "adgroup_id", "ad_name"],
                "ad_status",
            ),
            _ => (
                "AUCTION_ADGROUP",
                "adgroup_id",
                vec!["campaign_id", "adgroup_name"],
                "adgroup_status",
            ),
        };
        let metrics = report_metrics(s, &names);
        let filter = json!([{
            "field_name": status_field,
            "filter_type": "IN",
            "filter_value": json!(["STATUS_ALL"]).to_string(),
        }])
        .to_string();
        let mut out = Vec::new();
        for (start, end) in day_chunks(from, to, MAX_DAYS_PER_REPORT) {
            let params = vec![
                p("advertiser_id", id.clone()),
                p("service_type", "AUCTION"),
                p("report_type", "BASIC"),
                p("data_level", data_level),
                p("dimensions", json_list(&[id_dim, "stat_time_day"])),
                p("metrics", metrics.clone()),
                p("filtering", filter.clone()),
                p("start_date", start.format("%Y-%m-%d").to_string()),
                p("end_date", end.format("%Y-%m-%d").to_string()),
            ];
            let rows = self
                .get_pages(creds, &id, "report/integrated/get/", &params)
                .await?;
            for r in &rows {
                out.push(metrics_of(r, level, account.currency, s)?);
            }
        }
        Ok(out)
    }
}

fn metrics_of(
    r: &Value,
    level: Level,
    currency: Currency,
    s: &TiktokSettings,
) -> Result<LevelMetrics, PlatformError> {
    let day = need_text(r, "dimensions.stat_time_day", P)?;
    let date = day
        .get(..10)
        .and_then(|d| d.parse::<NaiveDate>().ok())
        .ok_or_else(|| {
            PlatformError::unexpected(format!(
                "{P} sent stat_time_day \"{day}\" that is not a date"
            ))
        })?;
    let m = need(r, "metrics", P)?;
    let money = |key: &str| {
        let d = need_decimal(m, key, P)?;
        Money::from_major(d, currency)
            .ok_or_else(|| PlatformError::unexpected(format!("{P} {key} out of range")))
    };
    // The configured figures must be there at this level (an absent one is an error naming
    // it, not a zero); the per-type ones read like the campaign report's.
    need_decimal(m, &s.conversion_metric, P)?;
    need_decimal(m, &s.revenue_metric, P)?;
    let (conversions, revenue, conversion_types) = type_figures(m, s)?;
    let (ad_group_id, ad_id, name) = match level {
        Level::Ad => (
            need_text(m, "adgroup_id", P)?,
            Some(need_text(r, "dimensions.ad_id", P)?),
            text(m.get("ad_name")),
        ),
        _ => (
            need_text(r, "dimensions.adgroup_id", P)?,
            None,
            text(m.get("adgroup_name")),
        ),
    };
    Ok(LevelMetrics {
        level,
        campaign_id: need_text(m, "campaign_id", P)?,
        ad_group_id: Some(ad_group_id),
        ad_id,
        name: name.unwrap_or_default(),
        date,
        impressions: need_int(m, "impressions", P)?,
        clicks: need_int(m, "clicks", P)?,
        all_clicks: None,
        spend: money("spend")?,
        conversions,
        revenue: Money::from_major(revenue, currency)
            .ok_or_else(|| PlatformError::unexpected(format!("{P} revenue out of range")))?,
        conversion_types,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_above_2_pow_53_in_metrics_stay_exact() {
        let row: Value = serde_json::from_str(
            r#"{"dimensions":{"ad_id":"1790000000000000003","stat_time_day":"2026-01-02 00:00:00"},
                "metrics":{"campaign_id":1790000000000000001,"adgroup_id":1790000000000000002,
                "spend":"1.50","impressions":10,"clicks":"2","conversion":"0",
                "total_complete_payment_rate":"0.00"}}"#,
        )
        .expect("json");
        let m = metrics_of(
            &row,
            Level::Ad,
            "USD".parse().expect("usd"),
            &TiktokSettings::default(),
        )
        .expect("row");
        assert_eq!(m.campaign_id, "1790000000000000001");
        assert_eq!(m.ad_group_id.as_deref(), Some("1790000000000000002"));
    }

    #[test]
    fn status_comes_from_the_switch_or_else_the_secondary_status() {
        assert_eq!(
            status_of(&json!({"operation_status": "DISABLE"}), "x").expect("s"),
            CampaignStatus::Paused
        );
        assert_eq!(
            status_of(
                &json!({"secondary_status": "ADGROUP_STATUS_DELIVERY_OK"}),
                "x"
            )
            .expect("s"),
            CampaignStatus::Active
        );
        let e = status_of(&json!({}), "an ad group").expect_err("neither");
        assert!(e.message().contains("TikTok"));
    }
}
