//! Meta Marketing API over the Graph API: `access_token` as a parameter, form-encoded writes,
//! cursor paging, campaign-level daily insights, budgets in minor units.

mod errors;
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

use crate::platforms::errors::PlatformError;
use crate::platforms::model::{
    AccountRef, AccountStatus, AdAccount, Campaign, CampaignStatus, Credentials, DailyMetrics,
    NewCampaign,
};
use crate::platforms::retry::{with_retry, with_retry_refused};
use crate::platforms::settings::{MetaSettings, join_url, versioned};
use crate::platforms::wire::{decimal, int, required_text, text};
use crate::platforms::{Shared, read_response};
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
        let attempt = || {
            let method = method.clone();
            async move {
                self.shared.limits.meta_slot(account).await;
                let rb = self.shared.http.request(method.clone(), url);
                let rb = if method == Method::POST {
                    rb.form(all)
                } else {
                    rb.query(all)
                };
                let (status, headers, body) = read_response(rb.send().await?).await?;
                let (acct_pct, app_pct) = errors::usage(&headers);
                if let Some(pct) = acct_pct {
                    self.shared.limits.meta_record_usage(account, pct);
                }
                if let Some(pct) = app_pct {
                    self.shared.limits.meta_record_usage("", pct);
                }
                if status.is_success() {
                    serde_json::from_str(&body).map_err(|e| {
                        PlatformError::unexpected(format!("Meta sent unreadable JSON: {e}"))
                    })
                } else {
                    Err(errors::classify(status, &headers, &body))
                }
            }
        };
        let policy = &self.shared.settings.retry;
        if idempotent {
            with_retry(policy, attempt).await
        } else {
            with_retry_refused(policy, attempt).await
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
            if let Some(data) = page.get("data").and_then(Value::as_array) {
                rows.extend(data.iter().cloned());
            }
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
                vec![
                    p("fields", "id,name,status,daily_budget"),
                    p("limit", "100"),
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Campaign {
                    id: required_text(r.get("id"), "campaign id")?,
                    name: text(r.get("name")).unwrap_or_default(),
                    status: campaign_status(r.get("status")),
                    daily_budget: budget_of(r.get("daily_budget"), account.currency)?,
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
                        "campaign_id,campaign_name,impressions,clicks,spend,actions,action_values",
                    ),
                    p("limit", "500"),
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
        let budget = new.daily_budget.to_minor_units();
        let status = match new.status {
            CampaignStatus::Active => "ACTIVE",
            _ => "PAUSED",
        };
        let params = vec![
            p("name", new.name.clone()),
            p("objective", "OUTCOME_TRAFFIC"),
            p("status", status),
            p("special_ad_categories", "[]"),
            // Minor units of the account currency (whole yen for JPY; the offset for
            // currencies without a minor unit is UNVERIFIED, the ISO exponent is used).
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
            daily_budget: Money::from_minor_units(budget, account.currency),
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
        let minor = budget.to_minor_units();
        self.update(
            creds,
            account,
            campaign_id,
            vec![p("daily_budget", minor.to_string())],
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
    // 1 and 2 are documented; the rest of the table is UNVERIFIED and kept as the raw code.
    let status = match v.get("account_status").and_then(Value::as_i64) {
        Some(1) | None => AccountStatus::Active,
        Some(2) => AccountStatus::Disabled,
        Some(101) => AccountStatus::Closed,
        Some(n) => AccountStatus::Other(n.to_string()),
    };
    Ok(AdAccount {
        id,
        name: text(v.get("name")).unwrap_or_default(),
        currency,
        time_zone: text(v.get("timezone_name")).unwrap_or_default(),
        status,
        manager: false,
    })
}

fn campaign_status(v: Option<&Value>) -> CampaignStatus {
    match v.and_then(Value::as_str) {
        Some("ACTIVE") => CampaignStatus::Active,
        Some("ARCHIVED") | Some("DELETED") => CampaignStatus::Removed,
        _ => CampaignStatus::Paused,
    }
}

/// Budgets come as minor-unit strings; absent or "0" means the budget lives on the ad sets.
fn budget_of(v: Option<&Value>, currency: Currency) -> Result<Option<Money>, PlatformError> {
    let minor = int(v, "daily_budget")?;
    if minor <= 0 {
        return Ok(None);
    }
    Money::from_minor_units(minor, currency)
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
    let (count, value) = conversions(r, priority)?;
    let money = |d| {
        Money::from_major(d, currency)
            .ok_or_else(|| PlatformError::unexpected("amount out of range"))
    };
    Ok(DailyMetrics {
        campaign_id: required_text(r.get("campaign_id"), "campaign_id")?,
        campaign_name: text(r.get("campaign_name")).unwrap_or_default(),
        date,
        impressions: int(r.get("impressions"), "impressions")?,
        clicks: int(r.get("clicks"), "clicks")?,
        spend: money(spend)?,
        conversions: count,
        revenue: money(value)?,
    })
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
