//! Meta Marketing API over the Graph API: `access_token` as a parameter, form-encoded writes,
//! cursor paging, campaign-level daily insights, budgets in minor units.

mod create;
mod errors;
mod level_writes;
mod levels;
mod oauth;

pub(crate) use oauth::token_set;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::platforms::call::platform_call;
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{
    AccountRef, AccountStatus, AdAccount, Campaign, CampaignStatus, ConversionTypes, Credentials,
    DEFAULT_TYPE, DailyMetrics, NewCampaign, TypeFigure,
};
use crate::platforms::settings::{MetaSettings, join_url, versioned};
use crate::platforms::wire::{decimal, int, required_text, text};
use crate::platforms::{Shared, meta_offset};
use crate::types::{Currency, Money};

const MAX_PAGES: usize = 10_000;
const ACCOUNT_FIELDS: &str = "id,account_id,name,currency,timezone_name,account_status";

type Params = Vec<(String, String)>;

fn p(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

#[derive(Clone)]
pub struct MetaAds {
    shared: Arc<Shared>,
}

impl MetaAds {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        MetaAds { shared }
    }

    fn settings(&self) -> &MetaSettings {
        &self.shared.settings.meta
    }

    fn graph(&self, path: &str) -> String {
        let s = self.settings();
        join_url(
            &s.api_url,
            &format!("{}/{}", versioned(&s.api_version), path),
        )
    }

    fn auth_params(&self, token: &str) -> Params {
        let s = self.settings();
        let mut out = vec![p("access_token", token)];
        if s.appsecret_proof && !s.app_secret.is_empty() {
            if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(s.app_secret.as_bytes()) {
                mac.update(token.as_bytes());
                out.push(p(
                    "appsecret_proof",
                    hex::encode(mac.finalize().into_bytes()),
                ));
            }
        }
        out
    }

    /// One Graph call with retries and the usage-based slowdown. `token` None for the OAuth
    /// endpoints, which authenticate with the app secret instead.
    async fn request(
        &self,
        token: Option<&str>,
        account: &str,
        method: Method,
        url: &str,
        params: &Params,
        idempotent: bool,
    ) -> Result<Value, PlatformError> {
        let mut all = params.clone();
        if let Some(t) = token {
            all.extend(self.auth_params(t));
        }
        let all = &all;
        platform_call(
            &self.shared,
            idempotent,
            || async move {
                self.shared.limits.meta_slot(account).await;
                Ok(())
            },
            |http| {
                let rb = http.request(method.clone(), url);
                if method == Method::POST {
                    rb.form(all)
                } else {
                    rb.query(all)
                }
            },
            |answer| {
                // Only answers that went through set the pace: a refusal's usage (100% when
                // throttled) comes with its own wait, which the retry already honours; taking
                // it as the usage for the next minutes would slow every later call for the
                // whole usage window after one throttled answer.
                if answer.status.is_success() {
                    self.record_usage(account, &answer.headers);
                }
                answer.json_or("Meta sent unreadable JSON", errors::classify)
            },
        )
        .await
    }

    fn record_usage(&self, account: &str, headers: &reqwest::header::HeaderMap) {
        let (acct_pct, app_pct) = errors::usage(headers);
        if let Some(pct) = acct_pct {
            self.shared.limits.meta_record_usage(account, pct);
        }
        if let Some(pct) = app_pct {
            self.shared.limits.meta_record_usage("", pct);
        }
    }

    /// GET over every page: follows `paging.next` when it points at our configured origin,
    /// otherwise (a real Meta URL while we talk to the sandbox) repeats our own request with the
    /// `after` cursor, so the token never leaves the configured host.
    async fn get_all(
        &self,
        creds: &Credentials,
        account: &str,
        path: &str,
        params: Params,
    ) -> Result<Vec<Value>, PlatformError> {
        let base = self.graph(path);
        let origin = url::Url::parse(&self.settings().api_url)
            .ok()
            .map(|u| u.origin());
        let mut url = base.clone();
        let mut query = params.clone();
        let mut rows = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self
                .request(
                    Some(&creds.access_token),
                    account,
                    Method::GET,
                    &url,
                    &query,
                    true,
                )
                .await?;
            // Every Graph list answer carries `data` (empty when there is nothing); without
            // it this is not a list answer, and reading it as "no rows" would show zeros.
            let data = page.get("data").and_then(Value::as_array).ok_or_else(|| {
                PlatformError::unexpected(format!("Meta's answer to {path} has no \"data\" list"))
            })?;
            rows.extend(data.iter().cloned());
            let paging = page.get("paging");
            let Some(next) = paging
                .and_then(|p| p.get("next"))
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            else {
                return Ok(rows);
            };
            let next_url = url::Url::parse(next).ok();
            match next_url {
                Some(n) if origin.as_ref() == Some(&n.origin()) => {
                    let mut clean = n.clone();
                    clean.set_query(None);
                    url = clean.to_string();
                    // Our credentials are added again by `request`; keep everything else.
                    query = n
                        .query_pairs()
                        .filter(|(k, _)| k != "access_token" && k != "appsecret_proof")
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                }
                _ => {
                    let after = paging
                        .and_then(|p| p.get("cursors"))
                        .and_then(|c| c.get("after"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            PlatformError::unexpected("Meta paging has a next page but no cursor")
                        })?;
                    url = base.clone();
                    query = params.clone();
                    query.push(p("after", after));
                }
            }
        }
        Err(PlatformError::unexpected("Meta paging did not end"))
    }

    pub(crate) async fn list_accounts(
        &self,
        creds: &Credentials,
    ) -> Result<Vec<AdAccount>, PlatformError> {
        let rows = self
            .get_all(
                creds,
                "",
                "me/adaccounts",
                vec![p("fields", ACCOUNT_FIELDS), p("limit", "100")],
            )
            .await?;
        rows.iter().map(account_of).collect()
    }

    pub(crate) async fn account(
        &self,
        creds: &Credentials,
        account_id: &str,
    ) -> Result<AdAccount, PlatformError> {
        let id = account_digits(account_id)?;
        let v = self
            .request(
                Some(&creds.access_token),
                &id,
                Method::GET,
                &self.graph(&format!("act_{id}")),
                &vec![p("fields", ACCOUNT_FIELDS)],
                true,
            )
            .await?;
        account_of(&v)
    }

    pub(crate) async fn list_campaigns(
        &self,
        creds: &Credentials,
        account: &AccountRef,
    ) -> Result<Vec<Campaign>, PlatformError> {
        let id = account_digits(&account.id)?;
        let rows = self
            .get_all(
                creds,
                &id,
                &format!("act_{id}/campaigns"),
                vec![p("fields", CAMPAIGN_FIELDS), p("limit", "100")],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Campaign {
                    id: required_text(r.get("id"), "campaign id")?,
                    name: text(r.get("name")).unwrap_or_default(),
                    status: campaign_status(r.get("status"), r.get("effective_status")),
                    daily_budget: budget_of(r.get("daily_budget"), account.currency)?,
                    flight: levels::campaign_flight(r, account.currency)?,
                })
            })
            .collect()
    }

    pub(crate) async fn daily_metrics(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyMetrics>, PlatformError> {
        let id = account_digits(&account.id)?;
        let range = json!({
            "since": from.format("%Y-%m-%d").to_string(),
            "until": to.format("%Y-%m-%d").to_string(),
        });
        let rows = self
            .get_all(
                creds,
                &id,
                &format!("act_{id}/insights"),
                vec![
                    p("level", "campaign"),
                    p("time_increment", "1"),
                    p("time_range", range.to_string()),
                    p(
                        "fields",
                        "campaign_id,campaign_name,impressions,clicks,inline_link_clicks,spend,\
                         actions,action_values",
                    ),
                    p("limit", "500"),
                    // The ad account's own attribution setting, as Ads Manager's account view
                    // shows it (reference §5.3); the settings page says so.
                    p("use_account_attribution_setting", "true"),
                ],
            )
            .await?;
        let priority = creds
            .conversion_action_types
            .as_deref()
            .unwrap_or(&self.settings().conversion_action_types);
        rows.iter()
            .map(|r| insights_row(r, account.currency, priority))
            .collect()
    }

    pub(crate) async fn create_campaign(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        new: &NewCampaign,
    ) -> Result<Campaign, PlatformError> {
        let id = account_digits(&account.id)?;
        let budget = meta_offset::to_units(new.daily_budget);
        let status = match new.status {
            CampaignStatus::Active => "ACTIVE",
            _ => "PAUSED",
        };
        let params = vec![
            p("name", new.name.clone()),
            p("objective", "OUTCOME_TRAFFIC"),
            p("status", status),
            p("special_ad_categories", "[]"),
            // In Meta's unit for the currency (cents for USD, whole units for JPY or HUF).
            p("daily_budget", budget.to_string()),
        ];
        let v = self
            .request(
                Some(&creds.access_token),
                &id,
                Method::POST,
                &self.graph(&format!("act_{id}/campaigns")),
                &params,
                false,
            )
            .await?;
        Ok(Campaign {
            id: required_text(v.get("id"), "new campaign id")?,
            name: new.name.clone(),
            status: new.status,
            daily_budget: meta_offset::from_units(budget, account.currency),
            flight: Default::default(),
        })
    }

    async fn update(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        params: Params,
    ) -> Result<(), PlatformError> {
        let id = account_digits(&account.id)?;
        let campaign = numeric(campaign_id, "campaign")?;
        let v = self
            .request(
                Some(&creds.access_token),
                &id,
                Method::POST,
                &self.graph(&campaign),
                &params,
                true,
            )
            .await?;
        if v.get("success").and_then(Value::as_bool) == Some(false) {
            return Err(PlatformError::unexpected(format!(
                "Meta did not apply the change to campaign {campaign}"
            )));
        }
        Ok(())
    }

    pub(crate) async fn set_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        let s = match status {
            CampaignStatus::Active => "ACTIVE",
            _ => "PAUSED",
        };
        self.update(creds, account, campaign_id, vec![p("status", s)])
            .await
    }

    pub(crate) async fn daily_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
    ) -> Result<Option<Money>, PlatformError> {
        let id = account_digits(&account.id)?;
        let campaign = numeric(campaign_id, "campaign")?;
        let v = self
            .request(
                Some(&creds.access_token),
                &id,
                Method::GET,
                &self.graph(&campaign),
                &vec![p("fields", "daily_budget")],
                true,
            )
            .await?;
        budget_of(v.get("daily_budget"), account.currency)
    }

    pub(crate) async fn set_daily_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        budget: Money,
    ) -> Result<(), PlatformError> {
        let units = meta_offset::to_units(budget);
        self.update(
            creds,
            account,
            campaign_id,
            vec![p("daily_budget", units.to_string())],
        )
        .await
    }
}

fn account_of(v: &Value) -> Result<AdAccount, PlatformError> {
    let id = text(v.get("account_id"))
        .or_else(|| text(v.get("id")).map(|s| s.trim_start_matches("act_").to_string()))
        .ok_or_else(|| PlatformError::unexpected("ad account without an id"))?;
    let currency: Currency = required_text(v.get("currency"), "account currency")?
        .parse()
        .map_err(|e| PlatformError::unexpected(format!("{e}")))?;
    let status = account_status(v.get("account_status"))?;
    Ok(AdAccount {
        id,
        name: text(v.get("name")).unwrap_or_default(),
        currency,
        time_zone: text(v.get("timezone_name")).unwrap_or_default(),
        status,
        manager: false,
    })
}

/// `account_status` codes. 1 and 2 are documented in the reference; the others are Meta's
/// AdAccount table as generally documented (UNVERIFIED against a stored copy): each is named,
/// and an unknown code is kept as "status N" rather than passed as a bare number.
fn account_status(v: Option<&Value>) -> Result<AccountStatus, PlatformError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(AccountStatus::Active);
    };
    let code = int(Some(v), "account_status")?;
    Ok(match code {
        1 => AccountStatus::Active,
        2 => AccountStatus::Disabled,
        3 => AccountStatus::Other("unsettled (payment due)".into()),
        7 => AccountStatus::Other("pending risk review".into()),
        8 => AccountStatus::Other("pending settlement".into()),
        9 => AccountStatus::Other("in grace period".into()),
        100 => AccountStatus::Other("pending closure".into()),
        101 => AccountStatus::Closed,
        201 => AccountStatus::Active,
        202 => AccountStatus::Closed,
        n => AccountStatus::Other(format!("status {n}")),
    })
}

/// The campaign's status as the advertiser set it (`status`), held back by what Meta derives
/// from its parents (`effective_status`): an ACTIVE campaign in a paused or unpaid account
/// does not deliver, and rules for active campaigns must not act on it.
fn campaign_status(status: Option<&Value>, effective: Option<&Value>) -> CampaignStatus {
    let own = match status.and_then(Value::as_str) {
        Some("ACTIVE") => CampaignStatus::Active,
        Some("ARCHIVED") | Some("DELETED") => CampaignStatus::Removed,
        _ => CampaignStatus::Paused,
    };
    match (own, effective.and_then(Value::as_str)) {
        (CampaignStatus::Active, Some(e))
            if !matches!(e, "ACTIVE" | "IN_PROCESS" | "WITH_ISSUES") =>
        {
            if matches!(e, "DELETED" | "ARCHIVED") {
                CampaignStatus::Removed
            } else {
                CampaignStatus::Paused
            }
        }
        (own, _) => own,
    }
}

/// Budgets come as strings in Meta's unit for the currency; absent or "0" means the budget
/// lives on the ad sets.
/// What a campaign listing asks for: the switch, the daily budget and the flight figures
/// (`stop_time` is the campaign's end; ad sets call it `end_time`).
const CAMPAIGN_FIELDS: &str = "id,name,status,effective_status,daily_budget,lifetime_budget,\
     budget_remaining,created_time,start_time,stop_time";

fn budget_of(v: Option<&Value>, currency: Currency) -> Result<Option<Money>, PlatformError> {
    let units = int(v, "daily_budget")?;
    if units <= 0 {
        return Ok(None);
    }
    meta_offset::from_units(units, currency)
        .map(Some)
        .ok_or_else(|| PlatformError::unexpected("daily_budget out of range"))
}

/// Conversions and their value for the first action type in `priority` that the row carries.
/// Meta reports one purchase under several types (omni_purchase includes purchase, which
/// includes the pixel event), so adding them up would count it two or three times.
fn conversions(
    row: &Value,
    priority: &[String],
) -> Result<(rust_decimal::Decimal, rust_decimal::Decimal), PlatformError> {
    let find = |key: &str, t: &str| -> Option<Value> {
        row.get(key)?
            .as_array()?
            .iter()
            .find(|a| a.get("action_type").and_then(Value::as_str) == Some(t))
            .and_then(|a| a.get("value").cloned())
    };
    for t in priority {
        let count = find("actions", t);
        let value = find("action_values", t);
        if count.is_some() || value.is_some() {
            return Ok((
                decimal(count.as_ref(), "actions.value")?,
                decimal(value.as_ref(), "action_values.value")?,
            ));
        }
    }
    Ok((rust_decimal::Decimal::ZERO, rust_decimal::Decimal::ZERO))
}

/// The row's conversions and value under the priority list, and every action type's figures
/// with those under [`DEFAULT_TYPE`]; the same at every level.
fn type_figures(
    r: &Value,
    priority: &[String],
) -> Result<
    (
        rust_decimal::Decimal,
        rust_decimal::Decimal,
        ConversionTypes,
    ),
    PlatformError,
> {
    let (count, value) = conversions(r, priority)?;
    let mut types = action_types(r)?;
    types.insert(
        DEFAULT_TYPE.to_string(),
        TypeFigure {
            count,
            value,
            category: None,
        },
    );
    Ok((count, value, types))
}

fn insights_row(
    r: &Value,
    currency: Currency,
    priority: &[String],
) -> Result<DailyMetrics, PlatformError> {
    let date = required_text(r.get("date_start"), "date_start")?;
    let date = date
        .parse::<NaiveDate>()
        .map_err(|_| PlatformError::unexpected(format!("date_start \"{date}\" is not a date")))?;
    let spend = decimal(r.get("spend"), "spend")?;
    let (count, value, conversion_types) = type_figures(r, priority)?;
    let money = |d| {
        Money::from_major(d, currency)
            .ok_or_else(|| PlatformError::unexpected("amount out of range"))
    };
    Ok(DailyMetrics {
        campaign_id: required_text(r.get("campaign_id"), "campaign_id")?,
        campaign_name: text(r.get("campaign_name")).unwrap_or_default(),
        date,
        impressions: int(r.get("impressions"), "impressions")?,
        // Link clicks, comparable to Google's and TikTok's clicks; Meta's `clicks` counts
        // reactions, comments and profile taps too.
        clicks: int(r.get("inline_link_clicks"), "inline_link_clicks")?,
        all_clicks: Some(int(r.get("clicks"), "clicks")?),
        spend: money(spend)?,
        conversions: count,
        revenue: money(value)?,
        conversion_types,
    })
}

/// Engagement action types that are never conversions; left out of storage.
const NOT_CONVERSIONS: &[&str] = &[
    "link_click",
    "post_engagement",
    "page_engagement",
    "post_reaction",
    "comment",
    "like",
    "post",
    "photo_view",
    "video_view",
    "onsite_conversion.post_save",
];

/// Every action type of the row with its count and value (`actions` and `action_values`
/// joined on `action_type`).
fn action_types(row: &Value) -> Result<ConversionTypes, PlatformError> {
    let mut out = ConversionTypes::new();
    for (key, is_value) in [("actions", false), ("action_values", true)] {
        let Some(list) = row.get(key) else { continue };
        let list = list.as_array().ok_or_else(|| {
            PlatformError::unexpected(format!("Meta insights: \"{key}\" is not a list"))
        })?;
        for a in list {
            let Some(t) = a.get("action_type").and_then(Value::as_str) else {
                return Err(PlatformError::unexpected(format!(
                    "Meta insights: an entry of \"{key}\" has no action_type"
                )));
            };
            if NOT_CONVERSIONS.contains(&t) {
                continue;
            }
            let n = decimal(a.get("value"), &format!("{key}.value"))?;
            let f = out.entry(t.to_string()).or_default();
            if is_value {
                f.value = n;
            } else {
                f.count = n;
            }
        }
    }
    Ok(out)
}

/// `act_123` or `123`.
fn account_digits(s: &str) -> Result<String, PlatformError> {
    let t = s.trim();
    let d = t.strip_prefix("act_").unwrap_or(t);
    if !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()) {
        Ok(d.to_string())
    } else {
        Err(PlatformError::invalid(format!(
            "\"{s}\" is not a Meta ad account id (expected act_123… or digits)"
        )))
    }
}

fn numeric(s: &str, what: &str) -> Result<String, PlatformError> {
    let t = s.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        Ok(t.to_string())
    } else {
        Err(PlatformError::invalid(format!(
            "\"{s}\" is not a Meta {what} id"
        )))
    }
}
