//! End-to-end tests over real HTTP against a sandbox on 127.0.0.1:0, one file per area;
//! this file holds the shared helpers.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

mod faults;
mod google;
mod meta;
mod oauth_flows;
mod state;
mod tiktok;
mod writes;

pub(super) fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0)
        .single()
        .expect("time")
}

pub(super) async fn start(tune: impl FnOnce(&mut SandboxConfig)) -> SandboxHandle {
    let mut c = SandboxConfig {
        fixed_now: Some(fixed_now()),
        ..SandboxConfig::default()
    };
    tune(&mut c);
    spawn(c).await.expect("sandbox starts")
}

pub(super) fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub(super) async fn body(r: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = r.status();
    let headers = r.headers().clone();
    let v = r.json::<Value>().await.expect("json body");
    (status, headers, v)
}

pub(super) fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .expect("redirect url")
        .query_pairs()
        .into_owned()
        .collect()
}

pub(super) fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location header")
        .to_string()
}

pub(super) fn first_account(h: &SandboxHandle, p: Platform, currency: &str) -> TruthAccount {
    h.accounts(Some(p))
        .into_iter()
        .find(|a| a.currency.as_str() == currency)
        .expect("account in currency")
}

pub(super) async fn google_search(
    h: &SandboxHandle,
    token: &str,
    cid: &str,
    body_json: Value,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let r = client()
        .post(format!(
            "{}/v21/customers/{cid}/googleAds:search",
            h.base_url()
        ))
        .bearer_auth(token)
        .header("developer-token", "ignored-in-sandbox")
        .json(&body_json)
        .send()
        .await
        .expect("send");
    body(r).await
}

pub(super) fn metrics_query(from: NaiveDate, to: NaiveDate) -> String {
    format!(
        "SELECT campaign.id, campaign.name, campaign.status, segments.date, metrics.impressions, \
         metrics.clicks, metrics.cost_micros, metrics.conversions, metrics.conversions_value \
         FROM campaign WHERE segments.date BETWEEN '{from}' AND '{to}'"
    )
}

pub(super) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(super) async fn tiktok_get(
    h: &SandboxHandle,
    token: Option<&str>,
    path: &str,
    q: &[(&str, String)],
) -> Value {
    let mut r = client()
        .get(format!("{}/open_api/v1.3/{path}", h.base_url()))
        .query(q);
    if let Some(t) = token {
        r = r.header("Access-Token", t);
    }
    let resp = r.send().await.expect("send");
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "TikTok answers HTTP 200 even for errors"
    );
    resp.json().await.expect("json")
}

pub(super) async fn tiktok_post(h: &SandboxHandle, token: &str, path: &str, b: Value) -> Value {
    let resp = client()
        .post(format!("{}/open_api/v1.3/{path}", h.base_url()))
        .header("Access-Token", token)
        .json(&b)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("json")
}

pub(super) fn spend_on(h: &SandboxHandle, p: Platform, campaign: &str, day: NaiveDate) -> i64 {
    h.daily_metrics(&TruthQuery {
        platform: Some(p),
        campaign_id: Some(campaign.to_string()),
        from: Some(day),
        to: Some(day),
        ..TruthQuery::default()
    })
    .iter()
    .map(|m| m.spend_micros)
    .sum()
}
