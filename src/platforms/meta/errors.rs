//! Graph API error objects and usage headers.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::platforms::errors::{PlatformError, retry_after_header};
use crate::platforms::snippet;

/// `{"error":{"message","type","code","error_subcode","error_user_msg","is_transient"}}`.
/// Meta's HTTP status per code is UNVERIFIED, so the code decides and the status only breaks
/// ties for codes we do not know.
pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: &str) -> PlatformError {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let Some(err) = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object())
    else {
        return PlatformError::from_status(status, retry_after_header(headers), snippet(body));
    };
    let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
    let subcode = err
        .get("error_subcode")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("Meta returned an error")
        .to_string();
    let user_message = err
        .get("error_user_msg")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    let transient = err
        .get("is_transient")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match code {
        // Token invalid, expired, revoked, password changed, app removed (subcodes 458–467):
        // Meta has no refresh token, so every one of them needs a new login.
        190 | 102 => PlatformError::Auth {
            needs_reconnect: true,
            message,
        },
        10 | 200..=299 => PlatformError::Auth {
            needs_reconnect: false,
            message: user_message.unwrap_or(message),
        },
        // App, user/account, pages, ad-account and business-use-case limits.
        4 | 17 | 32 | 613 | 80000..=80014 => PlatformError::RateLimited {
            retry_after: regain_access(headers).or_else(|| retry_after_header(headers)),
            message,
        },
        // Insights timed out: the same request may pass when Meta is less busy; a smaller
        // range passes more surely, which the message says.
        100 if subcode == 1504018 => PlatformError::Temporary {
            message: format!("{message} (try a shorter date range)"),
        },
        1 | 2 => PlatformError::Temporary { message },
        100 => PlatformError::Invalid {
            message: user_message.unwrap_or(message),
        },
        _ if transient => PlatformError::Temporary { message },
        _ if status.is_server_error() => PlatformError::Temporary { message },
        _ => match user_message {
            Some(m) => PlatformError::Invalid { message: m },
            None => PlatformError::Unexpected {
                message: format!("code {code}: {message}"),
            },
        },
    }
}

fn header_json(headers: &HeaderMap, name: &str) -> Option<Value> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| serde_json::from_str(s).ok())
}

/// How long until calls are accepted again: the highest `estimated_time_to_regain_access`
/// (minutes) in `X-Business-Use-Case-Usage`, or `reset_time_duration` (read as seconds; the key
/// is UNVERIFIED, and waiting longer is the safe side) in `X-Ad-Account-Usage`.
pub(crate) fn regain_access(headers: &HeaderMap) -> Option<Duration> {
    let buc_minutes = header_json(headers, "x-business-use-case-usage")
        .and_then(|v| {
            v.as_object().map(|m| {
                m.values()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(|e| {
                        e.get("estimated_time_to_regain_access")
                            .and_then(Value::as_f64)
                    })
                    .fold(0.0_f64, f64::max)
            })
        })
        .unwrap_or(0.0);
    let reset_secs = header_json(headers, "x-ad-account-usage")
        .and_then(|v| v.get("reset_time_duration").and_then(Value::as_f64))
        .unwrap_or(0.0);
    let secs = (buc_minutes * 60.0).max(reset_secs);
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Usage percentages: (for the ad account / business, for the whole app).
pub(crate) fn usage(headers: &HeaderMap) -> (Option<f64>, Option<f64>) {
    fn max_of(v: &Value, keys: &[&str]) -> Option<f64> {
        keys.iter()
            .filter_map(|k| v.get(*k).and_then(Value::as_f64))
            .reduce(f64::max)
    }
    let pct_keys = [
        "call_count",
        "total_time",
        "total_cputime",
        "acc_id_util_pct",
    ];
    let mut account: Option<f64> = None;
    let mut bump = |x: Option<f64>| {
        if let Some(x) = x {
            account = Some(account.map_or(x, |a: f64| a.max(x)));
        }
    };
    if let Some(v) = header_json(headers, "x-business-use-case-usage") {
        for e in v
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(Value::as_array)
            .flatten()
        {
            bump(max_of(e, &pct_keys));
        }
    }
    if let Some(v) = header_json(headers, "x-ad-account-usage") {
        bump(max_of(&v, &["acc_id_util_pct"]));
    }
    if let Some(v) = header_json(headers, "x-fb-ads-insights-throttle") {
        bump(max_of(&v, &["acc_id_util_pct"]));
    }
    let app = header_json(headers, "x-app-usage")
        .and_then(|v| max_of(&v, &pct_keys))
        .or_else(|| {
            header_json(headers, "x-fb-ads-insights-throttle")
                .and_then(|v| max_of(&v, &["app_id_util_pct"]))
        });
    (account, app)
}
