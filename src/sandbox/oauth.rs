//! The OAuth pieces of the three platforms: authorization pages that redirect back with a code
//! (or `error=access_denied`), token endpoints with each platform's lifetimes and errors, and
//! revocation.
//!
//! Paths (all on the sandbox's one port):
//! - Google: `GET|POST /o/oauth2/v2/auth`, `POST /token`, `POST /revoke`
//! - Meta: `GET|POST /v{NN}.0/dialog/oauth`, `GET|POST /v{NN}.0/oauth/access_token`,
//!   `GET /debug_token`, revoke with `DELETE /v{NN}.0/me/permissions` (in `meta.rs`)
//! - TikTok: `GET|POST /portal/auth`, `POST /open_api/v1.3/oauth2/access_token/`,
//!   `POST /open_api/v1.3/oauth2/revoke_token/`

// Helpers return the finished platform error response as their Err side; it is built once
// per failed call, so its size does not matter.
#![allow(clippy::result_large_err)]

use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::consent_page;
use super::server::{App, State};
use super::tokens::{CodeProblem, CodeRequest, TokenKind, TokenProblem};
use super::wire::{ApiRequest, json_response};
use super::{meta, tiktok};
use crate::types::Platform;

pub const GOOGLE_SCOPE: &str = "https://www.googleapis.com/auth/adwords";

pub fn chrono_ttl(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or_else(|_| Duration::days(365 * 100))
}

pub fn handle(app: &App, platform: Platform, req: &ApiRequest) -> Response {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match (platform, segs.as_slice()) {
        (Platform::Google, ["o", "oauth2", "v2", "auth"])
        | (Platform::Meta, [_, "dialog", "oauth"])
        | (Platform::Tiktok, ["portal", "auth"]) => consent(app, platform, req),
        (Platform::Google, ["token"]) => google_token(app, req),
        (Platform::Google, ["revoke"]) => google_revoke(app, req),
        (Platform::Meta, [_, "oauth", "access_token"]) => meta_token(app, req),
        (Platform::Meta, ["debug_token"]) => meta_debug_token(app, req),
        (Platform::Tiktok, ["open_api", "v1.3", "oauth2", "access_token"]) => {
            tiktok_token(app, req)
        }
        (Platform::Tiktok, ["open_api", "v1.3", "oauth2", "revoke_token"]) => {
            tiktok_revoke(app, req)
        }
        (Platform::Google, _) => (StatusCode::NOT_FOUND, "Not Found").into_response(),
        (Platform::Meta, _) => meta::unknown_path(req),
        (Platform::Tiktok, _) => tiktok::reply(40002, "Unknown API path.", json!({})),
    }
}

/// The authorization request as sent by the app, from the query (GET) or form (POST).
struct AuthRequest {
    client_id: String,
    redirect_uri: url::Url,
    /// As sent: the token exchange must repeat it byte for byte.
    redirect_raw: String,
    state: Option<String>,
    offline: bool,
    challenge: Option<(String, String)>,
    passthrough: Vec<(String, String)>,
}

fn read_auth_request(platform: Platform, req: &ApiRequest) -> Result<AuthRequest, String> {
    let fields: Vec<(String, String)> = if req.method == Method::POST {
        req.form.clone()
    } else {
        req.query.clone()
    };
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let client_key = if platform == Platform::Tiktok {
        "app_id"
    } else {
        "client_id"
    };
    let client_id = get(client_key).ok_or(format!("Missing required parameter: {client_key}"))?;
    let redirect = get("redirect_uri").ok_or("Missing required parameter: redirect_uri")?;
    let redirect_uri = url::Url::parse(&redirect)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or(format!(
            "Invalid parameter value for redirect_uri: {redirect}"
        ))?;
    if platform == Platform::Google {
        match get("response_type").as_deref() {
            Some("code") => {}
            other => {
                return Err(format!(
                    "Invalid response_type: {} (the sandbox supports the code flow)",
                    other.unwrap_or("missing")
                ));
            }
        }
    }
    let challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (Some(c), m) => {
            let m = m.unwrap_or_else(|| "plain".into());
            if m != "S256" && m != "plain" {
                return Err(format!("Invalid code_challenge_method: {m}"));
            }
            Some((c, m))
        }
        (None, _) => None,
    };
    let passthrough = fields
        .iter()
        .filter(|(k, _)| k != "account" && k != "decision")
        .cloned()
        .collect();
    Ok(AuthRequest {
        client_id,
        redirect_uri,
        redirect_raw: redirect,
        state: get("state"),
        offline: get("access_type").as_deref() == Some("offline"),
        challenge,
        passthrough,
    })
}

fn redirect(mut to: url::Url, pairs: &[(&str, &str)]) -> Response {
    {
        let mut q = to.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn consent(app: &App, platform: Platform, req: &ApiRequest) -> Response {
    let ar = match read_auth_request(platform, req) {
        Ok(a) => a,
        Err(msg) => {
            return (
                StatusCode::BAD_REQUEST,
                Html(consent_page::render_error(platform, &msg)),
            )
                .into_response();
        }
    };
    let mut s = app.state();
    let accounts: Vec<_> = s.world.accounts_of(platform).cloned().collect();
    let page = |error: Option<&str>| {
        let refs: Vec<_> = accounts.iter().collect();
        consent_page::render(
            platform,
            &ar.client_id,
            &refs,
            &ar.passthrough,
            &req.path,
            error,
        )
    };
    if req.method != Method::POST {
        return Html(page(None)).into_response();
    }
    let decision = req.param("decision").unwrap_or("");
    let state = ar.state.clone().unwrap_or_default();
    let with_state = |mut pairs: Vec<(&'static str, String)>| {
        if ar.state.is_some() {
            pairs.push(("state", state.clone()));
        }
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        redirect(ar.redirect_uri.clone(), &refs)
    };
    if decision != "approve" {
        let mut pairs = vec![("error", "access_denied".to_string())];
        if platform == Platform::Meta {
            pairs.push(("error_code", "200".into()));
            pairs.push(("error_description", "Permissions error".into()));
            pairs.push(("error_reason", "user_denied".into()));
        }
        return with_state(pairs);
    }
    let chosen: Vec<String> = req
        .form
        .iter()
        .filter(|(k, _)| k == "account")
        .map(|(_, v)| v.clone())
        .filter(|id| accounts.iter().any(|a| &a.id == id))
        .collect();
    if chosen.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Html(page(Some(
                "Choose at least one account to share, or press Deny.",
            ))),
        )
            .into_response();
    }
    let now = app.now();
    let ttl = chrono_ttl(app.config.tokens.auth_code);
    s.auth.prune_codes(now);
    let approved = CodeRequest {
        client_id: ar.client_id.clone(),
        redirect_uri: ar.redirect_raw.clone(),
        accounts: chosen,
        offline: ar.offline,
        code_challenge: ar.challenge.clone(),
    };
    let code = s.auth.new_code(platform, approved, ttl, now);
    s.dirty = true;
    drop(s);
    match platform {
        Platform::Google => with_state(vec![("code", code), ("scope", GOOGLE_SCOPE.into())]),
        Platform::Meta => with_state(vec![("code", code)]),
        Platform::Tiktok => with_state(vec![("auth_code", code)]),
    }
}

fn google_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

/// Client credentials from the form or from HTTP Basic (the oauth2 crate's default).
fn client_credentials(req: &ApiRequest) -> (Option<String>, Option<String>) {
    use base64::Engine;
    let from_basic = req
        .header("authorization")
        .and_then(|h| {
            h.strip_prefix("Basic ")
                .or_else(|| h.strip_prefix("basic "))
        })
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            let dec = |v: &str| {
                url::form_urlencoded::parse(format!("v={v}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Some((dec(id), dec(secret)))
        });
    match from_basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (
            req.param("client_id").map(String::from),
            req.param("client_secret").map(String::from),
        ),
    }
}

fn google_token(app: &App, req: &ApiRequest) -> Response {
    if req.method != Method::POST {
        return google_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "Use POST.",
        );
    }
    let (client_id, _secret) = client_credentials(req);
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Could not determine client ID from request.",
        );
    };
    let now = app.now();
    let mut s = app.state();
    match req.param("grant_type") {
        Some("authorization_code") => google_code_grant(app, &mut s, req, &client_id, now),
        Some("refresh_token") => google_refresh_grant(app, &mut s, req, &client_id, now),
        other => google_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {}", other.unwrap_or("")),
        ),
    }
}

/// Redeems an authorization code for an access token, and a refresh token when offline.
fn google_code_grant(
    app: &App,
    s: &mut State,
    req: &ApiRequest,
    client_id: &str,
    now: DateTime<Utc>,
) -> Response {
    let ttl = &app.config.tokens;
    let Some(code) = req.param("code") else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: code",
        );
    };
    let redeemed = s.auth.redeem_code(
        Platform::Google,
        code,
        client_id,
        Some(req.param("redirect_uri").unwrap_or("")),
        req.param("code_verifier"),
        now,
    );
    let c = match redeemed {
        Ok(c) => c,
        Err(p) => {
            s.dirty = true;
            let (err, desc) = match p {
                CodeProblem::Unknown => ("invalid_grant", "Malformed auth code."),
                CodeProblem::Used => ("invalid_grant", "Code was already redeemed."),
                CodeProblem::Expired => ("invalid_grant", "Token has been expired or revoked."),
                CodeProblem::Mismatch => ("redirect_uri_mismatch", "Bad Request"),
                CodeProblem::Verifier => ("invalid_grant", "Invalid code verifier."),
            };
            return google_error(StatusCode::BAD_REQUEST, err, desc);
        }
    };
    let grant = s
        .auth
        .new_grant(Platform::Google, client_id, c.accounts, now);
    let access = s.auth.issue(
        Platform::Google,
        &grant,
        TokenKind::Access,
        Some(chrono_ttl(ttl.google_access)),
        now,
    );
    let mut body = json!({
        "access_token": access.value,
        "expires_in": ttl.google_access.as_secs(),
        "token_type": "Bearer",
        "scope": GOOGLE_SCOPE,
    });
    if c.offline {
        let refresh = s.auth.issue(
            Platform::Google,
            &grant,
            TokenKind::Refresh,
            ttl.google_refresh.map(chrono_ttl),
            now,
        );
        body["refresh_token"] = json!(refresh.value);
        if let Some(r) = ttl.google_refresh {
            body["refresh_token_expires_in"] = json!(r.as_secs());
        }
    }
    s.dirty = true;
    json_response(StatusCode::OK, &body)
}

/// A new access token for a refresh token of the same client.
fn google_refresh_grant(
    app: &App,
    s: &mut State,
    req: &ApiRequest,
    client_id: &str,
    now: DateTime<Utc>,
) -> Response {
    let ttl = &app.config.tokens;
    let checked = s
        .auth
        .check(
            Platform::Google,
            req.param("refresh_token"),
            &[TokenKind::Refresh],
            now,
        )
        .map(|(_, g)| (g.id.clone(), g.client_id.clone()));
    let grant = match checked {
        Ok((g, c)) if c == *client_id => g,
        Ok(_) => {
            return google_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                "Unauthorized",
            );
        }
        Err(TokenProblem::Missing) => {
            return google_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: refresh_token",
            );
        }
        Err(_) => {
            return google_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Token has been expired or revoked.",
            );
        }
    };
    let access = s.auth.issue(
        Platform::Google,
        &grant,
        TokenKind::Access,
        Some(chrono_ttl(ttl.google_access)),
        now,
    );
    s.dirty = true;
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": access.value,
            "expires_in": ttl.google_access.as_secs(),
            "token_type": "Bearer",
            "scope": GOOGLE_SCOPE,
        }),
    )
}

fn google_revoke(app: &App, req: &ApiRequest) -> Response {
    let token = req.param("token").unwrap_or("");
    let mut s = app.state();
    if s.auth.revoke_token(Platform::Google, token) {
        s.dirty = true;
        json_response(StatusCode::OK, &json!({}))
    } else {
        google_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        )
    }
}

fn meta_token(app: &App, req: &ApiRequest) -> Response {
    let now = app.now();
    // Meta documents query parameters; HTTP Basic is accepted too for OAuth client libraries.
    let (client_id, secret) = client_credentials(req);
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        return meta::error(
            StatusCode::BAD_REQUEST,
            101,
            None,
            "Missing client_id parameter.",
            "OAuthException",
        );
    };
    let client_id = client_id.as_str();
    if secret.is_none_or(|s| s.is_empty()) {
        return meta::error(
            StatusCode::BAD_REQUEST,
            1,
            None,
            "Missing client_secret parameter.",
            "OAuthException",
        );
    }
    let mut s = app.state();
    if req.param("grant_type") == Some("fb_exchange_token") {
        return meta_exchange(app, &mut s, req, now);
    }
    meta_code_grant(app, &mut s, req, client_id, now)
}

/// A long-lived token for a valid short-lived (or long-lived) one.
fn meta_exchange(app: &App, s: &mut State, req: &ApiRequest, now: DateTime<Utc>) -> Response {
    let ttl = &app.config.tokens;
    let checked = s
        .auth
        .check(
            Platform::Meta,
            req.param("fb_exchange_token"),
            &[TokenKind::Access, TokenKind::LongLived],
            now,
        )
        .map(|(_, g)| g.id.clone());
    let grant = match checked {
        Ok(g) => g,
        Err(p) => return meta::token_problem(p),
    };
    let t = s.auth.issue(
        Platform::Meta,
        &grant,
        TokenKind::LongLived,
        Some(chrono_ttl(ttl.meta_long)),
        now,
    );
    s.dirty = true;
    json_response(
        StatusCode::OK,
        &json!({"access_token": t.value, "token_type": "bearer", "expires_in": ttl.meta_long.as_secs()}),
    )
}

/// Redeems an authorization code for a short-lived access token.
fn meta_code_grant(
    app: &App,
    s: &mut State,
    req: &ApiRequest,
    client_id: &str,
    now: DateTime<Utc>,
) -> Response {
    let ttl = &app.config.tokens;
    let Some(code) = req.param("code") else {
        return meta::error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            "Missing code parameter.",
            "OAuthException",
        );
    };
    let Some(redirect_uri) = req.param("redirect_uri") else {
        return meta::error(
            StatusCode::BAD_REQUEST,
            100,
            None,
            "Missing redirect_uri parameter.",
            "OAuthException",
        );
    };
    let c = match s.auth.redeem_code(
        Platform::Meta,
        code,
        client_id,
        Some(redirect_uri),
        None,
        now,
    ) {
        Ok(c) => c,
        Err(p) => {
            s.dirty = true;
            let (sub, msg) = match p {
                CodeProblem::Used => (36009, "This authorization code has been used."),
                CodeProblem::Expired => (36007, "This authorization code has expired."),
                CodeProblem::Mismatch => (
                    36008,
                    "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
                ),
                CodeProblem::Unknown | CodeProblem::Verifier => {
                    (36008, "Invalid verification code format.")
                }
            };
            return meta::error(
                StatusCode::BAD_REQUEST,
                100,
                Some(sub),
                msg,
                "OAuthException",
            );
        }
    };
    let grant = s.auth.new_grant(Platform::Meta, client_id, c.accounts, now);
    let t = s.auth.issue(
        Platform::Meta,
        &grant,
        TokenKind::Access,
        Some(chrono_ttl(ttl.meta_short)),
        now,
    );
    s.dirty = true;
    json_response(
        StatusCode::OK,
        &json!({"access_token": t.value, "token_type": "bearer", "expires_in": ttl.meta_short.as_secs()}),
    )
}

fn meta_debug_token(app: &App, req: &ApiRequest) -> Response {
    let now = app.now();
    let s = app.state();
    let input = req.param("input_token");
    let found = input.and_then(|v| {
        s.auth
            .tokens
            .iter()
            .find(|t| t.platform == Platform::Meta && t.value == v)
    });
    let Some(t) = found else {
        return meta::error(
            StatusCode::BAD_REQUEST,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
            "OAuthException",
        );
    };
    let grant = s.auth.grant(&t.grant_id);
    let valid = s
        .auth
        .check(
            Platform::Meta,
            input,
            &[TokenKind::Access, TokenKind::LongLived],
            now,
        )
        .is_ok();
    json_response(
        StatusCode::OK,
        &json!({"data": {
            "app_id": grant.map(|g| g.client_id.clone()).unwrap_or_default(),
            "type": "USER",
            "application": "adpilot sandbox",
            "expires_at": t.expires_at.map(|e| e.timestamp()).unwrap_or(0),
            "issued_at": t.issued_at.timestamp(),
            "is_valid": valid,
            "scopes": ["ads_management", "ads_read", "business_management"],
            "user_id": meta::USER_ID,
        }}),
    )
}

fn tiktok_fields(req: &ApiRequest) -> Result<Value, Response> {
    req.json_body()
        .map_err(|e| tiktok::reply(40002, &e, json!({})))
}

fn tiktok_str<'a>(body: &'a Value, key: &str) -> Result<&'a str, Response> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            tiktok::reply(
                40002,
                &format!("{key}: Missing data for required field."),
                json!({}),
            )
        })
}

fn tiktok_token(app: &App, req: &ApiRequest) -> Response {
    let body = match tiktok_fields(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (app_id, code) = match (
        tiktok_str(&body, "app_id"),
        tiktok_str(&body, "secret"),
        tiktok_str(&body, "auth_code"),
    ) {
        (Ok(a), Ok(_), Ok(c)) => (a, c),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let now = app.now();
    let mut s = app.state();
    let c = match s
        .auth
        .redeem_code(Platform::Tiktok, code, app_id, None, None, now)
    {
        Ok(c) => c,
        Err(_) => {
            s.dirty = true;
            return tiktok::reply(
                40110,
                "Auth_code is invalid or has expired or been used.",
                json!({}),
            );
        }
    };
    let grant = s
        .auth
        .new_grant(Platform::Tiktok, app_id, c.accounts.clone(), now);
    let t = s.auth.issue(
        Platform::Tiktok,
        &grant,
        TokenKind::Access,
        app.config.tokens.tiktok_access.map(chrono_ttl),
        now,
    );
    s.dirty = true;
    let ids = if body.get("return_advertiser_ids") == Some(&Value::Bool(false)) {
        Value::Null
    } else {
        json!(c.accounts)
    };
    let mut data = json!({"access_token": t.value, "scope": [4, 5, 6]});
    if !ids.is_null() {
        data["advertiser_ids"] = ids;
    }
    tiktok::reply(0, "OK", data)
}

fn tiktok_revoke(app: &App, req: &ApiRequest) -> Response {
    let body = match tiktok_fields(req) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (app_id, token) = match (
        tiktok_str(&body, "app_id"),
        tiktok_str(&body, "secret"),
        tiktok_str(&body, "access_token"),
    ) {
        (Ok(a), Ok(_), Ok(t)) => (a, t),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let mut s = app.state();
    let accounts = s
        .auth
        .tokens
        .iter()
        .find(|t| t.platform == Platform::Tiktok && t.value == token)
        .and_then(|t| s.auth.grant(&t.grant_id))
        .map(|g| g.accounts.clone());
    match accounts {
        Some(ids) if s.auth.revoke_token(Platform::Tiktok, token) => {
            s.dirty = true;
            tiktok::reply(0, "OK", json!({"app_id": app_id, "advertiser_ids": ids}))
        }
        _ => tiktok::reply(
            40105,
            "The access token is invalid or has been revoked.",
            json!({}),
        ),
    }
}
