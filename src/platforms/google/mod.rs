//! Google Ads API over REST: GAQL search with pageToken paging, mutate with updateMask,
//! OAuth 2.0 with refresh tokens.

mod create;
mod errors;
mod level_writes;
mod levels;
mod oauth;

pub(crate) use oauth::token_set;
#[cfg(test)]
mod tests;

use std::future::ready;
use std::sync::Arc;

use chrono::NaiveDate;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::platforms::call::platform_call;
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{
    AccountRef, AccountStatus, AdAccount, Campaign, CampaignStatus, ConversionTypes, Credentials,
    DEFAULT_TYPE, DailyMetrics, NewCampaign, TypeFigure,
};
use crate::platforms::settings::{GoogleSettings, join_url, versioned};
use crate::platforms::wire::{decimal, int, required_text, text};
use crate::platforms::{Shared, round_to_minor};
use crate::types::{Currency, Money};

/// Stops a server that keeps returning page tokens from looping forever (pages hold 10,000
/// rows, so this is 10 million rows).
const MAX_PAGES: usize = 1000;

/// One API request; `ops` is what it costs against the daily operation quota, `idempotent`
/// allows retrying failures that might hide a success.
struct Req<'a> {
    method: Method,
    path: &'a str,
    body: Option<&'a Value>,
    ops: u32,
    idempotent: bool,
    with_login_customer: bool,
}

#[derive(Clone)]
pub struct GoogleAds {
    shared: Arc<Shared>,
}

impl GoogleAds {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        GoogleAds { shared }
    }

    fn settings(&self) -> &GoogleSettings {
        &self.shared.settings.google
    }

    fn url(&self, path: &str) -> String {
        let s = self.settings();
        join_url(
            &s.api_url,
            &format!("{}/{}", versioned(&s.api_version), path),
        )
    }

    /// One API call with retries. `ops` is what the call costs against the daily operation
    /// quota; `idempotent` allows retrying failures that might hide a success.
    async fn call(&self, creds: &Credentials, req: Req<'_>) -> Result<Value, PlatformError> {
        let Req {
            method,
            path,
            body,
            ops,
            idempotent,
            with_login_customer,
        } = req;
        let url = self.url(path);
        let url = url.as_str();
        let s = self.settings();
        let login_customer = with_login_customer
            .then(|| {
                creds
                    .login_customer_id
                    .as_deref()
                    .or(s.login_customer_id.as_deref())
                    .map(digits_only)
                    .filter(|d| !d.is_empty())
            })
            .flatten();
        let login_customer = login_customer.as_deref();
        platform_call(
            &self.shared,
            idempotent,
            || ready(self.shared.limits.google_take(ops)),
            |http| {
                let mut rb = http
                    .request(method.clone(), url)
                    .bearer_auth(&creds.access_token);
                if let Some(dt) = s.developer_token.as_deref().filter(|t| !t.is_empty()) {
                    rb = rb.header("developer-token", dt);
                }
                if let Some(lc) = login_customer {
                    rb = rb.header("login-customer-id", lc);
                }
                if let Some(b) = body {
                    rb = rb.json(b);
                }
                rb
            },
            |answer| {
                if let Some(id) = answer
                    .headers
                    .get("request-id")
                    .and_then(|v| v.to_str().ok())
                {
                    tracing::debug!(request_id = id, status = %answer.status, path, "google ads call");
                }
                answer.json_or("Google Ads sent unreadable JSON", errors::classify)
            },
        )
        .await
    }

    /// GAQL search over all pages. Page size is fixed by Google at 10,000; sending `pageSize`
    /// is an error since v17.
    async fn search(
        &self,
        creds: &Credentials,
        customer_id: &str,
        query: &str,
    ) -> Result<Vec<Value>, PlatformError> {
        let path = format!("customers/{customer_id}/googleAds:search");
        let mut rows = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut body = json!({ "query": query });
            if let Some(t) = &page_token {
                body["pageToken"] = Value::String(t.clone());
            }
            let page = self
                .call(
                    creds,
                    Req {
                        method: Method::POST,
                        path: &path,
                        body: Some(&body),
                        ops: 1,
                        idempotent: true,
                        with_login_customer: true,
                    },
                )
                .await?;
            rows.extend(page_results(&page)?.iter().cloned());
            match page
                .get("nextPageToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                Some(next) if page_token.as_deref() == Some(next) => {
                    return Err(PlatformError::unexpected(
                        "Google Ads repeated the same page token",
                    ));
                }
                Some(next) => page_token = Some(next.to_string()),
                None => return Ok(rows),
            }
        }
        Err(PlatformError::unexpected("Google Ads paging did not end"))
    }

    async fn mutate(
        &self,
        creds: &Credentials,
        customer_id: &str,
        resource: &str,
        operations: Vec<Value>,
        idempotent: bool,
    ) -> Result<Vec<String>, PlatformError> {
        let ops = u32::try_from(operations.len()).unwrap_or(u32::MAX);
        let body = json!({ "operations": operations });
        let v = self
            .call(
                creds,
                Req {
                    method: Method::POST,
                    path: &format!("customers/{customer_id}/{resource}:mutate"),
                    body: Some(&body),
                    ops,
                    idempotent,
                    with_login_customer: true,
                },
            )
            .await?;
        Ok(v.get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| text(r.get("resourceName")))
            .collect())
    }

    pub(crate) async fn list_accounts(
        &self,
        creds: &Credentials,
    ) -> Result<Vec<AdAccount>, PlatformError> {
        // Lists what the token can reach directly; no login-customer-id on this call.
        let v = self
            .call(
                creds,
                Req {
                    method: Method::GET,
                    path: "customers:listAccessibleCustomers",
                    body: None,
                    ops: 1,
                    idempotent: true,
                    with_login_customer: false,
                },
            )
            .await?;
        let mut out = Vec::new();
        for name in v
            .get("resourceNames")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let id = name.trim_start_matches("customers/");
            match self.account(creds, id).await {
                Ok(a) => out.push(a),
                // Cancelled accounts and accounts reachable only through another manager
                // answer PERMISSION_DENIED; they cannot be used, so they are left out. (The
                // token itself was just accepted by listAccessibleCustomers, so an auth error
                // here is about this customer, not the connection.)
                Err(PlatformError::Auth {
                    needs_reconnect: false,
                    message,
                }) => {
                    tracing::info!(customer = id, %message, "skipping inaccessible Google Ads customer");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    pub(crate) async fn account(
        &self,
        creds: &Credentials,
        account_id: &str,
    ) -> Result<AdAccount, PlatformError> {
        let cid = customer_id(account_id)?;
        let rows = self
            .search(
                creds,
                &cid,
                "SELECT customer.id, customer.descriptive_name, customer.currency_code, \
                 customer.time_zone, customer.manager, customer.status FROM customer",
            )
            .await?;
        let row = rows
            .first()
            .and_then(|r| r.get("customer"))
            .ok_or_else(|| PlatformError::unexpected(format!("no customer row for {cid}")))?;
        let currency: Currency = required_text(row.get("currencyCode"), "customer.currencyCode")?
            .parse()
            .map_err(|e| PlatformError::unexpected(format!("{e}")))?;
        let status = match row.get("status").and_then(Value::as_str) {
            Some("ENABLED") | None => AccountStatus::Active,
            Some("SUSPENDED") => AccountStatus::Disabled,
            Some("CANCELED") | Some("CLOSED") => AccountStatus::Closed,
            Some(other) => AccountStatus::Other(other.to_string()),
        };
        Ok(AdAccount {
            id: text(row.get("id")).unwrap_or(cid),
            name: text(row.get("descriptiveName")).unwrap_or_default(),
            currency,
            time_zone: text(row.get("timeZone")).unwrap_or_default(),
            status,
            manager: row.get("manager").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    pub(crate) async fn list_campaigns(
        &self,
        creds: &Credentials,
        account: &AccountRef,
    ) -> Result<Vec<Campaign>, PlatformError> {
        let cid = customer_id(&account.id)?;
        let rows = self
            .search(
                creds,
                &cid,
                // Removed campaigns cannot serve or be changed again; like Meta's and TikTok's
                // listings, this one leaves them out (their history still arrives with the
                // metrics, which mark them removed).
                "SELECT campaign.id, campaign.name, campaign.status, \
                 campaign.start_date_time, campaign.end_date_time, \
                 campaign_budget.amount_micros, campaign_budget.explicitly_shared, \
                 campaign_budget.period, campaign_budget.total_amount_micros, \
                 customer.time_zone \
                 FROM campaign WHERE campaign.status != 'REMOVED'",
            )
            .await?;
        rows.iter()
            .map(|r| {
                let c = r.get("campaign").ok_or_else(|| {
                    PlatformError::unexpected(
                        "a Google Ads campaign row has no \"campaign\" object",
                    )
                })?;
                let b = r.get("campaignBudget");
                // A shared budget is spent by every campaign on it: it is not this one's.
                let shared = b
                    .and_then(|b| b.get("explicitlyShared"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let budget = b
                    .and_then(|b| b.get("amountMicros"))
                    .filter(|v| !v.is_null() && !shared)
                    .map(|v| int(Some(v), "campaignBudget.amountMicros"))
                    .transpose()?
                    .map(|m| Money::new(m, account.currency));
                Ok(Campaign {
                    id: required_text(c.get("id"), "campaign.id")?,
                    name: text(c.get("name")).unwrap_or_default(),
                    status: campaign_status(c.get("status")),
                    daily_budget: budget,
                    flight: levels::campaign_flight(r, shared, account.currency)?,
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
        let cid = customer_id(&account.id)?;
        let range = format!(
            "WHERE segments.date BETWEEN '{}' AND '{}'",
            from.format("%Y-%m-%d"),
            to.format("%Y-%m-%d")
        );
        let query = format!(
            "SELECT campaign.id, campaign.name, campaign.status, segments.date, \
             metrics.impressions, metrics.clicks, metrics.interactions, metrics.cost_micros, \
             metrics.conversions, metrics.conversions_value FROM campaign {range}"
        );
        let rows = self.search(creds, &cid, &query).await?;
        let mut out: Vec<DailyMetrics> = rows
            .iter()
            .map(|r| metrics_row(r, account.currency))
            .collect::<Result<_, _>>()?;
        // Per conversion action (primary and secondary), which Google reports only in a query
        // of its own: conversion action segments allow conversion metrics alone.
        let by_action = self
            .search(
                creds,
                &cid,
                &format!(
                    "SELECT campaign.id, segments.date, segments.conversion_action_name, \
                     segments.conversion_action_category, metrics.all_conversions, \
                     metrics.all_conversions_value FROM campaign {range}"
                ),
            )
            .await?;
        merge_actions(
            &mut out,
            &by_action,
            |r| required_text(r.get("campaign").and_then(|c| c.get("id")), "campaign.id"),
            |m| (m.campaign_id.clone(), m.date),
            |m| &mut m.conversion_types,
            |r, date| {
                Ok(DailyMetrics {
                    campaign_id: required_text(
                        r.get("campaign").and_then(|c| c.get("id")),
                        "campaign.id",
                    )?,
                    campaign_name: String::new(),
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

    pub(crate) async fn create_campaign(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        new: &NewCampaign,
    ) -> Result<Campaign, PlatformError> {
        let cid = customer_id(&account.id)?;
        let budget = round_to_minor(new.daily_budget);
        // Budget names must be unique in the account; a suffix keeps two campaigns with the
        // same name from colliding.
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let budget_op = json!({"create": {
            "name": format!("{} budget {}", new.name, &suffix[..8]),
            "deliveryMethod": "STANDARD",
            "amountMicros": budget.micros.to_string(),
            "explicitlyShared": false,
        }});
        let budget_name = self
            .mutate(creds, &cid, "campaignBudgets", vec![budget_op], false)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| PlatformError::unexpected("budget create returned no resource"))?;
        let status = match new.status {
            CampaignStatus::Active => "ENABLED",
            _ => "PAUSED",
        };
        let campaign_op = json!({"create": {
            "name": new.name,
            "advertisingChannelType": "SEARCH",
            "status": status,
            "campaignBudget": budget_name,
            "manualCpc": {},
            "networkSettings": {
                "targetGoogleSearch": true,
                "targetSearchNetwork": true,
                "targetContentNetwork": false,
                "targetPartnerSearchNetwork": false,
            },
            // Mandatory on create since 2025 (FieldError.REQUIRED otherwise).
            "containsEuPoliticalAdvertising": "DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING",
        }});
        let created = self
            .mutate(creds, &cid, "campaigns", vec![campaign_op], false)
            .await;
        let campaign_name = match created {
            Ok(names) => names
                .into_iter()
                .next()
                .ok_or_else(|| PlatformError::unexpected("campaign create returned no resource"))?,
            // A campaign create that may have landed keeps its budget: the campaign may be
            // using it (the caller looks for it before trying again).
            Err(e) if e.may_have_landed() => return Err(e),
            Err(e) => {
                // Do not leave an orphan budget behind; if this fails too, the original error
                // is what the user needs to see.
                let remove = json!({ "remove": budget_name });
                if let Err(cleanup) = self
                    .mutate(creds, &cid, "campaignBudgets", vec![remove], true)
                    .await
                {
                    tracing::warn!(error = %cleanup, budget = %budget_name, "could not remove orphan budget");
                }
                return Err(e);
            }
        };
        let id = campaign_name
            .rsplit('/')
            .next()
            .unwrap_or(&campaign_name)
            .to_string();
        Ok(Campaign {
            id,
            name: new.name.clone(),
            status: new.status,
            daily_budget: Some(budget),
            flight: Default::default(),
        })
    }

    pub(crate) async fn set_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        let cid = customer_id(&account.id)?;
        let campaign = numeric_id(campaign_id, "campaign")?;
        let status = match status {
            CampaignStatus::Active => "ENABLED",
            _ => "PAUSED",
        };
        let op = json!({
            "update": {"resourceName": format!("customers/{cid}/campaigns/{campaign}"), "status": status},
            "updateMask": "status",
        });
        self.mutate(creds, &cid, "campaigns", vec![op], true)
            .await?;
        Ok(())
    }

    /// The campaign's budget resource, its amount, and whether other campaigns share it.
    async fn budget_of(
        &self,
        creds: &Credentials,
        cid: &str,
        campaign_id: &str,
    ) -> Result<(String, Option<i64>, bool), PlatformError> {
        let campaign = numeric_id(campaign_id, "campaign")?;
        let rows = self
            .search(
                creds,
                cid,
                &format!(
                    "SELECT campaign.id, campaign_budget.resource_name, \
                     campaign_budget.amount_micros, campaign_budget.explicitly_shared \
                     FROM campaign WHERE campaign.id = {campaign}"
                ),
            )
            .await?;
        let b = rows
            .first()
            .and_then(|r| r.get("campaignBudget"))
            .ok_or_else(|| PlatformError::invalid(format!("campaign {campaign} was not found")))?;
        let name = required_text(b.get("resourceName"), "campaignBudget.resourceName")?;
        let amount = b
            .get("amountMicros")
            .filter(|v| !v.is_null())
            .map(|v| int(Some(v), "campaignBudget.amountMicros"))
            .transpose()?;
        let shared = b
            .get("explicitlyShared")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok((name, amount, shared))
    }

    pub(crate) async fn daily_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
    ) -> Result<Option<Money>, PlatformError> {
        let cid = customer_id(&account.id)?;
        let (_, amount, shared) = self.budget_of(creds, &cid, campaign_id).await?;
        Ok(amount
            .filter(|_| !shared)
            .map(|m| Money::new(m, account.currency)))
    }

    pub(crate) async fn set_daily_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        budget: Money,
    ) -> Result<(), PlatformError> {
        let cid = customer_id(&account.id)?;
        let (name, _, shared) = self.budget_of(creds, &cid, campaign_id).await?;
        if shared {
            // Changing a shared budget silently changes every campaign on it.
            return Err(PlatformError::invalid(
                "this campaign uses a shared budget; change it in Google Ads so the other \
                 campaigns on it are not affected by surprise",
            ));
        }
        let amount = round_to_minor(budget).micros;
        let op = json!({
            "update": {"resourceName": name, "amountMicros": amount.to_string()},
            "updateMask": "amountMicros",
        });
        self.mutate(creds, &cid, "campaignBudgets", vec![op], true)
            .await?;
        Ok(())
    }
}

/// The rows of one `googleAds:search` page. A page without rows has no `results` key at all;
/// anything else that is not a search page (a searchStream array, an HTML error page parsed
/// by mistake, `results` that is not a list) is an error naming what was wrong, never "no
/// rows", which would read as zero spend.
fn page_results(page: &Value) -> Result<&[Value], PlatformError> {
    let Some(obj) = page.as_object() else {
        return Err(PlatformError::unexpected(format!(
            // One line: a string continued across lines hides its braces from brace counters.
            "Google Ads answered googleAds:search with {} instead of a search page ({{\"results\": [...]}}); a searchStream answer is an array of batches",
            json_kind(page)
        )));
    };
    match obj.get("results") {
        Some(Value::Array(rows)) => Ok(rows),
        Some(other) => Err(PlatformError::unexpected(format!(
            "Google Ads search page: \"results\" is {} instead of a list",
            json_kind(other)
        ))),
        None if obj.contains_key("error") => Err(PlatformError::unexpected(
            "Google Ads search page carries an error object with a success status",
        )),
        None => Ok(&[]),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a JSON array",
        Value::Object(_) => "an object",
    }
}

fn metrics_row(r: &Value, currency: Currency) -> Result<DailyMetrics, PlatformError> {
    let c = r.get("campaign").ok_or_else(|| {
        PlatformError::unexpected("a Google Ads metrics row has no \"campaign\" object")
    })?;
    // Metrics absent from a row are zero: proto3 JSON leaves zero values out, and a metrics
    // message whose every value is zero may be left out whole.
    let m = match r.get("metrics") {
        None | Some(Value::Null) => &Value::Null,
        Some(m) if m.is_object() => m,
        Some(other) => {
            return Err(PlatformError::unexpected(format!(
                "a Google Ads metrics row has \"metrics\" as {} instead of an object",
                json_kind(other)
            )));
        }
    };
    let date = required_text(
        r.get("segments").and_then(|s| s.get("date")),
        "segments.date",
    )?;
    let date = date.parse::<NaiveDate>().map_err(|_| {
        PlatformError::unexpected(format!("segments.date \"{date}\" is not a date"))
    })?;
    let revenue = decimal(m.get("conversionsValue"), "metrics.conversionsValue")?;
    let conversions = decimal(m.get("conversions"), "metrics.conversions")?;
    let mut conversion_types = ConversionTypes::new();
    conversion_types.insert(
        DEFAULT_TYPE.to_string(),
        TypeFigure {
            count: conversions,
            value: revenue,
            category: None,
        },
    );
    Ok(DailyMetrics {
        campaign_id: required_text(c.get("id"), "campaign.id")?,
        campaign_name: text(c.get("name")).unwrap_or_default(),
        date,
        impressions: int(m.get("impressions"), "metrics.impressions")?,
        clicks: int(m.get("clicks"), "metrics.clicks")?,
        // Google's interactions: clicks plus the other engagements it counts (UNVERIFIED
        // equivalence with Meta's "clicks (all)"; the closest figure Google has).
        all_clicks: Some(int(m.get("interactions"), "metrics.interactions")?),
        spend: Money::new(int(m.get("costMicros"), "metrics.costMicros")?, currency),
        conversions,
        revenue: Money::from_major(revenue, currency)
            .ok_or_else(|| PlatformError::unexpected("conversions value out of range"))?,
        conversion_types,
    })
}

/// Adds the rows of a per-conversion-action query (campaign, ad group or ad level) to the
/// delivery rows of the same object and day, as per-type figures. A conversion can land on a
/// day without delivery (late attribution); that day gets a row of its own from `new_row`.
/// Google leaves out rows without conversions, so every action seen in the range is a known
/// zero on the rows that lack it.
pub(super) fn merge_actions<T>(
    out: &mut Vec<T>,
    by_action: &[Value],
    object_of: impl Fn(&Value) -> Result<String, PlatformError>,
    key_of: impl Fn(&T) -> (String, NaiveDate),
    types_of: impl Fn(&mut T) -> &mut ConversionTypes,
    new_row: impl Fn(&Value, NaiveDate) -> Result<T, PlatformError>,
) -> Result<(), PlatformError> {
    let mut index: std::collections::HashMap<(String, NaiveDate), usize> = out
        .iter()
        .enumerate()
        .map(|(i, m)| (key_of(m), i))
        .collect();
    let mut actions: std::collections::BTreeMap<String, Option<String>> =
        std::collections::BTreeMap::new();
    for r in by_action {
        let (date, name, figure) = action_row(r)?;
        let key = (object_of(r)?, date);
        let i = match index.get(&key) {
            Some(i) => *i,
            None => {
                out.push(new_row(r, date)?);
                index.insert(key, out.len() - 1);
                out.len() - 1
            }
        };
        if let Some(m) = out.get_mut(i) {
            let f = types_of(m).entry(name.clone()).or_default();
            f.count += figure.count;
            f.value += figure.value;
            f.category = figure.category.clone();
        }
        actions.entry(name).or_insert(figure.category);
    }
    for m in out.iter_mut() {
        let types = types_of(m);
        for (name, category) in &actions {
            types.entry(name.clone()).or_insert_with(|| TypeFigure {
                category: category.clone(),
                ..TypeFigure::default()
            });
        }
    }
    Ok(())
}

/// One row of a per-conversion-action query: (date, action name, figures). All
/// conversions, so secondary actions are there to choose from too.
fn action_row(r: &Value) -> Result<(NaiveDate, String, TypeFigure), PlatformError> {
    let seg = r.get("segments").ok_or_else(|| {
        PlatformError::unexpected("a Google Ads conversion action row has no \"segments\" object")
    })?;
    let date = required_text(seg.get("date"), "segments.date")?;
    let date = date.parse::<NaiveDate>().map_err(|_| {
        PlatformError::unexpected(format!("segments.date \"{date}\" is not a date"))
    })?;
    let name = required_text(
        seg.get("conversionActionName"),
        "segments.conversionActionName in Google Ads' conversion action rows",
    )?;
    let m = r.get("metrics").unwrap_or(&Value::Null);
    Ok((
        date,
        name,
        TypeFigure {
            count: decimal(m.get("allConversions"), "metrics.allConversions")?,
            value: decimal(m.get("allConversionsValue"), "metrics.allConversionsValue")?,
            category: text(seg.get("conversionActionCategory")),
        },
    ))
}

fn campaign_status(v: Option<&Value>) -> CampaignStatus {
    match v.and_then(Value::as_str) {
        Some("ENABLED") => CampaignStatus::Active,
        Some("REMOVED") => CampaignStatus::Removed,
        // PAUSED, and UNKNOWN/UNSPECIFIED: treat as not serving.
        _ => CampaignStatus::Paused,
    }
}

fn digits_only(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// "123-456-7890" or "1234567890"; ids go into URLs and GAQL, so nothing else passes.
fn customer_id(s: &str) -> Result<String, PlatformError> {
    let t = s.trim().trim_start_matches("customers/");
    let d: String = t.chars().filter(|c| *c != '-' && *c != ' ').collect();
    if !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()) {
        Ok(d)
    } else {
        Err(PlatformError::invalid(format!(
            "\"{s}\" is not a Google Ads customer id (expected digits like 123-456-7890)"
        )))
    }
}

fn numeric_id(s: &str, what: &str) -> Result<String, PlatformError> {
    let t = s.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        Ok(t.to_string())
    } else {
        Err(PlatformError::invalid(format!(
            "\"{s}\" is not a Google Ads {what} id"
        )))
    }
}
