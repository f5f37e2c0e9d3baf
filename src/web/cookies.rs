//! Cookies and the one-shot flash message: read and written through axum-extra's cookie types,
//! always with our flags (path /, HttpOnly, SameSite=Lax, Secure over https).

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use super::context::{Flash, FlashKind};

pub const CSRF_COOKIE: &str = "adpilot_csrf";
pub const FLASH_COOKIE: &str = "adpilot_flash";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of the request cookie `name`, if it was sent.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_string())
}

/// A Set-Cookie value with our standard flags.
pub fn cookie(name: &str, value: &str, max_age_secs: Option<i64>, secure: bool) -> String {
    let mut c = Cookie::build((name.to_string(), value.to_string()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure);
    if let Some(age) = max_age_secs {
        c = c.max_age(time::Duration::seconds(age));
    }
    c.build().to_string()
}

pub(super) fn parse_flash(raw: &str) -> Option<Flash> {
    let decoded = url::form_urlencoded::parse(raw.as_bytes()).next()?;
    let (kind, message) = (decoded.0.into_owned(), decoded.1.into_owned());
    let kind = match kind.as_str() {
        "success" => FlashKind::Success,
        "error" => FlashKind::Error,
        _ => FlashKind::Info,
    };
    Some(Flash { kind, message })
}

/// A redirect that shows `message` on the next page.
pub fn redirect_with_flash(to: &str, kind: FlashKind, message: &str) -> Response {
    let k = match kind {
        FlashKind::Success => "success",
        FlashKind::Error => "error",
        FlashKind::Info => "info",
    };
    let value: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(k, message)
        .finish();
    let mut resp = axum::response::Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie(FLASH_COOKIE, &value, Some(60), false)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
