//! Small helpers shared by the three platform imitations: the incoming request in a form the
//! handlers can read, JSON responses, and number formats.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::types::{Currency, Money};

/// A platform call, read once by the dispatcher.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    /// Non-empty path segments.
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    /// Fields of a form-encoded body.
    pub form: Vec<(String, String)>,
    /// A JSON body; `Some(Err)` when the body claimed or looked like JSON but did not parse.
    pub json: Option<Result<Value, String>>,
    pub headers: HeaderMap,
}

impl ApiRequest {
    pub fn new(method: Method, uri: &axum::http::Uri, headers: HeaderMap, body: &[u8]) -> Self {
        let path = uri.path().to_string();
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let query = uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut form = Vec::new();
        let mut json = None;
        let trimmed = body.iter().find(|b| !b.is_ascii_whitespace());
        if ctype.starts_with("application/x-www-form-urlencoded") {
            form = url::form_urlencoded::parse(body).into_owned().collect();
        } else if ctype.contains("json") || matches!(trimmed, Some(b'{') | Some(b'[')) {
            json = Some(serde_json::from_slice(body).map_err(|e| e.to_string()));
        }
        ApiRequest {
            method,
            path,
            segments,
            query,
            form,
            json,
            headers,
        }
    }

    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A form field, falling back to the query string (Meta accepts both).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| self.query(key))
    }

    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers.get(key).and_then(|v| v.to_str().ok())
    }

    pub fn bearer(&self) -> Option<&str> {
        let v = self.header("authorization")?;
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
    }

    pub fn json_body(&self) -> Result<Value, String> {
        match &self.json {
            Some(Ok(v)) => Ok(v.clone()),
            Some(Err(e)) => Err(format!("the body is not valid JSON: {e}")),
            None => Err("a JSON body is required".into()),
        }
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// The platform-level error code of a response (TikTok's `code`, Meta's `error.code`), kept
/// for the call log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformCode(pub i64);

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, axum::Json(body.clone())).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    r
}

pub fn with_code(mut r: Response, code: i64) -> Response {
    r.extensions_mut().insert(PlatformCode(code));
    r
}

pub fn set_header(r: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

/// An id for a response, 22 URL-safe characters like Google's.
pub fn request_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(&uuid::Uuid::new_v4().as_bytes()[..16])
        .chars()
        .take(22)
        .collect()
}

/// Major units with the currency's own number of decimals ("14.35", "1234" for JPY).
pub fn major_str(micros: i64, currency: Currency) -> String {
    let digits = currency.minor_unit_exponent();
    let d = Money::new(micros, currency)
        .to_major()
        .round_dp_with_strategy(digits, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    format!("{:.*}", digits as usize, d)
}

/// A JSON number for a decimal amount. Platforms send these as doubles (Google conversions
/// value, TikTok budget); the text of the number is exact for amounts in minor units.
pub fn decimal_number(d: Decimal) -> Value {
    d.normalize()
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Reads a money amount in major units sent as a JSON number or string, exactly.
pub fn decimal_from_json(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Micros for a major-unit amount, only if it fits the currency's minor unit.
pub fn micros_from_major(d: Decimal, currency: Currency) -> Option<i64> {
    if d.normalize().scale() > currency.minor_unit_exponent() {
        return None;
    }
    Money::from_major(d, currency).map(|m| m.micros)
}

/// Reads a JSON-encoded array from a query value, or a plain comma list (both are in use).
pub fn list_param(v: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(v) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|i| match i {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        _ => v
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_strings_follow_currency_digits() {
        let usd: Currency = "USD".parse().expect("usd");
        let jpy: Currency = "JPY".parse().expect("jpy");
        assert_eq!(major_str(14_350_000, usd), "14.35");
        assert_eq!(major_str(20_000_000, usd), "20.00");
        assert_eq!(major_str(1_234_000_000, jpy), "1234");
        assert_eq!(decimal_number(Decimal::new(8990, 2)).to_string(), "89.9");
        assert_eq!(
            micros_from_major(Decimal::new(5001, 2), usd),
            Some(50_010_000)
        );
        assert_eq!(micros_from_major(Decimal::new(5001, 2), jpy), None);
    }

    #[test]
    fn list_params_accept_json_arrays_and_commas() {
        assert_eq!(list_param(r#"["a","b"]"#), vec!["a", "b"]);
        assert_eq!(list_param("a, b"), vec!["a", "b"]);
        assert_eq!(list_param("[1,2]"), vec!["1", "2"]);
    }
}
