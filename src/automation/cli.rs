//! `adpilot rules check|eval`: the rules language on the command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};

use super::eval::csv_source::{At, MetricsTable};
use super::eval::evaluate_table;
use super::language::{self, Checked};

#[derive(Debug, Clone, clap::Subcommand)]
pub enum RulesCommand {
    /// Check rule files: exit 0 when every rule is valid (warnings on stderr), 1 otherwise.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Evaluate the rules of FILE offline against daily metrics exported as CSV and print one
    /// JSON object per line for each object (campaign, ad group, ad) a rule matched.
    Eval {
        file: PathBuf,
        /// CSV with header platform,account_id,currency,campaign_id,campaign_name,status,
        /// daily_budget,date,impressions,clicks,spend,conversions,revenue and optionally
        /// level,ad_group_id,ad_group_name,ad_id,ad_name,time_zone,created_at,end_date,
        /// lifetime_budget,bid,all_clicks,purchases,purchase_value,leads,installs,registrations,
        /// paused_by_rule
        #[arg(long)]
        metrics: PathBuf,
        /// The day taken as "today" (YYYY-MM-DD), at 12:00 in every account.
        #[arg(long, required_unless_present = "now", conflicts_with = "now")]
        as_of: Option<NaiveDate>,
        /// The instant of the check (RFC 3339); each account's today, hour of day and day of
        /// week are taken in its own time zone.
        #[arg(long, value_parser = parse_instant)]
        now: Option<DateTime<Utc>>,
        /// Also print the objects a rule did not match.
        #[arg(long)]
        all: bool,
    },
    /// Replay the rules of FILE over an organization's last N days of metrics, as adpilot knew
    /// them on each day, and print what they would have done (one JSON object per line).
    Backtest {
        file: PathBuf,
        /// The organization's id.
        #[arg(long)]
        org: uuid::Uuid,
        #[arg(long, default_value_t = super::backtest::DEFAULT_DAYS)]
        days: u32,
        // Boxed: the settings are much larger than the other variants.
        #[command(flatten)]
        settings: Box<crate::config::Settings>,
    },
}

pub fn run(cmd: RulesCommand, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    let ok = match cmd {
        RulesCommand::Check { files } => check_files(&files, out, err),
        RulesCommand::Eval {
            file,
            metrics,
            as_of,
            now,
            all,
        } => match (now, as_of) {
            (Some(t), _) => eval_file(&file, &metrics, At::Now(t), all, out, err),
            (None, Some(d)) => eval_file(&file, &metrics, At::Date(d), all, out, err),
            (None, None) => {
                writeln!(err, "error: give --as-of DATE or --now RFC3339").map(|_| false)
            }
        },
        // Needs the database: main runs it through `backtest` with a validated configuration.
        RulesCommand::Backtest { .. } => {
            let _ = writeln!(err, "error: rules backtest needs the database settings");
            Ok(false)
        }
    };
    match ok {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            let _ = writeln!(err, "error: cannot write output: {e}");
            ExitCode::from(1)
        }
    }
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("\"{s}\" is not an RFC 3339 time such as 2026-03-10T21:30:00Z"))
}

fn read_text(path: &Path, err: &mut dyn Write) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            writeln!(err, "{}: error: cannot read: {e}", path.display())?;
            Ok(None)
        }
    }
}

fn report(path: &Path, src: &str, checked: &Checked, err: &mut dyn Write) -> std::io::Result<()> {
    let name = path.display().to_string();
    for d in &checked.diagnostics {
        write!(err, "{}", d.render(&name, src))?;
    }
    Ok(())
}

fn check_files(
    files: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    let mut all_ok = true;
    for path in files {
        let Some(src) = read_text(path, err)? else {
            all_ok = false;
            continue;
        };
        let checked = language::check(&src);
        report(path, &src, &checked, err)?;
        if checked.has_errors() {
            all_ok = false;
        } else {
            let n = checked.rules.len();
            let warnings = checked.warnings().count();
            writeln!(
                out,
                "{}: {n} rule{} ok{}",
                path.display(),
                if n == 1 { "" } else { "s" },
                match warnings {
                    0 => String::new(),
                    1 => ", 1 warning".to_string(),
                    w => format!(", {w} warnings"),
                }
            )?;
        }
    }
    Ok(all_ok)
}

fn eval_file(
    file: &Path,
    metrics: &Path,
    at: At,
    all: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    let Some(src) = read_text(file, err)? else {
        return Ok(false);
    };
    let checked = language::check(&src);
    report(file, &src, &checked, err)?;
    if checked.has_errors() {
        return Ok(false);
    }
    let table = match std::fs::File::open(metrics) {
        Ok(f) => MetricsTable::read(std::io::BufReader::new(f)),
        Err(e) => {
            writeln!(err, "{}: error: cannot read: {e}", metrics.display())?;
            return Ok(false);
        }
    };
    let table = match table {
        Ok(t) => t,
        Err(e) => {
            writeln!(
                err,
                "{}:{}: error: {}",
                metrics.display(),
                e.line,
                e.message
            )?;
            return Ok(false);
        }
    };
    for e in evaluate_table(&checked.rules, &table, at, all) {
        writeln!(out, "{}", e.to_json())?;
    }
    Ok(true)
}

/// `adpilot rules backtest FILE --org ORG --days N`.
pub async fn backtest(
    config: crate::config::Config,
    file: PathBuf,
    org: uuid::Uuid,
    days: u32,
) -> ExitCode {
    let mut err = std::io::stderr();
    let Ok(Some(src)) = read_text(&file, &mut err) else {
        return ExitCode::from(1);
    };
    let checked = language::check(&src);
    let _ = report(&file, &src, &checked, &mut err);
    let Ok(rules) = checked.into_result() else {
        return ExitCode::from(1);
    };
    let database = match crate::server::open_database(&config, true).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("adpilot: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match crate::server::build_app(config, &database).await {
        Err(e) => {
            eprintln!("adpilot: {e}");
            ExitCode::FAILURE
        }
        Ok(app) => {
            let mut code = ExitCode::SUCCESS;
            for rule in &rules {
                if let Some(why) = rule.live_blocker() {
                    eprintln!("adpilot: \"{}\" cannot be backtested: {why}", rule.name);
                    code = ExitCode::FAILURE;
                    continue;
                }
                match super::backtest::run(&app, org, rule, days, chrono::Utc::now()).await {
                    Ok(b) => {
                        for h in &b.hits {
                            println!(
                                "{}",
                                serde_json::json!({"rule": rule.name, "day": h.day, "campaign_id": h.campaign_id,
                                    "campaign": h.campaign_name, "actions": h.actions, "spend_after": h.spend_after})
                            );
                        }
                        eprintln!(
                            "{}: {} actions over {} days ({} campaigns considered)",
                            rule.name,
                            b.hits.len(),
                            b.days,
                            b.campaigns_in_scope
                        );
                    }
                    Err(e) => {
                        eprintln!("adpilot: backtest of \"{}\" failed: {e}", rule.name);
                        code = ExitCode::FAILURE;
                    }
                }
            }
            code
        }
    };
    database.shutdown();
    code
}
