//! Cron schedules that enqueue jobs. tokio-cron-scheduler only says "this schedule is due";
//! each due tick becomes a slot (the scheduled time it stands for) recorded in
//! `job_schedule_slots`, whose primary key lets exactly one process enqueue each
//! (schedule, slot) however many `adpilot serve` processes tick on the same database.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use tokio_cron_scheduler::{Job as CronJob, JobScheduler};
use uuid::Uuid;

use super::{Job, NewJob, store};
use crate::db::{Db, DbError};

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("schedule {name}: \"{cron}\" is not a cron expression with seconds: {detail}")]
    BadCron {
        name: &'static str,
        cron: String,
        detail: String,
    },
    #[error("two schedules are named {0}")]
    DuplicateName(&'static str),
    #[error("no schedule is named {0}")]
    Unknown(String),
    #[error("the cron scheduler failed: {0}")]
    Cron(#[from] tokio_cron_scheduler::JobSchedulerError),
    #[error("the job of schedule {0} cannot be serialized: {1}")]
    Payload(&'static str, serde_json::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for SchedulerError {
    fn from(e: diesel::result::Error) -> Self {
        SchedulerError::Db(DbError::Query(e))
    }
}

/// Parses six-field cron (seconds first), the way tokio-cron-scheduler does.
pub fn parse_cron(expr: &str) -> Result<Cron, croner::errors::CronError> {
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
}

type MakeJob = Arc<dyn Fn(DateTime<Utc>) -> Result<NewJob, serde_json::Error> + Send + Sync>;

/// A periodic duty: a name (stable: it keys the slots), a cron expression with seconds in
/// UTC, and the system job to enqueue for each slot (given the slot's time).
#[derive(Clone)]
pub struct Schedule {
    pub name: &'static str,
    pub cron: String,
    make: MakeJob,
}

impl Schedule {
    pub fn new<J: Job>(
        name: &'static str,
        cron: impl Into<String>,
        make: impl Fn(DateTime<Utc>) -> J + Send + Sync + 'static,
    ) -> Schedule {
        Schedule {
            name,
            cron: cron.into(),
            make: Arc::new(move |slot| NewJob::new(None, &make(slot))),
        }
    }
}

struct Entry {
    schedule: Schedule,
    cron: Cron,
}

struct Inner {
    db: Db,
    entries: Vec<Entry>,
}

pub struct Scheduler {
    inner: Arc<Inner>,
    ticker: Option<JobScheduler>,
}

impl Scheduler {
    /// Checks every schedule; nothing runs until [`Scheduler::start`].
    pub fn new(db: Db, schedules: Vec<Schedule>) -> Result<Scheduler, SchedulerError> {
        let mut entries: Vec<Entry> = Vec::new();
        for s in schedules {
            if entries.iter().any(|e| e.schedule.name == s.name) {
                return Err(SchedulerError::DuplicateName(s.name));
            }
            let cron = parse_cron(&s.cron).map_err(|e| SchedulerError::BadCron {
                name: s.name,
                cron: s.cron.clone(),
                detail: e.to_string(),
            })?;
            entries.push(Entry { schedule: s, cron });
        }
        Ok(Scheduler {
            inner: Arc::new(Inner { db, entries }),
            ticker: None,
        })
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.inner.entries.iter().map(|e| e.schedule.name).collect()
    }

    /// Enqueues the job of `name`'s slot at or before `at`, unless some process already did.
    /// Returns the slot and, if this call enqueued it, the job id.
    pub async fn fire(
        &self,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, Option<Uuid>), SchedulerError> {
        self.inner.fire(name, at).await
    }

    /// Starts ticking. Also enqueues each schedule's most recent slot if no process did (the
    /// server was down at 02:15: the nightly backup runs now instead of never).
    pub async fn start(&mut self) -> Result<(), SchedulerError> {
        let now = Utc::now();
        for e in &self.inner.entries {
            if let Err(err) = self.inner.fire(e.schedule.name, now).await {
                tracing::warn!(schedule = e.schedule.name, error = %err, "cannot catch up the schedule");
            }
        }
        let ticker = JobScheduler::new().await?;
        for e in &self.inner.entries {
            let inner = self.inner.clone();
            let name = e.schedule.name;
            let job = CronJob::new_async(e.schedule.cron.as_str(), move |_id, _lock| {
                let inner = inner.clone();
                Box::pin(async move {
                    match inner.fire(name, Utc::now()).await {
                        Ok((slot, Some(job))) => {
                            tracing::info!(schedule = name, %slot, %job, "scheduled job enqueued")
                        }
                        Ok((_, None)) => {}
                        Err(err) => {
                            tracing::error!(schedule = name, error = %err, "cannot enqueue the scheduled job")
                        }
                    }
                })
            })?;
            ticker.add(job).await?;
        }
        ticker.start().await?;
        self.ticker = Some(ticker);
        tracing::info!(schedules = ?self.names(), "job scheduler started");
        Ok(())
    }

    pub async fn shutdown(&mut self) {
        if let Some(mut t) = self.ticker.take() {
            if let Err(e) = t.shutdown().await {
                tracing::warn!(error = %e, "the cron scheduler did not stop cleanly");
            }
        }
    }
}

impl Inner {
    async fn fire(
        &self,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, Option<Uuid>), SchedulerError> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.schedule.name == name)
            .ok_or_else(|| SchedulerError::Unknown(name.to_string()))?;
        // The tick fires at or just after its scheduled time; every process maps it back to
        // that time, so they all name the same slot.
        let slot = slot_for(&entry.cron, at).map_err(|e| SchedulerError::BadCron {
            name: entry.schedule.name,
            cron: entry.schedule.cron.clone(),
            detail: e.to_string(),
        })?;
        let new = (entry.schedule.make)(slot)
            .map_err(|e| SchedulerError::Payload(entry.schedule.name, e))?;
        let sname = entry.schedule.name;
        let job = store::system_scope(&self.db, "scheduler enqueues a due job", async move |c| {
            if !store::claim_slot(c, sname, slot).await? {
                return Ok::<_, SchedulerError>(None);
            }
            let id = new.insert(c).await?;
            store::set_slot_job(c, sname, slot, id).await?;
            Ok(id)
        })
        .await?;
        Ok((slot, job))
    }
}

/// The scheduled time a tick at `at` stands for: the latest matching whole second at or
/// before it (croner keeps sub-seconds, which would make every tick its own slot).
pub fn slot_for(
    cron: &Cron,
    at: DateTime<Utc>,
) -> Result<DateTime<Utc>, croner::errors::CronError> {
    use chrono::Timelike;
    let whole = at.with_nanosecond(0).unwrap_or(at);
    cron.find_previous_occurrence(&whole, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_tick_maps_back_to_its_scheduled_slot() {
        let cron = parse_cron("0 */15 * * * *").expect("valid");
        let late_tick = Utc
            .with_ymd_and_hms(2026, 11, 24, 10, 15, 0)
            .single()
            .expect("time")
            + chrono::Duration::milliseconds(700);
        let slot = slot_for(&cron, late_tick).expect("slot");
        assert_eq!(
            slot,
            Utc.with_ymd_and_hms(2026, 11, 24, 10, 15, 0)
                .single()
                .expect("time")
        );
    }

    #[test]
    fn five_field_cron_is_refused() {
        assert!(parse_cron("*/15 * * * *").is_err());
        assert!(parse_cron("0 15 2 * * *").is_ok());
    }
}
