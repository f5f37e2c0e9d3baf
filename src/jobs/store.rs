//! Every query on the jobs tables.
//!
//! Workers, the scheduler and the `adpilot jobs` command work across organizations. They do
//! so only through [`system_scope`], the one place that sets the transaction-local
//! `app.jobs_worker` flag the `jobs_worker` row-level security policy looks for. Each use names
//! its reason, which is logged. Request handlers use the tenant functions ([`list_for_org`],
//! [`retry_dead`]) inside their organization's tenant transaction and see only its jobs.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Double, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::{job_schedule_slots, jobs};
use crate::db::{Conn, Db, DbError, in_transaction};

/// Runs `f` in a transaction that may read and write every organization's jobs (and only
/// jobs: other tenant tables keep showing nothing, as the tenant context stays unset).
pub async fn system_scope<R, E, F>(db: &Db, reason: &'static str, f: F) -> Result<R, E>
where
    F: for<'r> AsyncFnOnce(&'r mut Conn) -> Result<R, E>,
    E: From<DbError> + From<diesel::result::Error>,
{
    tracing::trace!(reason, "jobs system scope");
    let mut conn = db.conn().await.map_err(E::from)?;
    in_transaction(&mut conn, None, async move |c| {
        diesel::sql_query("SELECT set_config('app.jobs_worker', 'on', true)")
            .execute(c)
            .await
            .map_err(E::from)?;
        f(c).await
    })
    .await
}

/// Job states as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Dead => "dead",
        }
    }

    /// Whether another run may still happen without anyone doing anything.
    pub fn is_unfinished(self) -> bool {
        matches!(
            self,
            JobState::Queued | JobState::Running | JobState::Failed
        )
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!("unknown job state \"{s}\": use queued, running, succeeded, failed or dead")
            })
    }
}

/// A job a worker has just leased.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub org_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub queue: String,
    #[diesel(sql_type = Jsonb)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
    /// When the job became due: now - due is the queue lag.
    #[diesel(sql_type = Timestamptz)]
    pub due_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub claimed_at: DateTime<Utc>,
}

/// Leases the most urgent due job of one of `kinds` (and `queues`, if given) to `owner`.
pub async fn claim(
    db: &Db,
    owner: &str,
    kinds: &[String],
    queues: Option<&[String]>,
    lease_secs: f64,
) -> Result<Option<Claimed>, DbError> {
    let owner = owner.to_string();
    let kinds = kinds.to_vec();
    let queues = queues.map(<[String]>::to_vec);
    system_scope(db, "worker claims a job", async move |c| {
        // SKIP LOCKED: concurrent workers each take a different row instead of queueing on
        // the same one. The lease starts now; attempts count claims, so a job whose worker
        // dies still uses up its attempts.
        let row: Option<Claimed> = diesel::sql_query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
                 lease_expires_at = now() + make_interval(secs => $2), started_at = now(),
                 updated_at = now()
             WHERE id = (
                 SELECT id FROM jobs
                 WHERE state IN ('queued', 'failed') AND run_at <= now()
                   AND kind = ANY($3) AND ($4::text[] IS NULL OR queue = ANY($4))
                 ORDER BY priority DESC, run_at
                 LIMIT 1
                 FOR UPDATE SKIP LOCKED)
             RETURNING id, kind, org_id, queue, payload, attempts, max_attempts,
                 run_at AS due_at, now() AS claimed_at",
        )
        .bind::<Text, _>(&owner)
        .bind::<Double, _>(lease_secs)
        .bind::<Array<Text>, _>(&kinds)
        .bind::<Nullable<Array<Text>>, _>(&queues)
        .get_result(c)
        .await
        .optional()?;
        Ok(row)
    })
    .await
}

/// Extends the lease; false when `owner` no longer holds it (it expired and was reclaimed).
pub async fn heartbeat(db: &Db, id: Uuid, owner: &str, lease_secs: f64) -> Result<bool, DbError> {
    let owner = owner.to_string();
    system_scope(db, "worker extends its lease", async move |c| {
        let n = diesel::sql_query(
            "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3),
                 updated_at = now()
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<Text, _>(&owner)
        .bind::<Double, _>(lease_secs)
        .execute(c)
        .await?;
        Ok(n == 1)
    })
    .await
}

/// Marks a leased job succeeded; false if the lease was lost meanwhile.
pub async fn complete(db: &Db, id: Uuid, owner: &str) -> Result<bool, DbError> {
    let owner = owner.to_string();
    system_scope(db, "worker completes a job", async move |c| {
        let n = diesel::sql_query(
            "UPDATE jobs SET state = 'succeeded', lease_owner = NULL, lease_expires_at = NULL,
                 last_error = NULL, finished_at = now(), updated_at = now()
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<Text, _>(&owner)
        .execute(c)
        .await?;
        Ok(n == 1)
    })
    .await
}

/// Records a failed attempt: retried after `retry_in` seconds, or dead when `None`.
pub async fn fail(
    db: &Db,
    id: Uuid,
    owner: &str,
    error: &str,
    retry_in: Option<f64>,
) -> Result<bool, DbError> {
    let owner = owner.to_string();
    let error: String = error.chars().take(2000).collect();
    system_scope(db, "worker records a failure", async move |c| {
        let n = diesel::sql_query(
            "UPDATE jobs SET
                 state = CASE WHEN $4::float8 IS NULL THEN 'dead' ELSE 'failed' END,
                 run_at = CASE WHEN $4::float8 IS NULL THEN run_at
                               ELSE now() + make_interval(secs => $4) END,
                 finished_at = CASE WHEN $4::float8 IS NULL THEN now() END,
                 last_error = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<Text, _>(&owner)
        .bind::<Text, _>(&error)
        .bind::<Nullable<Double>, _>(retry_in)
        .execute(c)
        .await?;
        Ok(n == 1)
    })
    .await
}

/// Gives a leased job back untouched (graceful shutdown): runnable at once, and the
/// interrupted attempt does not count against it.
pub async fn release(db: &Db, id: Uuid, owner: &str) -> Result<bool, DbError> {
    let owner = owner.to_string();
    system_scope(db, "worker releases a job at shutdown", async move |c| {
        let n = diesel::sql_query(
            "UPDATE jobs SET state = 'queued', attempts = greatest(attempts - 1, 0),
                 lease_owner = NULL, lease_expires_at = NULL, run_at = now(), updated_at = now()
             WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<Text, _>(&owner)
        .execute(c)
        .await?;
        Ok(n == 1)
    })
    .await
}

#[derive(Debug, QueryableByName)]
pub struct Reaped {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub state: String,
}

/// Takes back jobs whose lease ran out (their process died or lost the database): they run
/// again at once, or are dead if that was their last attempt.
pub async fn reap_expired(db: &Db) -> Result<Vec<Reaped>, DbError> {
    system_scope(db, "reaper reclaims expired leases", async move |c| {
        let rows: Vec<Reaped> = diesel::sql_query(
            "UPDATE jobs SET
                 state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'failed' END,
                 finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
                 last_error = 'the worker stopped before finishing (its lease expired)',
                 lease_owner = NULL, lease_expires_at = NULL, run_at = now(), updated_at = now()
             WHERE id IN (
                 SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < now()
                 LIMIT 100 FOR UPDATE SKIP LOCKED)
             RETURNING id, kind, state",
        )
        .load(c)
        .await?;
        Ok(rows)
    })
    .await
}

/// A row as pages and the command line show it.
#[derive(Debug, Clone, Queryable)]
pub struct JobRow {
    pub id: Uuid,
    pub kind: String,
    pub org_id: Option<Uuid>,
    pub queue: String,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl JobRow {
    pub fn state(&self) -> Option<JobState> {
        self.state.parse().ok()
    }

    pub fn is_dead(&self) -> bool {
        self.state == "dead"
    }

    /// When it will (next) run, for jobs waiting to.
    pub fn next_run(&self) -> Option<DateTime<Utc>> {
        matches!(self.state.as_str(), "queued" | "failed").then_some(self.run_at)
    }
}

type RowColumns = (
    jobs::id,
    jobs::kind,
    jobs::org_id,
    jobs::queue,
    jobs::state,
    jobs::attempts,
    jobs::max_attempts,
    jobs::run_at,
    jobs::last_error,
    jobs::created_at,
    jobs::updated_at,
    jobs::finished_at,
);

const ROW_COLUMNS: RowColumns = (
    jobs::id,
    jobs::kind,
    jobs::org_id,
    jobs::queue,
    jobs::state,
    jobs::attempts,
    jobs::max_attempts,
    jobs::run_at,
    jobs::last_error,
    jobs::created_at,
    jobs::updated_at,
    jobs::finished_at,
);

/// The newest jobs visible on `conn`: inside a tenant transaction, that organization's.
pub async fn list_for_org(
    conn: &mut Conn,
    state: Option<JobState>,
    limit: i64,
) -> QueryResult<Vec<JobRow>> {
    let mut q = jobs::table
        .select(ROW_COLUMNS)
        .order(jobs::created_at.desc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = state {
        q = q.filter(jobs::state.eq(s.as_str()));
    }
    q.load(conn).await
}

/// Any organization's jobs, or system jobs (`adpilot jobs list`).
pub async fn list_all(
    db: &Db,
    org: Option<Uuid>,
    state: Option<JobState>,
    limit: i64,
) -> Result<Vec<JobRow>, DbError> {
    system_scope(db, "operator lists jobs", async move |c| {
        let mut q = jobs::table
            .select(ROW_COLUMNS)
            .order(jobs::created_at.desc())
            .limit(limit)
            .into_boxed();
        if let Some(o) = org {
            q = q.filter(jobs::org_id.eq(o));
        }
        if let Some(s) = state {
            q = q.filter(jobs::state.eq(s.as_str()));
        }
        Ok(q.load(c).await?)
    })
    .await
}

/// The newest job of `kind` enqueued with dedupe key `key`, as `conn` can see it (inside a
/// tenant transaction: that organization's jobs only).
pub async fn latest_by_key(conn: &mut Conn, kind: &str, key: &str) -> QueryResult<Option<JobRow>> {
    jobs::table
        .filter(jobs::kind.eq(kind))
        .filter(jobs::idempotency_key.eq(key))
        .select(ROW_COLUMNS)
        .order(jobs::created_at.desc())
        .first(conn)
        .await
        .optional()
}

pub async fn get(conn: &mut Conn, id: Uuid) -> QueryResult<Option<JobRow>> {
    jobs::table
        .find(id)
        .select(ROW_COLUMNS)
        .first(conn)
        .await
        .optional()
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("there is no such job")]
    NotFound,
    #[error("only a dead job can be retried; this one is {0}")]
    NotDead(String),
    #[error("the same work is already waiting to run, so this job was left dead")]
    Duplicate,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for RetryError {
    fn from(e: diesel::result::Error) -> Self {
        RetryError::Db(DbError::Query(e))
    }
}

/// Gives a dead job a fresh set of attempts, due now. Works on whatever `conn` can see: the
/// organization's jobs inside its tenant transaction.
pub async fn retry_dead(conn: &mut Conn, id: Uuid) -> Result<JobRow, RetryError> {
    let current = get(conn, id).await?.ok_or(RetryError::NotFound)?;
    if !current.is_dead() {
        return Err(RetryError::NotDead(current.state));
    }
    // A savepoint, so a duplicate key leaves the caller's transaction usable. (Raw SQL:
    // diesel-async's nested `transaction` with an async closure trips a compiler bug here.)
    diesel::sql_query("SAVEPOINT jobs_retry")
        .execute(conn)
        .await?;
    let updated = diesel::update(jobs::table.find(id).filter(jobs::state.eq("dead")))
        .set((
            jobs::state.eq("queued"),
            jobs::attempts.eq(0),
            jobs::run_at.eq(diesel::dsl::now),
            jobs::finished_at.eq(None::<DateTime<Utc>>),
            jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await;
    let end = if updated.is_ok() {
        "RELEASE SAVEPOINT jobs_retry"
    } else {
        "ROLLBACK TO SAVEPOINT jobs_retry"
    };
    diesel::sql_query(end).execute(conn).await?;
    match updated {
        Ok(1) => {}
        Ok(_) => return Err(RetryError::NotFound),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Err(RetryError::Duplicate),
        Err(e) => return Err(e.into()),
    }
    get(conn, id).await?.ok_or(RetryError::NotFound)
}

/// Retries a dead job of any organization (`adpilot jobs retry`).
pub async fn retry_any(db: &Db, id: Uuid) -> Result<JobRow, RetryError> {
    system_scope(db, "operator retries a job", async move |c| {
        retry_dead(c, id).await
    })
    .await
}

/// Records that `schedule` enqueued its `slot`; false if another process already did.
pub async fn claim_slot(conn: &mut Conn, schedule: &str, slot: DateTime<Utc>) -> QueryResult<bool> {
    let n = diesel::insert_into(job_schedule_slots::table)
        .values((
            job_schedule_slots::schedule.eq(schedule),
            job_schedule_slots::slot.eq(slot),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

pub async fn set_slot_job(
    conn: &mut Conn,
    schedule: &str,
    slot: DateTime<Utc>,
    job: Option<Uuid>,
) -> QueryResult<()> {
    diesel::update(job_schedule_slots::table.find((schedule, slot)))
        .set(job_schedule_slots::job_id.eq(job))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deletes finished jobs older than `keep_days` and schedule slots older than a week.
pub async fn prune_finished(db: &Db, keep_days: u32) -> Result<(usize, usize), DbError> {
    system_scope(db, "maintenance prunes old jobs", async move |c| {
        let jobs_deleted = diesel::sql_query(
            "DELETE FROM jobs WHERE state IN ('succeeded', 'dead')
                 AND finished_at < now() - make_interval(days => $1)",
        )
        .bind::<Integer, _>(i32::try_from(keep_days).unwrap_or(i32::MAX))
        .execute(c)
        .await?;
        let slots_deleted = diesel::sql_query(
            "DELETE FROM job_schedule_slots WHERE slot < now() - interval '7 days'",
        )
        .execute(c)
        .await?;
        Ok((jobs_deleted, slots_deleted))
    })
    .await
}

#[derive(Debug, QueryableByName)]
pub struct KindStateCount {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

#[derive(Debug, QueryableByName)]
pub struct QueueLag {
    #[diesel(sql_type = Text)]
    pub queue: String,
    #[diesel(sql_type = Double)]
    pub seconds: f64,
}

/// Counts by kind and state, and per queue how long the oldest due job has waited.
pub async fn stats(db: &Db) -> Result<(Vec<KindStateCount>, Vec<QueueLag>), DbError> {
    system_scope(db, "metrics count jobs", async move |c| {
        let counts: Vec<KindStateCount> =
            diesel::sql_query("SELECT kind, state, count(*) AS n FROM jobs GROUP BY kind, state")
                .load(c)
                .await?;
        let lag: Vec<QueueLag> = diesel::sql_query(
            "SELECT queue, extract(epoch FROM now() - min(run_at))::float8 AS seconds
             FROM jobs WHERE state IN ('queued', 'failed') AND run_at <= now()
             GROUP BY queue",
        )
        .load(c)
        .await?;
        Ok((counts, lag))
    })
    .await
}

/// How many jobs still have work ahead of them (benchmarks and tests wait on this).
pub async fn unfinished_count(db: &Db) -> Result<i64, DbError> {
    system_scope(db, "count unfinished jobs", async move |c| {
        Ok(jobs::table
            .filter(jobs::state.eq_any(["queued", "running", "failed"]))
            .count()
            .get_result(c)
            .await?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_states_round_trip_and_reject_unknown_names() {
        for s in JobState::ALL {
            assert_eq!(s.as_str().parse::<JobState>(), Ok(s));
        }
        assert_eq!("DEAD".parse::<JobState>(), Ok(JobState::Dead));
        assert!("done".parse::<JobState>().is_err());
        assert!(JobState::Failed.is_unfinished());
        assert!(!JobState::Dead.is_unfinished());
    }
}
