//! Test support: a tiny HTTP server on 127.0.0.1:0 that records every request and answers
//! from a closure, so contract tests can replay bodies from the reference and check what the
//! adapters sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::{PlatformSettings, Platforms, RetryPolicy};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

impl Recorded {
    pub fn query_map(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }
    pub fn q(&self, k: &str) -> Option<String> {
        self.query_map().remove(k)
    }
    pub fn form(&self, k: &str) -> Option<String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v)
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("request body is JSON")
    }
    pub fn header(&self, k: &str) -> Option<String> {
        self.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(body: serde_json::Value) -> Self {
        Reply {
            status: 200,
            headers: vec![],
            body: body.to_string(),
        }
    }
    pub fn status(status: u16, body: serde_json::Value) -> Self {
        Reply {
            status,
            headers: vec![],
            body: body.to_string(),
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
}

pub struct TestServer {
    pub origin: String,
    pub log: Arc<Mutex<Vec<Recorded>>>,
}

impl TestServer {
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().expect("log").clone()
    }
    /// Gaps between consecutive requests as the server saw them.
    pub fn gaps(&self) -> Vec<Duration> {
        let r = self.requests();
        r.windows(2).map(|w| w[1].at - w[0].at).collect()
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// Starts a server whose every request is answered by `f(request, index_of_request)`.
pub async fn serve(f: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> TestServer {
    let log: Arc<Mutex<Vec<Recorded>>> = Arc::new(Mutex::new(Vec::new()));
    let handler: Arc<Handler> = Arc::new(f);
    let l = log.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let l = l.clone();
            let handler = handler.clone();
            async move {
                let rec = Recorded {
                    method: method.to_string(),
                    path: uri.path().to_string(),
                    query: uri.query().unwrap_or("").to_string(),
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    at: Instant::now(),
                };
                let index = {
                    let mut g = l.lock().expect("log");
                    g.push(rec.clone());
                    g.len() - 1
                };
                let reply = handler(&rec, index);
                let mut resp: Response = (
                    StatusCode::from_u16(reply.status).expect("status"),
                    reply.body,
                )
                    .into_response();
                resp.headers_mut()
                    .insert("content-type", "application/json".parse().expect("header"));
                for (k, v) in reply.headers {
                    resp.headers_mut().insert(
                        axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                        v.parse().expect("value"),
                    );
                }
                resp
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TestServer {
        origin: format!("http://{addr}"),
        log,
    }
}

/// Settings aimed at the test server, with retries fast enough for tests.
pub fn settings(origin: &str) -> PlatformSettings {
    let mut s = PlatformSettings::with_api_origin(origin);
    s.retry = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        max_total_wait: Duration::from_secs(10),
    };
    s.request_timeout = Duration::from_secs(5);
    s.google.oauth_token_url = format!("{origin}/token");
    s.google.oauth_revoke_url = format!("{origin}/revoke");
    s.google.client_id = "gid".into();
    s.google.client_secret = "gsecret".into();
    s.meta.app_id = "mid".into();
    s.meta.app_secret = "msecret".into();
    s.tiktok.app_id = "tid".into();
    s.tiktok.secret = "tsecret".into();
    s
}

pub fn platforms(origin: &str) -> Platforms {
    platforms_with(origin, |_| {})
}

pub fn platforms_with(origin: &str, change: impl FnOnce(&mut PlatformSettings)) -> Platforms {
    let mut s = settings(origin);
    change(&mut s);
    Platforms::new(s).expect("platforms")
}

pub fn cur(s: &str) -> crate::types::Currency {
    s.parse().expect("currency")
}

pub fn day(s: &str) -> chrono::NaiveDate {
    s.parse().expect("date")
}
