//! `adpilot jobs list|retry`, `adpilot backup now`, `adpilot restore FILE`.

use std::path::PathBuf;
use std::process::ExitCode;

use uuid::Uuid;

use super::backup;
use super::store::{self, JobState};
use crate::config::Config;
use crate::server;

#[derive(Debug, clap::Subcommand)]
pub enum JobsCommand {
    /// List recent jobs, newest first.
    List {
        /// Only this organization's jobs (its id).
        #[arg(long)]
        org: Option<Uuid>,
        /// Only jobs in this state: queued, running, succeeded, failed or dead.
        #[arg(long)]
        state: Option<JobState>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Run a dead job again, with a fresh set of attempts.
    Retry { id: Uuid },
}

#[derive(Debug, clap::Subcommand)]
pub enum BackupCommand {
    /// Dump the database into ADPILOT_BACKUP_DIR now (and delete backups past their days).
    Now,
}

async fn open(config: &Config, migrate: bool) -> Result<server::Database, ExitCode> {
    server::open_database(config, migrate).await.map_err(|e| {
        eprintln!("adpilot: {e}");
        ExitCode::FAILURE
    })
}

pub async fn jobs(config: Config, command: JobsCommand) -> ExitCode {
    let database = match open(&config, true).await {
        Ok(d) => d,
        Err(code) => return code,
    };
    let code = match server::build_app(config, &database).await {
        Err(e) => {
            eprintln!("adpilot: {e}");
            ExitCode::FAILURE
        }
        Ok(app) => match command {
            JobsCommand::List { org, state, limit } => {
                match store::list_all(&app.db, org, state, limit.clamp(1, 10_000)).await {
                    Ok(rows) => {
                        println!(
                            "{:<36}  {:<28}  {:<9}  {:>8}  {:<20}  {:<36}  LAST ERROR",
                            "ID", "KIND", "STATE", "ATTEMPTS", "NEXT RUN (UTC)", "ORGANIZATION"
                        );
                        for r in rows {
                            println!(
                                "{:<36}  {:<28}  {:<9}  {:>8}  {:<20}  {:<36}  {}",
                                r.id,
                                r.kind,
                                r.state,
                                format!("{}/{}", r.attempts, r.max_attempts),
                                r.next_run()
                                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                                    .unwrap_or_else(|| "-".into()),
                                r.org_id
                                    .map(|o| o.to_string())
                                    .unwrap_or_else(|| "(system)".into()),
                                r.last_error
                                    .as_deref()
                                    .unwrap_or("")
                                    .replace('\n', " ")
                                    .chars()
                                    .take(120)
                                    .collect::<String>()
                            );
                        }
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("adpilot: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            JobsCommand::Retry { id } => match store::retry_any(&app.db, id).await {
                Ok(row) => {
                    println!("job {id} ({}) queued to run again", row.kind);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("adpilot: {e}");
                    ExitCode::FAILURE
                }
            },
        },
    };
    database.shutdown();
    code
}

pub async fn backup(config: Config, command: BackupCommand) -> ExitCode {
    let BackupCommand::Now = command;
    let database = match open(&config, false).await {
        Ok(d) => d,
        Err(code) => return code,
    };
    let target = database.backup_target();
    let jobs = &config.jobs;
    let result = backup::backup_now(&target, &jobs.backup_dir, jobs.backup_keep_days).await;
    database.shutdown();
    match result {
        Ok(file) => {
            println!("{}", file.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("adpilot: backup failed: {e}");
            ExitCode::FAILURE
        }
    }
}

pub async fn restore(config: Config, file: PathBuf) -> ExitCode {
    // Migrating first creates the application role on a brand-new cluster; the restore then
    // replaces every table with the backup's.
    let database = match open(&config, true).await {
        Ok(d) => d,
        Err(code) => return code,
    };
    let target = database.backup_target();
    let result = backup::restore(&target, &file).await;
    database.shutdown();
    match result {
        Ok(()) => {
            println!(
                "restored {}; start adpilot again (it applies any newer migrations)",
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("adpilot: restore failed, the database is unchanged: {e}");
            ExitCode::FAILURE
        }
    }
}
