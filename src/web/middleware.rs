//! Request middleware: request id and tracing span, session and organization context, CSRF
//! and Origin checks, read-only enforcement for clients, security headers, error logging and
//! htmx error fragments, request metrics.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::context::RequestCtx;
use super::cookies::{CSRF_COOKIE, CSRF_HEADER, FLASH_COOKIE, cookie, cookie_value, parse_flash};
use super::error::{AppError, ErrorInfo, LoginRedirect, render_error};
use crate::app::AppState;
use crate::auth::Role;
use crate::auth::accounts::OrgMembership;
use crate::auth::sessions::SessionInfo;
use crate::auth::tokens::{new_token, tokens_equal};
use crate::auth::{accounts, sessions};

const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// Paths that take state-changing requests from other sites by design (signed webhooks).
fn csrf_exempt(path: &str) -> bool {
    // One-click unsubscribe (RFC 8058) is posted by mail clients; its signed link is the check.
    path.starts_with("/webhooks/") || path == "/reports/unsubscribe"
}

/// Paths a client-role member may post to (their own session and account).
fn client_may_post(path: &str) -> bool {
    matches!(
        path,
        "/logout" | "/orgs/switch" | "/account/password" | "/orgs"
    ) || path.starts_with("/invites/")
}

/// Builds the [`RequestCtx`], checks CSRF and roles, and handles everything on the way out.
pub async fn context(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request_id_of(req.headers());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().clone();
    let is_htmx = req.headers().contains_key("hx-request");
    let mut resp = match build_and_check(&app, &mut req, &request_id).await {
        Ok(new_anon_csrf) => {
            let had_flash = cookie_value(req.headers(), FLASH_COOKIE).is_some();
            let ctx = req.extensions().get::<RequestCtx>();
            let origin = crate::audit::RequestOrigin {
                request_id: request_id.clone(),
                client_ip: ctx.map(|c| c.client_ip.clone()).unwrap_or_default(),
            };
            let scope = ctx.and_then(|c| c.account_scope.clone());
            let mut resp = crate::audit::with_origin(
                origin,
                crate::db::with_account_scope(scope, next.run(req)),
            )
            .await;
            if let Some(token) = new_anon_csrf {
                if let Ok(v) =
                    HeaderValue::from_str(&cookie(CSRF_COOKIE, &token, None, app.config.https()))
                {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            // A flash is shown once: the page that displayed it clears it.
            if had_flash && resp.status().is_success() && !is_htmx {
                if let Ok(v) = HeaderValue::from_str(&cookie(FLASH_COOKIE, "", Some(0), false)) {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            resp
        }
        Err(e) => e.into_response(),
    };
    if is_htmx && resp.extensions().get::<LoginRedirect>().is_some() {
        // htmx follows HX-Redirect with a full page load.
        resp = (
            axum::http::StatusCode::UNAUTHORIZED,
            [("HX-Redirect", "/login")],
            "Please log in to continue.",
        )
            .into_response();
    }
    if let Some(info) = resp.extensions().get::<ErrorInfo>().cloned() {
        match &info.detail {
            Some(detail) => {
                tracing::error!(status = info.status.as_u16(), %detail, "request failed")
            }
            None => {
                tracing::info!(status = info.status.as_u16(), message = %info.message, "request refused")
            }
        }
        let retry = resp.headers().get(header::RETRY_AFTER).cloned();
        resp = render_error(&info, &request_id, is_htmx);
        if let Some(r) = retry {
            resp.headers_mut().insert(header::RETRY_AFTER, r);
        }
    }
    super::frame::apply(&mut resp);
    if app.config.https() {
        secure_cookies(resp.headers_mut());
    }
    let status = resp.status().as_u16().to_string();
    app.metrics.http_request(
        &route,
        method.as_str(),
        &status,
        started.elapsed().as_secs_f64(),
    );
    resp
}

/// Loads the session and organization, then applies the CSRF, Origin and read-only checks.
/// Returns a new anonymous CSRF token to set as a cookie, if one was minted.
async fn build_and_check(
    app: &AppState,
    req: &mut Request,
    request_id: &str,
) -> Result<Option<String>, AppError> {
    reject_nul(req).await?;
    let headers = req.headers().clone();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client_ip = super::client_addr::client_ip(peer, &headers, &app.config.trusted_proxies)
        .map(|a| a.to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);

    let (session, orgs, current) = session_and_org(app, &headers).await?;

    // A restricted member's (a client's) requests see only their ad accounts: every tenant
    // transaction of the request carries the scope (see `db::with_account_scope`).
    let account_scope = match (&session, &current) {
        // Owners and admins always see every account: no query on their requests.
        (Some(s), Some(c)) if !c.role.is_admin() => {
            crate::auth::scope::account_scope(&app.db, c.org_id, s.user_id).await?
        }
        _ => None,
    };

    let (reconnect, billing_notice) = banners(app, current.as_ref()).await;

    let mut new_anon = None;
    let csrf_token = match &session {
        Some(s) => s.csrf_token.clone(),
        None => match cookie_value(&headers, CSRF_COOKIE) {
            Some(t) if t.len() >= 32 => t.to_string(),
            _ => {
                let t = new_token();
                new_anon = Some(t.clone());
                t
            }
        },
    };
    let flash = cookie_value(&headers, FLASH_COOKIE)
        .as_deref()
        .and_then(parse_flash);

    check_unsafe(app, req, &headers, &csrf_token, current.as_ref()).await?;

    req.extensions_mut().insert(RequestCtx {
        request_id: request_id.to_string(),
        session,
        orgs,
        current,
        csrf_token,
        flash,
        client_ip,
        user_agent,
        reconnect,
        billing_notice,
        billing_enabled: app.billing.is_some(),
        account_scope,
    });
    Ok(new_anon)
}

type SessionAndOrg = (
    Option<SessionInfo>,
    Vec<OrgMembership>,
    Option<OrgMembership>,
);

/// The session from its cookie, the user's organizations and the one the session is in
/// (its last one, else the first), recording the choice on the session.
async fn session_and_org(app: &AppState, headers: &HeaderMap) -> Result<SessionAndOrg, AppError> {
    let mut session = None;
    if let Some(token) = cookie_value(headers, sessions::COOKIE) {
        session = sessions::lookup(&app.db, &token, app.config.session_idle).await?;
    }
    let mut orgs = Vec::new();
    let mut current = None;
    if let Some(s) = &session {
        tracing::Span::current().record("user_id", tracing::field::display(s.user_id));
        orgs = accounts::user_orgs(&app.db, s.user_id).await?;
        current = s
            .org_id
            .and_then(|id| orgs.iter().find(|o| o.org_id == id).cloned())
            .or_else(|| orgs.first().cloned());
        if let Some(c) = &current {
            tracing::Span::current().record("org_id", tracing::field::display(c.org_id));
            if s.org_id != Some(c.org_id) {
                sessions::set_org(&app.db, s.id, c.org_id).await?;
            }
        }
    }

    Ok((session, orgs, current))
}

/// The banners every page shows: connections to reconnect and an overdue payment. A failure
/// to check leaves the banner out rather than failing the page.
async fn banners(
    app: &AppState,
    current: Option<&OrgMembership>,
) -> (
    Vec<crate::types::Platform>,
    Option<crate::billing::enforce::Notice>,
) {
    let reconnect = match current {
        Some(c) => crate::connections::service::needing_reconnect(app, c.org_id)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot check connections for the banner");
                Vec::new()
            }),
        None => Vec::new(),
    };

    let billing_notice = match current {
        Some(c) => crate::billing::enforce::notice(app, c.org_id)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot check billing for the banner");
                None
            }),
        None => None,
    };

    (reconnect, billing_notice)
}

/// On a method that changes something: the Origin, the CSRF token (header or form field)
/// and, for a client, whether the path is one a client may post to.
async fn check_unsafe(
    app: &AppState,
    req: &mut Request,
    headers: &HeaderMap,
    csrf_token: &str,
    current: Option<&OrgMembership>,
) -> Result<(), AppError> {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = req.uri().path().to_string();
    if unsafe_method && !csrf_exempt(&path) {
        check_origin(headers, &app.config.origin())?;
        let given = match headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
            Some(t) => Some(t.to_string()),
            None => form_field(req, "csrf_token").await?,
        };
        match given {
            Some(t) if tokens_equal(&t, csrf_token) => {}
            _ => return Err(AppError::Csrf),
        }
        if current.is_some_and(|c| c.role == Role::Client) && !client_may_post(&path) {
            return Err(AppError::Forbidden);
        }
    }

    Ok(())
}

fn check_origin(headers: &HeaderMap, origin: &str) -> Result<(), AppError> {
    if let Some(o) = headers.get(header::ORIGIN) {
        return if o.to_str().is_ok_and(|o| o == origin) {
            Ok(())
        } else {
            Err(AppError::Csrf)
        };
    }
    // Without Origin (older browsers), the Referer must be one of our pages.
    match headers.get(header::REFERER).and_then(|v| v.to_str().ok()) {
        Some(r) if r == origin || r.starts_with(&format!("{origin}/")) => Ok(()),
        _ => Err(AppError::Csrf),
    }
}

/// PostgreSQL text cannot hold a NUL character, and no form of ours needs one: a NUL in the
/// path, the query or an urlencoded form is refused here with a clear message, before any
/// handler gets as far as a query that would fail with a 500. The forms whose handlers refuse
/// control characters themselves (`web::form::FIELD_CHECKED_FORMS`) pass, so that the person
/// gets the form back with the field's error and what they typed.
async fn reject_nul(req: &mut Request) -> Result<(), AppError> {
    let refuse = || {
        AppError::BadRequest(
            "The request contains a NUL character (%00), which no text field accepts. Remove it and try again."
                .into(),
        )
    };
    let uri = req.uri();
    let in_uri = |s: &str| s.contains("%00") || s.contains('\0');
    if in_uri(uri.path()) || uri.query().is_some_and(in_uri) {
        return Err(refuse());
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok(());
    }
    let field_checked = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|m| super::form::checks_controls(req.method().as_str(), m.as_str()));
    if field_checked {
        return Ok(());
    }
    let body = std::mem::replace(req.body_mut(), Body::empty());
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| AppError::BadRequest("The form is too large.".into()))?;
    let has_nul = bytes.contains(&0)
        || url::form_urlencoded::parse(&bytes).any(|(k, v)| k.contains('\0') || v.contains('\0'));
    *req.body_mut() = Body::from(bytes);
    if has_nul { Err(refuse()) } else { Ok(()) }
}

/// Reads a field of an urlencoded (or multipart) form body and puts the body back for the
/// handler.
async fn form_field(req: &mut Request, name: &str) -> Result<Option<String>, AppError> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if ctype
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return multipart_field(req, &ctype, name).await;
    }
    let is_form = ctype.starts_with("application/x-www-form-urlencoded");
    if !is_form {
        return Ok(None);
    }
    let body = std::mem::replace(req.body_mut(), Body::empty());
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| AppError::BadRequest("The form is too large.".into()))?;
    let value = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned());
    *req.body_mut() = Body::from(bytes);
    Ok(value)
}

/// A text field of a `multipart/form-data` body (the create form with its image input): the
/// body is read (the router caps it at 4 MB), searched and put back for the handler.
async fn multipart_field(
    req: &mut Request,
    ctype: &str,
    name: &str,
) -> Result<Option<String>, AppError> {
    use axum::extract::FromRequest;
    const MAX_MULTIPART_BYTES: usize = 4 * 1024 * 1024;
    let body = std::mem::replace(req.body_mut(), Body::empty());
    let bytes: Bytes = axum::body::to_bytes(body, MAX_MULTIPART_BYTES)
        .await
        .map_err(|_| AppError::BadRequest("The form is too large.".into()))?;
    *req.body_mut() = Body::from(bytes.clone());
    let copy = axum::http::Request::builder()
        .header(header::CONTENT_TYPE, ctype)
        .body(Body::from(bytes))
        .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}")))?;
    let Ok(mut m) = axum::extract::Multipart::from_request(copy, &()).await else {
        return Ok(None);
    };
    while let Ok(Some(field)) = m.next_field().await {
        if field.name() == Some(name) {
            return Ok(field.text().await.ok());
        }
    }
    Ok(None)
}

/// Over https every cookie is Secure, whichever handler set it (flash cookies are set by
/// helpers that do not know the configuration).
fn secure_cookies(h: &mut HeaderMap) {
    let fixed: Vec<HeaderValue> = h
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| {
            if v.split(';')
                .any(|a| a.trim().eq_ignore_ascii_case("secure"))
            {
                v.to_string()
            } else {
                format!("{v}; Secure")
            }
        })
        .filter_map(|v| HeaderValue::from_str(&v).ok())
        .collect();
    if fixed.is_empty() {
        return;
    }
    h.remove(header::SET_COOKIE);
    for v in fixed {
        h.append(header::SET_COOKIE, v);
    }
}

/// The security headers every answer carries unless it set its own (the report preview frames
/// itself with a relaxed policy, `super::frame`; a static file keeps its own cache policy). The
/// router adds each as a tower-http `SetResponseHeaderLayer::if_not_present`, outermost, so
/// answers made before the context middleware runs (a 413 for a body over the limit) have
/// them too.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cache-control", "no-store"),
];

/// The request's id: the `x-request-id` the router's tower-http `SetRequestIdLayer` made (or
/// the one the client or a proxy sent, which it keeps).
pub fn request_id_of(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The tracing span of one request; the context middleware records the user and organization
/// in it once the session is read, so every log line of the request carries them.
pub fn request_span(req: &Request) -> tracing::Span {
    tracing::info_span!(
        "request",
        request_id = %request_id_of(req.headers()),
        method = %req.method(),
        path = %req.uri().path(),
        org_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    )
}
