//! Background jobs: a PostgreSQL job table, workers that lease rows from it, and a cron
//! scheduler that only decides when work is due.
//!
//! - A job type implements [`Job`] (kind name, payload = the type itself, queue, attempts,
//!   dedupe policy, and `run`). [`enqueue`] inserts it on the caller's connection, so inside a
//!   transaction the job exists only if that transaction commits.
//! - [`worker::Runner`] claims due rows with `FOR UPDATE SKIP LOCKED` in a short transaction,
//!   runs the handler outside any transaction while a heartbeat extends its lease, and records
//!   the outcome in another short transaction. Expired leases are reclaimed; failures back off
//!   exponentially with jitter; after `MAX_ATTEMPTS` the job is dead until someone retries it.
//! - [`scheduler::Scheduler`] turns cron ticks into jobs, once per (schedule, slot) however many
//!   `adpilot serve` processes share the database.
//!
//! Which job kinds and periodic duties exist is listed in [`catalog`], the one file of this
//! module that imports the features (they import [`Job`] from here, never the other way).

pub mod backup;
pub mod catalog;
pub mod cli;
pub mod maintenance;
pub mod routes;
pub mod scheduler;
pub mod schema;
pub mod settings;
pub mod store;
pub mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::app::AppState;
use crate::db::Conn;
use schema::jobs;

pub const DEFAULT_QUEUE: &str = "default";

/// How enqueueing the same work twice behaves. Whatever the policy, a key only blocks a new
/// job while an earlier one with the key is unfinished (queued, running or failed-and-waiting):
/// once it succeeded or died, the same key may be enqueued again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedupe {
    /// Every enqueue adds a job.
    None,
    /// At most one unfinished job of this kind per organization (or system-wide when the job
    /// has no organization): "sync this organization" needs doing once, not five times.
    Kind,
    /// At most one unfinished job per [`Job::dedupe_key`] (plus kind and organization).
    Key,
}

/// A kind of background work. The value itself is the payload, stored as JSON.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name stored in the table; renaming it orphans queued rows.
    const KIND: &'static str;
    const QUEUE: &'static str = DEFAULT_QUEUE;
    /// Higher runs first among due jobs.
    const PRIORITY: i16 = 0;
    /// Attempts before the job is dead (the first run counts).
    const MAX_ATTEMPTS: i32 = 5;
    const DEDUPE: Dedupe = Dedupe::None;

    /// The key for [`Dedupe::Key`]; `None` means this instance is not deduplicated.
    fn dedupe_key(&self) -> Option<String> {
        None
    }

    /// Does the work. Runs outside any database transaction: open short ones as needed
    /// (`ctx.app.db.tenant(org, ...)`), never hold one across outside calls.
    fn run(self, ctx: JobCtx) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// What a handler knows about its run.
#[derive(Clone)]
pub struct JobCtx {
    pub app: AppState,
    pub id: Uuid,
    pub kind: String,
    pub org_id: Option<Uuid>,
    /// 1 on the first run.
    pub attempt: i32,
    pub max_attempts: i32,
    /// This run's hold on the job; renew it right before each platform write.
    pub lease: Lease,
}

/// A job run's hold on its row. A run that was slow enough for its lease to run out may have
/// been taken over by another worker, and both would then send the same platform writes; the
/// heartbeat stops such a run only at its next beat. Handlers that write to a platform renew
/// the lease right before each write: when it is still theirs they own the job for a full
/// lease period (longer than a platform call may take), and when it is not they stop.
#[derive(Clone)]
pub struct Lease {
    db: crate::db::Db,
    job: Uuid,
    owner: String,
    secs: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "another worker took this job over (its lease ran out), so this run stopped before its next platform change"
    )]
    Lost,
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl Lease {
    pub(crate) fn new(db: crate::db::Db, job: Uuid, owner: &str, lease: Duration) -> Self {
        Lease {
            db,
            job,
            owner: owner.to_string(),
            secs: lease.as_secs_f64(),
        }
    }

    /// Extends the lease, or fails when this run no longer holds it.
    pub async fn renew(&self) -> Result<(), LeaseError> {
        if store::heartbeat(&self.db, self.job, &self.owner, self.secs).await? {
            Ok(())
        } else {
            Err(LeaseError::Lost)
        }
    }
}

// The run whose lease was lost records nothing more (its owner no longer matches the row);
// the worker that took the job over finishes it.
impl From<LeaseError> for JobError {
    fn from(e: LeaseError) -> Self {
        JobError::retry(e)
    }
}

/// Why a run did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again later: after `retry_after` when given (a platform's rate limit), else after
    /// the usual exponential backoff. Counts as an attempt.
    #[error("{message}")]
    Retry {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help (bad payload, deleted account): the job is dead at once.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    pub fn retry(message: impl std::fmt::Display) -> Self {
        JobError::Retry {
            message: message.to_string(),
            retry_after: None,
        }
    }

    pub fn retry_after(message: impl std::fmt::Display, after: Duration) -> Self {
        JobError::Retry {
            message: message.to_string(),
            retry_after: Some(after),
        }
    }

    pub fn permanent(message: impl std::fmt::Display) -> Self {
        JobError::Permanent(message.to_string())
    }
}

// Database trouble is usually passing: retry with backoff.
impl From<crate::db::DbError> for JobError {
    fn from(e: crate::db::DbError) -> Self {
        JobError::retry(e)
    }
}

impl From<diesel::result::Error> for JobError {
    fn from(e: diesel::result::Error) -> Self {
        JobError::retry(e)
    }
}

/// A job ready to insert, with its type erased (what schedules produce).
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub org_id: Option<Uuid>,
    pub queue: &'static str,
    pub priority: i16,
    pub max_attempts: i32,
    pub payload: serde_json::Value,
    pub idempotency_key: Option<String>,
    pub run_at: Option<DateTime<Utc>>,
}

impl NewJob {
    pub fn new<J: Job>(org_id: Option<Uuid>, job: &J) -> Result<NewJob, serde_json::Error> {
        let idempotency_key = match J::DEDUPE {
            Dedupe::None => None,
            // One fixed key per (kind, org) makes the unique index do the work.
            Dedupe::Kind => Some(String::from("*")),
            Dedupe::Key => job.dedupe_key(),
        };
        Ok(NewJob {
            kind: J::KIND,
            org_id,
            queue: J::QUEUE,
            priority: J::PRIORITY,
            max_attempts: J::MAX_ATTEMPTS.max(1),
            payload: serde_json::to_value(job)?,
            idempotency_key,
            run_at: None,
        })
    }

    /// Not before `at`.
    pub fn at(mut self, at: DateTime<Utc>) -> NewJob {
        self.run_at = Some(at);
        self
    }

    /// Inserts on `conn`; returns the new id, or `None` when deduplicated away.
    pub async fn insert(self, conn: &mut Conn) -> QueryResult<Option<Uuid>> {
        let id = Uuid::now_v7();
        let run_at = self.run_at.unwrap_or_else(Utc::now);
        diesel::insert_into(jobs::table)
            .values((
                jobs::id.eq(id),
                jobs::kind.eq(self.kind),
                jobs::org_id.eq(self.org_id),
                jobs::queue.eq(self.queue),
                jobs::priority.eq(self.priority),
                jobs::max_attempts.eq(self.max_attempts),
                jobs::payload.eq(self.payload),
                jobs::idempotency_key.eq(self.idempotency_key),
                jobs::run_at.eq(run_at),
            ))
            // The only unique constraints are the random primary key and the dedupe index.
            .on_conflict_do_nothing()
            .returning(jobs::id)
            .get_result(conn)
            .await
            .optional()
    }
}

fn payload_error(e: serde_json::Error) -> diesel::result::Error {
    diesel::result::Error::SerializationError(Box::new(e))
}

/// Enqueues `job` on the caller's connection. For an organization's job call it inside that
/// organization's tenant transaction (row-level security checks `org_id`); the job becomes
/// visible to workers only when the transaction commits. Returns `None` when deduplicated.
pub async fn enqueue<J: Job>(
    conn: &mut Conn,
    org_id: Option<Uuid>,
    job: &J,
) -> QueryResult<Option<Uuid>> {
    NewJob::new(org_id, job)
        .map_err(payload_error)?
        .insert(conn)
        .await
}

/// Like [`enqueue`], not before `at`.
pub async fn enqueue_at<J: Job>(
    conn: &mut Conn,
    org_id: Option<Uuid>,
    job: &J,
    at: DateTime<Utc>,
) -> QueryResult<Option<Uuid>> {
    NewJob::new(org_id, job)
        .map_err(payload_error)?
        .at(at)
        .insert(conn)
        .await
}

/// Enqueues a system job (no organization) in a transaction of its own.
pub async fn enqueue_system<J: Job>(
    db: &crate::db::Db,
    job: &J,
) -> Result<Option<Uuid>, crate::db::DbError> {
    let new = NewJob::new(None, job).map_err(payload_error)?;
    store::system_scope(db, "enqueue system job", async move |c| {
        Ok::<_, crate::db::DbError>(new.insert(c).await?)
    })
    .await
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type Handler = Arc<dyn Fn(JobCtx, serde_json::Value) -> BoxFuture + Send + Sync>;

/// The job kinds a worker knows how to run. Workers claim only these kinds, so a process that
/// lacks a newer kind (during a rolling upgrade) leaves it to one that has it.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn with<J: Job>(mut self) -> Registry {
        self.register::<J>();
        self
    }

    pub fn register<J: Job>(&mut self) -> &mut Registry {
        let handler: Handler = Arc::new(|ctx: JobCtx, payload: serde_json::Value| {
            Box::pin(async move {
                let job: J = serde_json::from_value(payload).map_err(|e| {
                    JobError::permanent(format!("the stored payload does not fit {}: {e}", J::KIND))
                })?;
                job.run(ctx).await
            }) as BoxFuture
        });
        self.handlers.insert(J::KIND, handler);
        self
    }

    pub fn kinds(&self) -> Vec<String> {
        let mut k: Vec<String> = self.handlers.keys().map(|k| k.to_string()).collect();
        k.sort();
        k
    }

    pub fn contains(&self, kind: &str) -> bool {
        self.handlers.contains_key(kind)
    }

    fn handler(&self, kind: &str) -> Option<Handler> {
        self.handlers.get(kind).cloned()
    }
}

/// Enqueues one job per organization (through the named all-organizations path): how a system
/// schedule reaches every tenant. Returns how many were enqueued (deduplicated ones excluded).
pub async fn enqueue_for_every_org<J: Job>(
    app: &crate::app::App,
    reason: &'static str,
    make: impl Fn() -> J,
) -> Result<usize, JobError> {
    let orgs = crate::auth::accounts::all_org_ids(&app.db, reason)
        .await
        .map_err(JobError::retry)?;
    let mut n = 0;
    for org in orgs {
        let job = make();
        let added = app
            .db
            .tenant(org, async move |c| {
                Ok::<_, crate::db::DbError>(enqueue(c, Some(org), &job).await?)
            })
            .await?;
        n += usize::from(added.is_some());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize)]
    struct Keyed {
        account: String,
    }

    impl Job for Keyed {
        const KIND: &'static str = "test.keyed";
        const DEDUPE: Dedupe = Dedupe::Key;
        const MAX_ATTEMPTS: i32 = 0;
        fn dedupe_key(&self) -> Option<String> {
            Some(format!("account:{}", self.account))
        }
        async fn run(self, _ctx: JobCtx) -> Result<(), JobError> {
            Ok(())
        }
    }

    #[test]
    fn new_job_carries_kind_key_payload_and_at_least_one_attempt() {
        let j = NewJob::new(
            None,
            &Keyed {
                account: "42".into(),
            },
        )
        .expect("serializable");
        assert_eq!(j.kind, "test.keyed");
        assert_eq!(j.idempotency_key.as_deref(), Some("account:42"));
        assert_eq!(j.payload, serde_json::json!({"account": "42"}));
        assert_eq!(j.max_attempts, 1);
        assert_eq!(j.queue, DEFAULT_QUEUE);
    }
}
