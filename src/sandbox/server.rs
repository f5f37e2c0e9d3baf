//! The shared application state, the dispatcher that routes every platform path, applies
//! faults, writes the call log and saves state, and the router.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::SandboxError;
use super::clock::Clock;
use super::config::SandboxConfig;
use super::faults::{FaultBook, FaultKind, Injected};
use super::quota::Quotas;
use super::tokens::AuthStore;
use super::wire::{ApiRequest, PlatformCode};
use super::world::World;
use super::{admin, google, meta, oauth, shapes, tiktok};
use crate::types::Platform;

/// Largest request body the sandbox reads.
// Meta image uploads come base64-encoded in a form field (3 MB images → 4 MB).
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Version of the state file layout.
const STATE_VERSION: u32 = 1;
/// Call log entries kept (oldest dropped first).
const MAX_CALLS: usize = 20_000;

/// One call as the sandbox saw it; tests use `elapsed_ms` to check backoff timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub seq: u64,
    /// Sandbox clock at arrival.
    pub at: DateTime<Utc>,
    /// Wall-clock milliseconds since the sandbox started, at arrival.
    pub elapsed_ms: u64,
    pub method: String,
    pub path: String,
    pub platform: Option<Platform>,
    pub status: u16,
    /// TikTok `code` or Meta `error.code` when the answer carried one.
    pub platform_code: Option<i64>,
    pub fault: Option<FaultKind>,
}

/// What is saved to the state file.
#[derive(Debug, Serialize, Deserialize)]
pub struct Persisted {
    pub version: u32,
    pub world: World,
    pub auth: AuthStore,
}

#[derive(Debug)]
pub struct State {
    pub world: World,
    pub auth: AuthStore,
    pub faults: FaultBook,
    pub calls: VecDeque<CallRecord>,
    pub next_call: u64,
    /// Call counts for the platforms' limits and Meta's usage headers.
    pub quotas: Quotas,
    /// Something worth saving changed since the last save.
    pub dirty: bool,
}

pub struct App {
    pub config: SandboxConfig,
    pub clock: Clock,
    pub started: Instant,
    /// `http://host:port` the sandbox is reachable at, for absolute URLs (Meta `paging.next`).
    pub base_url: String,
    state: Mutex<State>,
    save_lock: tokio::sync::Mutex<()>,
}

impl App {
    pub fn new(config: SandboxConfig, clock: Clock, base_url: String, state: State) -> Self {
        App {
            config,
            clock,
            started: Instant::now(),
            base_url,
            state: Mutex::new(state),
            save_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The state lock. Handlers never await while holding it. A handler that panicked cannot
    /// leave the state half-written in a way later calls would trip on (each change is one
    /// push/assignment), so a poisoned lock is taken over rather than failing every call.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Writes the state file if one is configured and something changed.
    pub async fn save_if_dirty(&self) -> Result<(), SandboxError> {
        let Some(path) = self.config.state_file.clone() else {
            return Ok(());
        };
        let _one_writer = self.save_lock.lock().await;
        let json = {
            let mut s = self.state();
            if !s.dirty {
                return Ok(());
            }
            s.dirty = false;
            let p = Persisted {
                version: STATE_VERSION,
                world: s.world.clone(),
                auth: s.auth.clone(),
            };
            serde_json::to_vec_pretty(&p).map_err(|e| SandboxError::State(e.to_string()))?
        };
        let tmp = path.with_extension("tmp");
        tokio::fs::write(&tmp, &json)
            .await
            .map_err(|e| SandboxError::Io(format!("writing {}: {e}", tmp.display())))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| SandboxError::Io(format!("renaming to {}: {e}", path.display())))?;
        Ok(())
    }
}

/// Loads the state file (when configured and present) or generates a fresh world.
pub fn initial_state(config: &SandboxConfig, now: DateTime<Utc>) -> Result<State, SandboxError> {
    let loaded = match &config.state_file {
        Some(path) if path.exists() => {
            let bytes = std::fs::read(path)
                .map_err(|e| SandboxError::Io(format!("reading {}: {e}", path.display())))?;
            let p: Persisted = serde_json::from_slice(&bytes).map_err(|e| {
                SandboxError::State(format!(
                    "{} is not a sandbox state file: {e}",
                    path.display()
                ))
            })?;
            if p.version != STATE_VERSION {
                return Err(SandboxError::State(format!(
                    "{} has state version {}, this build reads version {STATE_VERSION}",
                    path.display(),
                    p.version
                )));
            }
            Some(p)
        }
        _ => None,
    };
    let (world, auth, dirty) = match loaded {
        Some(p) => {
            let mut world = p.world;
            // A state file from before the levels existed gets them now (and is saved).
            let dirty = world.ad_groups.is_empty();
            world.seed_levels(now);
            (world, p.auth, dirty)
        }
        None => (
            World::generate(config.seed, now.date_naive()),
            AuthStore::default(),
            true,
        ),
    };
    let mut faults = FaultBook::default();
    for f in &config.faults {
        faults.add(f.clone());
    }
    Ok(State {
        world,
        auth,
        faults,
        calls: VecDeque::new(),
        next_call: 0,
        quotas: Quotas::default(),
        dirty,
    })
}

/// Which imitation a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Google { oauth: bool, page: bool },
    Meta { oauth: bool, page: bool },
    Tiktok { oauth: bool, page: bool },
}

impl Target {
    fn platform(self) -> Platform {
        match self {
            Target::Google { .. } => Platform::Google,
            Target::Meta { .. } => Platform::Meta,
            Target::Tiktok { .. } => Platform::Tiktok,
        }
    }

    fn flags(self) -> (bool, bool) {
        match self {
            Target::Google { oauth, page }
            | Target::Meta { oauth, page }
            | Target::Tiktok { oauth, page } => (oauth, page),
        }
    }
}

fn is_google_version(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Meta versions look like `v25.0`.
pub fn is_meta_version(s: &str) -> bool {
    s.strip_prefix('v')
        .and_then(|n| n.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        })
}

fn target(segs: &[String]) -> Option<Target> {
    let first = segs.first()?.as_str();
    let second = segs.get(1).map(String::as_str);
    Some(match first {
        "o" => Target::Google {
            oauth: true,
            page: true,
        },
        "token" | "revoke" => Target::Google {
            oauth: true,
            page: false,
        },
        "portal" => Target::Tiktok {
            oauth: true,
            page: true,
        },
        "open_api" => Target::Tiktok {
            oauth: segs.get(2).is_some_and(|s| s == "oauth2")
                && segs.get(3).is_some_and(|s| s != "advertiser"),
            page: false,
        },
        "debug_token" => Target::Meta {
            oauth: true,
            page: false,
        },
        v if is_google_version(v) => Target::Google {
            oauth: false,
            page: false,
        },
        v if is_meta_version(v) => Target::Meta {
            oauth: matches!(second, Some("oauth") | Some("dialog")),
            page: second == Some("dialog"),
        },
        _ => return None,
    })
}

async fn dispatch(AxState(app): AxState<Arc<App>>, req: Request) -> Response {
    let arrived = app.started.elapsed();
    let at = app.now();
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    let api = ApiRequest::new(parts.method.clone(), &parts.uri, parts.headers, &body);
    let Some(t) = target(&api.segments) else {
        return (
            StatusCode::NOT_FOUND,
            "Not Found: this path is not part of the sandbox",
        )
            .into_response();
    };
    let platform = t.platform();
    let (is_oauth, is_page) = t.flags();

    let injected: Option<Injected> = if is_page {
        None
    } else {
        let seed = app.config.seed;
        let query = api
            .query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
            + "&";
        app.state().faults.take_with_query(
            seed,
            platform,
            api.method.as_str(),
            &api.path,
            &query,
            is_oauth,
        )
    };
    let fault = injected.as_ref().map(|i| i.kind);
    // A lost answer is held back only after the call is carried out, recorded and saved: the
    // client gives up (and drops this request) while it waits.
    let mut hold_back = None;
    let response = match injected {
        Some(i) if i.kind == FaultKind::Timeout => {
            tokio::time::sleep(std::time::Duration::from_millis(i.delay_ms)).await;
            handle(&app, t, &api)
        }
        Some(i) if i.kind == FaultKind::LostResponse => {
            hold_back = Some(std::time::Duration::from_millis(i.delay_ms));
            handle(&app, t, &api)
        }
        Some(i) if i.kind.reshapes() => {
            shapes::reshape(platform, i.kind, &api, handle(&app, t, &api)).await
        }
        Some(i) => match platform {
            Platform::Google => google::fault_response(&api, &i),
            Platform::Meta => meta::fault_response(&api, &i),
            Platform::Tiktok => tiktok::fault_response(&i),
        },
        None => handle(&app, t, &api),
    };
    {
        let mut s = app.state();
        s.next_call += 1;
        let rec = CallRecord {
            seq: s.next_call,
            at,
            elapsed_ms: u64::try_from(arrived.as_millis()).unwrap_or(u64::MAX),
            method: api.method.to_string(),
            path: api.path.clone(),
            platform: Some(platform),
            status: response.status().as_u16(),
            platform_code: response.extensions().get::<PlatformCode>().map(|c| c.0),
            fault,
        };
        s.calls.push_back(rec);
        while s.calls.len() > MAX_CALLS {
            s.calls.pop_front();
        }
    }
    if let Err(e) = app.save_if_dirty().await {
        tracing::warn!(error = %e, "sandbox: could not save state");
    }
    if let Some(d) = hold_back {
        tokio::time::sleep(d).await;
    }
    response
}

fn handle(app: &App, t: Target, req: &ApiRequest) -> Response {
    match t {
        Target::Google { oauth: true, .. }
        | Target::Meta { oauth: true, .. }
        | Target::Tiktok { oauth: true, .. } => oauth::handle(app, t.platform(), req),
        Target::Google { .. } => google::handle(app, req),
        Target::Meta { .. } => meta::handle(app, req),
        Target::Tiktok { .. } => tiktok::handle(app, req),
    }
}

async fn index(AxState(app): AxState<Arc<App>>) -> Response {
    let b = &app.base_url;
    let body = format!(
        "adpilot sandbox\n\n\
         Google Ads REST:   {b}/v21/customers:listAccessibleCustomers (any v17+ version path)\n\
         Google OAuth:      {b}/o/oauth2/v2/auth  {b}/token  {b}/revoke\n\
         Meta Graph:        {b}/v25.0/me/adaccounts (any vNN.0 version path)\n\
         Meta OAuth:        {b}/v25.0/dialog/oauth  {b}/v25.0/oauth/access_token\n\
         TikTok v1.3:       {b}/open_api/v1.3/...\n\
         TikTok OAuth:      {b}/portal/auth  {b}/open_api/v1.3/oauth2/access_token/\n\
         Truth and admin:   {b}/_sandbox/truth/accounts  /_sandbox/truth/campaigns  \
         /_sandbox/truth/metrics  /_sandbox/truth/ad_groups  /_sandbox/truth/ads  \
         /_sandbox/truth/ad_group_metrics  /_sandbox/truth/ad_metrics  /_sandbox/calls  /_sandbox/faults  /_sandbox/clock  /_sandbox/tokens\n"
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .merge(admin::routes())
        .fallback(dispatch)
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    #[test]
    fn paths_route_to_the_right_platform() {
        assert_eq!(
            target(&segs("/v21/customers:listAccessibleCustomers")),
            Some(Target::Google {
                oauth: false,
                page: false
            })
        );
        assert_eq!(
            target(&segs("/v25.0/act_1/insights")),
            Some(Target::Meta {
                oauth: false,
                page: false
            })
        );
        assert_eq!(
            target(&segs("/v25.0/dialog/oauth")),
            Some(Target::Meta {
                oauth: true,
                page: true
            })
        );
        assert_eq!(
            target(&segs("/open_api/v1.3/oauth2/access_token/")),
            Some(Target::Tiktok {
                oauth: true,
                page: false
            })
        );
        assert_eq!(
            target(&segs("/open_api/v1.3/oauth2/advertiser/get/")),
            Some(Target::Tiktok {
                oauth: false,
                page: false
            })
        );
        assert_eq!(target(&segs("/wp-admin")), None);
    }
}
