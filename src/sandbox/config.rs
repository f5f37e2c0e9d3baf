//! Sandbox settings: the struct the app and tests build, and the `adpilot sandbox` flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::faults::FaultSpec;

/// Token and code lifetimes; the defaults are each platform's real ones.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLifetimes {
    /// Google access tokens (3599 s).
    pub google_access: Duration,
    /// Google refresh tokens; None = until revoked (production apps).
    pub google_refresh: Option<Duration>,
    /// Meta token from the code exchange ("short-lived", 2 h here).
    pub meta_short: Duration,
    /// Meta long-lived token from fb_exchange_token (~60 days).
    pub meta_long: Duration,
    /// TikTok advertiser tokens; None = long-term, until revoked.
    pub tiktok_access: Option<Duration>,
    /// Authorization codes (Google/Meta 10 min in practice; TikTok documents 1 h).
    pub auth_code: Duration,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        TokenLifetimes {
            google_access: Duration::from_secs(3599),
            google_refresh: None,
            meta_short: Duration::from_secs(2 * 3600),
            meta_long: Duration::from_secs(5_184_000),
            tiktok_access: None,
            auth_code: Duration::from_secs(600),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Same seed, same accounts, campaigns and history.
    pub seed: u64,
    /// Use port 0 for a free port (tests, `serve --demo`).
    pub bind: SocketAddr,
    pub tokens: TokenLifetimes,
    /// Google's fixed search page size (10,000 on the real API); small values let tests page.
    pub google_page_size: usize,
    /// Upper bound for Meta's `limit`; larger requests get pages of this size.
    pub meta_max_page_size: usize,
    /// Upper bound for TikTok's `page_size` (1000 on the real API); larger requests get pages
    /// of this size and `page_info.page_size` says so.
    pub tiktok_max_page_size: usize,
    /// Load state from here at start (when it exists) and save it after every change.
    pub state_file: Option<PathBuf>,
    /// Freeze the sandbox clock at this instant (tests); None follows the system clock.
    pub fixed_now: Option<DateTime<Utc>>,
    /// Faults active from the start.
    pub faults: Vec<FaultSpec>,
    /// Meta calls per ad account per hour that count as 100 % in the usage headers
    /// (300 is the development tier's ads_management quota).
    pub meta_calls_per_hour: u32,
    /// Refuse Meta calls past `meta_calls_per_hour` with code 80004, as Meta throttles.
    pub meta_enforce_usage: bool,
    /// Google operations per rolling 24 h across all customers (searches count 1, mutates
    /// their operation count); beyond it 429 RESOURCE_EXHAUSTED. None = unlimited
    /// (Basic/Standard access); 2880 imitates Explorer access.
    pub google_operations_per_day: Option<u64>,
    /// TikTok calls per minute per app; beyond it code 40100. None = unlimited.
    pub tiktok_calls_per_minute: Option<u64>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: 42,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tokens: TokenLifetimes::default(),
            google_page_size: 10_000,
            meta_max_page_size: 5_000,
            tiktok_max_page_size: 1_000,
            state_file: None,
            fixed_now: None,
            faults: Vec::new(),
            meta_calls_per_hour: 300,
            meta_enforce_usage: false,
            google_operations_per_day: None,
            tiktok_calls_per_minute: None,
        }
    }
}

fn parse_fault(s: &str) -> Result<FaultSpec, String> {
    let spec: FaultSpec = serde_json::from_str(s).map_err(|e| {
        format!(
            "{e}; expected JSON such as {{\"kind\":\"rate_limit\",\"platform\":\"meta\",\"count\":3}}"
        )
    })?;
    spec.validate()?;
    Ok(spec)
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; expected RFC 3339 such as 2026-03-10T12:00:00Z"))
}

/// Flags of `adpilot sandbox`.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on (loopback by default: the admin endpoints have no authentication).
    #[arg(long, default_value = "127.0.0.1:8787", env = "ADPILOT_SANDBOX_BIND")]
    pub bind: SocketAddr,
    /// Seed for the generated accounts, campaigns and history.
    #[arg(long, default_value_t = 42, env = "ADPILOT_SANDBOX_SEED")]
    pub seed: u64,
    /// JSON file to load state from and save it to (created when missing).
    #[arg(long, env = "ADPILOT_SANDBOX_STATE_FILE")]
    pub state_file: Option<PathBuf>,
    /// Google access token lifetime in seconds.
    #[arg(long, default_value_t = 3599)]
    pub google_token_ttl: u64,
    /// Google refresh token lifetime in seconds (default: until revoked).
    #[arg(long)]
    pub google_refresh_ttl: Option<u64>,
    /// Meta short-lived token lifetime in seconds.
    #[arg(long, default_value_t = 7200)]
    pub meta_short_ttl: u64,
    /// Meta long-lived token lifetime in seconds.
    #[arg(long, default_value_t = 5_184_000)]
    pub meta_long_ttl: u64,
    /// TikTok access token lifetime in seconds (default: long-term, until revoked).
    #[arg(long)]
    pub tiktok_token_ttl: Option<u64>,
    /// Authorization code lifetime in seconds.
    #[arg(long, default_value_t = 600)]
    pub code_ttl: u64,
    /// Google search page size.
    #[arg(long, default_value_t = 10_000)]
    pub google_page_size: usize,
    /// Largest Meta page.
    #[arg(long, default_value_t = 5_000)]
    pub meta_max_page_size: usize,
    /// Largest TikTok page.
    #[arg(long, default_value_t = 1_000)]
    pub tiktok_max_page_size: usize,
    /// Freeze the clock at this RFC 3339 instant.
    #[arg(long, value_parser = parse_time)]
    pub fixed_now: Option<DateTime<Utc>>,
    /// Meta calls per ad account per hour shown as 100 % in the usage headers.
    #[arg(long, default_value_t = 300)]
    pub meta_calls_per_hour: u32,
    /// Refuse Meta calls beyond --meta-calls-per-hour (code 80004).
    #[arg(long)]
    pub meta_enforce_usage: bool,
    /// Google operations allowed per rolling 24 h (e.g. 2880 for Explorer access).
    #[arg(long)]
    pub google_operations_per_day: Option<u64>,
    /// TikTok calls allowed per minute (the real limit is around 600).
    #[arg(long)]
    pub tiktok_calls_per_minute: Option<u64>,
    /// A fault active from the start, as JSON (repeatable), e.g.
    /// '{"kind":"rate_limit","platform":"google","count":3,"retry_after_secs":2}'.
    #[arg(long = "fault", value_parser = parse_fault)]
    pub faults: Vec<FaultSpec>,
}

impl SandboxArgs {
    pub fn into_config(self) -> SandboxConfig {
        SandboxConfig {
            seed: self.seed,
            bind: self.bind,
            tokens: TokenLifetimes {
                google_access: Duration::from_secs(self.google_token_ttl),
                google_refresh: self.google_refresh_ttl.map(Duration::from_secs),
                meta_short: Duration::from_secs(self.meta_short_ttl),
                meta_long: Duration::from_secs(self.meta_long_ttl),
                tiktok_access: self.tiktok_token_ttl.map(Duration::from_secs),
                auth_code: Duration::from_secs(self.code_ttl),
            },
            google_page_size: self.google_page_size.max(1),
            meta_max_page_size: self.meta_max_page_size.max(1),
            tiktok_max_page_size: self.tiktok_max_page_size.max(1),
            state_file: self.state_file,
            fixed_now: self.fixed_now,
            faults: self.faults,
            meta_calls_per_hour: self.meta_calls_per_hour.max(1),
            meta_enforce_usage: self.meta_enforce_usage,
            google_operations_per_day: self.google_operations_per_day,
            tiktok_calls_per_minute: self.tiktok_calls_per_minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn flags_shorten_lifetimes_and_take_json_faults() {
        let cli = Cli::try_parse_from([
            "x",
            "--bind",
            "127.0.0.1:9999",
            "--google-token-ttl",
            "5",
            "--fault",
            r#"{"kind":"server_error","count":2}"#,
        ])
        .expect("parse");
        let c = cli.args.into_config();
        assert_eq!(c.bind.port(), 9999);
        assert_eq!(c.tokens.google_access, Duration::from_secs(5));
        assert_eq!(c.faults.len(), 1);
        let bad = Cli::try_parse_from(["x", "--fault", r#"{"kind":"flood"}"#]);
        assert!(bad.is_err());
    }
}
