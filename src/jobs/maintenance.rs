//! Jobs that keep adpilot itself healthy: pruning and nightly backups.

use serde::{Deserialize, Serialize};

use super::{Dedupe, Job, JobCtx, JobError, backup, store};

/// Deletes sessions past their idle or absolute timeout.
#[derive(Debug, Serialize, Deserialize)]
pub struct PruneSessions {}

impl Job for PruneSessions {
    const KIND: &'static str = "system.prune_sessions";
    const DEDUPE: Dedupe = Dedupe::Kind;
    const MAX_ATTEMPTS: i32 = 3;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let n = crate::auth::sessions::prune(&ctx.app.db, ctx.app.config.session_idle)
            .await
            .map_err(JobError::retry)?;
        tracing::info!(deleted = n, "expired sessions pruned");
        Ok(())
    }
}

/// Deletes finished jobs older than ADPILOT_JOBS_KEEP_DAYS, and old schedule slots.
#[derive(Debug, Serialize, Deserialize)]
pub struct PruneJobs {}

impl Job for PruneJobs {
    const KIND: &'static str = "system.prune_jobs";
    const DEDUPE: Dedupe = Dedupe::Kind;
    const MAX_ATTEMPTS: i32 = 3;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let (jobs, slots) =
            store::prune_finished(&ctx.app.db, ctx.app.config.jobs.keep_finished_days).await?;
        tracing::info!(jobs, slots, "old job rows pruned");
        Ok(())
    }
}

/// Dumps the database into ADPILOT_BACKUP_DIR and deletes backups past their days. Without
/// pg_dump it logs a warning and succeeds: retrying cannot install it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Backup {}

impl Job for Backup {
    const KIND: &'static str = "system.backup";
    const DEDUPE: Dedupe = Dedupe::Kind;
    const MAX_ATTEMPTS: i32 = 3;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let cfg = &ctx.app.config.jobs;
        match backup::backup_now(&ctx.app.backup, &cfg.backup_dir, cfg.backup_keep_days).await {
            Ok(file) => {
                tracing::info!(file = %file.display(), "database backup written");
                Ok(())
            }
            Err(e @ backup::BackupError::NotInstalled(_)) => {
                tracing::warn!(error = %e, "nightly backup skipped");
                Ok(())
            }
            Err(e @ backup::BackupError::NoTarget) => Err(JobError::permanent(e)),
            Err(e) => Err(JobError::retry(e)),
        }
    }
}
