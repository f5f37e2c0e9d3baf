//! Meta Marketing API (Graph) imitation: `/v{NN}.0/...` with `access_token` as query/form param
//! or `Authorization: Bearer`, form-encoded writes with JSON-encoded values, every number as a
//! string, cursor paging with `paging.next` only when more data exists, `error` objects, and the
//! usage headers.

// Helpers return the finished platform error response as their Err side; it is built once
// per failed call, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::faults::{FaultKind, Injected};
use super::metrics::{DayMetrics, campaign_days};
use super::quota::ceil_secs;
use super::server::{App, State};
use super::tokens::{Grant, TokenKind, TokenProblem};
use super::truth;
use super::wire::{ApiRequest, json_response, list_param, major_str, set_header, with_code};
use super::world::{Account, Campaign, CampaignStatus, IdKind, NewCampaign};
use crate::platforms::meta_offset;
use crate::types::Platform;

mod create;
mod level_writes;
mod levels;

/// The one sandbox user behind every Meta token.
pub const USER_ID: &str = "100012345678901";

const OBJECTIVES: [&str; 6] = [
    "OUTCOME_AWARENESS",
    "OUTCOME_TRAFFIC",
    "OUTCOME_ENGAGEMENT",
    "OUTCOME_LEADS",
    "OUTCOME_SALES",
    "OUTCOME_APP_PROMOTION",
];

/// Insight rows keyed by (day, campaign id); the campaign is None at account level.
type Rows<'a> = BTreeMap<(NaiveDate, Option<String>), (Option<&'a Campaign>, DayMetrics)>;

fn trace_id() -> String {
    super::wire::request_id().chars().take(11).collect()
}

/// A Graph error object with its HTTP status.
pub fn error(
    status: StatusCode,
    code: i64,
    subcode: Option<i64>,
    message: &str,
    kind: &str,
) -> Response {
    let mut e = json!({
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": trace_id(),
    });
    if let Some(s) = subcode {
        e["error_subcode"] = json!(s);
    }
    if matches!(code, 1 | 2 | 4 | 17 | 32 | 613) || (80000..=80014).contains(&code) {
        e["is_transient"] = json!(true);
    }
    with_code(json_response(status, &json!({ "error": e })), code)
}

fn invalid(message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        100,
        None,
        message,
        "OAuthException",
    )
}

fn invalid_user(message: &str, user_msg: &str) -> Response {
    // Meta adds a title and message meant for people; adapters show them.
    let v = json!({"error": {
        "message": message, "type": "OAuthException", "code": 100,
        "error_user_title": "Invalid parameter", "error_user_msg": user_msg,
        "fbtrace_id": trace_id(),
    }});
    with_code(json_response(StatusCode::BAD_REQUEST, &v), 100)
}

pub fn unknown_path(req: &ApiRequest) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        100,
        Some(33),
        &format!(
            "Unsupported {} request. Object with ID '{}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
            req.method.as_str().to_lowercase(),
            req.segments.get(1).map(String::as_str).unwrap_or("")
        ),
        "GraphMethodException",
    )
}

fn no_object(id: &str, method: &Method) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        100,
        Some(33),
        &format!(
            "Unsupported {} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
            method.as_str().to_lowercase()
        ),
        "GraphMethodException",
    )
}

pub fn token_problem(p: TokenProblem) -> Response {
    match p {
        TokenProblem::Missing => error(
            StatusCode::BAD_REQUEST,
            2500,
            None,
            "An active access token must be used to query information about the current user.",
            "OAuthException",
        ),
        TokenProblem::Unknown => error(
            StatusCode::BAD_REQUEST,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
            "OAuthException",
        ),
        TokenProblem::Expired => error(
            StatusCode::BAD_REQUEST,
            190,
            Some(463),
            "Error validating access token: Session has expired.",
            "OAuthException",
        ),
        TokenProblem::Revoked => error(
            StatusCode::BAD_REQUEST,
            190,
            Some(458),
            "Error validating access token: The user has not authorized application.",
            "OAuthException",
        ),
    }
}

fn account_of_path(req: &ApiRequest) -> Option<String> {
    req.segments
        .get(1)
        .and_then(|s| s.strip_prefix("act_"))
        .map(String::from)
}

pub fn fault_response(req: &ApiRequest, i: &Injected) -> Response {
    match i.kind {
        FaultKind::RateLimit => throttled(account_of_path(req).as_deref(), i.retry_after_secs),
        FaultKind::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            2,
            None,
            "An unexpected error has occurred. Please retry your request later.",
            "OAuthException",
        ),
        FaultKind::ExpiredToken => token_problem(TokenProblem::Expired),
        FaultKind::RevokedToken => token_problem(TokenProblem::Revoked),
        FaultKind::PermanentError => with_code(
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": {
                    "message": "An unknown error occurred",
                    "type": "OAuthException",
                    "code": 1,
                    "error_subcode": 1_815_166,
                    "is_transient": false,
                    "error_user_title": "Ad account has no payment method",
                    "error_user_msg": "Add a payment method in Billing & payments in Ads Manager before running ads.",
                    "fbtrace_id": trace_id(),
                }}),
            ),
            1,
        ),
        FaultKind::MissingPermission => error(
            StatusCode::FORBIDDEN,
            200,
            None,
            "(#200) Requires ads_read permission to manage the object",
            "OAuthException",
        ),
        // Served normally after the delay (or reshaped) by the dispatcher.
        FaultKind::Timeout
        | FaultKind::LostResponse
        | FaultKind::WrongShape
        | FaultKind::SecondaryStatusOnly
        | FaultKind::LegacyAdvertiserInfo
        | FaultKind::AccountOnHold => error(
            StatusCode::GATEWAY_TIMEOUT,
            2,
            None,
            "Timeout",
            "OAuthException",
        ),
    }
}

/// Meta's throttling answer: code 80004 for an ad account (code 17 otherwise) with usage
/// headers at 100 %. The regain time is in whole minutes in the BUC header (Meta's unit,
/// rounded down so that short test hints stay short) and in seconds in X-Ad-Account-Usage.
fn throttled(account: Option<&str>, retry_after_secs: u64) -> Response {
    let mut r = match account {
        Some(_) => error(
            StatusCode::BAD_REQUEST,
            80004,
            Some(2446079),
            "There have been too many calls to this ad-account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting#ads-management.",
            "OAuthException",
        ),
        None => error(
            StatusCode::BAD_REQUEST,
            17,
            Some(2446079),
            "User request limit reached",
            "OAuthException",
        ),
    };
    let id = account.unwrap_or("0");
    set_header(
        &mut r,
        "x-business-use-case-usage",
        &json!({ id: [{"type": "ads_management", "call_count": 100, "total_cputime": 30,
            "total_time": 30, "estimated_time_to_regain_access": retry_after_secs / 60}]})
        .to_string(),
    );
    set_header(
        &mut r,
        "x-ad-account-usage",
        &json!({"acc_id_util_pct": 100, "reset_time_duration": retry_after_secs,
            "ads_api_access_tier": "development_access"})
        .to_string(),
    );
    set_header(
        &mut r,
        "x-app-usage",
        &json!({"call_count": 100, "total_time": 30, "total_cputime": 30}).to_string(),
    );
    r
}

/// Counts a call against the ad account's hourly quota: the usage percentage, or the wait
/// when usage is enforced and the quota is spent.
fn count_call(app: &App, s: &mut State, account: &str) -> Result<u64, u64> {
    let quota = u64::from(app.config.meta_calls_per_hour.max(1));
    let limit = if app.config.meta_enforce_usage {
        quota
    } else {
        u64::MAX
    };
    let key = format!("meta:{account}");
    match s
        .quotas
        .take(&key, 1, limit, StdDuration::from_secs(3600), Instant::now())
    {
        Ok(used) => Ok((used * 100 / quota).min(100)),
        Err(wait) => Err(ceil_secs(wait)),
    }
}

/// The usage headers Meta sends on ad-account calls.
fn usage_headers(r: &mut Response, account: &str, pct: u64, insights: bool) {
    let kind = if insights {
        "ads_insights"
    } else {
        "ads_management"
    };
    set_header(
        r,
        "x-business-use-case-usage",
        &json!({ account: [{"type": kind, "call_count": pct, "total_cputime": pct / 2,
            "total_time": pct / 2, "estimated_time_to_regain_access": 0}]})
        .to_string(),
    );
    set_header(
        r,
        "x-ad-account-usage",
        &json!({"acc_id_util_pct": pct, "reset_time_duration": 0,
            "ads_api_access_tier": "development_access"})
        .to_string(),
    );
    set_header(
        r,
        "x-app-usage",
        &json!({"call_count": pct, "total_time": pct / 2, "total_cputime": pct / 2}).to_string(),
    );
    if insights {
        set_header(
            r,
            "x-fb-ads-insights-throttle",
            &json!({"app_id_util_pct": pct, "acc_id_util_pct": pct}).to_string(),
        );
    }
}

pub fn handle(app: &App, req: &ApiRequest) -> Response {
    let now = app.now();
    let mut s = app.state();
    let token = req.param("access_token").or_else(|| req.bearer());
    let grant = match s.auth.check(
        Platform::Meta,
        token,
        &[TokenKind::Access, TokenKind::LongLived],
        now,
    ) {
        Ok((_, g)) => g.clone(),
        Err(p) => return token_problem(p),
    };
    let segs: Vec<&str> = req.segments.iter().skip(1).map(String::as_str).collect();
    let acct_path = segs
        .first()
        .and_then(|s| s.strip_prefix("act_"))
        .map(String::from);
    let usage = match &acct_path {
        Some(acct) => match count_call(app, &mut s, acct) {
            Ok(pct) => Some((acct.clone(), pct)),
            Err(wait) => return throttled(Some(acct), wait),
        },
        None => None,
    };
    let call = Call {
        app,
        req,
        grant: &grant,
        token,
        now,
    };
    let mut r = match segs.as_slice() {
        [a, rest @ ..] if a.starts_with("act_") => account_route(&call, &mut s, a, rest),
        _ => None,
    }
    .unwrap_or_else(|| other_route(&call, &mut s, &segs));
    if let Some((acct, pct)) = usage {
        usage_headers(&mut r, &acct, pct, segs.get(1) == Some(&"insights"));
    }
    set_header(&mut r, "x-fb-trace-id", &trace_id());
    set_header(&mut r, "x-fb-request-id", &super::wire::request_id());
    r
}

/// What a route needs of the request besides the sandbox's state.
struct Call<'a> {
    app: &'a App,
    req: &'a ApiRequest,
    grant: &'a Grant,
    token: Option<&'a str>,
    now: DateTime<Utc>,
}

type AccountWrite = fn(&mut State, &ApiRequest, &Account, DateTime<Utc>) -> Response;

/// The edges of an ad account (`act_…/campaigns` and the like); `None` for any other.
fn account_route(c: &Call, s: &mut State, a: &str, rest: &[&str]) -> Option<Response> {
    let (req, grant, m, now) = (c.req, c.grant, &c.req.method, c.now);
    let write: AccountWrite = match (m.clone(), rest) {
        (Method::GET, []) => {
            return Some(with_account(s, grant, a, m, |acc| {
                fields_of(req, &["id", "account_id"], &account_json(acc))
            }));
        }
        (Method::GET, [edge]) => return account_read(c, s, a, edge),
        (Method::POST, ["campaigns"]) => |s, r, acc, now| create_campaign(s, r, acc, now),
        (Method::POST, ["adimages"]) => |s, r, acc, _| create::upload_image(s, r, acc),
        (Method::POST, ["adsets"]) => |s, r, acc, now| create::create_ad_set(s, r, acc, now),
        (Method::POST, ["adcreatives"]) => |s, r, acc, _| create::create_creative(s, r, acc),
        (Method::POST, ["ads"]) => |s, r, acc, now| create::create_ad(s, r, acc, now),
        _ => return None,
    };
    Some(match account_for(s, grant, a) {
        Some(acc) => write(s, req, &acc, now),
        None => no_object(a, m),
    })
}

/// The GET edges of an ad account.
fn account_read(c: &Call, s: &State, a: &str, edge: &str) -> Option<Response> {
    let (app, req, grant, m, now) = (c.app, c.req, c.grant, &c.req.method, c.now);
    Some(match edge {
        "campaigns" => with_account(s, grant, a, m, |acc| list_campaigns(app, s, req, acc)),
        "adimages" => with_account(s, grant, a, m, |acc| create::list_images(app, s, req, acc)),
        "adcreatives" => with_account(s, grant, a, m, |acc| {
            create::list_creatives(app, s, req, acc)
        }),
        "adsets" => with_account(s, grant, a, m, |acc| levels::list_adsets(app, s, req, acc)),
        "ads" => with_account(s, grant, a, m, |acc| levels::list_ads(app, s, req, acc)),
        "insights" => with_account(s, grant, a, m, |acc| insights(app, s, req, acc, now)),
        _ => return None,
    })
}

/// The user, search and single-object routes.
fn other_route(c: &Call, s: &mut State, segs: &[&str]) -> Response {
    let (app, req, grant, m, now) = (c.app, c.req, c.grant, &c.req.method, c.now);
    match (m.clone(), segs) {
        (Method::GET, ["me"]) => fields_of(
            req,
            &["id", "name"],
            &json!({"id": USER_ID, "name": "Sandbox User"}),
        ),
        (Method::GET, ["me", "adaccounts"]) => ad_accounts(app, s, req, grant),
        (Method::GET, [u, "permissions"]) if *u == "me" || *u == USER_ID => permissions(),
        (Method::DELETE, [u, "permissions", ..]) if *u == "me" || *u == USER_ID => {
            let value = c.token.unwrap_or("").to_string();
            s.auth.revoke_token(Platform::Meta, &value);
            s.dirty = true;
            json_response(StatusCode::OK, &json!({"success": true}))
        }
        (Method::GET, ["me", "accounts"]) => create::pages(app, req),
        (Method::GET, [a, "adspixels"]) if a.starts_with("act_") => {
            with_account(s, grant, a, m, |acc| create::pixels(app, req, acc))
        }
        (Method::GET, ["search"]) => create::search(req),
        (Method::GET, [id, edge])
            if !id.starts_with("act_") && matches!(*edge, "adsets" | "ads") =>
        {
            create::children(app, s, req, &grant.accounts, id, edge)
                .unwrap_or_else(|| no_object(id, m))
        }
        (Method::GET, [id]) => match campaign_for(s, grant, id) {
            Some(c) => fields_of(req, &["id"], &campaign_json(s, &c, now)),
            None => level_writes::get_object(s, grant, req, id).unwrap_or_else(|| no_object(id, m)),
        },
        (Method::POST, [id]) => match campaign_for(s, grant, id) {
            Some(c) => update_campaign(s, req, &c, now),
            None => level_writes::update_object(s, grant, req, id, now)
                .unwrap_or_else(|| no_object(id, m)),
        },
        (Method::DELETE, [id]) => match campaign_for(s, grant, id) {
            Some(c) => {
                s.world
                    .set_status(Platform::Meta, &c.id, CampaignStatus::Removed, now);
                s.dirty = true;
                json_response(StatusCode::OK, &json!({"success": true}))
            }
            None => no_object(id, m),
        },
        _ => unknown_path(req),
    }
}

fn permissions() -> Response {
    json_response(
        StatusCode::OK,
        &json!({"data": [
            {"permission": "ads_management", "status": "granted"},
            {"permission": "ads_read", "status": "granted"},
            {"permission": "business_management", "status": "granted"},
        ]}),
    )
}

fn account_for(s: &State, grant: &Grant, act: &str) -> Option<Account> {
    let id = act.strip_prefix("act_").unwrap_or(act);
    if !grant.accounts.iter().any(|a| a == id) {
        return None;
    }
    s.world.account(Platform::Meta, id).cloned()
}

fn with_account(
    s: &State,
    grant: &Grant,
    act: &str,
    m: &Method,
    f: impl FnOnce(&Account) -> Response,
) -> Response {
    match account_for(s, grant, act) {
        Some(a) => f(&a),
        None => no_object(act, m),
    }
}

fn campaign_for(s: &State, grant: &Grant, id: &str) -> Option<Campaign> {
    let c = s.world.campaign(Platform::Meta, id)?;
    grant.accounts.contains(&c.account_id).then(|| c.clone())
}

/// Keeps only the requested `fields` (comma list) of an object; `default` when none asked.
fn pick_fields(req: &ApiRequest, default: &[&str], full: &Value) -> Result<Value, String> {
    let wanted: Vec<String> = match req.param("fields") {
        Some(f) if !f.trim().is_empty() => f.split(',').map(|s| s.trim().to_string()).collect(),
        _ => default.iter().map(|s| s.to_string()).collect(),
    };
    let mut out = Map::new();
    for f in wanted {
        match full.get(&f) {
            Some(v) => {
                out.insert(f, v.clone());
            }
            None if is_optional_field(&f) => {}
            None => return Err(f),
        }
    }
    if let Some(id) = full.get("id") {
        out.insert("id".into(), id.clone());
    }
    Ok(Value::Object(out))
}

/// Fields Meta omits when they have no value (e.g. a campaign without a campaign budget).
fn is_optional_field(f: &str) -> bool {
    matches!(
        f,
        "daily_budget" | "lifetime_budget" | "budget_remaining" | "stop_time"
    )
}

fn nonexisting_field(f: &str) -> Response {
    invalid(&format!("(#100) Tried accessing nonexisting field ({f})"))
}

fn fields_of(req: &ApiRequest, default: &[&str], full: &Value) -> Response {
    match pick_fields(req, default, full) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(f) => nonexisting_field(&f),
    }
}

fn account_json(a: &Account) -> Value {
    json!({
        "id": format!("act_{}", a.id),
        "account_id": a.id,
        "name": a.name,
        "currency": a.currency.as_str(),
        "timezone_name": a.time_zone,
        "account_status": 1,
        "business_name": "adpilot sandbox",
    })
}

fn meta_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

fn campaign_json(s: &State, c: &Campaign, now: DateTime<Utc>) -> Value {
    let status = c.status().wire(Platform::Meta);
    let mut v = json!({
        "id": c.id,
        "account_id": c.account_id,
        "name": c.name,
        "status": status,
        "configured_status": status,
        "effective_status": status,
        "objective": c.objective,
        "buying_type": "AUCTION",
        "special_ad_categories": [],
        "created_time": meta_time(c.created_at),
        "start_time": meta_time(c.created_at),
        "updated_time": meta_time(c.status_history.last().map(|h| h.at).unwrap_or(c.created_at)),
    });
    let Some(a) = s.world.account(Platform::Meta, &c.account_id) else {
        return v;
    };
    let unit = meta_offset::micros_per_unit(a.currency);
    if let Some(end) = c.ends_at {
        v["stop_time"] = json!(meta_time(end));
    }
    if let Some(total) = s.world.lifetime_budget(c) {
        // A lifetime budget instead of a daily one; what is left is the budget minus every
        // amount spent so far (negative once overspent).
        v["lifetime_budget"] = json!((total / unit).to_string());
        v["daily_budget"] = json!("0");
        let left = truth::budget_remaining(&s.world, c, now).unwrap_or(total);
        v["budget_remaining"] = json!((left / unit).to_string());
    } else if c.budget_id.is_some() && !c.budget_on_ad_groups {
        let minor = s.world.daily_budget(c) / unit;
        v["daily_budget"] = json!(minor.to_string());
        v["budget_remaining"] = json!(minor.to_string());
        v["lifetime_budget"] = json!("0");
    }
    v
}

fn encode_cursor(i: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("sbx:{i}"))
}

fn decode_cursor(c: &str) -> Option<usize> {
    use base64::Engine;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c.trim_end_matches('='))
        .ok()?;
    String::from_utf8(b)
        .ok()?
        .strip_prefix("sbx:")?
        .parse()
        .ok()
}

/// One page of `items` with Meta's cursors; `next` only when more remain.
fn paged(app: &App, req: &ApiRequest, items: Vec<Value>) -> Response {
    let limit = req
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, app.config.meta_max_page_size.max(1));
    let start = match req.param("after") {
        Some(c) => match decode_cursor(c) {
            Some(i) => i + 1,
            None => return invalid("(#100) The after cursor is invalid"),
        },
        None => 0,
    };
    let end = (start + limit).min(items.len());
    let page: Vec<Value> = items
        .get(start..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let mut body = json!({ "data": page });
    if start < end {
        let mut paging =
            json!({"cursors": {"before": encode_cursor(start), "after": encode_cursor(end - 1)}});
        if end < items.len() {
            // The host the client used, so links work behind 0.0.0.0 or a port mapping.
            let origin = req
                .header("host")
                .map(|h| format!("http://{h}"))
                .unwrap_or_else(|| app.base_url.clone());
            let mut url = format!("{origin}{}?", req.path);
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in req.query.iter().filter(|(k, _)| k != "after") {
                q.append_pair(k, v);
            }
            q.append_pair("after", &encode_cursor(end - 1));
            url.push_str(&q.finish());
            paging["next"] = json!(url);
        }
        body["paging"] = paging;
    }
    json_response(StatusCode::OK, &body)
}

fn ad_accounts(app: &App, s: &State, req: &ApiRequest, grant: &Grant) -> Response {
    let mut items = Vec::new();
    for id in &grant.accounts {
        if let Some(a) = s.world.account(Platform::Meta, id) {
            match pick_fields(req, &["id", "account_id"], &account_json(a)) {
                Ok(v) => items.push(v),
                Err(f) => return nonexisting_field(&f),
            }
        }
    }
    paged(app, req, items)
}

fn list_campaigns(app: &App, s: &State, req: &ApiRequest, acc: &Account) -> Response {
    let wanted: Option<Vec<String>> = req
        .param("effective_status")
        .map(list_param)
        .filter(|l| !l.is_empty());
    let mut items = Vec::new();
    let mut cs: Vec<&Campaign> = s.world.campaigns_of(Platform::Meta, &acc.id).collect();
    cs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    for c in cs {
        let status = c.status().wire(Platform::Meta);
        let keep = match &wanted {
            Some(w) => w.iter().any(|x| x == status),
            // Deleted campaigns are left out unless asked for, as Meta does.
            None => c.status() != CampaignStatus::Removed,
        };
        if !keep {
            continue;
        }
        match pick_fields(req, &["id"], &campaign_json(s, c, app.now())) {
            Ok(v) => items.push(v),
            Err(f) => return nonexisting_field(&f),
        }
    }
    paged(app, req, items)
}

fn parse_minor(v: &str) -> Option<i64> {
    v.trim().parse::<i64>().ok().filter(|n| *n > 0)
}

fn create_campaign(s: &mut State, req: &ApiRequest, acc: &Account, now: DateTime<Utc>) -> Response {
    let Some(name) = req.param("name").filter(|n| !n.trim().is_empty()) else {
        return invalid("(#100) The parameter name is required");
    };
    let Some(objective) = req.param("objective") else {
        return invalid("(#100) The parameter objective is required");
    };
    if !OBJECTIVES.contains(&objective) {
        return invalid_user(
            &format!(
                "(#100) Param objective must be one of {{{}}}",
                OBJECTIVES.join(", ")
            ),
            "Choose one of the ODAX objectives (OUTCOME_...).",
        );
    }
    match req
        .param("special_ad_categories")
        .map(serde_json::from_str::<Value>)
    {
        Some(Ok(Value::Array(_))) => {}
        Some(_) => return invalid("(#100) Param special_ad_categories must be a JSON array"),
        None => return invalid("(#100) The parameter special_ad_categories is required"),
    }
    let status = match req.param("status").unwrap_or("ACTIVE") {
        "ACTIVE" => CampaignStatus::Enabled,
        "PAUSED" => CampaignStatus::Paused,
        other => {
            return invalid(&format!(
                "(#100) Param status must be one of {{ACTIVE, PAUSED}} on create, got {other}"
            ));
        }
    };
    if req.param("lifetime_budget").is_some() {
        return invalid_user(
            "(#100) lifetime_budget is not supported by the adpilot sandbox",
            "Use daily_budget.",
        );
    }
    let budget = match req.param("daily_budget") {
        Some(v) => match parse_minor(v) {
            Some(minor) => Some(minor.saturating_mul(meta_offset::micros_per_unit(acc.currency))),
            None => {
                return invalid(
                    "(#100) Param daily_budget must be a positive integer in the currency's minor units",
                );
            }
        },
        None => match req.param("is_adset_budget_sharing_enabled") {
            Some("true") | Some("false") => None,
            _ => {
                return invalid_user(
                    "(#100) Invalid parameter",
                    "Must specify True or False in is_adset_budget_sharing_enabled field",
                );
            }
        },
    };
    let id = s.world.new_id(Platform::Meta, IdKind::Campaign);
    let budget_id = budget.map(|amount| {
        s.world.add_budget(
            Platform::Meta,
            &acc.id,
            id.clone(),
            format!("{name} budget"),
            amount,
            now,
        );
        id.clone()
    });
    let new = NewCampaign {
        id: id.clone(),
        name: name.to_string(),
        objective: objective.to_string(),
        budget_id,
        status,
    };
    s.world.add_campaign(acc, new, now);
    s.dirty = true;
    json_response(StatusCode::OK, &json!({ "id": id }))
}

fn update_campaign(s: &mut State, req: &ApiRequest, c: &Campaign, now: DateTime<Utc>) -> Response {
    if c.status() == CampaignStatus::Removed {
        return invalid_user(
            "(#100) Invalid parameter",
            "A deleted campaign cannot be edited.",
        );
    }
    let status = match req.param("status") {
        Some(v) => match CampaignStatus::from_wire(Platform::Meta, v) {
            Some(st) => Some(st),
            None => {
                return invalid(
                    "(#100) Param status must be one of {ACTIVE, PAUSED, DELETED, ARCHIVED}",
                );
            }
        },
        None => None,
    };
    let budget = match req.param("daily_budget") {
        Some(v) => match parse_minor(v) {
            Some(m) => Some(m),
            None => {
                return invalid(
                    "(#100) Param daily_budget must be a positive integer in the currency's minor units",
                );
            }
        },
        None => None,
    };
    let name = req.param("name").filter(|n| !n.trim().is_empty());
    if status.is_none() && budget.is_none() && name.is_none() {
        return invalid("(#100) No fields to update (status, daily_budget or name)");
    }
    let Some(acc) = s.world.account(Platform::Meta, &c.account_id).cloned() else {
        return no_object(&c.id, &req.method);
    };
    if budget.is_some() && s.world.lifetime_budget(c).is_some() {
        // Meta keeps a budget's type for the campaign's life (wording UNVERIFIED).
        return invalid_user(
            "(#100) Invalid parameter",
            "This campaign has a lifetime budget; a daily budget cannot replace it.",
        );
    }
    if let Some(minor) = budget {
        let amount = minor.saturating_mul(meta_offset::micros_per_unit(acc.currency));
        match c.budget_id.as_ref().filter(|_| !c.budget_on_ad_groups) {
            Some(b) => {
                s.world.set_budget(Platform::Meta, b, amount, now);
            }
            None => {
                return invalid_user(
                    "(#100) Invalid parameter",
                    "This campaign uses ad set budgets; set the budget on its ad sets.",
                );
            }
        }
    }
    if let Some(st) = status {
        s.world.set_status(Platform::Meta, &c.id, st, now);
    }
    if let Some(n) = name
        && let Some(cm) = s.world.campaign_mut(Platform::Meta, &c.id)
    {
        cm.name = n.to_string();
    }
    s.dirty = true;
    json_response(StatusCode::OK, &json!({"success": true}))
}

const INSIGHT_FIELDS: [&str; 17] = [
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "account_id",
    "account_name",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "impressions",
    "clicks",
    "inline_link_clicks",
    "spend",
    "actions",
    "action_values",
    "date_start",
    "date_stop",
];

/// The date range of an insights call in the account's time zone.
fn insights_range(req: &ApiRequest, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), Response> {
    if let Some(tr) = req.param("time_range") {
        let v: Value = serde_json::from_str(tr).map_err(|_| {
            invalid("(#100) Param time_range must be a JSON object with since and until")
        })?;
        let date = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        };
        let (Some(since), Some(until)) = (date("since"), date("until")) else {
            return Err(invalid(
                "(#100) Param time_range must contain since and until as YYYY-MM-DD",
            ));
        };
        if since > until {
            return Err(invalid("(#100) time_range: since must not be after until"));
        }
        return Ok((since, until));
    }
    let preset = req.param("date_preset").unwrap_or("last_30d");
    let yesterday = today - Duration::days(1);
    let month_start = today.with_day(1).unwrap_or(today);
    Ok(match preset {
        "today" => (today, today),
        "yesterday" => (yesterday, yesterday),
        "last_3d" => (today - Duration::days(3), yesterday),
        "last_7d" => (today - Duration::days(7), yesterday),
        "last_14d" => (today - Duration::days(14), yesterday),
        "last_28d" => (today - Duration::days(28), yesterday),
        "last_30d" => (today - Duration::days(30), yesterday),
        "last_90d" => (today - Duration::days(90), yesterday),
        "this_month" => (month_start, today),
        "last_month" => {
            let last_end = month_start - Duration::days(1);
            (last_end.with_day(1).unwrap_or(last_end), last_end)
        }
        "maximum" => (today - Duration::days(37 * 31), today),
        other => {
            return Err(invalid(&format!(
                "(#100) date_preset must be one of the documented presets, got {other}"
            )));
        }
    })
}

fn purchase_types(acc: &Account) -> &'static [&'static str] {
    // One account reports only the pixel event, as older pixel setups do, so that adapters'
    // priority lists are exercised; the others report the de-duplicated omni_purchase too.
    if acc.currency.as_str() == "EUR" {
        &["offsite_conversion.fb_pixel_purchase"]
    } else {
        &[
            "omni_purchase",
            "purchase",
            "offsite_conversion.fb_pixel_purchase",
        ]
    }
}

fn insight_row(
    acc: &Account,
    c: Option<&Campaign>,
    m: &DayMetrics,
    since: NaiveDate,
    until: NaiveDate,
) -> Value {
    let mut actions = vec![json!({"action_type": "link_click", "value": m.clicks.to_string()})];
    let mut values = Vec::new();
    if m.clicks > 0 {
        actions.push(
            json!({"action_type": "landing_page_view", "value": (m.clicks * 4 / 5).to_string()}),
        );
    }
    if m.conversions > 0 {
        for t in purchase_types(acc) {
            actions.push(json!({"action_type": t, "value": m.conversions.to_string()}));
            values.push(
                json!({"action_type": t, "value": major_str(m.revenue_micros, acc.currency)}),
            );
        }
    }
    let mut v = json!({
        "account_id": acc.id,
        "account_name": acc.name,
        "account_currency": acc.currency.as_str(),
        "impressions": m.impressions.to_string(),
        // `clicks` is Meta's "clicks (all)": link clicks plus reactions, comments, shares and
        // profile taps (here 40 % more); `inline_link_clicks` is what the truth calls clicks.
        "clicks": (m.clicks + m.clicks * 2 / 5).to_string(),
        "inline_link_clicks": m.clicks.to_string(),
        "spend": major_str(m.spend_micros, acc.currency),
        "actions": actions,
        "date_start": since.to_string(),
        "date_stop": until.to_string(),
    });
    if !values.is_empty() {
        v["action_values"] = json!(values);
    }
    if let Some(c) = c {
        v["campaign_id"] = json!(c.id);
        v["campaign_name"] = json!(c.name);
    }
    v
}

/// What an insights call asks for, once its parameters are checked.
struct InsightsOf {
    level: String,
    daily: bool,
    fields: Vec<String>,
    since: NaiveDate,
    until: NaiveDate,
}

fn insights(app: &App, s: &State, req: &ApiRequest, acc: &Account, now: DateTime<Utc>) -> Response {
    let level = req.param("level").unwrap_or("account");
    if !matches!(level, "campaign" | "account" | "adset" | "ad") {
        return levels::bad_level(level);
    }
    let daily = match req.param("time_increment") {
        Some("1") => true,
        None | Some("all_days") => false,
        Some(other) => {
            return invalid(&format!(
                "(#100) time_increment must be 1 or all_days in the sandbox, got {other}"
            ));
        }
    };
    let fields: Vec<String> = match req.param("fields") {
        Some(f) if !f.trim().is_empty() => f.split(',').map(|x| x.trim().to_string()).collect(),
        _ => vec!["spend".into(), "impressions".into()],
    };
    if let Some(bad) = fields
        .iter()
        .find(|f| !INSIGHT_FIELDS.contains(&f.as_str()))
    {
        return invalid(&format!("(#100) {bad} is not valid for fields param"));
    }
    let today = acc.local_date(now);
    let (since, until) = match insights_range(req, today) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if level == "adset" || level == "ad" {
        let q = InsightsOf {
            level: level.to_string(),
            daily,
            fields,
            since,
            until,
        };
        return levels::level_insights(app, s, req, acc, &q, now);
    }
    let only_ids: Option<Vec<String>> = req.param("filtering").and_then(|f| {
        let v: Value = serde_json::from_str(f).ok()?;
        v.as_array()?.iter().find_map(|flt| {
            (flt.get("field")?.as_str()? == "campaign.id").then(|| {
                flt.get("value")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            })
        })
    });

    // (date, campaign id) → metrics, in that order; account level folds campaigns together.
    let mut rows: Rows<'_> = BTreeMap::new();
    for c in s.world.campaigns_of(Platform::Meta, &acc.id) {
        if only_ids.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
            continue;
        }
        let key_c = (level == "campaign").then_some(c);
        for m in campaign_days(&s.world, acc, c, since, until, now) {
            let key_date = if daily { m.date } else { since };
            rows.entry((key_date, key_c.map(|c| c.id.clone())))
                .and_modify(|(_, total)| total.add(&m))
                .or_insert((key_c, m));
        }
    }
    let items: Vec<Value> = rows
        .iter()
        .map(|((d, _), (c, m))| {
            let (start, stop) = if daily { (*d, *d) } else { (since, until) };
            let full = insight_row(acc, *c, m, start, stop);
            let mut out = Map::new();
            for f in &fields {
                if let Some(v) = full.get(f) {
                    out.insert(f.clone(), v.clone());
                }
            }
            // Meta always sends the day bounds.
            out.insert("date_start".into(), full["date_start"].clone());
            out.insert("date_stop".into(), full["date_stop"].clone());
            Value::Object(out)
        })
        .collect();
    paged(app, req, items)
}
