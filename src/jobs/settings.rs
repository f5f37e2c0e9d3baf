//! Settings of the job system and backups (flattened into the main settings).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The names of the periodic duties, for settings that refer to them.
pub const SCHEDULE_NAMES: &[&str] = &[
    "prune_sessions",
    "prune_jobs",
    "token_refresh",
    "metrics_sync",
    "metrics_partitions",
    "resume_actions",
    "alerts",
    "reports",
    "rules_tick",
    "backup",
];

#[derive(Debug, Clone, clap::Args)]
pub struct JobSettings {
    /// Jobs run at once by this process (0: this process runs no jobs, only serves pages).
    #[arg(long, env = "ADPILOT_JOB_WORKERS", default_value_t = 4, global = true)]
    pub job_workers: usize,

    /// Milliseconds between looks at an empty job queue.
    #[arg(
        long,
        env = "ADPILOT_JOB_POLL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub job_poll_ms: u64,

    /// Seconds a worker's claim on a job lasts without a heartbeat; a job whose process died
    /// runs again this long after.
    #[arg(
        long,
        env = "ADPILOT_JOB_LEASE_SECS",
        default_value_t = 60,
        global = true
    )]
    pub job_lease_secs: u64,

    /// At shutdown, seconds to let running jobs finish before releasing them.
    #[arg(
        long,
        env = "ADPILOT_JOB_SHUTDOWN_SECS",
        default_value_t = 30,
        global = true
    )]
    pub job_shutdown_secs: u64,

    /// Days finished jobs stay listed before they are deleted.
    #[arg(
        long,
        env = "ADPILOT_JOBS_KEEP_DAYS",
        default_value_t = 14,
        global = true
    )]
    pub jobs_keep_days: u32,

    /// Where nightly backups go. Default: DATA_DIR/backups.
    #[arg(long, env = "ADPILOT_BACKUP_DIR", global = true)]
    pub backup_dir: Option<PathBuf>,

    /// Days of backups to keep.
    #[arg(
        long,
        env = "ADPILOT_BACKUP_KEEP_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub backup_keep_days: u32,

    /// When the nightly backup runs: cron with seconds, UTC ("off" disables it).
    #[arg(
        long,
        env = "ADPILOT_BACKUP_CRON",
        default_value = "0 15 2 * * *",
        global = true
    )]
    pub backup_cron: String,

    /// Changes when a periodic duty runs: NAME=CRON (six fields with seconds, UTC), e.g.
    /// `metrics_sync=0 */30 * * * *` to sync every 30 minutes. Repeat the flag; in the
    /// variable, separate them with `;`.
    #[arg(
        long = "schedule",
        env = "ADPILOT_SCHEDULES",
        value_delimiter = ';',
        global = true
    )]
    pub schedules: Vec<String>,
}

/// Validated job settings.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    pub workers: usize,
    pub poll_interval: Duration,
    pub lease: Duration,
    pub shutdown_timeout: Duration,
    pub keep_finished_days: u32,
    pub backup_dir: PathBuf,
    pub backup_keep_days: u32,
    pub backup_cron: Option<String>,
    /// Schedule name and its replacement cron expression.
    pub schedule_overrides: Vec<(String, String)>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            workers: 4,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(30),
            keep_finished_days: 14,
            backup_dir: PathBuf::from("./data/backups"),
            backup_keep_days: 7,
            backup_cron: Some("0 15 2 * * *".into()),
            schedule_overrides: Vec::new(),
        }
    }
}

impl JobsConfig {
    /// Validates `s`, adding one line per problem to `problems`.
    pub fn from_settings(s: &JobSettings, data_dir: &Path, problems: &mut Vec<String>) -> Self {
        if s.job_workers > 256 {
            problems.push("ADPILOT_JOB_WORKERS must be at most 256".into());
        }
        if s.job_poll_ms < 10 {
            problems.push("ADPILOT_JOB_POLL_MS must be at least 10".into());
        }
        if s.job_lease_secs < 5 {
            problems.push("ADPILOT_JOB_LEASE_SECS must be at least 5".into());
        }
        if s.backup_keep_days == 0 {
            problems.push(
                "ADPILOT_BACKUP_KEEP_DAYS must be at least 1 (use ADPILOT_BACKUP_CRON=off to stop backups)"
                    .into(),
            );
        }
        let backup_cron = match s.backup_cron.trim() {
            "off" | "" => None,
            expr => match super::scheduler::parse_cron(expr) {
                Ok(_) => Some(expr.to_string()),
                Err(e) => {
                    problems.push(format!(
                        "ADPILOT_BACKUP_CRON=\"{expr}\" is not a schedule ({e}): use six fields with seconds, e.g. \"0 15 2 * * *\" for 02:15 UTC, or off"
                    ));
                    None
                }
            },
        };
        let mut schedule_overrides = Vec::new();
        for item in s
            .schedules
            .iter()
            .map(|i| i.trim())
            .filter(|i| !i.is_empty())
        {
            let Some((name, cron)) = item.split_once('=') else {
                problems.push(format!(
                    "ADPILOT_SCHEDULES item \"{item}\" is not NAME=CRON, e.g. \"metrics_sync=0 */30 * * * *\""
                ));
                continue;
            };
            let (name, cron) = (name.trim(), cron.trim());
            if !SCHEDULE_NAMES.contains(&name) {
                problems.push(format!(
                    "ADPILOT_SCHEDULES names \"{name}\", which is not a schedule; the schedules are {}",
                    SCHEDULE_NAMES.join(", ")
                ));
                continue;
            }
            match super::scheduler::parse_cron(cron) {
                Ok(_) => schedule_overrides.push((name.to_string(), cron.to_string())),
                Err(e) => problems.push(format!(
                    "ADPILOT_SCHEDULES: \"{cron}\" for {name} is not a schedule ({e}): use six fields with seconds"
                )),
            }
        }
        JobsConfig {
            workers: s.job_workers,
            poll_interval: Duration::from_millis(s.job_poll_ms.max(10)),
            lease: Duration::from_secs(s.job_lease_secs.max(5)),
            shutdown_timeout: Duration::from_secs(s.job_shutdown_secs),
            keep_finished_days: s.jobs_keep_days,
            backup_dir: s
                .backup_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("backups")),
            backup_keep_days: s.backup_keep_days.max(1),
            backup_cron,
            schedule_overrides,
        }
    }
}
