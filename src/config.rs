//! Settings from flags and environment variables, validated once at start.
//!
//! There is no global configuration: the validated [`Config`] lives in the application state and
//! is passed to whatever needs it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use url::Url;

/// Raw settings as given on the command line or in the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// PostgreSQL URL of a role that may run migrations. Unset: adpilot runs its own cluster
    /// in DATA_DIR/postgres.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// URL the server uses for requests and jobs (a role without BYPASSRLS that owns no
    /// table). Unset: derived from DATABASE_URL with the `adpilot_app` role.
    #[arg(long, env = "ADPILOT_APP_DATABASE_URL", hide_env_values = true)]
    pub app_database_url: Option<String>,

    /// Password adpilot sets for its `adpilot_app` role. Unset: derived from the secret key.
    #[arg(long, env = "ADPILOT_DB_APP_PASSWORD", hide_env_values = true)]
    pub db_app_password: Option<String>,

    /// Address to listen on.
    #[arg(long, env = "ADPILOT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Public URL of this server (links in emails, OAuth redirect URIs). Default: http://BIND.
    #[arg(long = "public-url", env = "ADPILOT_BASE_URL")]
    pub base_url: Option<String>,

    /// 32 random bytes, base64. Unset: generated into DATA_DIR/secret.key on first run.
    #[arg(long, env = "ADPILOT_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Where adpilot keeps its own files (embedded database, outbox, generated key).
    #[arg(long, env = "ADPILOT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// smtp://user:pass@host:587 (STARTTLS), smtps://host:465 (TLS). Unset: emails are written
    /// to DATA_DIR/outbox.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of every email.
    #[arg(
        long,
        env = "ADPILOT_MAIL_FROM",
        default_value = "adpilot <adpilot@localhost>"
    )]
    pub mail_from: String,

    /// Log format: pretty or json.
    #[arg(long, env = "ADPILOT_LOG_FORMAT", default_value = "pretty")]
    pub log_format: String,

    /// A session ends after this many hours without a request.
    #[arg(long, env = "ADPILOT_SESSION_IDLE_HOURS", default_value_t = 12)]
    pub session_idle_hours: u32,

    /// A session ends this many days after login, however active.
    #[arg(long, env = "ADPILOT_SESSION_MAX_DAYS", default_value_t = 30)]
    pub session_max_days: u32,

    /// Database connections in the server's pool.
    #[arg(long, env = "ADPILOT_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,

    /// Login attempts allowed per IP address per minute (and per account per 15 minutes: 10).
    #[arg(long, env = "ADPILOT_LOGIN_PER_MINUTE", default_value_t = 10)]
    pub login_per_minute: u32,

    /// Let webhooks reach private and loopback addresses (tests and closed networks only).
    #[arg(long, env = "ADPILOT_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: bool,

    /// Reverse proxies whose X-Forwarded-For is believed, as CIDRs separated by commas
    /// (e.g. `127.0.0.1/32,10.0.0.0/8`). Unset: the TCP peer is the client.
    #[arg(long, env = "ADPILOT_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// Bearer token that /metrics requires. Unset: /metrics is not served on the public
    /// listener (see ADPILOT_METRICS_BIND).
    #[arg(long, env = "ADPILOT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// A separate address serving only /metrics without a token (e.g. 127.0.0.1:9090).
    #[arg(long, env = "ADPILOT_METRICS_BIND")]
    pub metrics_bind: Option<String>,

    /// Seconds a connection may take to send a request's headers (idle keep-alive included).
    #[arg(long, env = "ADPILOT_HEADER_TIMEOUT_SECS", default_value_t = 15)]
    pub header_timeout_secs: u64,

    #[command(flatten)]
    pub platforms: PlatformArgs,

    #[command(flatten)]
    pub jobs: crate::jobs::settings::JobSettings,

    #[command(flatten)]
    pub ai: crate::ai::config::AiArgs,

    #[command(flatten)]
    pub stripe: crate::billing::StripeArgs,
}

/// Ad platform app credentials and endpoints. A platform is offered for connecting when its
/// client/app id is set (or in demo mode, where the built-in sandbox stands in for all three).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PlatformArgs {
    #[arg(long, env = "ADPILOT_GOOGLE_CLIENT_ID")]
    pub google_client_id: Option<String>,
    #[arg(long, env = "ADPILOT_GOOGLE_CLIENT_SECRET", hide_env_values = true)]
    pub google_client_secret: Option<String>,
    /// Sent as `developer-token` only when set.
    #[arg(long, env = "ADPILOT_GOOGLE_DEVELOPER_TOKEN", hide_env_values = true)]
    pub google_developer_token: Option<String>,
    #[arg(long, env = "ADPILOT_GOOGLE_LOGIN_CUSTOMER_ID")]
    pub google_login_customer_id: Option<String>,
    /// Google Ads API origin (the adapter adds /vNN).
    #[arg(long, env = "ADPILOT_GOOGLE_ADS_URL")]
    pub google_ads_url: Option<String>,
    #[arg(long, env = "ADPILOT_GOOGLE_ADS_VERSION")]
    pub google_ads_version: Option<String>,
    #[arg(long, env = "ADPILOT_GOOGLE_OAUTH_AUTHORIZE_URL")]
    pub google_oauth_authorize_url: Option<String>,
    #[arg(long, env = "ADPILOT_GOOGLE_OAUTH_TOKEN_URL")]
    pub google_oauth_token_url: Option<String>,
    #[arg(long, env = "ADPILOT_GOOGLE_OAUTH_REVOKE_URL")]
    pub google_oauth_revoke_url: Option<String>,
    #[arg(long, env = "ADPILOT_META_APP_ID")]
    pub meta_app_id: Option<String>,
    #[arg(long, env = "ADPILOT_META_APP_SECRET", hide_env_values = true)]
    pub meta_app_secret: Option<String>,
    /// Meta Graph API origin (the adapter adds /vNN.0); OAuth token calls go here too.
    #[arg(long, env = "ADPILOT_META_GRAPH_URL")]
    pub meta_graph_url: Option<String>,
    #[arg(long, env = "ADPILOT_META_GRAPH_VERSION")]
    pub meta_graph_version: Option<String>,
    /// Origin of Meta's login dialog.
    #[arg(long, env = "ADPILOT_META_DIALOG_URL")]
    pub meta_dialog_url: Option<String>,
    #[arg(long, env = "ADPILOT_TIKTOK_APP_ID")]
    pub tiktok_app_id: Option<String>,
    #[arg(long, env = "ADPILOT_TIKTOK_SECRET", hide_env_values = true)]
    pub tiktok_secret: Option<String>,
    /// TikTok Business API origin (the adapter adds /open_api/v1.3).
    #[arg(long, env = "ADPILOT_TIKTOK_URL")]
    pub tiktok_url: Option<String>,
    #[arg(long, env = "ADPILOT_TIKTOK_AUTHORIZE_URL")]
    pub tiktok_authorize_url: Option<String>,
}

impl PlatformArgs {
    /// The adapters' settings: defaults aimed at the real platforms, overridden by what is set.
    pub fn to_settings(&self) -> crate::platforms::PlatformSettings {
        let mut s = crate::platforms::PlatformSettings::default();
        let set = |target: &mut String, v: &Option<String>| {
            if let Some(v) = v.as_ref().filter(|v| !v.trim().is_empty()) {
                *target = v.trim().to_string();
            }
        };
        set(&mut s.google.client_id, &self.google_client_id);
        set(&mut s.google.client_secret, &self.google_client_secret);
        s.google.developer_token = self
            .google_developer_token
            .clone()
            .filter(|v| !v.is_empty());
        s.google.login_customer_id = self
            .google_login_customer_id
            .clone()
            .filter(|v| !v.is_empty());
        set(&mut s.google.api_url, &self.google_ads_url);
        set(&mut s.google.api_version, &self.google_ads_version);
        set(
            &mut s.google.oauth_authorize_url,
            &self.google_oauth_authorize_url,
        );
        set(&mut s.google.oauth_token_url, &self.google_oauth_token_url);
        set(
            &mut s.google.oauth_revoke_url,
            &self.google_oauth_revoke_url,
        );
        set(&mut s.meta.app_id, &self.meta_app_id);
        set(&mut s.meta.app_secret, &self.meta_app_secret);
        set(&mut s.meta.api_url, &self.meta_graph_url);
        set(&mut s.meta.api_version, &self.meta_graph_version);
        set(&mut s.meta.dialog_url, &self.meta_dialog_url);
        set(&mut s.tiktok.app_id, &self.tiktok_app_id);
        set(&mut s.tiktok.secret, &self.tiktok_secret);
        set(&mut s.tiktok.api_url, &self.tiktok_url);
        set(&mut s.tiktok.authorize_url, &self.tiktok_authorize_url);
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Validated settings.
#[derive(Clone)]
pub struct Config {
    pub database_url: Option<String>,
    pub app_database_url: Option<String>,
    pub db_app_password: Option<String>,
    pub bind: SocketAddr,
    pub base_url: Url,
    pub secret_key: Option<[u8; 32]>,
    pub data_dir: PathBuf,
    pub smtp_url: Option<String>,
    pub mail_from: lettre::message::Mailbox,
    pub log_format: LogFormat,
    pub session_idle: Duration,
    pub session_max: Duration,
    pub db_pool_size: u32,
    pub login_per_minute: u32,
    pub platforms: crate::platforms::PlatformSettings,
    pub webhooks_allow_private: bool,
    /// Proxies whose X-Forwarded-For names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub metrics_token: Option<String>,
    pub metrics_bind: Option<SocketAddr>,
    pub header_timeout: Duration,
    pub jobs: crate::jobs::settings::JobsConfig,
    pub ai: crate::ai::config::AiConfig,
    /// Stripe billing; `None` when not configured (self-hosted: no limits, no billing routes).
    pub billing: Option<crate::billing::BillingConfig>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets and URLs with passwords stay out of logs.
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("base_url", &self.base_url.as_str())
            .field("data_dir", &self.data_dir)
            .field("database", &self.database_url.as_ref().map(|_| "<set>"))
            .field("smtp", &self.smtp_url.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Validates every setting and reports all problems at once, one line each.
    pub fn from_settings(s: &Settings) -> Result<Config, Vec<String>> {
        let mut problems = Vec::new();
        let s = &blank_is_unset(s);
        let bind = parse_addr("ADPILOT_BIND", &s.bind, "127.0.0.1:8080", &mut problems);
        let base_url = base_url(s.base_url.as_deref(), bind, &mut problems);
        let secret_key = s.secret_key.as_deref().and_then(|raw| {
            decode_key(raw)
                .map_err(|e| problems.push(format!("ADPILOT_SECRET_KEY {e}")))
                .ok()
        });
        check_database(s, &mut problems);
        check_smtp(s.smtp_url.as_deref(), &mut problems);
        let mail_from = match s.mail_from.parse::<lettre::message::Mailbox>() {
            Ok(m) => Some(m),
            Err(_) => {
                problems.push(format!(
                    "ADPILOT_MAIL_FROM=\"{}\" is not an address: use \"adpilot <ads@example.com>\"",
                    s.mail_from
                ));
                None
            }
        };
        let log_format = log_format(&s.log_format, &mut problems);
        check_limits(s, &mut problems);
        check_platform_urls(&s.platforms, &mut problems);
        let trusted_proxies = trusted_proxies(&s.trusted_proxies, &mut problems);
        let metrics_token = s.metrics_token.clone().filter(|t| !t.trim().is_empty());
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            problems.push("ADPILOT_METRICS_TOKEN must be at least 16 characters".to_string());
        }
        let metrics_bind = match s
            .metrics_bind
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            None => None,
            Some(b) => parse_addr("ADPILOT_METRICS_BIND", b, "127.0.0.1:9090", &mut problems),
        };
        let jobs =
            crate::jobs::settings::JobsConfig::from_settings(&s.jobs, &s.data_dir, &mut problems);
        let ai = crate::ai::config::AiConfig::from_args(&s.ai, &mut problems);
        let billing = crate::billing::BillingConfig::from_args(&s.stripe, &mut problems);

        match (bind, base_url, mail_from, problems.is_empty()) {
            (Some(bind), Some(base_url), Some(mail_from), true) => Ok(Config {
                database_url: s.database_url.clone(),
                app_database_url: s.app_database_url.clone(),
                db_app_password: s.db_app_password.clone(),
                bind,
                base_url,
                secret_key,
                data_dir: s.data_dir.clone(),
                smtp_url: s.smtp_url.clone(),
                mail_from,
                log_format,
                session_idle: Duration::from_secs(u64::from(s.session_idle_hours) * 3600),
                session_max: Duration::from_secs(u64::from(s.session_max_days) * 86_400),
                db_pool_size: s.db_pool_size,
                login_per_minute: s.login_per_minute,
                platforms: s.platforms.to_settings(),
                webhooks_allow_private: s.webhooks_allow_private,
                trusted_proxies,
                metrics_token,
                metrics_bind,
                header_timeout: Duration::from_secs(s.header_timeout_secs),
                jobs,
                ai,
                billing,
            }),
            _ => Err(problems),
        }
    }

    /// Whether cookies must carry `Secure`.
    pub fn https(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// The origin browsers send in `Origin` for our own pages, e.g. `http://127.0.0.1:8080`.
    pub fn origin(&self) -> String {
        self.base_url.origin().ascii_serialization()
    }

    /// An absolute URL under the base URL for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// The secret key: configured, or read from / generated into DATA_DIR/secret.key.
    /// Returns whether it was generated now, so the caller can warn.
    pub fn load_or_create_secret_key(&mut self) -> std::io::Result<bool> {
        if self.secret_key.is_some() {
            return Ok(false);
        }
        let path = self.data_dir.join("secret.key");
        if path.exists() {
            let raw = std::fs::read_to_string(&path)?;
            let key = decode_key(raw.trim())
                .map_err(|e| std::io::Error::other(format!("{} {e}", path.display())))?;
            self.secret_key = Some(key);
            return Ok(false);
        }
        let key: [u8; 32] = rand::random();
        std::fs::create_dir_all(&self.data_dir)?;
        write_private(&path, format!("{}\n", B64.encode(key)).as_bytes())?;
        self.secret_key = Some(key);
        Ok(true)
    }
}

fn decode_key(raw: &str) -> Result<[u8; 32], String> {
    let bytes = B64
        .decode(raw.trim())
        .map_err(|_| "is not base64: generate one with `openssl rand -base64 32`".to_string())?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "must be 32 bytes, base64 (got {} bytes): generate one with `openssl rand -base64 32`",
            bytes.len()
        )
    })
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents)
}

/// The log filter for a `RUST_LOG` value (unset or invalid: info).
///
/// At debug level the PostgreSQL driver logs every statement with its bound parameters
/// (session and CSRF tokens, password hashes, webhook secrets), so `tokio_postgres` stays at
/// info whatever the general level, unless RUST_LOG names it explicitly.
pub fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    const DEFAULT: &str = "info,tower_http=warn,tokio_cron_scheduler=warn";
    let spec = rust_log.map(str::trim).filter(|s| !s.is_empty());
    let filter = spec
        .and_then(|s| tracing_subscriber::EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(DEFAULT));
    if spec.is_some_and(|s| s.contains("tokio_postgres")) {
        return filter;
    }
    match "tokio_postgres=info".parse() {
        Ok(d) => filter.add_directive(d),
        Err(_) => filter,
    }
}

/// The settings with empty variables (common in compose files) read as "not set".
fn blank_is_unset(s: &Settings) -> Settings {
    let mut s = s.clone();
    for opt in [
        &mut s.database_url,
        &mut s.app_database_url,
        &mut s.db_app_password,
        &mut s.base_url,
        &mut s.secret_key,
        &mut s.smtp_url,
    ] {
        if opt.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *opt = None;
        }
    }
    s
}

fn parse_addr(
    name: &str,
    raw: &str,
    example: &str,
    problems: &mut Vec<String>,
) -> Option<SocketAddr> {
    raw.parse()
        .map_err(|_| {
            problems.push(format!(
                "{name}=\"{raw}\" is not an address: use HOST:PORT such as {example}"
            ))
        })
        .ok()
}

/// The configured base URL, or one derived from the listen address.
fn base_url(
    raw: Option<&str>,
    bind: Option<SocketAddr>,
    problems: &mut Vec<String>,
) -> Option<Url> {
    match (raw, bind) {
        (Some(raw), _) => match Url::parse(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            _ => {
                problems.push(format!(
                    "ADPILOT_BASE_URL=\"{raw}\" is not an http(s) URL: use e.g. https://ads.example.com"
                ));
                None
            }
        },
        (None, Some(addr)) => {
            let host = if addr.ip().is_unspecified() {
                "localhost".to_string()
            } else if addr.is_ipv6() {
                format!("[{}]", addr.ip())
            } else {
                addr.ip().to_string()
            };
            Url::parse(&format!("http://{host}:{}", addr.port())).ok()
        }
        (None, None) => None,
    }
}

fn check_database(s: &Settings, problems: &mut Vec<String>) {
    let postgres = |url: &str| url.starts_with("postgres://") || url.starts_with("postgresql://");
    if s.database_url.as_deref().is_some_and(|u| !postgres(u)) {
        problems.push(
            "DATABASE_URL must start with postgres:// (e.g. postgres://user:pass@host/adpilot)"
                .to_string(),
        );
    }
    if s.app_database_url.as_deref().is_some_and(|u| !postgres(u)) {
        problems.push("ADPILOT_APP_DATABASE_URL must start with postgres://".to_string());
    }
    if let Some(p) = &s.db_app_password {
        if p.len() < 16 || !p.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems
                .push("ADPILOT_DB_APP_PASSWORD must be at least 16 letters and digits".to_string());
        }
    }
}

fn check_smtp(url: Option<&str>, problems: &mut Vec<String>) {
    let Some(url) = url else { return };
    match Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "smtp" | "smtps") && u.host().is_some() => {}
        _ => problems.push(
            "SMTP_URL must look like smtp://user:pass@host:587 (STARTTLS) or smtps://host:465"
                .to_string(),
        ),
    }
}

fn log_format(raw: &str, problems: &mut Vec<String>) -> LogFormat {
    match raw.to_ascii_lowercase().as_str() {
        "pretty" => LogFormat::Pretty,
        "json" => LogFormat::Json,
        other => {
            problems.push(format!(
                "ADPILOT_LOG_FORMAT=\"{other}\" is unknown: use pretty or json"
            ));
            LogFormat::Pretty
        }
    }
}

/// Numbers that must be at least 1 (or 2) to mean anything.
fn check_limits(s: &Settings, problems: &mut Vec<String>) {
    for (ok, problem) in [
        (
            s.session_idle_hours > 0,
            "ADPILOT_SESSION_IDLE_HOURS must be at least 1",
        ),
        (
            s.session_max_days > 0,
            "ADPILOT_SESSION_MAX_DAYS must be at least 1",
        ),
        (
            s.db_pool_size >= 2,
            "ADPILOT_DB_POOL_SIZE must be at least 2",
        ),
        (
            s.login_per_minute > 0,
            "ADPILOT_LOGIN_PER_MINUTE must be at least 1",
        ),
        (
            s.header_timeout_secs > 0,
            "ADPILOT_HEADER_TIMEOUT_SECS must be at least 1",
        ),
    ] {
        if !ok {
            problems.push(problem.to_string());
        }
    }
}

fn check_platform_urls(p: &PlatformArgs, problems: &mut Vec<String>) {
    for (name, v) in [
        ("ADPILOT_GOOGLE_ADS_URL", &p.google_ads_url),
        ("ADPILOT_META_GRAPH_URL", &p.meta_graph_url),
        ("ADPILOT_TIKTOK_URL", &p.tiktok_url),
        (
            "ADPILOT_GOOGLE_OAUTH_AUTHORIZE_URL",
            &p.google_oauth_authorize_url,
        ),
        ("ADPILOT_GOOGLE_OAUTH_TOKEN_URL", &p.google_oauth_token_url),
        (
            "ADPILOT_GOOGLE_OAUTH_REVOKE_URL",
            &p.google_oauth_revoke_url,
        ),
        ("ADPILOT_META_DIALOG_URL", &p.meta_dialog_url),
        ("ADPILOT_TIKTOK_AUTHORIZE_URL", &p.tiktok_authorize_url),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            if !Url::parse(v).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                problems.push(format!("{name}=\"{v}\" is not an http(s) URL"));
            }
        }
    }
}

/// Comma-separated CIDRs; a bare address is a /32 or /128.
fn trusted_proxies(raw: &str, problems: &mut Vec<String>) -> Vec<ipnet::IpNet> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part
            .parse::<ipnet::IpNet>()
            .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        {
            Ok(n) => out.push(n),
            Err(_) => problems.push(format!(
                "ADPILOT_TRUSTED_PROXIES: \"{part}\" is not a CIDR such as 10.0.0.0/8 or an address"
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        s: Settings,
    }

    fn settings(args: &[&str]) -> Settings {
        let mut v = vec!["t"];
        v.extend_from_slice(args);
        T::parse_from(v).s
    }

    #[test]
    fn every_problem_is_reported_on_its_own_line() {
        let s = settings(&[
            "--bind",
            "nowhere",
            "--secret-key",
            "c2hvcnQ=",
            "--log-format",
            "xml",
            "--smtp-url",
            "mail.example.com",
        ]);
        let problems = Config::from_settings(&s).expect_err("invalid settings");
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("ADPILOT_BIND"));
        assert!(problems.iter().any(|p| p.contains("must be 32 bytes")));
        assert!(problems.iter().any(|p| p.contains("pretty or json")));
        assert!(problems.iter().any(|p| p.contains("SMTP_URL")));
    }

    #[test]
    fn base_url_defaults_to_the_bind_address() {
        let c = Config::from_settings(&settings(&["--bind", "127.0.0.1:9000"])).expect("valid");
        assert_eq!(c.origin(), "http://127.0.0.1:9000");
        assert!(!c.https());
        let c = Config::from_settings(&settings(&["--public-url", "https://ads.example.com/"]))
            .expect("valid");
        assert!(c.https());
        assert_eq!(c.url("/invites/x"), "https://ads.example.com/invites/x");
    }

    #[test]
    fn schedules_can_be_retimed_by_name_and_bad_items_are_named() {
        let c = Config::from_settings(&settings(&[
            "--schedule",
            "metrics_sync=0 */30 * * * *",
            "--schedule",
            "rules_tick=*/2 * * * * *",
        ]))
        .expect("valid");
        let all = crate::jobs::catalog::schedules(&c);
        let cron_of = |n: &str| all.iter().find(|s| s.name == n).map(|s| s.cron.clone());
        assert_eq!(cron_of("metrics_sync").as_deref(), Some("0 */30 * * * *"));
        assert_eq!(cron_of("rules_tick").as_deref(), Some("*/2 * * * * *"));
        assert_eq!(cron_of("alerts").as_deref(), Some("45 */15 * * * *"));
        for s in &all {
            assert!(
                crate::jobs::settings::SCHEDULE_NAMES.contains(&s.name),
                "{} is listed for the setting",
                s.name
            );
        }

        let problems = Config::from_settings(&settings(&[
            "--schedule",
            "metric_sync=0 * * * * *",
            "--schedule",
            "alerts=every minute",
            "--schedule",
            "reports",
        ]))
        .expect_err("invalid");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("\"metric_sync\", which is not a schedule"));
        assert!(problems[1].contains("for alerts is not a schedule"));
        assert!(problems[2].contains("is not NAME=CRON"));
    }
}
