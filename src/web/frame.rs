//! The one kind of page adpilot lets itself frame: a document shown inside another adpilot page
//! (the report email preview). Every other answer keeps `frame-ancestors 'none'` and
//! `X-Frame-Options: DENY`; a response marked here gets `frame-ancestors 'self'` and
//! `SAMEORIGIN` instead, with its own content policy.

use axum::http::HeaderValue;
use axum::response::Response;

/// Marks a response that adpilot's own pages may frame, with the content policy it needs.
#[derive(Debug, Clone, Copy)]
pub struct SameOriginFrame {
    /// Without any `frame-ancestors`: the middleware adds `frame-ancestors 'self'`.
    pub csp: &'static str,
}

/// Lets adpilot's own pages (and only them) show `resp` in a frame.
pub fn allow_same_origin_frame(mut resp: Response, csp: &'static str) -> Response {
    resp.extensions_mut().insert(SameOriginFrame { csp });
    resp
}

/// The headers of a marked response (the middleware calls this after the usual ones).
pub fn apply(resp: &mut Response) {
    let Some(f) = resp.extensions().get::<SameOriginFrame>().copied() else {
        return;
    };
    let csp = format!(
        "{}; frame-ancestors 'self'",
        f.csp.trim_end_matches([';', ' '])
    );
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert("content-security-policy", v);
        h.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    }
}
