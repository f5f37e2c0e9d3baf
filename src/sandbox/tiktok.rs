//! TikTok Business API v1.3 imitation: `/open_api/v1.3/...`, `Access-Token` header, always
//! HTTP 200 with `code` (0 = OK), JSON-encoded arrays in GET query strings, JSON POST bodies,
//! `page`/`page_size` paging with `page_info`, and the 30-day limit on daily reports.

// Helpers return the finished platform error response as their Err side; it is built once
// per failed call, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::faults::{FaultKind, Injected};
use super::metrics::{DayMetrics, campaign_days};
use super::server::{App, State};
use super::tokens::{Grant, TokenKind, TokenProblem};
use super::wire::{
    ApiRequest, decimal_from_json, decimal_number, json_response, list_param, major_str,
    micros_from_major, with_code,
};
use super::world::{Account, Campaign, CampaignStatus, IdKind, NewCampaign};
use crate::types::{Money, Platform};

mod create;
mod level_writes;
mod levels;

const OBJECTIVES: [&str; 10] = [
    "APP_PROMOTION",
    "WEB_CONVERSIONS",
    "CONVERSIONS",
    "TRAFFIC",
    "REACH",
    "VIDEO_VIEWS",
    "LEAD_GENERATION",
    "ENGAGEMENT",
    "PRODUCT_SALES",
    "RF_REACH",
];

const REPORT_METRICS: [&str; 15] = [
    "purchase",
    "total_purchase_value",
    "app_install",
    "registration",
    "sales_lead",
    "campaign_name",
    "spend",
    "impressions",
    "clicks",
    "conversion",
    "complete_payment",
    "total_complete_payment_rate",
    "ctr",
    "cpc",
    "cpm",
];

/// Report rows keyed by (day, campaign id), each None when that dimension was not asked for.
type Rows<'a> = BTreeMap<(Option<NaiveDate>, Option<String>), (Option<&'a Campaign>, DayMetrics)>;

fn request_id() -> String {
    format!(
        "{}{}",
        Utc::now().format("%Y%m%d%H%M%S"),
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..18)
            .unwrap_or("0")
    )
}

/// TikTok's envelope; errors too are HTTP 200.
pub fn reply(code: i64, message: &str, data: Value) -> Response {
    with_code(
        json_response(
            StatusCode::OK,
            &json!({"code": code, "message": message, "request_id": request_id(), "data": data}),
        ),
        code,
    )
}

fn bad(message: &str) -> Response {
    reply(40002, message, json!({}))
}

fn token_problem(p: TokenProblem) -> Response {
    match p {
        TokenProblem::Missing => reply(40104, "Access token is null, please check it.", json!({})),
        TokenProblem::Expired => reply(40102, "Access token has expired.", json!({})),
        TokenProblem::Unknown | TokenProblem::Revoked => reply(
            40105,
            "The access token is invalid or has been revoked.",
            json!({}),
        ),
    }
}

pub fn fault_response(i: &Injected) -> Response {
    match i.kind {
        FaultKind::RateLimit => reply(
            40100,
            "Too many requests. Please retry in some time.",
            json!({}),
        ),
        FaultKind::ServerError | FaultKind::Timeout | FaultKind::LostResponse => {
            reply(50000, "System error.", json!({}))
        }
        FaultKind::ExpiredToken => token_problem(TokenProblem::Expired),
        FaultKind::RevokedToken => token_problem(TokenProblem::Revoked),
        FaultKind::PermanentError => {
            bad("objective_type: This objective is not available for this advertiser.")
        }
        FaultKind::MissingPermission => reply(
            40001,
            "No permission to operate advertiser. Check that the advertiser authorized this app with the Reporting scope.",
            json!({}),
        ),
        // Reshaping kinds are applied to the real answer by the dispatcher.
        FaultKind::WrongShape
        | FaultKind::SecondaryStatusOnly
        | FaultKind::LegacyAdvertiserInfo
        | FaultKind::AccountOnHold => reply(50000, "System error.", json!({})),
    }
}

/// Request parameters: the query string for GET, the JSON body for POST.
struct Params {
    query: Vec<(String, String)>,
    body: Option<Value>,
}

impl Params {
    fn str(&self, key: &str) -> Option<String> {
        match &self.body {
            Some(b) => b.get(key).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }),
            None => self
                .query
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone()),
        }
    }

    /// An array sent as JSON text in the query, as repeated keys, or as a JSON body array.
    fn list(&self, key: &str) -> Option<Vec<String>> {
        match &self.body {
            Some(b) => b.get(key).and_then(Value::as_array).map(|a| {
                a.iter()
                    .map(|v| {
                        v.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect()
            }),
            None => {
                let vals: Vec<&String> = self
                    .query
                    .iter()
                    .filter(|(k, _)| k == key || k == &format!("{key}[]"))
                    .map(|(_, v)| v)
                    .collect();
                match vals.as_slice() {
                    [] => None,
                    [one] => Some(list_param(one)),
                    many => Some(many.iter().map(|s| s.to_string()).collect()),
                }
            }
        }
    }

    fn json(&self, key: &str) -> Option<Value> {
        match &self.body {
            Some(b) => b.get(key).cloned(),
            None => self.str(key).and_then(|s| serde_json::from_str(&s).ok()),
        }
    }

    fn raw(&self, key: &str) -> Option<Value> {
        match &self.body {
            Some(b) => b.get(key).cloned(),
            None => self.str(key).map(Value::String),
        }
    }
}

pub fn handle(app: &App, req: &ApiRequest) -> Response {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let Some(("v1.3", rest)) = segs.get(1).map(|v| (*v, segs.get(2..).unwrap_or(&[]))) else {
        return bad("Unknown API version: the sandbox serves /open_api/v1.3/");
    };
    let params = match request_params(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let now = app.now();
    let mut s = app.state();
    let grant = match admit(app, &mut s, req, now) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let call = Call {
        app,
        req,
        params: &params,
        grant: &grant,
        now,
    };
    if let Some(r) = write_route(&call, &mut s, rest) {
        return r;
    }
    read_route(&call, &s, rest).unwrap_or_else(|| {
        reply(
            40002,
            &format!("Unknown API path {} {}", req.method, req.path),
            json!({}),
        )
    })
}

/// What a route needs of the request besides the sandbox's state.
struct Call<'a> {
    app: &'a App,
    req: &'a ApiRequest,
    params: &'a Params,
    grant: &'a Grant,
    now: DateTime<Utc>,
}

/// The parameters: a POST's JSON body or multipart text parts, otherwise the query string.
fn request_params(req: &ApiRequest) -> Result<Params, Response> {
    if req.method == Method::POST && req.multipart {
        // File uploads: the text parts are the parameters.
        Ok(Params {
            query: Vec::new(),
            body: Some(Value::Object(
                req.form
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )),
        })
    } else if req.method == Method::POST {
        match req.json_body() {
            Ok(b) => Ok(Params {
                query: Vec::new(),
                body: Some(b),
            }),
            Err(e) => Err(bad(&e)),
        }
    } else {
        Ok(Params {
            query: req.query.clone(),
            body: None,
        })
    }
}

/// The access token's grant, once the token is valid and the app is within its call quota.
fn admit(
    app: &App,
    s: &mut State,
    req: &ApiRequest,
    now: DateTime<Utc>,
) -> Result<Grant, Response> {
    let grant = match s.auth.check(
        Platform::Tiktok,
        req.header("access-token"),
        &[TokenKind::Access],
        now,
    ) {
        Ok((_, g)) => g.clone(),
        Err(p) => return Err(token_problem(p)),
    };
    if let Some(limit) = app.config.tiktok_calls_per_minute
        && s.quotas
            .take("tiktok", 1, limit, Duration::from_secs(60), Instant::now())
            .is_err()
    {
        return Err(reply(
            40100,
            "Too many requests. Please retry in some time.",
            json!({}),
        ));
    }
    Ok(grant)
}

type Write = fn(&mut State, &Params, &Account, DateTime<Utc>) -> Response;

/// The POST routes that change the advertiser's objects; `None` for any other path.
fn write_route(c: &Call, s: &mut State, rest: &[&str]) -> Option<Response> {
    if c.req.method != Method::POST {
        return None;
    }
    let write: Write = match rest {
        ["campaign", "create"] => |s, p, a, now| create(s, p, a, now),
        ["campaign", "status", "update"] => |s, p, a, now| status_update(s, p, a, now),
        ["campaign", "update"] => |s, p, a, now| update(s, p, a, now),
        ["adgroup", "status", "update"] => {
            |s, p, a, now| level_writes::adgroup_status_update(s, p, a, now)
        }
        ["ad", "status", "update"] => |s, p, a, now| level_writes::ad_status_update(s, p, a, now),
        ["adgroup", "budget", "update"] => {
            |s, p, a, now| level_writes::adgroup_budget_update(s, p, a, now)
        }
        ["adgroup", "update"] => |s, p, a, now| level_writes::adgroup_update(s, p, a, now),
        ["adgroup", "create"] => |s, p, a, now| create::adgroup_create(s, p, a, now),
        ["identity", "create"] => |s, p, a, _| create::identity_create(s, p, a),
        ["ad", "create"] => |s, p, a, now| create::ad_create(s, p, a, now),
        ["file", "image", "ad", "upload"] => {
            return Some(match adv(s, c.params, c.grant) {
                Ok(acc) => create::image_upload(s, c.params, c.req, &acc),
                Err(r) => r,
            });
        }
        _ => return None,
    };
    Some(match adv(s, c.params, c.grant) {
        Ok(acc) => write(s, c.params, &acc, c.now),
        Err(r) => r,
    })
}

/// The routes that only read; `None` for any other method and path.
fn read_route(c: &Call, s: &State, rest: &[&str]) -> Option<Response> {
    let (app, params, grant) = (c.app, c.params, c.grant);
    let paged = |f: &dyn Fn(&Account, usize, usize) -> Response| {
        with_adv(s, params, grant, |acc| match paging(app, params) {
            Ok((page, size)) => f(acc, page, size),
            Err(r) => r,
        })
    };
    Some(match (c.req.method.clone(), rest) {
        (Method::GET, ["oauth2", "advertiser", "get"]) => advertisers(s, params, grant),
        (Method::GET, ["advertiser", "info"]) => advertiser_info(s, params, grant),
        (Method::GET, ["campaign", "get"]) => {
            with_adv(s, params, grant, |acc| campaigns(app, s, params, acc))
        }
        (Method::GET, ["adgroup", "get"]) => {
            paged(&|acc, page, size| levels::adgroups(s, params, acc, page, size))
        }
        (Method::GET, ["ad", "get"]) => {
            paged(&|acc, page, size| levels::ads(s, params, acc, page, size))
        }
        (Method::GET | Method::POST, ["tool", "targeting", "search"]) => {
            with_adv(s, params, grant, |_| create::targeting_search(params))
        }
        (Method::GET, ["tool", "region"]) => with_adv(s, params, grant, |_| create::region(params)),
        (Method::GET, ["tool", "interest_category"]) => {
            with_adv(s, params, grant, |_| create::interest_categories())
        }
        (Method::GET, ["file", "image", "ad", "search"]) => {
            paged(&|acc, page, size| create::image_search(s, params, acc, page, size))
        }
        (Method::GET, ["identity", "get"]) => {
            paged(&|acc, page, size| create::identity_get(s, params, acc, page, size))
        }
        (Method::GET, ["report", "integrated", "get"]) => {
            with_adv(s, params, grant, |acc| report(app, s, params, acc, c.now))
        }
        _ => return None,
    })
}

fn adv(s: &State, p: &Params, grant: &Grant) -> Result<Account, Response> {
    let Some(id) = p.str("advertiser_id") else {
        return Err(bad("advertiser_id: Missing data for required field."));
    };
    if !grant.accounts.contains(&id) {
        return Err(reply(
            40001,
            &format!(
                "No permission to operate advertiser {id}. Check that the advertiser authorized this app."
            ),
            json!({}),
        ));
    }
    s.world
        .account(Platform::Tiktok, &id)
        .cloned()
        .ok_or_else(|| {
            reply(
                40300,
                &format!("Advertiser {id} does not exist."),
                json!({}),
            )
        })
}

fn with_adv(
    s: &State,
    p: &Params,
    grant: &Grant,
    f: impl FnOnce(&Account) -> Response,
) -> Response {
    match adv(s, p, grant) {
        Ok(a) => f(&a),
        Err(r) => r,
    }
}

fn advertisers(s: &State, p: &Params, grant: &Grant) -> Response {
    if p.str("app_id").is_none() {
        return bad("app_id: Missing data for required field.");
    }
    if p.str("secret").is_none() {
        return bad("secret: Missing data for required field.");
    }
    let list: Vec<Value> = grant
        .accounts
        .iter()
        .filter_map(|id| s.world.account(Platform::Tiktok, id))
        .map(|a| json!({"advertiser_id": a.id, "advertiser_name": a.name}))
        .collect();
    reply(0, "OK", json!({ "list": list }))
}

fn advertiser_info(s: &State, p: &Params, grant: &Grant) -> Response {
    let Some(ids) = p.list("advertiser_ids").filter(|l| !l.is_empty()) else {
        return bad("advertiser_ids: Missing data for required field.");
    };
    let fields = p.list("fields");
    let mut list = Vec::new();
    for id in ids {
        if !grant.accounts.contains(&id) {
            return reply(
                40001,
                &format!("No permission to operate advertiser {id}."),
                json!({}),
            );
        }
        let Some(a) = s.world.account(Platform::Tiktok, &id) else {
            return reply(
                40300,
                &format!("Advertiser {id} does not exist."),
                json!({}),
            );
        };
        let full = json!({
            "advertiser_id": a.id, "name": a.name, "currency": a.currency.as_str(),
            "timezone": a.time_zone, "display_timezone": a.time_zone, "status": "STATUS_ENABLE",
            "role": "ROLE_ADVERTISER", "company": "adpilot sandbox", "country": "US",
        });
        list.push(only_fields(full, fields.as_deref()));
    }
    reply(0, "OK", json!({ "list": list }))
}

fn only_fields(full: Value, fields: Option<&[String]>) -> Value {
    match (fields, full) {
        (Some(f), Value::Object(m)) if !f.is_empty() => Value::Object(
            m.into_iter()
                .filter(|(k, _)| f.contains(k))
                .collect::<Map<_, _>>(),
        ),
        (_, v) => v,
    }
}

fn tt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn campaign_json(s: &State, c: &Campaign, acc: &Account) -> Value {
    let status = c.status();
    let lifetime = s.world.lifetime_budget(c);
    let budget = lifetime.unwrap_or_else(|| s.world.daily_budget(c));
    let mode = match (lifetime, c.budget_id.is_some() && !c.budget_on_ad_groups) {
        (Some(_), _) => "BUDGET_MODE_TOTAL",
        (None, true) => "BUDGET_MODE_DAY",
        (None, false) => "BUDGET_MODE_INFINITE",
    };
    json!({
        "advertiser_id": c.account_id,
        "campaign_id": c.id,
        "campaign_name": c.name,
        "campaign_type": "REGULAR_CAMPAIGN",
        "objective_type": c.objective,
        "budget_mode": mode,
        "budget": if c.budget_on_ad_groups { json!(0.0) } else { decimal_number(Money::new(budget, acc.currency).to_major()) },
        "operation_status": if status == CampaignStatus::Enabled { "ENABLE" } else { "DISABLE" },
        "secondary_status": format!("CAMPAIGN_STATUS_{}", status.wire(Platform::Tiktok)),
        "create_time": tt_time(c.created_at),
        "modify_time": tt_time(c.status_history.last().map(|h| h.at).unwrap_or(c.created_at)),
        "is_new_structure": true,
    })
}

/// `page`/`page_size` from the request, checked like TikTok does, with the sandbox's cap.
fn paging(app: &App, p: &Params) -> Result<(usize, usize), Response> {
    let page = match p.str("page") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad("page: Must be at least 1."))?,
        None => 1,
    };
    let size = match p.str("page_size") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| bad("page_size: Must be between 1 and 1000."))?,
        None => 10,
    };
    Ok((page, size.min(app.config.tiktok_max_page_size.max(1))))
}

fn page_of(items: Vec<Value>, page: usize, size: usize) -> Value {
    let total = items.len();
    let start = (page - 1).saturating_mul(size).min(total);
    let end = (start + size).min(total);
    json!({
        "list": items.get(start..end).map(<[Value]>::to_vec).unwrap_or_default(),
        "page_info": {"page": page, "page_size": size, "total_number": total, "total_page": total.div_ceil(size)},
    })
}

fn campaigns(app: &App, s: &State, p: &Params, acc: &Account) -> Response {
    let (page, size) = match paging(app, p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let filtering = p.json("filtering").unwrap_or(Value::Null);
    let ids: Option<Vec<String>> =
        filtering
            .get("campaign_ids")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| {
                        v.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect()
            });
    let wanted_status = filtering
        .get("secondary_status")
        .and_then(Value::as_str)
        .map(String::from);
    let fields = p.list("fields");
    let mut cs: Vec<&Campaign> = s.world.campaigns_of(Platform::Tiktok, &acc.id).collect();
    cs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    let items: Vec<Value> = cs
        .into_iter()
        .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.id)))
        .filter(|c| {
            let st = format!("CAMPAIGN_STATUS_{}", c.status().wire(Platform::Tiktok));
            match wanted_status.as_deref() {
                Some("CAMPAIGN_STATUS_ALL") => true,
                Some(w) => w == st,
                // Deleted campaigns only when asked for, as TikTok does.
                None => c.status() != CampaignStatus::Removed,
            }
        })
        .map(|c| only_fields(campaign_json(s, c, acc), fields.as_deref()))
        .collect();
    reply(0, "OK", page_of(items, page, size))
}

fn budget_micros(p: &Params, acc: &Account) -> Result<Option<i64>, Response> {
    let Some(v) = p.raw("budget") else {
        return Ok(None);
    };
    let d: Decimal = decimal_from_json(&v).ok_or_else(|| bad("budget: Not a valid number."))?;
    if d <= Decimal::ZERO {
        return Err(bad("budget: Must be greater than 0."));
    }
    micros_from_major(d, acc.currency).map(Some).ok_or_else(|| {
        bad(&format!(
            "budget: {} allows {} decimal places.",
            acc.currency,
            acc.currency.minor_unit_exponent()
        ))
    })
}

fn create(s: &mut State, p: &Params, acc: &Account, now: DateTime<Utc>) -> Response {
    let Some(name) = p.str("campaign_name").filter(|n| !n.trim().is_empty()) else {
        return bad("campaign_name: Missing data for required field.");
    };
    let Some(objective) = p.str("objective_type") else {
        return bad("objective_type: Missing data for required field.");
    };
    if !OBJECTIVES.contains(&objective.as_str()) {
        return bad(&format!(
            "objective_type: Must be one of {}.",
            OBJECTIVES.join(", ")
        ));
    }
    let Some(mode) = p.str("budget_mode") else {
        return bad("budget_mode: Missing data for required field.");
    };
    let budget = match budget_micros(p, acc) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let budget = match (mode.as_str(), budget) {
        ("BUDGET_MODE_DAY", Some(b)) => Some(b),
        ("BUDGET_MODE_DAY", None) => {
            return bad("budget: Required when budget_mode is BUDGET_MODE_DAY.");
        }
        ("BUDGET_MODE_INFINITE", _) => None,
        ("BUDGET_MODE_TOTAL" | "BUDGET_MODE_DYNAMIC_DAILY_BUDGET", _) => {
            return bad(&format!(
                "budget_mode: {mode} is not supported by the adpilot sandbox; use BUDGET_MODE_DAY."
            ));
        }
        _ => {
            return bad(
                "budget_mode: Must be one of BUDGET_MODE_INFINITE, BUDGET_MODE_DAY, BUDGET_MODE_TOTAL, BUDGET_MODE_DYNAMIC_DAILY_BUDGET.",
            );
        }
    };
    let status = match p.str("operation_status").as_deref() {
        None | Some("ENABLE") => CampaignStatus::Enabled,
        Some("DISABLE") => CampaignStatus::Paused,
        Some(_) => return bad("operation_status: Must be one of ENABLE, DISABLE."),
    };
    if s.world
        .campaigns_of(Platform::Tiktok, &acc.id)
        .any(|c| c.name == name && c.status() != CampaignStatus::Removed)
    {
        return bad("Campaign name already exists. Please use another name.");
    }
    let id = s.world.new_id(Platform::Tiktok, IdKind::Campaign);
    let budget_id = budget.map(|b| {
        s.world.add_budget(
            Platform::Tiktok,
            &acc.id,
            id.clone(),
            format!("{name} budget"),
            b,
            now,
        );
        id.clone()
    });
    let new = NewCampaign {
        id: id.clone(),
        name: name.clone(),
        objective: objective.clone(),
        budget_id,
        status,
    };
    s.world.add_campaign(acc, new, now);
    s.dirty = true;
    reply(
        0,
        "OK",
        json!({
            "campaign_id": id, "advertiser_id": acc.id, "campaign_name": name,
            "objective_type": objective, "budget_mode": mode,
            "budget": decimal_number(Money::new(budget.unwrap_or(0), acc.currency).to_major()),
            "operation_status": if status == CampaignStatus::Enabled { "ENABLE" } else { "DISABLE" },
        }),
    )
}

fn status_update(s: &mut State, p: &Params, acc: &Account, now: DateTime<Utc>) -> Response {
    let Some(ids) = p.list("campaign_ids").filter(|l| !l.is_empty()) else {
        return bad("campaign_ids: Missing data for required field.");
    };
    if ids.len() > 20 {
        return bad("campaign_ids: Length must be between 1 and 20.");
    }
    let status = match p.str("operation_status").as_deref() {
        Some("ENABLE") => CampaignStatus::Enabled,
        Some("DISABLE") => CampaignStatus::Paused,
        Some("DELETE") => CampaignStatus::Removed,
        _ => return bad("operation_status: Must be one of ENABLE, DISABLE, DELETE."),
    };
    for id in &ids {
        match s.world.campaign(Platform::Tiktok, id) {
            Some(c) if c.account_id == acc.id => {
                if c.status() == CampaignStatus::Removed {
                    return bad(&format!(
                        "Campaign {id} is deleted and cannot change status."
                    ));
                }
            }
            _ => {
                return bad(&format!(
                    "campaign_id {id} does not exist under advertiser {}.",
                    acc.id
                ));
            }
        }
    }
    for id in &ids {
        s.world.set_status(Platform::Tiktok, id, status, now);
    }
    s.dirty = true;
    let word = status.wire(Platform::Tiktok);
    let list: Vec<Value> = ids
        .iter()
        .map(|id| json!({"campaign_id": id, "status": word}))
        .collect();
    reply(
        0,
        "OK",
        json!({"campaign_ids": ids, "status": word, "campaign_list": list}),
    )
}

fn update(s: &mut State, p: &Params, acc: &Account, now: DateTime<Utc>) -> Response {
    let Some(id) = p.str("campaign_id") else {
        return bad("campaign_id: Missing data for required field.");
    };
    let c = match s.world.campaign(Platform::Tiktok, &id) {
        Some(c) if c.account_id == acc.id => c.clone(),
        _ => {
            return bad(&format!(
                "campaign_id {id} does not exist under advertiser {}.",
                acc.id
            ));
        }
    };
    if c.status() == CampaignStatus::Removed {
        return bad(&format!("Campaign {id} is deleted and cannot be edited."));
    }
    let budget = match budget_micros(p, acc) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Some(b) = budget {
        match c.budget_id.as_ref().filter(|_| !c.budget_on_ad_groups) {
            // In BUDGET_MODE_TOTAL the budget is the campaign's total; its pace stays.
            Some(bid) if s.world.lifetime_budget(&c).is_some() => {
                if let Some(total) = s.world.budget_mut(Platform::Tiktok, bid) {
                    total.lifetime_micros = Some(b);
                }
            }
            Some(bid) => {
                s.world.set_budget(Platform::Tiktok, bid, b, now);
            }
            None => {
                return bad(
                    "budget: This campaign has BUDGET_MODE_INFINITE; its budget cannot be set.",
                );
            }
        }
    }
    if let Some(n) = p.str("campaign_name").filter(|n| !n.trim().is_empty())
        && let Some(cm) = s.world.campaign_mut(Platform::Tiktok, &id)
    {
        cm.name = n;
    }
    s.dirty = true;
    let Some(updated) = s.world.campaign(Platform::Tiktok, &id) else {
        return bad("campaign_id: does not exist.");
    };
    reply(0, "OK", campaign_json(s, updated, acc))
}

fn ratio(num: i128, den: i128, scale: i128) -> String {
    // Two decimals, rounded half up, without floats.
    if den == 0 {
        return "0.00".into();
    }
    let v = (num * scale * 100 * 2 + den) / (den * 2);
    format!("{}.{:02}", v / 100, v % 100)
}

fn metric_value(name: &str, m: &DayMetrics, acc: &Account, campaign_name: &str) -> Value {
    let per_unit = 1_000_000_i128;
    match name {
        "campaign_name" => json!(campaign_name),
        "spend" => json!(major_str(m.spend_micros, acc.currency)),
        "impressions" => json!(m.impressions.to_string()),
        "clicks" => json!(m.clicks.to_string()),
        "conversion" | "complete_payment" => json!(m.conversions.to_string()),
        "total_complete_payment_rate" => json!(major_str(m.revenue_micros, acc.currency)),
        // The sandbox's advertisers sell on the web: no app events, no lead forms. Numbers,
        // as TikTok sends some counts.
        "purchase" | "app_install" | "registration" | "sales_lead" => json!(0),
        "total_purchase_value" => json!("0.00"),
        "ctr" => json!(ratio(i128::from(m.clicks), i128::from(m.impressions), 100)),
        "cpc" => json!(ratio(
            i128::from(m.spend_micros),
            i128::from(m.clicks) * per_unit,
            1
        )),
        "cpm" => json!(ratio(
            i128::from(m.spend_micros) * 1000,
            i128::from(m.impressions) * per_unit,
            1
        )),
        _ => Value::Null,
    }
}

fn report(app: &App, s: &State, p: &Params, acc: &Account, now: DateTime<Utc>) -> Response {
    match campaign_report(app, s, p, acc, now) {
        Ok(r) | Err(r) => r,
    }
}

/// A parameter of the form YYYY-MM-DD.
fn date_param(p: &Params, k: &str) -> Option<NaiveDate> {
    p.str(k)
        .and_then(|v| NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok())
}

/// The advertiser or campaign report, or the level report its `data_level` asks for.
fn campaign_report(
    app: &App,
    s: &State,
    p: &Params,
    acc: &Account,
    now: DateTime<Utc>,
) -> Result<Response, Response> {
    let (page, size) = paging(app, p)?;
    let level = report_level(p)?;
    if level == "AUCTION_ADGROUP" || level == "AUCTION_AD" {
        let (Some(start), Some(end)) = (date_param(p, "start_date"), date_param(p, "end_date"))
        else {
            return Err(bad("start_date/end_date: Required as YYYY-MM-DD."));
        };
        if start > end {
            return Err(bad("start_date: Must not be after end_date."));
        }
        if (end - start).num_days() + 1 > 30 {
            return Err(bad(
                "The time range between start_date and end_date cannot exceed 30 days when stat_time_day is a dimension.",
            ));
        }
        let window = levels::ReportWindow {
            start,
            end,
            page,
            size,
        };
        return Ok(levels::report(s, p, acc, &level, window, now));
    }
    let Some(dims) = p.list("dimensions").filter(|d| !d.is_empty()) else {
        return Err(bad("dimensions: Missing data for required field."));
    };
    let by_campaign = dims.iter().any(|d| d == "campaign_id");
    let by_day = dims.iter().any(|d| d == "stat_time_day");
    if let Some(d) = dims.iter().find(|d| {
        !matches!(
            d.as_str(),
            "campaign_id" | "stat_time_day" | "advertiser_id"
        )
    }) {
        return Err(bad(&format!("dimensions: Invalid dimension {d}.")));
    }
    if by_campaign != (level == "AUCTION_CAMPAIGN") {
        return Err(bad(
            "dimensions: campaign_id goes with data_level AUCTION_CAMPAIGN.",
        ));
    }
    let metrics = p
        .list("metrics")
        .unwrap_or_else(|| vec!["spend".into(), "impressions".into()]);
    if let Some(bad_metric) = metrics
        .iter()
        .find(|m| !REPORT_METRICS.contains(&m.as_str()))
    {
        return Err(bad(&format!("metrics: Invalid metric {bad_metric}.")));
    }
    let (start, end) = report_range(p, acc, now, by_day)?;
    // (day, campaign id) → metrics, in that order; dimensions left out are folded together.
    let mut rows: Rows<'_> = BTreeMap::new();
    let only = campaign_filter(p);
    for c in s.world.campaigns_of(Platform::Tiktok, &acc.id) {
        if only.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
            continue;
        }
        let kc = by_campaign.then_some(c);
        for m in campaign_days(&s.world, acc, c, start, end, now) {
            let kd = by_day.then_some(m.date);
            rows.entry((kd, kc.map(|c| c.id.clone())))
                .and_modify(|(_, t)| t.add(&m))
                .or_insert((kc, m));
        }
    }
    let items: Vec<Value> = rows
        .iter()
        .map(|((d, _), (c, m))| report_item(p, acc, &metrics, *d, *c, m))
        .collect();
    Ok(reply(0, "OK", page_of(items, page, size)))
}

/// `report_type` (BASIC only) and `data_level`, which defaults to the advertiser.
fn report_level(p: &Params) -> Result<String, Response> {
    match p.str("report_type").as_deref() {
        Some("BASIC") => {}
        Some(other) => {
            return Err(bad(&format!(
                "report_type: The sandbox serves BASIC reports, not {other}."
            )));
        }
        None => return Err(bad("report_type: Missing data for required field.")),
    }
    let level = p
        .str("data_level")
        .unwrap_or_else(|| "AUCTION_ADVERTISER".into());
    if !matches!(
        level.as_str(),
        "AUCTION_CAMPAIGN" | "AUCTION_ADVERTISER" | "AUCTION_ADGROUP" | "AUCTION_AD"
    ) {
        return Err(bad(&format!(
            "data_level: The sandbox serves AUCTION_ADVERTISER, AUCTION_CAMPAIGN, AUCTION_ADGROUP and AUCTION_AD, not {level}."
        )));
    }
    Ok(level)
}

/// The report's dates: the lifetime up to today, or the requested range within the limit for
/// its time dimension.
fn report_range(
    p: &Params,
    acc: &Account,
    now: DateTime<Utc>,
    by_day: bool,
) -> Result<(NaiveDate, NaiveDate), Response> {
    if p.str("query_lifetime").as_deref() == Some("true") {
        return Ok((NaiveDate::MIN, acc.local_date(now)));
    }
    let (Some(a), Some(b)) = (date_param(p, "start_date"), date_param(p, "end_date")) else {
        return Err(bad(
            "start_date/end_date: Required as YYYY-MM-DD unless query_lifetime is true.",
        ));
    };
    if a > b {
        return Err(bad("start_date: Must not be after end_date."));
    }
    let max_days = if by_day { 30 } else { 365 };
    if (b - a).num_days() + 1 > max_days {
        return Err(bad(&format!(
            "The time range between start_date and end_date cannot exceed {max_days} days when {}.",
            if by_day {
                "stat_time_day is a dimension"
            } else {
                "there is no time dimension"
            }
        )));
    }
    Ok((a, b))
}

/// The campaign ids of a `campaign_ids` filter, if the request has one.
fn campaign_filter(p: &Params) -> Option<Vec<String>> {
    p.json("filtering").and_then(|f| {
        f.as_array()?.iter().find_map(|flt| {
            (flt.get("field_name")?.as_str()? == "campaign_ids").then(|| {
                let v = flt.get("filter_value").cloned().unwrap_or(Value::Null);
                match v {
                    Value::String(s) => list_param(&s),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect(),
                    _ => Vec::new(),
                }
            })
        })
    })
}

fn report_item(
    p: &Params,
    acc: &Account,
    metrics: &[String],
    d: Option<NaiveDate>,
    c: Option<&Campaign>,
    m: &DayMetrics,
) -> Value {
    let mut dims = Map::new();
    if let Some(c) = c {
        dims.insert("campaign_id".into(), json!(c.id));
    }
    if dims_has(&p.list("dimensions"), "advertiser_id") {
        dims.insert("advertiser_id".into(), json!(acc.id));
    }
    if let Some(d) = d {
        dims.insert("stat_time_day".into(), json!(format!("{d} 00:00:00")));
    }
    let name = c.map(|c| c.name.as_str()).unwrap_or("");
    let mut ms = Map::new();
    for k in metrics {
        if k == "campaign_name" && c.is_none() {
            continue;
        }
        ms.insert(k.clone(), metric_value(k, m, acc, name));
    }
    json!({"dimensions": dims, "metrics": ms})
}

fn dims_has(d: &Option<Vec<String>>, k: &str) -> bool {
    d.as_ref().is_some_and(|d| d.iter().any(|x| x == k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_round_half_up_without_floats() {
        assert_eq!(ratio(51, 4696, 100), "1.09");
        assert_eq!(ratio(20_000_000, 51 * 1_000_000, 1), "0.39");
        assert_eq!(ratio(1, 0, 1), "0.00");
    }

    #[test]
    fn page_info_counts_pages() {
        let items: Vec<Value> = (0..25).map(|i| json!(i)).collect();
        let p = page_of(items, 3, 10);
        assert_eq!(p["page_info"]["total_page"], 3);
        assert_eq!(p["list"].as_array().map(Vec::len), Some(5));
    }
}
