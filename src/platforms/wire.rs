//! Reading the loosely typed numbers the platforms send: int64 as strings (Google), everything
//! as strings (Meta), strings or bare numbers (TikTok). A missing key or `null` reads as 0.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::errors::PlatformError;

/// A count (impressions, clicks, micros) from a string or a number.
/// When a token that lives `expires_in` seconds from `now` expires; `None` when the platform
/// says it does not (zero or less). A huge value (a platform bug or a hostile endpoint) is
/// capped at the largest date chrono holds instead of overflowing.
pub(crate) fn expiry_after(
    now: chrono::DateTime<chrono::Utc>,
    expires_in: i64,
) -> Option<chrono::DateTime<chrono::Utc>> {
    if expires_in <= 0 {
        return None;
    }
    let at = chrono::TimeDelta::try_seconds(expires_in).and_then(|d| now.checked_add_signed(d));
    Some(at.unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC))
}

pub(crate) fn int(v: Option<&Value>, what: &str) -> Result<i64, PlatformError> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(i),
            // A count sent as 12.0 still means 12; anything fractional is not a count.
            None => decimal_of(&n.to_string(), what).and_then(|d| whole(d, what)),
        },
        Some(Value::String(s)) if s.trim().is_empty() || s.trim() == "-" => Ok(0),
        Some(Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(i) => Ok(i),
            Err(_) => decimal_of(s, what).and_then(|d| whole(d, what)),
        },
        Some(other) => Err(PlatformError::unexpected(format!(
            "{what}: expected a number, got {other}"
        ))),
    }
}

fn whole(d: Decimal, what: &str) -> Result<i64, PlatformError> {
    if d.fract().is_zero() {
        i64::try_from(d).map_err(|_| PlatformError::unexpected(format!("{what}: out of range")))
    } else {
        Err(PlatformError::unexpected(format!(
            "{what}: expected a whole number, got {d}"
        )))
    }
}

/// An exact decimal from a string or a number. A bare JSON number passes through serde_json's
/// f64 on the way in; its shortest round-trip text is exact for the ≤15 significant digits the
/// platforms send, and the decimal is parsed from that text, never computed in floating point.
pub(crate) fn decimal(v: Option<&Value>, what: &str) -> Result<Decimal, PlatformError> {
    match v {
        None | Some(Value::Null) => Ok(Decimal::ZERO),
        Some(Value::Number(n)) => decimal_of(&n.to_string(), what),
        Some(Value::String(s)) if s.trim().is_empty() || s.trim() == "-" => Ok(Decimal::ZERO),
        Some(Value::String(s)) => decimal_of(s, what),
        Some(other) => Err(PlatformError::unexpected(format!(
            "{what}: expected a number, got {other}"
        ))),
    }
}

fn decimal_of(s: &str, what: &str) -> Result<Decimal, PlatformError> {
    let t = s.trim();
    let parsed = if t.contains(['e', 'E']) {
        Decimal::from_scientific(t)
    } else {
        Decimal::from_str(t)
    };
    parsed.map_err(|_| PlatformError::unexpected(format!("{what}: \"{s}\" is not a number")))
}

/// A string field (ids may come as numbers).
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The access token of a token response: present and not blank (an empty token would be
/// stored as a working connection and fail on every call).
pub(crate) fn access_token(v: &Value) -> Result<String, PlatformError> {
    let token = required_text(v.get("access_token"), "access_token")?;
    if token.trim().is_empty() {
        return Err(PlatformError::unexpected(
            "the token response carries an empty access_token",
        ));
    }
    Ok(token)
}

pub(crate) fn required_text(v: Option<&Value>, what: &str) -> Result<String, PlatformError> {
    text(v).ok_or_else(|| PlatformError::unexpected(format!("response lacks {what}")))
}

/// A field the platform must send, by dotted path (`adGroup.id`): absent or null is an error
/// naming the platform and the field, never a silent zero or a guessed value.
pub(crate) fn need<'a>(
    row: &'a Value,
    path: &str,
    platform: &str,
) -> Result<&'a Value, PlatformError> {
    let mut cur = row;
    for part in path.split('.') {
        match cur.get(part) {
            Some(v) if !v.is_null() => cur = v,
            _ => {
                return Err(PlatformError::unexpected(format!(
                    "{platform} sent a row without {path}"
                )));
            }
        }
    }
    Ok(cur)
}

/// [`need`] for an id or other text (ids may come as numbers).
pub(crate) fn need_text(row: &Value, path: &str, platform: &str) -> Result<String, PlatformError> {
    let v = need(row, path, platform)?;
    text(Some(v)).ok_or_else(|| {
        PlatformError::unexpected(format!("{platform} sent {path} that is not text: {v}"))
    })
}

/// [`need`] for a count.
pub(crate) fn need_int(row: &Value, path: &str, platform: &str) -> Result<i64, PlatformError> {
    int(
        Some(need(row, path, platform)?),
        &format!("{platform} {path}"),
    )
}

/// [`need`] for an exact decimal.
pub(crate) fn need_decimal(
    row: &Value,
    path: &str,
    platform: &str,
) -> Result<Decimal, PlatformError> {
    decimal(
        Some(need(row, path, platform)?),
        &format!("{platform} {path}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_read_from_strings_numbers_and_absence() {
        let row = json!({"a":"4696","b":51,"c":null,"d":"12.0","e":"-"});
        assert_eq!(int(row.get("a"), "a"), Ok(4696));
        assert_eq!(int(row.get("b"), "b"), Ok(51));
        assert_eq!(int(row.get("c"), "c"), Ok(0));
        assert_eq!(int(row.get("missing"), "m"), Ok(0));
        assert_eq!(int(row.get("d"), "d"), Ok(12));
        assert_eq!(int(row.get("e"), "e"), Ok(0));
        assert!(int(Some(&json!("1.5")), "x").is_err());
        assert!(int(Some(&json!("abc")), "x").is_err());
    }

    #[test]
    fn decimals_stay_exact() {
        assert_eq!(
            decimal(Some(&json!("14.35")), "s"),
            Ok(Decimal::new(1435, 2))
        );
        assert_eq!(decimal(Some(&json!(120.5)), "s"), Ok(Decimal::new(1205, 1)));
        assert_eq!(decimal(Some(&json!(0.1)), "s"), Ok(Decimal::new(1, 1)));
        assert_eq!(decimal(Some(&json!(3)), "s"), Ok(Decimal::new(3, 0)));
        assert_eq!(decimal(None, "s"), Ok(Decimal::ZERO));
        assert_eq!(decimal(Some(&json!("1e2")), "s"), Ok(Decimal::new(100, 0)));
    }
}
