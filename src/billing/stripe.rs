//! The two Stripe API calls adpilot makes: a Checkout Session in subscription mode, and a
//! customer portal session. Form-encoded with bracket notation, as Stripe expects, and with an
//! Idempotency-Key so a retried request never creates a second session.

use serde::Deserialize;

use super::Billing;

/// The API version adpilot parses; pinned so Stripe's shapes do not change under it.
pub const API_VERSION: &str = "2025-03-31.basil";

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error object; its message is meant for people.
    #[error("Stripe refused the request: {message}")]
    Api { status: u16, message: String },
    #[error("Stripe cannot be reached: {0}")]
    Network(String),
    #[error("Stripe sent an answer adpilot does not understand: {0}")]
    Unexpected(String),
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct SessionBody {
    url: Option<String>,
}

/// What a checkout is for.
pub struct Checkout<'a> {
    pub org_id: uuid::Uuid,
    pub plan_id: &'a str,
    pub price_id: &'a str,
    pub customer: Option<&'a str>,
    pub customer_email: Option<&'a str>,
    pub success_url: String,
    pub cancel_url: String,
    pub idempotency_key: String,
}

/// Creates a Checkout Session and returns its URL (where the browser goes next).
pub async fn create_checkout(b: &Billing, co: &Checkout<'_>) -> Result<String, StripeError> {
    let org = co.org_id.to_string();
    let mut form: Vec<(&str, &str)> = vec![
        ("mode", "subscription"),
        ("line_items[0][price]", co.price_id),
        ("line_items[0][quantity]", "1"),
        ("success_url", &co.success_url),
        ("cancel_url", &co.cancel_url),
        // The webhook finds the organization from these, before any customer id is stored.
        ("client_reference_id", &org),
        ("metadata[org_id]", &org),
        ("metadata[plan]", co.plan_id),
        ("subscription_data[metadata][org_id]", &org),
        ("subscription_data[metadata][plan]", co.plan_id),
    ];
    match (co.customer, co.customer_email) {
        (Some(c), _) => form.push(("customer", c)),
        (None, Some(e)) => form.push(("customer_email", e)),
        (None, None) => {}
    }
    post_session(b, "/v1/checkout/sessions", &form, &co.idempotency_key).await
}

/// Creates a customer portal session (card and plan changes) and returns its URL.
pub async fn create_portal(
    b: &Billing,
    customer: &str,
    return_url: &str,
    idempotency_key: &str,
) -> Result<String, StripeError> {
    let form = [("customer", customer), ("return_url", return_url)];
    post_session(b, "/v1/billing_portal/sessions", &form, idempotency_key).await
}

async fn post_session(
    b: &Billing,
    path: &str,
    form: &[(&str, &str)],
    idempotency_key: &str,
) -> Result<String, StripeError> {
    let url = format!("{}{path}", b.config.api_url.as_str().trim_end_matches('/'));
    let resp = b
        .http
        .post(url)
        .bearer_auth(&b.config.secret_key)
        .header("Idempotency-Key", idempotency_key)
        .header("Stripe-Version", API_VERSION)
        .form(form)
        .send()
        .await
        .map_err(|e| StripeError::Network(e.without_url().to_string()))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| StripeError::Network(e.without_url().to_string()))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .ok()
            .map(|e| match (e.error.message, e.error.kind) {
                (Some(m), _) => m,
                (None, Some(k)) => k,
                (None, None) => format!("HTTP {}", status.as_u16()),
            })
            .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        return Err(StripeError::Api {
            status: status.as_u16(),
            message,
        });
    }
    let body: SessionBody = serde_json::from_slice(&bytes)
        .map_err(|e| StripeError::Unexpected(format!("session: {e}")))?;
    let url = body
        .url
        .ok_or_else(|| StripeError::Unexpected("the session has no url".into()))?;
    // The browser is sent there: only an https page (or http for a local test server).
    match url::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(url),
        _ => Err(StripeError::Unexpected(
            "the session url is not a web address".into(),
        )),
    }
}
