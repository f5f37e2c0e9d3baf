//! Google Ads REST imitation: `/v{N}/customers...` with `Authorization: Bearer`, GAQL search
//! with fixed-size pages and `pageToken` (a `pageSize` is rejected), int64 fields as JSON
//! strings and doubles as numbers, budgets and campaigns mutates with `updateMask`, a
//! `request-id` header on every answer, and errors as `GoogleAdsFailure`.
//!
//! The `developer-token` header is accepted and never required (it was sunset in 2026).

mod create;
mod level_mutate;
mod mutate;
mod search;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::faults::{FaultKind, Injected};
use super::quota::ceil_secs;
use super::server::{App, State};
use super::tokens::{Grant, TokenKind, TokenProblem};
use super::wire::{ApiRequest, json_response, request_id, set_header};
use super::world::Account;
use crate::types::Platform;

/// An error before it is wrapped in Google's envelope.
#[derive(Debug, Clone)]
pub struct GErr {
    pub(super) status: StatusCode,
    pub(super) grpc: &'static str,
    pub(super) message: String,
    pub(super) errors: Vec<Value>,
}

pub(super) fn gerr(
    status: StatusCode,
    grpc: &'static str,
    message: impl Into<String>,
    errors: Vec<Value>,
) -> GErr {
    GErr {
        status,
        grpc,
        message: message.into(),
        errors,
    }
}

pub(super) fn ads_error(kind: &str, code: &str, message: impl Into<String>) -> Value {
    json!({"errorCode": {kind: code}, "message": message.into()})
}

pub(super) fn invalid(kind: &str, code: &str, message: impl Into<String>) -> GErr {
    let m = message.into();
    gerr(
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        vec![ads_error(kind, code, m)],
    )
}

fn version_of(req: &ApiRequest) -> String {
    req.segments
        .first()
        .cloned()
        .unwrap_or_else(|| "v21".into())
}

fn render_error(e: &GErr, version: &str, rid: &str) -> Response {
    let mut body = json!({"error": {
        "code": e.status.as_u16(),
        "message": e.message,
        "status": e.grpc,
    }});
    if !e.errors.is_empty() {
        body["error"]["details"] = json!([{
            "@type": format!("type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure"),
            "errors": e.errors,
            "requestId": rid,
        }]);
    }
    let mut r = json_response(e.status, &body);
    set_header(&mut r, "request-id", rid);
    r
}

fn token_error(p: TokenProblem) -> GErr {
    let (code, msg) = match p {
        TokenProblem::Missing => (
            "OAUTH_TOKEN_HEADER_INVALID",
            "Request is missing required authentication credential. Expected OAuth 2 access token.",
        ),
        TokenProblem::Unknown => (
            "OAUTH_TOKEN_INVALID",
            "Request had invalid authentication credentials.",
        ),
        TokenProblem::Expired => (
            "OAUTH_TOKEN_EXPIRED",
            "Request had invalid authentication credentials.",
        ),
        TokenProblem::Revoked => (
            "OAUTH_TOKEN_REVOKED",
            "Request had invalid authentication credentials.",
        ),
    };
    gerr(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        msg,
        vec![ads_error(
            "authenticationError",
            code,
            "Authentication of the request failed.",
        )],
    )
}

/// Google's quota answer with its retry hint.
fn rate_limited(code: &str, secs: u64) -> GErr {
    gerr(
        StatusCode::TOO_MANY_REQUESTS,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
        vec![json!({
            "errorCode": {"quotaError": code},
            "message": format!("Too many requests. Retry in {secs} seconds."),
            "details": {"quotaErrorDetails": {
                "rateScope": "DEVELOPER",
                "rateName": "Number of operations for basic access",
                "retryDelay": format!("{secs}s"),
            }},
        })],
    )
}

pub fn fault_response(req: &ApiRequest, i: &Injected) -> Response {
    let rid = request_id();
    let v = version_of(req);
    let e = match i.kind {
        FaultKind::RateLimit => rate_limited("RESOURCE_TEMPORARILY_EXHAUSTED", i.retry_after_secs),
        FaultKind::ServerError | FaultKind::Timeout | FaultKind::LostResponse => gerr(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The service is currently unavailable.",
            vec![ads_error(
                "internalError",
                "TRANSIENT_ERROR",
                "The service is temporarily unavailable.",
            )],
        ),
        FaultKind::ExpiredToken => token_error(TokenProblem::Expired),
        FaultKind::RevokedToken => token_error(TokenProblem::Revoked),
        FaultKind::PermanentError => invalid(
            "requestError",
            "INVALID_INPUT",
            "The customer account is not enabled for this operation.",
        ),
        FaultKind::MissingPermission => gerr(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "The caller does not have permission",
            vec![ads_error(
                "authorizationError",
                "USER_PERMISSION_DENIED",
                "User doesn't have permission to access customer. Note: If you're accessing a \
                 client customer, the manager's customer id must be set in the \
                 'login-customer-id' header.",
            )],
        ),
        // Reshaping kinds are applied to the real answer by the dispatcher.
        FaultKind::WrongShape
        | FaultKind::SecondaryStatusOnly
        | FaultKind::LegacyAdvertiserInfo
        | FaultKind::AccountOnHold => gerr(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
            Vec::new(),
        ),
    };
    render_error(&e, &v, &rid)
}

pub fn handle(app: &App, req: &ApiRequest) -> Response {
    let rid = request_id();
    let version = version_of(req);
    let result = route(app, req, &rid);
    let mut r = match result {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => render_error(&e, &version, &rid),
    };
    set_header(&mut r, "request-id", &rid);
    r
}

fn not_found(req: &ApiRequest) -> GErr {
    gerr(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!(
            "The requested URL {} was not found on this server.",
            req.path
        ),
        Vec::new(),
    )
}

fn route(app: &App, req: &ApiRequest, rid: &str) -> Result<Value, GErr> {
    let now = app.now();
    let mut s = app.state();
    let grant = s
        .auth
        .check(Platform::Google, req.bearer(), &[TokenKind::Access], now)
        .map(|(_, g)| g.clone())
        .map_err(token_error)?;
    let segs: Vec<&str> = req.segments.iter().skip(1).map(String::as_str).collect();
    match (req.method.clone(), segs.as_slice()) {
        (Method::GET, ["customers:listAccessibleCustomers"]) => Ok(json!({
            "resourceNames": grant.accounts.iter().map(|c| format!("customers/{c}")).collect::<Vec<_>>()
        })),
        (Method::POST, ["geoTargetConstants:suggest"]) => {
            let body = req
                .json_body()
                .map_err(|e| invalid("requestError", "INVALID_INPUT", e))?;
            create::suggest(&body)
        }
        (Method::POST, ["customers", cid, action]) => {
            let acc = customer(&s, &grant, req, cid)?;
            let body = req
                .json_body()
                .map_err(|e| invalid("requestError", "INVALID_INPUT", e))?;
            if let Some(limit) = app.config.google_operations_per_day {
                // Mutates count their operations, searches one each, like Google's quota.
                let weight = body
                    .get("operations")
                    .and_then(serde_json::Value::as_array)
                    .map_or(1, |ops| ops.len().max(1) as u64);
                let day = std::time::Duration::from_secs(86_400);
                if let Err(wait) =
                    s.quotas
                        .take("google", weight, limit, day, std::time::Instant::now())
                {
                    return Err(rate_limited("RESOURCE_EXHAUSTED", ceil_secs(wait)));
                }
            }
            match *action {
                "googleAds:search" => search::search(app, &s, &acc, &body, now, rid, false),
                "googleAds:searchStream" => search::search(app, &s, &acc, &body, now, rid, true),
                "campaignBudgets:mutate" => mutate::mutate_budgets(&mut s, &acc, &body, now),
                "campaigns:mutate" => mutate::mutate_campaigns(&mut s, &acc, &body, now),
                "googleAds:mutate" => create::mutate_all(&mut s, &acc, &body, now),
                "adGroups:mutate" => level_mutate::mutate_ad_groups(&mut s, &acc, &body, now),
                "adGroupAds:mutate" => level_mutate::mutate_ad_group_ads(&mut s, &acc, &body, now),
                _ => Err(not_found(req)),
            }
        }
        _ => Err(not_found(req)),
    }
}

fn permission_denied() -> GErr {
    gerr(
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "The caller does not have permission",
        vec![ads_error(
            "authorizationError",
            "USER_PERMISSION_DENIED",
            "User doesn't have permission to access customer. Note: If you're accessing a client customer, the manager's customer id must be set in the 'login-customer-id' header.",
        )],
    )
}

pub(super) fn customer(
    s: &State,
    grant: &Grant,
    req: &ApiRequest,
    cid: &str,
) -> Result<Account, GErr> {
    if cid.is_empty() || !cid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "requestError",
            "INVALID_CUSTOMER_ID",
            format!("Invalid customer ID '{cid}'."),
        ));
    }
    if let Some(login) = req.header("login-customer-id") {
        let login = login.trim();
        if !login.bytes().all(|b| b.is_ascii_digit()) || !grant.accounts.iter().any(|a| a == login)
        {
            return Err(permission_denied());
        }
    }
    if !grant.accounts.iter().any(|a| a == cid) {
        return Err(permission_denied());
    }
    s.world
        .account(Platform::Google, cid)
        .cloned()
        .ok_or_else(permission_denied)
}
