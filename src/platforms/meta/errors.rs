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
    let user_message = user_text(err);
    // Absent on many errors; only an explicit `false` says "do not retry".
    let transient = err.get("is_transient").and_then(Value::as_bool);
    if let Some(missing) = missing_permission(code, subcode, &message) {
        return PlatformError::Auth {
            // A token without the permission works for everything else; a new login only
            // helps when the permission is granted in it, which the message says.
            needs_reconnect: code == 190,
            message: missing,
        };
    }
    match code {
        // Token invalid, expired, revoked, password changed, app removed (subcodes 458–467):
        // Meta has no refresh token, so every one of them needs a new login.
        190 | 102 => PlatformError::Auth {
            needs_reconnect: true,
            message,
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
        // "Unknown error" / "service unavailable" are retried unless Meta says this one is
        // not transient (it then usually explains itself in error_user_msg).
        1 | 2 if transient != Some(false) => PlatformError::Temporary { message },
        _ if transient == Some(true) => PlatformError::Temporary { message },
        _ if transient.is_none() && status.is_server_error() => {
            PlatformError::Temporary { message }
        }
        _ => match user_message {
            Some(m) => PlatformError::Invalid { message: m },
            None if code == 100 => PlatformError::Invalid { message },
            None => PlatformError::Unexpected {
                message: format!("Meta error code {code}: {message}"),
            },
        },
    }
}

/// Meta's words for the user: `error_user_title` and `error_user_msg` when it gives them.
fn user_text(err: &Value) -> Option<String> {
    let field = |k: &str| {
        err.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|m| !m.is_empty())
    };
    match (field("error_user_title"), field("error_user_msg")) {
        (Some(t), Some(m)) => Some(format!("{t}: {m}")),
        (None, Some(m)) => Some(m.to_string()),
        (Some(t), None) => Some(t.to_string()),
        (None, None) => None,
    }
}

/// Permissions adpilot's Meta login asks for or that Meta names in refusals of its calls.
const PERMISSIONS: &[&str] = &[
    "ads_management",
    "ads_read",
    "business_management",
    "read_insights",
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_ads",
];

/// For an error that means "a permission is missing", what the user should read: which
/// permission, and that reconnecting only helps when it is allowed this time. Codes 10 and
/// 200–299 are permission errors; 100 and 190 (without subcode) are when the message says so.
fn missing_permission(code: i64, subcode: i64, message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let speaks_of_permission = lower.contains("permission") || lower.contains("not authorized");
    let is_permission = match code {
        10 | 200..=299 => true,
        100 => speaks_of_permission,
        190 => subcode == 0 && speaks_of_permission,
        _ => false,
    };
    if !is_permission {
        return None;
    }
    let named = PERMISSIONS.iter().find(|p| lower.contains(*p));
    Some(match named {
        Some(p) => format!(
            "Meta refused because adpilot does not have the \"{p}\" permission for this ad \
             account (Meta said: {message}). Reconnect Meta and leave \"{p}\" allowed on Meta's \
             permission screen; if it was allowed, ask an admin of the ad account in Meta \
             Business Settings to give you access to it."
        ),
        None => format!(
            "Meta refused because a permission is missing (Meta said: {message}). Reconnect \
             Meta and allow every permission adpilot asks for (ads_read, ads_management); if \
             they were allowed, ask an admin of the ad account in Meta Business Settings to \
             give you access to it."
        ),
    })
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
