//! `/_sandbox/...`: truth for tests, the call log, fault injection, the clock and direct token
//! issuing. No authentication: the sandbox binds to loopback by default and holds no real data.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::faults::FaultSpec;
use super::server::App;
use super::truth::{self, TruthQuery};
use crate::types::Platform;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/_sandbox/truth/accounts", get(truth_accounts))
        .route("/_sandbox/truth/campaigns", get(truth_campaigns))
        .route("/_sandbox/truth/metrics", get(truth_metrics))
        .route("/_sandbox/truth/ad_groups", get(truth_ad_groups))
        .route("/_sandbox/truth/ads", get(truth_ads))
        .route(
            "/_sandbox/truth/ad_group_metrics",
            get(truth_ad_group_metrics),
        )
        .route("/_sandbox/truth/ad_metrics", get(truth_ad_metrics))
        .route("/_sandbox/truth/created", get(truth_created))
        .route("/_sandbox/calls", get(calls).delete(clear_calls))
        .route(
            "/_sandbox/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sandbox/clock", get(clock).post(set_clock))
        .route("/_sandbox/tokens", post(issue_token))
        .route("/_sandbox/tokens/expire", post(expire_tokens))
        .route("/_sandbox/tokens/revoke", post(revoke_tokens))
}

fn bad_request(msg: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": msg.into() })),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct PlatformQuery {
    platform: Option<Platform>,
}

async fn truth_accounts(State(app): State<Arc<App>>, Query(q): Query<PlatformQuery>) -> Response {
    let s = app.state();
    Json(truth::accounts(&s.world, q.platform)).into_response()
}

async fn truth_campaigns(State(app): State<Arc<App>>, Query(q): Query<TruthQuery>) -> Response {
    let now = app.now();
    let s = app.state();
    Json(truth::campaigns(&s.world, &q, now)).into_response()
}

async fn truth_metrics(State(app): State<Arc<App>>, Query(q): Query<TruthQuery>) -> Response {
    let now = app.now();
    let s = app.state();
    Json(truth::metrics(&s.world, &q, now)).into_response()
}

async fn truth_ad_groups(State(app): State<Arc<App>>, Query(q): Query<TruthQuery>) -> Response {
    let s = app.state();
    Json(truth::ad_groups(&s.world, &q)).into_response()
}

async fn truth_created(State(app): State<Arc<App>>) -> Response {
    let s = app.state();
    Json(s.world.created.clone()).into_response()
}

async fn truth_ads(State(app): State<Arc<App>>, Query(q): Query<TruthQuery>) -> Response {
    let s = app.state();
    Json(truth::ads(&s.world, &q)).into_response()
}

async fn truth_ad_group_metrics(
    State(app): State<Arc<App>>,
    Query(q): Query<TruthQuery>,
) -> Response {
    let now = app.now();
    let s = app.state();
    Json(truth::level_metrics(&s.world, &q, false, now)).into_response()
}

async fn truth_ad_metrics(State(app): State<Arc<App>>, Query(q): Query<TruthQuery>) -> Response {
    let now = app.now();
    let s = app.state();
    Json(truth::level_metrics(&s.world, &q, true, now)).into_response()
}

async fn calls(State(app): State<Arc<App>>) -> Response {
    let s = app.state();
    Json(s.calls.iter().cloned().collect::<Vec<_>>()).into_response()
}

async fn clear_calls(State(app): State<Arc<App>>) -> StatusCode {
    app.state().calls.clear();
    StatusCode::NO_CONTENT
}

async fn faults(State(app): State<Arc<App>>) -> Response {
    let s = app.state();
    Json(s.faults.faults.clone()).into_response()
}

async fn add_fault(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(format!("not a fault: {e}")),
    };
    if let Err(e) = spec.validate() {
        return bad_request(e);
    }
    let id = app.state().faults.add(spec);
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

async fn clear_faults(State(app): State<Arc<App>>) -> StatusCode {
    app.state().faults.clear();
    StatusCode::NO_CONTENT
}

async fn clock(State(app): State<Arc<App>>) -> Response {
    Json(json!({ "now": app.now(), "fixed": app.clock.is_fixed() })).into_response()
}

#[derive(Debug, Deserialize)]
struct ClockChange {
    set: Option<DateTime<Utc>>,
    advance_secs: Option<i64>,
}

async fn set_clock(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let c: ClockChange = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return bad_request(format!(
                "expected {{\"set\":RFC3339}} or {{\"advance_secs\":N}}: {e}"
            ));
        }
    };
    if let Some(t) = c.set {
        app.clock.set(t);
    }
    if let Some(s) = c.advance_secs {
        app.clock.advance(chrono::Duration::seconds(s));
    }
    Json(json!({ "now": app.now(), "fixed": app.clock.is_fixed() })).into_response()
}

#[derive(Debug, Deserialize)]
struct IssueRequest {
    platform: Platform,
    accounts: Option<Vec<String>>,
}

async fn issue_token(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let r: IssueRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("expected {{\"platform\":\"google\"}}: {e}")),
    };
    let t = super::issue_token_in(&app, r.platform, r.accounts);
    Json(t).into_response()
}

#[derive(Debug, Deserialize)]
struct PlatformBody {
    platform: Platform,
}

async fn expire_tokens(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<PlatformBody>(&body) {
        Ok(b) => {
            Json(json!({ "expired": super::expire_tokens_in(&app, b.platform) })).into_response()
        }
        Err(e) => bad_request(format!("expected {{\"platform\":\"meta\"}}: {e}")),
    }
}

async fn revoke_tokens(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<PlatformBody>(&body) {
        Ok(b) => {
            Json(json!({ "revoked": super::revoke_tokens_in(&app, b.platform) })).into_response()
        }
        Err(e) => bad_request(format!("expected {{\"platform\":\"tiktok\"}}: {e}")),
    }
}
