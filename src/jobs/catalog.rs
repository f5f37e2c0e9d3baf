//! Every job kind adpilot runs and every periodic duty: the wiring of the features' jobs into
//! the job system. It is the one file of `jobs` that imports the features, so the features can
//! import the job system (the [`Job`](super::Job) trait, [`enqueue`](super::enqueue)) without
//! an import circle.

use super::{Registry, maintenance, scheduler, worker};
use crate::app::AppState;

/// Every job kind adpilot runs. Modules add their kinds here.
pub fn registry() -> Registry {
    Registry::new()
        .with::<maintenance::PruneSessions>()
        .with::<maintenance::PruneJobs>()
        .with::<maintenance::Backup>()
        .with::<crate::connections::jobs::RefreshAll>()
        .with::<crate::connections::jobs::RefreshOrg>()
        .with::<crate::connections::jobs::RotateKeys>()
        .with::<crate::analytics::jobs::SyncAll>()
        .with::<crate::analytics::jobs::SyncOrg>()
        .with::<crate::analytics::jobs::SyncAccount>()
        .with::<crate::analytics::jobs::PartitionUpkeep>()
        .with::<crate::campaigns::jobs::ResumeActionsAll>()
        .with::<crate::campaigns::jobs::ResumeActions>()
        .with::<crate::campaigns::jobs::FinishActions>()
        .with::<crate::reports::alerts::CheckAll>()
        .with::<crate::reports::alerts::CheckOrg>()
        .with::<crate::reports::alerts::Deliver>()
        .with::<crate::reports::seal::SealChannelSecrets>()
        .with::<crate::reports::send::DueAll>()
        .with::<crate::reports::send::DueOrg>()
        .with::<crate::reports::send::SendSlot>()
        .with::<crate::campaigns::push::PushCampaign>()
        .with::<crate::automation::jobs::RulesTick>()
        .with::<crate::automation::jobs::RulesCheck>()
        .with::<crate::automation::jobs::RulesCheckBatch>()
}

/// Every periodic duty (cron expressions with seconds, in UTC). Modules add theirs here; a
/// schedule that must reach every organization enqueues one system job whose handler enqueues
/// the per-organization jobs.
pub fn schedules(config: &crate::config::Config) -> Vec<scheduler::Schedule> {
    let mut s = vec![
        scheduler::Schedule::new("prune_sessions", "0 7 * * * *", |_| {
            maintenance::PruneSessions {}
        }),
        scheduler::Schedule::new("prune_jobs", "0 37 3 * * *", |_| maintenance::PruneJobs {}),
        scheduler::Schedule::new("token_refresh", "0 */5 * * * *", |_| {
            crate::connections::jobs::RefreshAll {}
        }),
        scheduler::Schedule::new("metrics_sync", "30 */15 * * * *", |_| {
            crate::analytics::jobs::SyncAll {}
        }),
        scheduler::Schedule::new("metrics_partitions", "0 11 4 * * *", |_| {
            crate::analytics::jobs::PartitionUpkeep {}
        }),
        scheduler::Schedule::new("resume_actions", "15 */10 * * * *", |_| {
            crate::campaigns::jobs::ResumeActionsAll {}
        }),
        scheduler::Schedule::new("alerts", "45 */15 * * * *", |_| {
            crate::reports::alerts::CheckAll {}
        }),
        scheduler::Schedule::new("reports", "20 */5 * * * *", |_| {
            crate::reports::send::DueAll {}
        }),
        // Finds due rules every minute; each organization's due rules become one
        // `rules.check_batch` job.
        scheduler::Schedule::new("rules_tick", "0 * * * * *", |slot| {
            crate::automation::jobs::RulesTick { slot }
        }),
    ];
    if let Some(cron) = &config.jobs.backup_cron {
        s.push(scheduler::Schedule::new("backup", cron.clone(), |_| {
            maintenance::Backup {}
        }));
    }
    for (name, cron) in &config.jobs.schedule_overrides {
        if let Some(found) = s.iter_mut().find(|x| x.name == name) {
            found.cron = cron.clone();
        }
    }
    s
}

/// Workers and scheduler of a running server.
pub struct Running {
    runner: worker::RunnerHandle,
    scheduler: scheduler::Scheduler,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("job scheduler: {0}")]
    Scheduler(#[from] scheduler::SchedulerError),
}

/// Starts the workers and the scheduler for `adpilot serve`.
pub async fn start(app: AppState) -> Result<Running, StartError> {
    let opts = worker::WorkerOptions::from_config(&app.config.jobs);
    let runner = worker::Runner::new(app.clone(), registry(), opts).start();
    // Secrets that an older version stored in clear are sealed by the workers soon after start.
    if let Err(e) = enqueue_at_start(&app.db).await {
        tracing::warn!(error = %e, "could not enqueue the sealing of webhook secrets");
    }
    let mut scheduler = scheduler::Scheduler::new(app.db.clone(), schedules(&app.config))?;
    if let Err(e) = scheduler.start().await {
        runner.shutdown().await;
        return Err(e.into());
    }
    Ok(Running { runner, scheduler })
}

/// The one-off duties of a start (deduplicated by kind while one waits).
pub async fn enqueue_at_start(db: &crate::db::Db) -> Result<(), crate::db::DbError> {
    super::store::system_scope(db, "jobs enqueued at start", async |c| {
        super::enqueue(c, None, &crate::reports::seal::SealChannelSecrets {}).await?;
        Ok::<_, crate::db::DbError>(())
    })
    .await
}

impl Running {
    /// Stops ticking and claiming, lets running jobs finish up to the configured timeout, then
    /// aborts the rest and releases their leases.
    pub async fn shutdown(mut self) {
        self.scheduler.shutdown().await;
        self.runner.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Job;

    #[test]
    fn registry_lists_the_maintenance_kinds() {
        let r = registry();
        assert!(r.contains(maintenance::Backup::KIND));
        assert!(r.contains(maintenance::PruneSessions::KIND));
        assert!(!r.contains("nope"));
    }
}
