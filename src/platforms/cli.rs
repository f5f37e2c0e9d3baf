//! `adpilot platform ...`: runs one adapter against any base URL and prints what it
//! normalized, one JSON object per line, so an operator can check a platform (or the sandbox)
//! without the server.

use std::io::Write;
use std::process::ExitCode;

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{
    AccountRef, AdAccount, Adapter, Credentials, Level, LevelBudget, PlatformError,
    PlatformSettings, Platforms,
};
use crate::types::{Money, Platform};

/// Which platform to call and how.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// google, meta or tiktok.
    #[arg(long)]
    pub platform: Platform,
    /// Replaces the platform's API origin (e.g. http://127.0.0.1:8900 for the sandbox); the
    /// version path is added by the adapter.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Access token of a connected user (or set ADPILOT_PLATFORM_ACCESS_TOKEN to keep it out
    /// of the process list).
    #[arg(long, env = "ADPILOT_PLATFORM_ACCESS_TOKEN", hide_env_values = true)]
    pub access_token: String,
    /// API version, e.g. v26 (Google), v25.0 (Meta), v1.3 (TikTok).
    #[arg(long)]
    pub api_version: Option<String>,
    /// Google: developer token, sent only when given.
    #[arg(long, env = "ADPILOT_GOOGLE_DEVELOPER_TOKEN", hide_env_values = true)]
    pub developer_token: Option<String>,
    /// Google: manager account to act through.
    #[arg(long)]
    pub login_customer_id: Option<String>,
    /// TikTok: app id (listing advertisers needs it).
    #[arg(long, env = "ADPILOT_TIKTOK_APP_ID")]
    pub app_id: Option<String>,
    /// TikTok: app secret (listing advertisers needs it).
    #[arg(long, env = "ADPILOT_TIKTOK_APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<String>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum PlatformCommand {
    /// Daily metrics: one line per object (campaign, ad group or ad) per day.
    Metrics {
        #[command(flatten)]
        target: Target,
        /// Ad account: Google customer id, Meta act_123 or 123, TikTok advertiser id.
        #[arg(long)]
        account: String,
        /// First day, YYYY-MM-DD (account time zone).
        #[arg(long)]
        from: NaiveDate,
        /// Last day, YYYY-MM-DD, included.
        #[arg(long)]
        to: NaiveDate,
        /// campaign, ad_group (Meta ad sets) or ad.
        #[arg(long, default_value = "campaign")]
        level: Level,
    },
    /// The ad groups (Meta: ad sets) of one ad account, or of one of its campaigns.
    AdGroups {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        account: String,
        /// Only this campaign's.
        #[arg(long)]
        campaign: Option<String>,
    },
    /// The ads of one ad account, or of one of its campaigns.
    Ads {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        account: String,
        /// Only this campaign's.
        #[arg(long)]
        campaign: Option<String>,
    },
    /// The ad accounts the token can reach.
    Accounts {
        #[command(flatten)]
        target: Target,
    },
    /// The campaigns of one ad account.
    Campaigns {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        account: String,
    },
}

/// Runs the command; platform errors go to `err` as `error: <kind>: <message>` with a
/// non-zero exit code.
pub async fn run(
    cmd: PlatformCommand,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> ExitCode {
    match execute(cmd, out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Platform(e)) => {
            let _ = writeln!(err, "error: {}: {}", e.kind(), e.message());
            ExitCode::from(1)
        }
        Err(CliError::Output(e)) => {
            let _ = writeln!(err, "error: cannot write output: {e}");
            ExitCode::from(2)
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Output(#[from] std::io::Error),
}

fn adapter_for(target: &Target) -> Result<(Adapter, Credentials), PlatformError> {
    let mut s = PlatformSettings::default();
    let platform = target.platform;
    match platform {
        Platform::Google => {
            if let Some(u) = &target.base_url {
                s.google.api_url = u.clone();
            }
            if let Some(v) = &target.api_version {
                s.google.api_version = v.clone();
            }
            s.google.developer_token = target.developer_token.clone();
            s.google.login_customer_id = target.login_customer_id.clone();
        }
        Platform::Meta => {
            if let Some(u) = &target.base_url {
                s.meta.api_url = u.clone();
            }
            if let Some(v) = &target.api_version {
                s.meta.api_version = v.clone();
            }
        }
        Platform::Tiktok => {
            if let Some(u) = &target.base_url {
                s.tiktok.api_url = u.clone();
            }
            if let Some(v) = &target.api_version {
                s.tiktok.api_version = v.clone();
            }
            s.tiktok.app_id = target.app_id.clone().unwrap_or_default();
            s.tiktok.secret = target.app_secret.clone().unwrap_or_default();
        }
    }
    let platforms = Platforms::new(s)?;
    Ok((
        platforms.adapter(platform),
        Credentials::new(target.access_token.clone()),
    ))
}

/// Exact major units with at least the currency's decimals: "14.30" USD, "1500" JPY, and
/// "1.234567" when the platform reports sub-cent amounts (nothing is rounded away).
fn major_string(m: Money) -> String {
    let mut d = m.to_major();
    let digits = m.currency.minor_unit_exponent();
    if d.scale() < digits {
        d.rescale(digits);
    }
    d.to_string()
}

fn budget_json(b: LevelBudget) -> Value {
    json!({"period": b.period.as_str(), "amount": major_string(b.amount)})
}

fn line(out: &mut (dyn Write + Send), v: &Value) -> Result<(), std::io::Error> {
    writeln!(out, "{v}")
}

async fn execute(cmd: PlatformCommand, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    match cmd {
        PlatformCommand::Metrics {
            target,
            account,
            from,
            to,
            level: level @ (Level::AdGroup | Level::Ad),
        } => level_metrics(&target, &account, (from, to), level, out).await,
        PlatformCommand::AdGroups {
            target,
            account,
            campaign,
        } => ad_groups(&target, &account, campaign.as_deref(), out).await,
        PlatformCommand::Ads {
            target,
            account,
            campaign,
        } => ads(&target, &account, campaign.as_deref(), out).await,
        PlatformCommand::Metrics {
            target,
            account,
            from,
            to,
            level: Level::Campaign,
        } => campaign_metrics(&target, &account, (from, to), out).await,
        PlatformCommand::Accounts { target } => accounts(&target, out).await,
        PlatformCommand::Campaigns { target, account } => campaigns(&target, &account, out).await,
    }
}

/// The adapter and credentials for `target`, with `account` read from the platform: spend is
/// only meaningful with the account's currency, which the account call gives everywhere.
async fn open(
    target: &Target,
    account: &str,
) -> Result<(Adapter, Credentials, AdAccount, AccountRef), CliError> {
    let (adapter, creds) = adapter_for(target)?;
    let acct = adapter.account(&creds, account).await?;
    let acct_ref = AccountRef::new(account.to_string(), acct.currency);
    Ok((adapter, creds, acct, acct_ref))
}

async fn level_metrics(
    target: &Target,
    account: &str,
    (from, to): (NaiveDate, NaiveDate),
    level: Level,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let (adapter, creds, acct, acct_ref) = open(target, account).await?;
    let rows = adapter
        .level_metrics(&creds, &acct_ref, level, from, to)
        .await?;
    for r in rows {
        let mut v = json!({
            "platform": target.platform.as_str(),
            "account_id": acct.id,
            "level": level.as_str(),
            "campaign_id": r.campaign_id,
            "ad_group_id": r.ad_group_id,
            "name": r.name,
            "date": r.date.format("%Y-%m-%d").to_string(),
            "impressions": r.impressions,
            "clicks": r.clicks,
            "all_clicks": r.all_clicks,
            "spend": major_string(r.spend),
            "conversions": r.conversions.normalize().to_string(),
            "revenue": major_string(r.revenue),
            "currency": acct.currency.as_str(),
        });
        if level == Level::Ad {
            v["ad_id"] = json!(r.ad_id);
        }
        line(out, &v)?;
    }
    Ok(())
}

async fn ad_groups(
    target: &Target,
    account: &str,
    campaign: Option<&str>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let (adapter, creds, acct, acct_ref) = open(target, account).await?;
    for g in adapter.list_ad_groups(&creds, &acct_ref, campaign).await? {
        line(
            out,
            &json!({
                "platform": target.platform.as_str(),
                "account_id": acct.id,
                "id": g.id,
                "name": g.name,
                "status": g.status.as_str(),
                "delivery": g.delivery,
                "campaign_id": g.campaign_id,
                "budget": g.budget.map(budget_json),
                "bid": g.bid.map(major_string),
                "bid_strategy": g.bid_strategy,
                "currency": acct.currency.as_str(),
            }),
        )?;
    }
    Ok(())
}

async fn ads(
    target: &Target,
    account: &str,
    campaign: Option<&str>,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let (adapter, creds, acct, acct_ref) = open(target, account).await?;
    for a in adapter.list_ads(&creds, &acct_ref, campaign).await? {
        line(
            out,
            &json!({
                "platform": target.platform.as_str(),
                "account_id": acct.id,
                "id": a.id,
                "name": a.name,
                "status": a.status.as_str(),
                "delivery": a.delivery,
                "campaign_id": a.campaign_id,
                "ad_group_id": a.ad_group_id,
                "type": a.ad_type,
                "headlines": a.headlines,
                "descriptions": a.descriptions,
                "primary_text": a.primary_text,
                "final_url": a.final_url,
            }),
        )?;
    }
    Ok(())
}

async fn campaign_metrics(
    target: &Target,
    account: &str,
    (from, to): (NaiveDate, NaiveDate),
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let (adapter, creds, acct, acct_ref) = open(target, account).await?;
    for r in adapter.daily_metrics(&creds, &acct_ref, from, to).await? {
        line(
            out,
            &json!({
                "platform": target.platform.as_str(),
                "account_id": acct.id,
                "campaign_id": r.campaign_id,
                "campaign_name": r.campaign_name,
                "date": r.date.format("%Y-%m-%d").to_string(),
                "impressions": r.impressions,
                "clicks": r.clicks,
                "spend": major_string(r.spend),
                "conversions": r.conversions.normalize().to_string(),
                "revenue": major_string(r.revenue),
            }),
        )?;
    }
    Ok(())
}

async fn accounts(target: &Target, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    let (adapter, creds) = adapter_for(target)?;
    for a in adapter.list_accounts(&creds).await? {
        line(
            out,
            &json!({
                "platform": target.platform.as_str(),
                "account_id": a.id,
                "name": a.name,
                "currency": a.currency.as_str(),
                "time_zone": a.time_zone,
                "status": a.status.as_str(),
                "manager": a.manager,
            }),
        )?;
    }
    Ok(())
}

async fn campaigns(
    target: &Target,
    account: &str,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let (adapter, creds, acct, acct_ref) = open(target, account).await?;
    for c in adapter.list_campaigns(&creds, &acct_ref).await? {
        line(
            out,
            &json!({
                "platform": target.platform.as_str(),
                "account_id": acct.id,
                "campaign_id": c.id,
                "name": c.name,
                "status": c.status.as_str(),
                "daily_budget": c.daily_budget.map(major_string),
                "currency": acct.currency.as_str(),
            }),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::testkit::{Reply, serve};
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: PlatformCommand,
    }

    fn parse(args: &[&str]) -> PlatformCommand {
        Cli::try_parse_from(std::iter::once("platform").chain(args.iter().copied()))
            .expect("valid arguments")
            .cmd
    }

    async fn run_capture(cmd: PlatformCommand) -> (ExitCode, String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = run(cmd, &mut out, &mut err).await;
        (
            code,
            String::from_utf8(out).expect("utf8"),
            String::from_utf8(err).expect("utf8"),
        )
    }

    #[tokio::test]
    async fn meta_metrics_print_one_json_line_per_campaign_day_in_major_units() {
        let server = serve(|req, _| {
            if req.path == "/v25.0/act_55" {
                Reply::json(serde_json::json!({"id":"act_55","account_id":"55","name":"Yen","currency":"JPY",
                    "timezone_name":"Asia/Tokyo","account_status":1}))
            } else {
                Reply::json(serde_json::json!({"data":[
                    {"campaign_id":"9","campaign_name":"Tokyo","impressions":"1000","clicks":"17","inline_link_clicks":"12","spend":"1500",
                     "actions":[{"action_type":"purchase","value":"2"}],
                     "action_values":[{"action_type":"purchase","value":"12000"}],
                     "date_start":"2025-01-01","date_stop":"2025-01-01"}]}))
            }
        })
        .await;
        let cmd = parse(&[
            "metrics",
            "--platform",
            "meta",
            "--base-url",
            &server.origin,
            "--access-token",
            "EAAB",
            "--account",
            "act_55",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-01",
        ]);
        let (code, out, err) = run_capture(cmd).await;
        assert_eq!(code, ExitCode::SUCCESS, "{err}");
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        assert_eq!(
            lines,
            vec![
                serde_json::json!({"platform":"meta","account_id":"55","campaign_id":"9",
                "campaign_name":"Tokyo","date":"2025-01-01","impressions":1000,"clicks":12,
                "spend":"1500","conversions":"2","revenue":"12000"})
            ]
        );
    }

    #[tokio::test]
    async fn google_and_tiktok_metrics_use_the_account_currency() {
        let google = serve(|req, _| {
            let q = req.json()["query"].as_str().unwrap_or("").to_string();
            if q.contains("FROM customer") {
                Reply::json(serde_json::json!({"results":[{"customer":{"id":"1234567890","currencyCode":"EUR",
                    "descriptiveName":"Acme","timeZone":"Europe/Berlin"}}]}))
            } else if q.contains("segments.conversion_action_name") {
                // No per-action rows: a page without results.
                Reply::json(serde_json::json!({"fieldMask":"campaign.id"}))
            } else {
                Reply::json(serde_json::json!({"results":[{"campaign":{"id":"111","name":"Brand"},
                    "metrics":{"impressions":"4696","clicks":"51","costMicros":"20010000","conversions":1.5,
                    "conversionsValue":120.5},"segments":{"date":"2025-01-01"}}]}))
            }
        })
        .await;
        let (code, out, err) = run_capture(parse(&[
            "metrics",
            "--platform",
            "google",
            "--base-url",
            &google.origin,
            "--access-token",
            "t",
            "--account",
            "123-456-7890",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-01",
            "--api-version",
            "v26",
        ]))
        .await;
        assert_eq!(code, ExitCode::SUCCESS, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
        assert_eq!(v["spend"], "20.01");
        assert_eq!(v["revenue"], "120.50");
        assert_eq!(v["conversions"], "1.5");
        assert_eq!(v["account_id"], "1234567890");
        assert_eq!(
            google.requests()[0].path,
            "/v26/customers/1234567890/googleAds:search"
        );

        let tiktok = serve(|req, _| {
            if req.path.ends_with("advertiser/info/") {
                Reply::json(serde_json::json!({"code":0,"message":"OK","data":{"list":[{"advertiser_id":"701",
                    "name":"A","currency":"USD","timezone":"UTC"}]}}))
            } else {
                Reply::json(serde_json::json!({"code":0,"message":"OK","data":{"list":[
                    {"dimensions":{"campaign_id":"17","stat_time_day":"2025-01-01 00:00:00"},
                     "metrics":{"campaign_name":"T","spend":"20.00","impressions":"4696","clicks":"51","conversion":"3"}}],
                    "page_info":{"page":1,"total_page":1}}}))
            }
        })
        .await;
        let (code, out, err) = run_capture(parse(&[
            "metrics",
            "--platform",
            "tiktok",
            "--base-url",
            &tiktok.origin,
            "--access-token",
            "t",
            "--account",
            "701",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-01",
        ]))
        .await;
        assert_eq!(code, ExitCode::SUCCESS, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
        assert_eq!(v["spend"], "20.00");
        assert_eq!(v["revenue"], "0.00");
        assert_eq!(v["campaign_id"], "17");
    }

    #[test]
    fn amounts_keep_currency_decimals_and_sub_cent_precision() {
        let usd: crate::types::Currency = "USD".parse().expect("cur");
        let jpy: crate::types::Currency = "JPY".parse().expect("cur");
        assert_eq!(major_string(Money::new(14_300_000, usd)), "14.30");
        assert_eq!(major_string(Money::new(1_234_567, usd)), "1.234567");
        assert_eq!(major_string(Money::new(0, usd)), "0.00");
        assert_eq!(major_string(Money::new(1_500_000_000, jpy)), "1500");
    }

    #[tokio::test]
    async fn errors_print_the_kind_and_the_platform_message_and_fail() {
        let server = serve(|_, _| {
            Reply::json(serde_json::json!({"code":40105,"message":"Access token is incorrect or has been revoked.","data":{}}))
        })
        .await;
        let (code, out, err) = run_capture(parse(&[
            "campaigns",
            "--platform",
            "tiktok",
            "--base-url",
            &server.origin,
            "--access-token",
            "bad",
            "--account",
            "701",
        ]))
        .await;
        assert_ne!(code, ExitCode::SUCCESS);
        assert!(out.is_empty());
        assert_eq!(
            err.trim(),
            "error: auth: Access token is incorrect or has been revoked."
        );
    }

    #[tokio::test]
    async fn accounts_and_campaigns_are_listed() {
        let server = serve(|req, _| {
            if req.path.ends_with("me/adaccounts") {
                Reply::json(serde_json::json!({"data":[{"id":"act_1","account_id":"1","name":"Acme","currency":"EUR",
                    "timezone_name":"Europe/Paris","account_status":1}]}))
            } else if req.path.ends_with("/campaigns") {
                Reply::json(serde_json::json!({"data":[{"id":"9","name":"C","status":"PAUSED","daily_budget":"2550"}]}))
            } else {
                Reply::json(serde_json::json!({"id":"act_1","account_id":"1","name":"Acme","currency":"EUR",
                    "timezone_name":"Europe/Paris","account_status":1}))
            }
        })
        .await;
        let (code, out, _) = run_capture(parse(&[
            "accounts",
            "--platform",
            "meta",
            "--base-url",
            &server.origin,
            "--access-token",
            "t",
        ]))
        .await;
        assert_eq!(code, ExitCode::SUCCESS);
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
        assert_eq!(v["currency"], "EUR");
        assert_eq!(v["time_zone"], "Europe/Paris");
        let (code, out, _) = run_capture(parse(&[
            "campaigns",
            "--platform",
            "meta",
            "--base-url",
            &server.origin,
            "--access-token",
            "t",
            "--account",
            "1",
        ]))
        .await;
        assert_eq!(code, ExitCode::SUCCESS);
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
        assert_eq!(v["daily_budget"], "25.50");
        assert_eq!(v["status"], "paused");
    }
}
