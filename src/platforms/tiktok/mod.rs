//! TikTok Marketing API v1.3: `Access-Token` header, `{code, message, data}` envelopes with
//! HTTP 200 errors, JSON-array query parameters, page/page_size paging, 30-day report ranges.

pub mod create;
mod errors;
mod level_writes;
mod levels;
mod oauth;

pub(crate) use oauth::token_set;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::platforms::call::platform_call;
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{
    AccountRef, AccountStatus, AdAccount, Campaign, CampaignStatus, ConversionTypes, Credentials,
    DEFAULT_TYPE, DailyMetrics, NewCampaign, TypeFigure,
};
use crate::platforms::settings::{TiktokSettings, join_url, versioned};
use crate::platforms::wire::{decimal, int, required_text, text};
use crate::platforms::{Shared, round_to_minor, snippet};
use crate::types::{Currency, Money};

/// Longest range one daily report call may cover.
const MAX_DAYS_PER_REPORT: u64 = 30;
const PAGE_SIZE: &str = "1000";
const MAX_PAGES: i64 = 10_000;
/// Advertisers per `advertiser/info/` call (UNVERIFIED limit; 100 is what the SDK examples use).
const INFO_BATCH: usize = 100;
/// Event metrics stored per type (count metric, value metric): web purchases (the value
/// metric's name is TikTok's, "rate" and all), app purchases, app installs, app registrations
/// and leads (reference §5.4, from Airbyte's report metric list).
const TYPE_METRICS: [(&str, Option<&str>); 6] = [
    ("conversion", None),
    ("complete_payment", Some("total_complete_payment_rate")),
    ("purchase", Some("total_purchase_value")),
    ("app_install", None),
    ("registration", None),
    ("sales_lead", None),
];
/// What adpilot reads from `advertiser/info/`.
const INFO_FIELDS: &[&str] = &[
    "advertiser_id",
    "name",
    "currency",
    "timezone",
    "display_timezone",
    "status",
];

type Params = Vec<(String, String)>;

fn p(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

/// JSON-encoded array for a query parameter: `["a","b"]`.
fn json_list<S: AsRef<str>>(items: &[S]) -> String {
    Value::Array(
        items
            .iter()
            .map(|s| Value::String(s.as_ref().to_string()))
            .collect(),
    )
    .to_string()
}

/// A JSON object body with one exact decimal number added. serde_json can only write numbers
/// through f64 here, so the number's text is spliced in from the decimal itself.
fn body_with_number(fields: Map<String, Value>, key: &str, number: Decimal) -> String {
    let head = Value::Object(fields).to_string();
    let key = Value::String(key.to_string()).to_string();
    let num = number.normalize().to_string();
    match head.strip_suffix('}') {
        Some("{") | None => format!("{{{key}:{num}}}"),
        Some(rest) => format!("{rest},{key}:{num}}}"),
    }
}

#[derive(Clone)]
pub struct TiktokAds {
    shared: Arc<Shared>,
}

struct Req<'a> {
    method: Method,
    path: &'a str,
    query: &'a Params,
    /// The body and its content type.
    body: Option<(String, Vec<u8>)>,
    idempotent: bool,
}

impl TiktokAds {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        TiktokAds { shared }
    }

    fn settings(&self) -> &TiktokSettings {
        &self.shared.settings.tiktok
    }

    fn url(&self, path: &str) -> String {
        let s = self.settings();
        join_url(
            &s.api_url,
            &format!("open_api/{}/{}", versioned(&s.api_version), path),
        )
    }

    /// One call; returns the envelope's `data`. `advertiser` keys the rate limiter ("" for
    /// app-level calls).
    async fn call(
        &self,
        token: Option<&str>,
        advertiser: &str,
        req: Req<'_>,
    ) -> Result<Value, PlatformError> {
        let url = self.url(req.path);
        let url = url.as_str();
        let Req {
            method,
            query,
            body,
            idempotent,
            ..
        } = req;
        let body = body.as_ref();
        platform_call(
            &self.shared,
            idempotent,
            || async move {
                self.shared.limits.tiktok_slot(advertiser).await;
                Ok(())
            },
            |http| {
                let mut rb = http.request(method.clone(), url);
                if !query.is_empty() {
                    rb = rb.query(query);
                }
                if let Some(t) = token {
                    rb = rb.header("Access-Token", t);
                }
                if let Some((content_type, b)) = body {
                    rb = rb.header("content-type", content_type).body(b.to_vec());
                }
                rb
            },
            // TikTok's answer is an envelope whose `code` decides, also on HTTP 200.
            |answer| envelope(answer.status, &answer.headers, &answer.body),
        )
        .await
    }

    async fn get(
        &self,
        creds: &Credentials,
        advertiser: &str,
        path: &str,
        query: &Params,
    ) -> Result<Value, PlatformError> {
        self.call(
            Some(&creds.access_token),
            advertiser,
            Req {
                method: Method::GET,
                path,
                query,
                body: None,
                idempotent: true,
            },
        )
        .await
    }

    async fn post(
        &self,
        creds: &Credentials,
        advertiser: &str,
        path: &str,
        body: String,
        idempotent: bool,
    ) -> Result<Value, PlatformError> {
        self.call(
            Some(&creds.access_token),
            advertiser,
            Req {
                method: Method::POST,
                path,
                query: &Vec::new(),
                body: Some(("application/json".to_string(), body.into_bytes())),
                idempotent,
            },
        )
        .await
    }

    /// Every page of a `data.list` endpoint, until `page_info.total_page`.
    async fn get_pages(
        &self,
        creds: &Credentials,
        advertiser: &str,
        path: &str,
        params: &Params,
    ) -> Result<Vec<Value>, PlatformError> {
        let mut rows = Vec::new();
        let mut page = 1i64;
        while page <= MAX_PAGES {
            let mut q = params.clone();
            q.push(p("page", page.to_string()));
            q.push(p("page_size", PAGE_SIZE));
            let data = self.get(creds, advertiser, path, &q).await?;
            // An empty page still carries `"list": []`; without it the answer is not a list.
            let list = data.get("list").and_then(Value::as_array).ok_or_else(|| {
                PlatformError::unexpected(format!("TikTok's answer to {path} has no data.list"))
            })?;
            let got = list.len();
            rows.extend(list.iter().cloned());
            let total_pages = data
                .get("page_info")
                .and_then(|pi| pi.get("total_page"))
                .map(|v| int(Some(v), "page_info.total_page"))
                .transpose()?
                .unwrap_or(1);
            if page >= total_pages || got == 0 {
                return Ok(rows);
            }
            page += 1;
        }
        Err(PlatformError::unexpected("TikTok paging did not end"))
    }

    pub(crate) async fn list_accounts(
        &self,
        creds: &Credentials,
    ) -> Result<Vec<AdAccount>, PlatformError> {
        let s = self.settings();
        if s.app_id.is_empty() || s.secret.is_empty() {
            return Err(PlatformError::unexpected(
                "listing TikTok advertisers needs the app id and secret to be configured",
            ));
        }
        let data = self
            .get(
                creds,
                "",
                "oauth2/advertiser/get/",
                &vec![p("app_id", s.app_id.clone()), p("secret", s.secret.clone())],
            )
            .await?;
        let listed: Vec<(String, String)> = data
            .get("list")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some((
                    text(a.get("advertiser_id"))?,
                    text(a.get("advertiser_name")).unwrap_or_default(),
                ))
            })
            .collect();
        let mut out = Vec::new();
        for batch in listed.chunks(INFO_BATCH) {
            let ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
            let mut infos = Vec::new();
            for info in self.infos(creds, &ids).await? {
                match info {
                    Ok(a) => infos.push(a),
                    // Left out of the list, with the reason in the log; the rest still sync.
                    Err(e) => tracing::warn!(error = %e, "TikTok advertiser skipped"),
                }
            }
            for (id, listed_name) in batch {
                match infos.iter().find(|a| &a.id == id) {
                    Some(a) => {
                        let mut a = a.clone();
                        if a.name.is_empty() {
                            a.name = listed_name.clone();
                        }
                        out.push(a);
                    }
                    None => {
                        tracing::info!(advertiser = %id, "TikTok gave no info for advertiser; skipped")
                    }
                }
            }
        }
        Ok(out)
    }

    /// One entry per advertiser TikTok described: an advertiser whose answer cannot be read
    /// is an error of its own, so the others stay usable.
    async fn infos(
        &self,
        creds: &Credentials,
        ids: &[&str],
    ) -> Result<Vec<Result<AdAccount, PlatformError>>, PlatformError> {
        let data = self
            .get(
                creds,
                ids.first().copied().unwrap_or(""),
                "advertiser/info/",
                &vec![
                    p("advertiser_ids", json_list(ids)),
                    // Without a list TikTok may answer with a default set that lacks currency.
                    p("fields", json_list(INFO_FIELDS)),
                ],
            )
            .await?;
        let list = data.get("list").and_then(Value::as_array).ok_or_else(|| {
            PlatformError::unexpected("TikTok's advertiser/info answer has no data.list")
        })?;
        Ok(list.iter().map(advertiser_of).collect())
    }

    pub(crate) async fn account(
        &self,
        creds: &Credentials,
        account_id: &str,
    ) -> Result<AdAccount, PlatformError> {
        let id = numeric(account_id, "advertiser")?;
        let infos = self.infos(creds, &[&id]).await?;
        let mut first_error = None;
        for info in infos {
            match info {
                Ok(a) if a.id == id => return Ok(a),
                Ok(_) => {}
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        Err(first_error.unwrap_or_else(|| {
            PlatformError::invalid(format!("TikTok advertiser {id} was not found"))
        }))
    }

    async fn campaigns(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        only: Option<&str>,
    ) -> Result<Vec<Campaign>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let mut params = vec![p("advertiser_id", id.clone())];
        if let Some(c) = only {
            // `filtering` is UNVERIFIED in the reference: results are filtered again below.
            params.push(p("filtering", json!({ "campaign_ids": [c] }).to_string()));
        }
        let rows = self.get_pages(creds, &id, "campaign/get/", &params).await?;
        rows.iter()
            .map(|r| campaign_of(r, account.currency))
            .filter(|c| match (only, c) {
                (Some(want), Ok(c)) => c.id == want,
                _ => true,
            })
            .collect()
    }

    pub(crate) async fn list_campaigns(
        &self,
        creds: &Credentials,
        account: &AccountRef,
    ) -> Result<Vec<Campaign>, PlatformError> {
        self.campaigns(creds, account, None).await
    }

    pub(crate) async fn daily_metrics(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyMetrics>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let s = self.settings();
        let metrics = report_metrics(s, &["campaign_name"]);
        let mut out = Vec::new();
        for (start, end) in day_chunks(from, to, MAX_DAYS_PER_REPORT) {
            let params = vec![
                p("advertiser_id", id.clone()),
                p("service_type", "AUCTION"),
                p("report_type", "BASIC"),
                p("data_level", "AUCTION_CAMPAIGN"),
                p("dimensions", json_list(&["campaign_id", "stat_time_day"])),
                p("metrics", metrics.clone()),
                p("start_date", start.format("%Y-%m-%d").to_string()),
                p("end_date", end.format("%Y-%m-%d").to_string()),
            ];
            let rows = self
                .get_pages(creds, &id, "report/integrated/get/", &params)
                .await?;
            for r in &rows {
                out.push(report_row(r, account.currency, s)?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn create_campaign(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        new: &NewCampaign,
    ) -> Result<Campaign, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let budget = round_to_minor(new.daily_budget);
        let mut fields = Map::new();
        fields.insert("advertiser_id".into(), json!(id));
        fields.insert("campaign_name".into(), json!(new.name));
        fields.insert("objective_type".into(), json!("TRAFFIC"));
        fields.insert("budget_mode".into(), json!("BUDGET_MODE_DAY"));
        fields.insert(
            "operation_status".into(),
            json!(match new.status {
                CampaignStatus::Active => "ENABLE",
                _ => "DISABLE",
            }),
        );
        let body = body_with_number(fields, "budget", budget.to_major());
        let data = self
            .post(creds, &id, "campaign/create/", body, false)
            .await?;
        Ok(Campaign {
            id: required_text(data.get("campaign_id"), "campaign_id")?,
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
        let id = numeric(&account.id, "advertiser")?;
        let campaign = numeric(campaign_id, "campaign")?;
        let body = json!({
            "advertiser_id": id,
            "campaign_ids": [campaign],
            "operation_status": match status {
                CampaignStatus::Active => "ENABLE",
                _ => "DISABLE",
            },
        });
        self.post(
            creds,
            &id,
            "campaign/status/update/",
            body.to_string(),
            true,
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn daily_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
    ) -> Result<Option<Money>, PlatformError> {
        let campaign = numeric(campaign_id, "campaign")?;
        self.campaigns(creds, account, Some(&campaign))
            .await?
            .into_iter()
            .next()
            .map(|c| c.daily_budget)
            .ok_or_else(|| PlatformError::invalid(format!("campaign {campaign} was not found")))
    }

    pub(crate) async fn set_daily_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        budget: Money,
    ) -> Result<(), PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let campaign = numeric(campaign_id, "campaign")?;
        let mut fields = Map::new();
        fields.insert("advertiser_id".into(), json!(id));
        fields.insert("campaign_id".into(), json!(campaign));
        let body = body_with_number(fields, "budget", round_to_minor(budget).to_major());
        self.post(creds, &id, "campaign/update/", body, true)
            .await?;
        Ok(())
    }
}

/// `from..=to` in pieces of at most `max_days` days.
fn day_chunks(from: NaiveDate, to: NaiveDate, max_days: u64) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = start
            .checked_add_days(Days::new(max_days - 1))
            .map_or(to, |e| e.min(to));
        out.push((start, end));
        match end.checked_add_days(Days::new(1)) {
            Some(next) => start = next,
            None => break,
        }
    }
    out
}

fn text_of(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

fn advertiser_of(v: &Value) -> Result<AdAccount, PlatformError> {
    let id = required_text(
        v.get("advertiser_id"),
        "advertiser_id in TikTok's advertiser/info",
    )?;
    let currency: Currency = text(v.get("currency"))
        .ok_or_else(|| {
            PlatformError::unexpected(format!(
                "TikTok's advertiser/info answer for advertiser {id} has no \"currency\" field"
            ))
        })?
        .parse()
        .map_err(|e| PlatformError::unexpected(format!("TikTok advertiser {id}: {e}")))?;
    // Status names beyond STATUS_ENABLE are UNVERIFIED; unknown ones are kept as spelled.
    let status = match v.get("status").and_then(Value::as_str) {
        None | Some("STATUS_ENABLE") => AccountStatus::Active,
        Some(s) if s.contains("DISABLE") || s.contains("LIMIT") || s.contains("FROZEN") => {
            AccountStatus::Disabled
        }
        Some(s) if s.contains("CLOSE") || s.contains("DELETE") => AccountStatus::Closed,
        Some(s) => AccountStatus::Other(s.to_string()),
    };
    Ok(AdAccount {
        id,
        name: text(v.get("name"))
            .or_else(|| text(v.get("advertiser_name")))
            .unwrap_or_default(),
        currency,
        // `timezone` can be a fixed offset ("Etc/GMT+8") while `display_timezone` names the
        // region ("America/Los_Angeles") whose daylight saving the report days follow.
        time_zone: text(v.get("display_timezone"))
            .filter(|t| !t.is_empty())
            .or_else(|| text(v.get("timezone")))
            .unwrap_or_default(),
        status,
        manager: false,
    })
}

/// The campaign's status from `operation_status` (what the advertiser switched) or, when an
/// answer leaves that out, from `secondary_status` (what TikTok derived from it).
fn campaign_status(r: &Value) -> CampaignStatus {
    let op = r.get("operation_status").and_then(Value::as_str);
    let secondary = r
        .get("secondary_status")
        .and_then(Value::as_str)
        .unwrap_or("");
    if op == Some("DELETE") || secondary.contains("DELETE") {
        return CampaignStatus::Removed;
    }
    match op {
        Some("ENABLE") => CampaignStatus::Active,
        Some(_) => CampaignStatus::Paused,
        // Switched on; an exhausted budget still counts as running for rules.
        None if matches!(
            secondary,
            "CAMPAIGN_STATUS_ENABLE" | "CAMPAIGN_STATUS_BUDGET_EXCEED"
        ) =>
        {
            CampaignStatus::Active
        }
        // CAMPAIGN_STATUS_DISABLE, audit and account states: not delivering.
        None => CampaignStatus::Paused,
    }
}

fn campaign_of(r: &Value, currency: Currency) -> Result<Campaign, PlatformError> {
    let status = campaign_status(r);
    let daily = matches!(
        r.get("budget_mode").and_then(Value::as_str),
        Some("BUDGET_MODE_DAY") | Some("BUDGET_MODE_DYNAMIC_DAILY_BUDGET")
    );
    let daily_budget = if daily {
        let major = decimal(r.get("budget"), "budget")?;
        Some(
            Money::from_major(major, currency)
                .ok_or_else(|| PlatformError::unexpected("budget out of range"))?,
        )
    } else {
        None
    };
    Ok(Campaign {
        id: required_text(r.get("campaign_id"), "campaign_id")?,
        name: text(r.get("campaign_name")).unwrap_or_default(),
        status,
        daily_budget,
        flight: levels::campaign_flight(r, currency)?,
    })
}

/// The `metrics` list of a report at any level: the level's names, the delivery figures, the
/// configured conversion and revenue metrics and every per-type metric.
fn report_metrics(s: &TiktokSettings, names: &[&str]) -> String {
    let mut wanted: Vec<&str> = names.to_vec();
    wanted.extend([
        "spend",
        "impressions",
        "clicks",
        s.conversion_metric.as_str(),
        s.revenue_metric.as_str(),
    ]);
    for (count, value) in TYPE_METRICS {
        wanted.push(count);
        wanted.extend(value);
    }
    wanted.sort_unstable();
    wanted.dedup();
    json_list(&wanted)
}

/// A report row's conversions and revenue (the configured metrics) and its per-type figures
/// with those under [`DEFAULT_TYPE`]; the same at every level.
fn type_figures(
    m: &Value,
    s: &TiktokSettings,
) -> Result<(Decimal, Decimal, ConversionTypes), PlatformError> {
    let conversions = decimal(m.get(&s.conversion_metric), &s.conversion_metric)?;
    let revenue = decimal(m.get(&s.revenue_metric), &s.revenue_metric)?;
    let mut types = ConversionTypes::new();
    types.insert(
        DEFAULT_TYPE.to_string(),
        TypeFigure {
            count: conversions,
            value: revenue,
            category: None,
        },
    );
    for (count, value) in TYPE_METRICS {
        types.insert(
            count.to_string(),
            TypeFigure {
                count: decimal(m.get(count), count)?,
                value: match value {
                    Some(v) => decimal(m.get(v), v)?,
                    None => Decimal::ZERO,
                },
                category: None,
            },
        );
    }
    Ok((conversions, revenue, types))
}

fn report_row(
    r: &Value,
    currency: Currency,
    s: &TiktokSettings,
) -> Result<DailyMetrics, PlatformError> {
    let dims = r.get("dimensions").unwrap_or(&Value::Null);
    let m = r.get("metrics").unwrap_or(&Value::Null);
    // "2025-01-01 00:00:00": the date part is the advertiser's local day.
    let day = required_text(dims.get("stat_time_day"), "stat_time_day")?;
    let date = day
        .get(..10)
        .and_then(|d| d.parse::<NaiveDate>().ok())
        .ok_or_else(|| {
            PlatformError::unexpected(format!("stat_time_day \"{day}\" is not a date"))
        })?;
    let money = |key: &str| {
        let d = decimal(m.get(key), key)?;
        Money::from_major(d, currency)
            .ok_or_else(|| PlatformError::unexpected("amount out of range"))
    };
    let (conversions, revenue, conversion_types) = type_figures(m, s)?;
    Ok(DailyMetrics {
        campaign_id: required_text(dims.get("campaign_id"), "campaign_id")?,
        campaign_name: text(m.get("campaign_name")).unwrap_or_default(),
        date,
        impressions: int(m.get("impressions"), "impressions")?,
        // TikTok's clicks are clicks to the destination; it has no "all clicks" figure.
        clicks: int(m.get("clicks"), "clicks")?,
        all_clicks: None,
        spend: money("spend")?,
        conversions,
        revenue: Money::from_major(revenue, currency)
            .ok_or_else(|| PlatformError::unexpected("amount out of range"))?,
        conversion_types,
    })
}

fn numeric(s: &str, what: &str) -> Result<String, PlatformError> {
    let t = s.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
        Ok(t.to_string())
    } else {
        Err(PlatformError::invalid(format!(
            "\"{s}\" is not a TikTok {what} id"
        )))
    }
}

/// Unwraps TikTok's `{code, message, data}` envelope: `data` on success, else the classified
/// error (pure; the fuzz target feeds it arbitrary bodies).
pub(crate) fn envelope(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    text: &str,
) -> Result<Value, PlatformError> {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_i64);
    match (code, parsed) {
        // 20001 is "partial OK": the data that is there is valid.
        (Some(0 | 20001), Some(mut v)) if status.is_success() => {
            Ok(v.get_mut("data").map(Value::take).unwrap_or(Value::Null))
        }
        (Some(c), Some(v)) => {
            let message = text_of(v.get("message")).unwrap_or_else(|| snippet(text));
            Err(errors::classify(c, message))
        }
        _ => Err(if status.is_success() {
            PlatformError::unexpected(format!(
                "TikTok sent a body without a code: {}",
                snippet(text)
            ))
        } else {
            PlatformError::from_status(
                status,
                crate::platforms::errors::retry_after_header(headers),
                snippet(text),
            )
        }),
    }
}
