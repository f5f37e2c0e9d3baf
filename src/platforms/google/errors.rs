//! Google Ads REST errors and Google OAuth errors to `PlatformError`.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::platforms::errors::{PlatformError, retry_after_header};
use crate::platforms::snippet;

/// `{"error":{"code","message","status","details":[GoogleAdsFailure | RetryInfo | ErrorInfo]}}`.
pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: &str) -> PlatformError {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let Some(err) = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object())
    else {
        return PlatformError::from_status(status, retry_after_header(headers), snippet(body));
    };
    let rpc_status = err.get("status").and_then(Value::as_str).unwrap_or("");
    let failures: Vec<&Value> = err
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("errors").and_then(Value::as_array))
        .flatten()
        .collect();
    // The per-error messages say which field and why; the top message is generic
    // ("Request contains an invalid argument.").
    let message = {
        let specific: Vec<&str> = failures
            .iter()
            .filter_map(|f| f.get("message").and_then(Value::as_str))
            .collect();
        if specific.is_empty() {
            err.get("message")
                .and_then(Value::as_str)
                .unwrap_or("Google Ads returned an error")
                .to_string()
        } else {
            specific.join("; ")
        }
    };
    let codes: Vec<(String, String)> = failures
        .iter()
        .filter_map(|f| f.get("errorCode").and_then(Value::as_object))
        .flat_map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        })
        .collect();
    let has_code = |family: &str, value: &str| codes.iter().any(|(k, v)| k == family && v == value);

    if status.as_u16() == 429
        || rpc_status == "RESOURCE_EXHAUSTED"
        || codes.iter().any(|(k, _)| k == "quotaError")
    {
        let retry_after = find_retry_delay(err).or_else(|| retry_after_header(headers));
        return PlatformError::RateLimited {
            retry_after,
            message,
        };
    }
    if has_code("internalError", "TRANSIENT_ERROR") || has_code("internalError", "INTERNAL_ERROR") {
        return PlatformError::Temporary { message };
    }
    match (status.as_u16(), rpc_status) {
        (401, _) | (_, "UNAUTHENTICATED") => PlatformError::Auth {
            // An expired access token is fixed by a refresh; the refresh itself says when the
            // grant is gone (invalid_grant).
            needs_reconnect: false,
            message,
        },
        (403, _) | (_, "PERMISSION_DENIED") => PlatformError::Auth {
            needs_reconnect: false,
            message,
        },
        (409, "ABORTED") | (_, "ABORTED") => PlatformError::Temporary { message },
        (400, _)
        | (404, _)
        | (409, _)
        | (_, "INVALID_ARGUMENT")
        | (_, "FAILED_PRECONDITION")
        | (_, "NOT_FOUND")
        | (_, "ALREADY_EXISTS") => PlatformError::Invalid { message },
        (500..=599, _) | (_, "INTERNAL") | (_, "UNAVAILABLE") | (_, "DEADLINE_EXCEEDED") => {
            PlatformError::Temporary { message }
        }
        _ => PlatformError::Unexpected { message },
    }
}

/// `retryDelay` appears in `quotaErrorDetails` of a GoogleAdsFailure and in `google.rpc.RetryInfo`.
fn find_retry_delay(v: &Value) -> Option<Duration> {
    match v {
        Value::Object(m) => {
            if let Some(d) = m
                .get("retryDelay")
                .and_then(Value::as_str)
                .and_then(parse_duration)
            {
                return Some(d);
            }
            m.values().find_map(find_retry_delay)
        }
        Value::Array(a) => a.iter().find_map(find_retry_delay),
        _ => None,
    }
}

/// Protobuf JSON durations: "40591s", "0.200s", "1.5s".
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let secs: f64 = s.trim().strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// OAuth token endpoint errors: `{"error":"invalid_grant","error_description":"…"}`.
pub(crate) fn classify_oauth(status: StatusCode, headers: &HeaderMap, body: &str) -> PlatformError {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("error_description"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            if code.is_empty() {
                snippet(body)
            } else {
                code.to_string()
            }
        });
    match code {
        // The grant is gone (revoked, expired, 7-day testing tokens): only a new consent helps.
        "invalid_grant" | "access_denied" => PlatformError::Auth {
            needs_reconnect: true,
            message,
        },
        // Our client id/secret or request is wrong: an operator problem, not the user's.
        "invalid_client" | "unauthorized_client" | "invalid_request" | "unsupported_grant_type" => {
            PlatformError::Unexpected {
                message: format!("{code}: {message}"),
            }
        }
        _ => PlatformError::from_status(status, retry_after_header(headers), message),
    }
}
