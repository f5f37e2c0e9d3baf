//! A local server that speaks the Google Ads, Meta Marketing and TikTok Business APIs (the
//! subset adpilot uses, in their real wire formats) with seeded, deterministic data, so that
//! adpilot can be demonstrated and tested without internet or platform credentials.
//!
//! One port serves everything under the platforms' own paths: `/v{N}/customers/...` (Google),
//! `/v{NN}.0/...` (Meta), `/open_api/v1.3/...` (TikTok), the OAuth pieces (see `oauth.rs`), and
//! `/_sandbox/...` for truth, the call log, faults and the clock (see `admin.rs`).
//!
//! Start it in-process with [`spawn`] (tests, `serve --demo`) or as `adpilot sandbox` via
//! [`run`].
//!
//! Decisions where the platforms' behaviour is not documented, or is not imitated:
//! - Campaign-days with neither impressions nor spend are left out on all three platforms and
//!   in the truth, so row counts match.
//! - Late attribution depends on time only (55 % of the final conversions when a day ends,
//!   100 % seven days later, rising hourly), never on how often a day is read, so an API read
//!   and a truth read at the same sandbox time always agree. "Today" counts the elapsed part
//!   of the account's local day. Tests comparing against truth should fix the clock.
//! - Meta's regain-access minutes in X-Business-Use-Case-Usage are rounded down; the exact
//!   seconds are in X-Ad-Account-Usage `reset_time_duration`.
//! - Ad groups/ad sets and ads (see `hierarchy.rs`) divide each campaign's day exactly among
//!   them, so every level adds up to the campaign's own numbers; Performance Max campaigns
//!   have none. They are read-only so far: no writes at these levels.
//! - Not imitated: Google `partialFailure` (mutates are all-or-nothing) and budget removal;
//!   Meta async insights reports and the budget-change rate limit; TikTok BUDGET_MODE_TOTAL and
//!   BUDGET_MODE_DYNAMIC_DAILY_BUDGET (refused with 40002). Client secrets are not checked.

mod admin;
pub mod clock;
pub mod config;
mod consent_page;
pub mod create_store;
pub mod faults;
mod gaql;
mod google;
mod hierarchy;
mod level_writes;
mod meta;
mod metrics;
mod oauth;
mod quota;
mod rng;
mod server;
mod shapes;
mod tiktok;
mod tokens;
pub mod truth;
mod wire;
mod world;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use clock::Clock;
pub use config::{SandboxArgs, SandboxConfig, TokenLifetimes};
pub use faults::{FaultKind, FaultSpec};
pub use server::CallRecord;
pub use truth::{
    TruthAccount, TruthAd, TruthAdGroup, TruthCampaign, TruthLevelMetric, TruthMetric, TruthQuery,
};
pub use world::CampaignStatus;

use crate::types::Platform;
use server::App;
use tokens::TokenKind;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("sandbox server failed: {0}")]
    Serve(String),
    #[error("sandbox state file: {0}")]
    State(String),
    #[error("sandbox file i/o: {0}")]
    Io(String),
}

/// A token minted directly for a platform, without the OAuth dance (tests, the CLI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedToken {
    pub platform: Platform,
    pub access_token: String,
    /// Google only.
    pub refresh_token: Option<String>,
    /// Seconds; None for tokens that do not expire (TikTok).
    pub expires_in: Option<u64>,
    pub accounts: Vec<String>,
}

/// The OAuth URLs of the sandbox for each platform, ready for adpilot's connection settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthEndpoints {
    pub google_authorize: String,
    pub google_token: String,
    pub google_revoke: String,
    /// For Meta API version `v25.0`; any `vNN.0` works.
    pub meta_authorize: String,
    pub meta_token: String,
    pub tiktok_authorize: String,
    pub tiktok_token: String,
    pub tiktok_revoke: String,
}

/// A running sandbox. Dropping it without [`SandboxHandle::shutdown`] stops the server too.
pub struct SandboxHandle {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), std::io::Error>>>,
}

/// Starts the sandbox on `config.bind` (port 0 picks a free port) and returns once it listens.
pub async fn spawn(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
    let clock = match config.fixed_now {
        Some(t) => Clock::fixed(t),
        None => Clock::system(),
    };
    let state = server::initial_state(&config, clock.now())?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| SandboxError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        addr: config.bind,
        source,
    })?;
    let app = Arc::new(App::new(config, clock, format!("http://{addr}"), state));
    app.save_if_dirty().await?;
    let router = server::router(app.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, "sandbox listening");
    Ok(SandboxHandle {
        addr,
        app,
        stop: Some(stop),
        task: Some(task),
    })
}

/// `adpilot sandbox`: serves until Ctrl-C, then saves state.
pub async fn run(args: SandboxArgs) -> Result<(), SandboxError> {
    let handle = spawn(args.into_config()).await?;
    println!("adpilot sandbox listening on {}", handle.base_url());
    println!("truth: {}/_sandbox/truth/accounts", handle.base_url());
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| SandboxError::Serve(format!("waiting for Ctrl-C: {e}")))?;
    handle.shutdown().await
}

pub(crate) fn issue_token_in(
    app: &App,
    platform: Platform,
    accounts: Option<Vec<String>>,
) -> IssuedToken {
    let now = app.now();
    let ttl = &app.config.tokens;
    let mut s = app.state();
    let accounts = accounts.unwrap_or_else(|| {
        s.world
            .accounts_of(platform)
            .map(|a| a.id.clone())
            .collect()
    });
    let accounts: Vec<String> = accounts
        .into_iter()
        .map(|a| a.trim_start_matches("act_").to_string())
        .collect();
    let grant = s
        .auth
        .new_grant(platform, "sandbox-admin", accounts.clone(), now);
    let (kind, lifetime) = match platform {
        Platform::Google => (TokenKind::Access, Some(ttl.google_access)),
        Platform::Meta => (TokenKind::LongLived, Some(ttl.meta_long)),
        Platform::Tiktok => (TokenKind::Access, ttl.tiktok_access),
    };
    let access = s
        .auth
        .issue(platform, &grant, kind, lifetime.map(oauth::chrono_ttl), now);
    let refresh = (platform == Platform::Google).then(|| {
        s.auth
            .issue(
                platform,
                &grant,
                TokenKind::Refresh,
                ttl.google_refresh.map(oauth::chrono_ttl),
                now,
            )
            .value
    });
    s.dirty = true;
    IssuedToken {
        platform,
        access_token: access.value,
        refresh_token: refresh,
        expires_in: lifetime.map(|d| d.as_secs()),
        accounts,
    }
}

pub(crate) fn expire_tokens_in(app: &App, platform: Platform) -> usize {
    let now = app.now();
    let mut s = app.state();
    s.dirty = true;
    s.auth.expire_all(
        platform,
        &[TokenKind::Access, TokenKind::LongLived],
        now - chrono::Duration::seconds(1),
    )
}

pub(crate) fn revoke_tokens_in(app: &App, platform: Platform) -> usize {
    let mut s = app.state();
    s.dirty = true;
    s.auth.revoke_all(platform)
}

impl SandboxHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the origin to use in place of each platform's API origin
    /// (adapters add their version paths).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn oauth_endpoints(&self) -> OAuthEndpoints {
        let b = self.base_url();
        OAuthEndpoints {
            google_authorize: format!("{b}/o/oauth2/v2/auth"),
            google_token: format!("{b}/token"),
            google_revoke: format!("{b}/revoke"),
            meta_authorize: format!("{b}/v25.0/dialog/oauth"),
            meta_token: format!("{b}/v25.0/oauth/access_token"),
            tiktok_authorize: format!("{b}/portal/auth"),
            tiktok_token: format!("{b}/open_api/v1.3/oauth2/access_token/"),
            tiktok_revoke: format!("{b}/open_api/v1.3/oauth2/revoke_token/"),
        }
    }

    /// The sandbox clock; tests `set` and `advance` it when the config had `fixed_now`.
    pub fn clock(&self) -> &Clock {
        &self.app.clock
    }

    pub fn accounts(&self, platform: Option<Platform>) -> Vec<TruthAccount> {
        truth::accounts(&self.app.state().world, platform)
    }

    pub fn campaigns(&self, query: &TruthQuery) -> Vec<TruthCampaign> {
        let now = self.app.now();
        truth::campaigns(&self.app.state().world, query, now)
    }

    /// Daily metrics as the APIs would report them at the sandbox's current time.
    pub fn daily_metrics(&self, query: &TruthQuery) -> Vec<TruthMetric> {
        let now = self.app.now();
        truth::metrics(&self.app.state().world, query, now)
    }

    pub fn ad_groups(&self, query: &TruthQuery) -> Vec<TruthAdGroup> {
        truth::ad_groups(&self.app.state().world, query)
    }

    pub fn ads(&self, query: &TruthQuery) -> Vec<TruthAd> {
        truth::ads(&self.app.state().world, query)
    }

    /// Criteria and keywords made by campaign creates.
    pub fn created(&self) -> create_store::Created {
        self.app.state().world.created.clone()
    }

    /// Daily metrics per ad group (`ads` false) or per ad, as the APIs would report them at
    /// the sandbox's current time.
    pub fn level_metrics(&self, query: &TruthQuery, ads: bool) -> Vec<TruthLevelMetric> {
        let now = self.app.now();
        truth::level_metrics(&self.app.state().world, query, ads, now)
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        self.app.state().calls.iter().cloned().collect()
    }

    pub fn clear_calls(&self) {
        self.app.state().calls.clear();
    }

    /// Adds a fault; returns its id. Invalid specs (fraction outside 0–1, count 0) are refused.
    pub fn inject_fault(&self, spec: FaultSpec) -> Result<u64, SandboxError> {
        spec.validate().map_err(SandboxError::State)?;
        Ok(self.app.state().faults.add(spec))
    }

    pub fn clear_faults(&self) {
        self.app.state().faults.clear();
    }

    /// A working token for `platform` with access to `accounts` (all of the platform's when
    /// None), as if the user had approved the authorization page.
    pub fn issue_token(&self, platform: Platform, accounts: Option<Vec<String>>) -> IssuedToken {
        issue_token_in(&self.app, platform, accounts)
    }

    /// Makes every access token of `platform` expired now (refresh tokens stay valid).
    pub fn expire_tokens(&self, platform: Platform) -> usize {
        expire_tokens_in(&self.app, platform)
    }

    /// Revokes every grant of `platform`.
    pub fn revoke_tokens(&self, platform: Platform) -> usize {
        revoke_tokens_in(&self.app, platform)
    }

    /// Writes the state file now (no-op without one).
    pub async fn save(&self) -> Result<(), SandboxError> {
        self.app.state().dirty = true;
        self.app.save_if_dirty().await
    }

    /// Stops serving, waits for in-flight calls, and saves state.
    pub async fn shutdown(mut self) -> Result<(), SandboxError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(SandboxError::Serve(e.to_string())),
                Err(e) => return Err(SandboxError::Serve(e.to_string())),
            }
        }
        self.app.save_if_dirty().await
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
