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
    /// The file parts of a `multipart/form-data` body (its text parts are in `form`).
    pub files: Vec<FilePart>,
    /// The body was `multipart/form-data`.
    pub multipart: bool,
    pub headers: HeaderMap,
}

/// One file of a multipart body.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub name: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
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
        let mut files = Vec::new();
        let multipart = ctype.starts_with("multipart/form-data");
        let trimmed = body.iter().find(|b| !b.is_ascii_whitespace());
        if ctype.starts_with("application/x-www-form-urlencoded") {
            form = url::form_urlencoded::parse(body).into_owned().collect();
        } else if multipart {
            let boundary = ctype
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("boundary="))
                .next()
                .map(|b| b.trim_matches('"').to_string())
                .unwrap_or_default();
            (form, files) = multipart_parts(body, &boundary);
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
            files,
            multipart,
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

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// A `name="value"` parameter of a Content-Disposition header.
fn disposition_param(header: &str, key: &str) -> Option<String> {
    // `; name=` so that `filename=` is not taken for `name=`.
    let pat = format!("; {key}=\"");
    let at = header.find(&pat)? + pat.len();
    let rest = header.get(at..)?;
    Some(rest[..rest.find('"')?].to_string())
}

/// The text fields and files of a multipart body (a part with a `filename` is a file). The
/// boundary is matched as the lowercase header gave it, so it is matched case-insensitively.
fn multipart_parts(body: &[u8], boundary: &str) -> (Vec<(String, String)>, Vec<FilePart>) {
    let mut form = Vec::new();
    let mut files = Vec::new();
    if boundary.is_empty() {
        return (form, files);
    }
    let lower: Vec<u8> = body.to_ascii_lowercase();
    let delim = format!("--{boundary}").into_bytes();
    let mut at = match find(&lower, &delim, 0) {
        Some(i) => i + delim.len(),
        None => return (form, files),
    };
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            break;
        }
        let Some(head_end) = find(body, b"\r\n\r\n", at) else {
            break;
        };
        let Some(next) = find(&lower, &delim, head_end) else {
            break;
        };
        let head = String::from_utf8_lossy(&body[at..head_end]).to_string();
        // The part's bytes end before the CRLF that precedes the next delimiter.
        let data = body
            .get(head_end + 4..next.saturating_sub(2))
            .unwrap_or_default();
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap_or("");
        if let Some(name) = disposition_param(disposition, "name") {
            match disposition_param(disposition, "filename") {
                Some(file_name) => files.push(FilePart {
                    name,
                    file_name,
                    bytes: data.to_vec(),
                }),
                None => form.push((name, String::from_utf8_lossy(data).to_string())),
            }
        }
        at = next + delim.len();
    }
    (form, files)
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

    #[test]
    fn multipart_bodies_give_text_fields_and_files_with_their_bytes() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file_name\"\r\n\r\nshoe.png\r\n--XyZ\r\nContent-Disposition: form-data; name=\"image_file\"; filename=\"shoe.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--XyZ--\r\n";
        let (form, files) = multipart_parts(body, "xyz");
        assert_eq!(
            form,
            vec![("file_name".to_string(), "shoe.png".to_string())]
        );
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "image_file");
        assert_eq!(files[0].file_name, "shoe.png");
        assert_eq!(files[0].bytes, b"\x89PNG\r\n\x1a\n");
        let (f, fl) = multipart_parts(body, "");
        assert!(f.is_empty() && fl.is_empty(), "no boundary, no parts");
    }
}
