//! Answers in the other shapes the platforms send: the call is carried out as usual and its
//! JSON answer is rewritten, so the demo and the tests can show what adpilot does with them.

use axum::body::Body;
use axum::response::Response;
use serde_json::{Value, json};

use super::faults::FaultKind;
use super::wire::ApiRequest;
use crate::types::Platform;

/// Answers larger than this are passed through unchanged (a page is far smaller).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// `response` with its JSON body rewritten for `kind`; error answers and bodies that are not
/// JSON pass through unchanged.
pub async fn reshape(
    platform: Platform,
    kind: FaultKind,
    req: &ApiRequest,
    response: Response,
) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    let rewritten = match parsed {
        Some(v) if parts.status.is_success() => rewrite(platform, kind, req, v),
        _ => None,
    };
    match rewritten {
        Some(v) => {
            let text = v.to_string();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(text))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

fn rewrite(platform: Platform, kind: FaultKind, req: &ApiRequest, mut v: Value) -> Option<Value> {
    match (platform, kind) {
        // googleAds:searchStream's answer: an array of batches with results and fieldMask.
        (Platform::Google, FaultKind::WrongShape) if v.get("results").is_some() => {
            if let Some(o) = v.as_object_mut() {
                o.remove("nextPageToken");
                o.insert("requestId".into(), json!("sandbox-stream"));
            }
            Some(Value::Array(vec![v]))
        }
        // One row where a list was asked for, as an object-valued edge answers.
        (Platform::Meta, FaultKind::WrongShape) => {
            let first = v.get("data")?.as_array()?.first().cloned();
            Some(first.unwrap_or_else(|| json!({})))
        }
        (Platform::Tiktok, FaultKind::WrongShape) => {
            let data = v.get_mut("data")?.as_object_mut()?;
            let list = data.remove("list")?;
            data.insert("rows".into(), list);
            Some(v)
        }
        (Platform::Tiktok, FaultKind::SecondaryStatusOnly) if req.path.contains("campaign/get") => {
            for row in list_mut(&mut v)? {
                if let Some(o) = row.as_object_mut() {
                    o.remove("operation_status");
                }
            }
            Some(v)
        }
        (Platform::Tiktok, FaultKind::LegacyAdvertiserInfo)
            if req.path.contains("advertiser/info") =>
        {
            let asked_fields = req.query.iter().any(|(k, _)| k == "fields");
            for row in list_mut(&mut v)? {
                let Some(o) = row.as_object_mut() else {
                    continue;
                };
                if !asked_fields {
                    o.remove("currency");
                }
                let region = o
                    .get("display_timezone")
                    .or_else(|| o.get("timezone"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if let Some(region) = region {
                    o.insert("display_timezone".into(), json!(region));
                    o.insert("timezone".into(), json!(fixed_offset_name(&region)));
                }
            }
            Some(v)
        }
        (Platform::Meta, FaultKind::AccountOnHold) => {
            let rows: Vec<&mut Value> = match v.get_mut("data") {
                Some(Value::Array(rows)) => rows.iter_mut().collect(),
                _ => vec![&mut v],
            };
            for row in rows {
                let Some(o) = row.as_object_mut() else {
                    continue;
                };
                if o.contains_key("account_status") {
                    o.insert("account_status".into(), json!(3));
                }
                if o.get("effective_status").and_then(Value::as_str) == Some("ACTIVE") {
                    o.insert("effective_status".into(), json!("PENDING_BILLING_INFO"));
                }
            }
            Some(v)
        }
        _ => None,
    }
}

fn list_mut(v: &mut Value) -> Option<&mut Vec<Value>> {
    v.get_mut("data")?.get_mut("list")?.as_array_mut()
}

/// The `Etc/GMT±N` name of a region's standard (winter) offset, as TikTok's `timezone` field
/// carries it; POSIX signs are inverted (UTC-8 is `Etc/GMT+8`).
fn fixed_offset_name(region: &str) -> String {
    use chrono::{Offset, TimeZone};
    let Ok(tz) = region.parse::<chrono_tz::Tz>() else {
        return region.to_string();
    };
    let january = chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .map(|t| tz.from_utc_datetime(&t).offset().fix().local_minus_utc());
    match january {
        Some(0) | None => "Etc/GMT".to_string(),
        Some(secs) => {
            let hours = -secs / 3600;
            format!("Etc/GMT{hours:+}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_offsets_use_posix_signs() {
        assert_eq!(fixed_offset_name("America/Los_Angeles"), "Etc/GMT+8");
        assert_eq!(fixed_offset_name("Asia/Tokyo"), "Etc/GMT-9");
        assert_eq!(fixed_offset_name("UTC"), "Etc/GMT");
    }
}
