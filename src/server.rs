//! Starting adpilot: database (embedded or given), migrations, the application, the listener,
//! and a clean shutdown on Ctrl-C or SIGTERM.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::app::{App, AppState};
use crate::config::Config;
use crate::db::embedded::EmbeddedPostgres;
use crate::db::{APP_ROLE, Db, migrate, url_with_role};
use crate::web::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Embedded(#[from] crate::db::embedded::EmbeddedError),
    #[error(transparent)]
    Migrate(#[from] migrate::MigrateError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Init(#[from] crate::app::AppInitError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The database adpilot runs against, and the embedded cluster if it started one.
pub struct Database {
    pub admin_url: String,
    pub app_url: String,
    pub app_password: String,
    pub embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Where backups reach this database: its admin URL and, for the embedded cluster, the
    /// pg_dump beside its server.
    pub fn backup_target(&self) -> crate::jobs::backup::BackupTarget {
        crate::jobs::backup::BackupTarget::new(
            &self.admin_url,
            self.embedded.as_ref().map(EmbeddedPostgres::bin_dir),
        )
    }

    /// Stops the embedded cluster, if any.
    pub fn shutdown(&self) {
        if let Some(pg) = &self.embedded {
            if let Err(e) = pg.stop() {
                tracing::warn!(error = %e, "embedded PostgreSQL did not stop cleanly");
            }
        }
    }
}

/// The password of the application role: configured, or derived from the secret key so that
/// every instance sharing the key agrees on it without another setting.
pub fn app_role_password(config: &Config) -> String {
    if let Some(p) = &config.db_app_password {
        return p.clone();
    }
    let key = config.secret_key.unwrap_or([0u8; 32]);
    match <Hmac<Sha256> as Mac>::new_from_slice(&key) {
        Ok(mut mac) => {
            mac.update(b"adpilot database role password v1");
            hex::encode(&mac.finalize().into_bytes()[..20])
        }
        Err(_) => hex::encode(key),
    }
}

/// Finds or starts the database and (unless `migrate_now` is false) applies migrations.
pub async fn open_database(config: &Config, migrate_now: bool) -> Result<Database, StartError> {
    let (admin_url, embedded) = match &config.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let dir = config.data_dir.join("postgres");
            let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))??;
            tracing::info!(socket = %pg.socket_dir().display(), "embedded PostgreSQL is running");
            (pg.url(), Some(pg))
        }
    };
    let app_password = app_role_password(config);
    if migrate_now {
        let applied = migrate::run(&admin_url, Some(&app_password)).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
    }
    let app_url = match &config.app_database_url {
        Some(u) => u.clone(),
        None => url_with_role(&admin_url, APP_ROLE, Some(&app_password), None)?,
    };
    Ok(Database {
        admin_url,
        app_url,
        app_password,
        embedded,
    })
}

/// Builds the application state on an open database.
pub async fn build_app(config: Config, database: &Database) -> Result<AppState, StartError> {
    let db = Db::connect(&database.app_url, config.db_pool_size)?;
    let metrics = Metrics::new();
    let mut app = App::new(config, db, metrics).await?;
    app.backup = database.backup_target();
    Ok(AppState(Arc::new(app)))
}

/// Serves HTTP until Ctrl-C or SIGTERM.
pub async fn serve(app: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_until(app, listener, shutdown_signal()).await
}

/// Serves HTTP/1.1 on `listener` until `shutdown` completes, then lets open requests finish.
///
/// hyper is driven directly (not through `axum::serve`) for its header-read timeout, which
/// axum's server does not expose: a connection must send a request's headers within
/// ADPILOT_HEADER_TIMEOUT_SECS, idle keep-alive time included, and a request body must keep
/// coming (BODY_TIMEOUT), so trickling or idle connections cannot pile up.
pub async fn serve_until(
    app: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let header_timeout = app.config.header_timeout;
    if let Some(addr) = app.config.metrics_bind {
        let metrics = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "metrics are served without a token on their own address");
        let router = crate::router::metrics_router(app.clone());
        tokio::spawn(async move {
            if let Err(e) =
                accept_loop(metrics, router, header_timeout, std::future::pending()).await
            {
                tracing::warn!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let router = crate::router::router(app);
    accept_loop(listener, router, header_timeout, shutdown).await
}

const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

async fn accept_loop(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    header_timeout: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        BODY_TIMEOUT,
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(std::time::Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open 30 seconds after shutdown began");
    }
    Ok(())
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// Points every platform's API and OAuth endpoints at a sandbox, with demo app credentials.
pub fn use_sandbox(
    settings: &mut crate::platforms::PlatformSettings,
    sb: &crate::sandbox::SandboxHandle,
) {
    let base = sb.base_url();
    let oauth = sb.oauth_endpoints();
    settings.google.api_url = base.clone();
    settings.google.oauth_authorize_url = oauth.google_authorize;
    settings.google.oauth_token_url = oauth.google_token;
    settings.google.oauth_revoke_url = oauth.google_revoke;
    settings.google.client_id = "adpilot-demo.apps.sandbox".into();
    settings.google.client_secret = "demo-secret".into();
    settings.meta.api_url = base.clone();
    settings.meta.dialog_url = base.clone();
    settings.meta.app_id = "1000000000000001".into();
    settings.meta.app_secret = "demo-secret".into();
    settings.tiktok.api_url = base;
    settings.tiktok.authorize_url = oauth.tiktok_authorize;
    settings.tiktok.app_id = "7000000000000000001".into();
    settings.tiktok.secret = "demo-secret".into();
}

/// Where the demo sandbox listens and how the user's browser reaches it.
#[derive(Debug, Clone)]
pub struct DemoSandbox {
    /// Default: a free loopback port.
    pub bind: std::net::SocketAddr,
    /// The sandbox's base URL as the browser sees it (its OAuth consent pages); default: its
    /// listening address. In a container: the published port on the host.
    pub public_url: Option<String>,
}

impl Default for DemoSandbox {
    fn default() -> Self {
        DemoSandbox {
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
        }
    }
}

/// Starts the sandbox for `serve --demo` (its state kept in the data directory so demo
/// changes survive restarts) and aims the platforms at it: adpilot calls it on loopback, the
/// browser is sent to its public URL for the consent pages.
pub async fn start_demo_sandbox(
    config: &mut Config,
    demo: &DemoSandbox,
) -> Result<crate::sandbox::SandboxHandle, crate::sandbox::SandboxError> {
    let _ = std::fs::create_dir_all(&config.data_dir);
    let sb = crate::sandbox::spawn(crate::sandbox::SandboxConfig {
        bind: demo.bind,
        state_file: Some(config.data_dir.join("sandbox.json")),
        ..Default::default()
    })
    .await?;
    use_sandbox(&mut config.platforms, &sb);
    if let Some(public) = &demo.public_url {
        browser_sees_sandbox_at(&mut config.platforms, &sb.base_url(), public);
    }
    tracing::info!(url = %sb.base_url(), "demo sandbox is serving Google Ads, Meta and TikTok APIs");
    Ok(sb)
}

/// Rewrites the browser-facing OAuth pages (authorize/dialog) from the sandbox's listening
/// address to the address the browser reaches; API and token calls stay on the listening one.
pub fn browser_sees_sandbox_at(
    settings: &mut crate::platforms::PlatformSettings,
    listening: &str,
    public: &str,
) {
    let public = public.trim_end_matches('/');
    for url in [
        &mut settings.google.oauth_authorize_url,
        &mut settings.meta.dialog_url,
        &mut settings.tiktok.authorize_url,
    ] {
        if let Some(rest) = url.strip_prefix(listening) {
            *url = format!("{public}{rest}");
        }
    }
}

pub const DEMO_EMAIL: &str = "demo@adpilot.local";
pub const DEMO_PASSWORD: &str = "demo-password";

/// Creates the demo login and organization unless they exist; returns the login.
pub async fn seed_demo(app: &AppState) -> Result<(String, String), StartError> {
    match crate::auth::accounts::authenticate(&app.db, DEMO_EMAIL, DEMO_PASSWORD).await {
        Ok(_) => {}
        Err(_) => {
            let r = crate::auth::accounts::sign_up(
                &app.db,
                crate::auth::accounts::NewAccount {
                    email: DEMO_EMAIL.into(),
                    name: "Demo Marketer".into(),
                    password: DEMO_PASSWORD.into(),
                    org_name: "Demo Agency".into(),
                    time_zone: "Europe/Berlin".into(),
                },
            )
            .await;
            if let Err(e) = r {
                tracing::warn!(error = %e, "demo login not created");
            }
        }
    }
    Ok((DEMO_EMAIL.into(), DEMO_PASSWORD.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_is_sent_to_the_sandbox_public_url_and_adpilot_calls_it_on_loopback() {
        let mut s = crate::platforms::PlatformSettings::default();
        let listening = "http://127.0.0.1:8787";
        s.google.api_url = listening.into();
        s.google.oauth_authorize_url = format!("{listening}/o/oauth2/v2/auth");
        s.google.oauth_token_url = format!("{listening}/token");
        s.meta.dialog_url = listening.into();
        s.tiktok.authorize_url = format!("{listening}/portal/auth");
        browser_sees_sandbox_at(&mut s, listening, "http://localhost:8787/");
        assert_eq!(
            s.google.oauth_authorize_url,
            "http://localhost:8787/o/oauth2/v2/auth"
        );
        assert_eq!(s.meta.dialog_url, "http://localhost:8787");
        assert_eq!(s.tiktok.authorize_url, "http://localhost:8787/portal/auth");
        assert_eq!(s.google.oauth_token_url, "http://127.0.0.1:8787/token");
        assert_eq!(s.google.api_url, listening);
    }
}
