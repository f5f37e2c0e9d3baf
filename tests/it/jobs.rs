//! Background jobs: enqueue in the caller's transaction, leases, retries, schedules, backups,
//! and the /jobs page.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use adpilot::db::DbError;
use adpilot::jobs::scheduler::{Schedule, Scheduler};
use adpilot::jobs::worker::{Runner, RunnerHandle, WorkerOptions};
use adpilot::jobs::{Job, JobCtx, JobError, Registry, enqueue, store};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::support::*;

// ---------- test jobs and what they record ----------

#[derive(Debug, Clone)]
struct Event {
    n: u64,
    attempt: i32,
    at: DateTime<Utc>,
}

/// Runs seen, per test (each test uses its own key; tests share this process).
static EVENTS: LazyLock<Mutex<HashMap<Uuid, Vec<Event>>>> = LazyLock::new(Default::default);
/// Jobs running right now, to catch two workers running one job at once.
static RUNNING: LazyLock<Mutex<HashMap<(Uuid, u64), u32>>> = LazyLock::new(Default::default);
static OVERLAPS: LazyLock<Mutex<Vec<(Uuid, u64)>>> = LazyLock::new(Default::default);

fn record(key: Uuid, n: u64, attempt: i32) {
    if let Ok(mut e) = EVENTS.lock() {
        e.entry(key).or_default().push(Event {
            n,
            attempt,
            at: Utc::now(),
        });
    }
}

fn events(key: Uuid) -> Vec<Event> {
    EVENTS
        .lock()
        .map(|e| e.get(&key).cloned().unwrap_or_default())
        .unwrap_or_default()
}

/// Records its run; holds for `hold_ms` while watching for a concurrent run of itself.
#[derive(Debug, Serialize, Deserialize)]
struct Track {
    key: Uuid,
    n: u64,
    hold_ms: u64,
}

impl Job for Track {
    const KIND: &'static str = "test.track";
    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        record(self.key, self.n, ctx.attempt);
        let id = (self.key, self.n);
        {
            let mut r = RUNNING
                .lock()
                .map_err(|_| JobError::permanent("poisoned"))?;
            let c = r.entry(id).or_default();
            *c += 1;
            if *c > 1 {
                OVERLAPS
                    .lock()
                    .map_err(|_| JobError::permanent("poisoned"))?
                    .push(id);
            }
        }
        tokio::time::sleep(Duration::from_millis(self.hold_ms)).await;
        if let Ok(mut r) = RUNNING.lock() {
            if let Some(c) = r.get_mut(&id) {
                *c -= 1;
            }
        }
        Ok(())
    }
}

/// Fails its first `fail_times` attempts (with a retry-after if given), then succeeds.
#[derive(Debug, Serialize, Deserialize)]
struct Flaky {
    key: Uuid,
    fail_times: i32,
    retry_after_ms: Option<u64>,
}

impl Job for Flaky {
    const KIND: &'static str = "test.flaky";
    const MAX_ATTEMPTS: i32 = 3;
    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        record(self.key, 0, ctx.attempt);
        if ctx.attempt <= self.fail_times {
            let msg = format!("platform said no (attempt {})", ctx.attempt);
            return Err(match self.retry_after_ms {
                Some(ms) => JobError::retry_after(msg, Duration::from_millis(ms)),
                None => JobError::retry(msg),
            });
        }
        Ok(())
    }
}

/// Never finishes its first attempt; later attempts succeed at once.
#[derive(Debug, Serialize, Deserialize)]
struct Hang {
    key: Uuid,
}

impl Job for Hang {
    const KIND: &'static str = "test.hang";
    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        record(self.key, 0, ctx.attempt);
        if ctx.attempt == 1 {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            record(self.key, 99, ctx.attempt);
        }
        Ok(())
    }
}

/// Panics on its first attempt and gives up for good on the second.
#[derive(Debug, Serialize, Deserialize)]
struct Doomed {
    key: Uuid,
}

impl Job for Doomed {
    const KIND: &'static str = "test.doomed";
    const MAX_ATTEMPTS: i32 = 5;
    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        record(self.key, 0, ctx.attempt);
        if ctx.attempt == 1 {
            panic!("bug in a job handler");
        }
        Err(JobError::permanent("the ad account was deleted"))
    }
}

/// Makes `writes` "platform changes" `gap_ms` apart, renewing its lease before each one as the
/// handlers that write to platforms do.
#[derive(Debug, Serialize, Deserialize)]
struct Writes {
    key: Uuid,
    writes: u64,
    gap_ms: u64,
}

impl Job for Writes {
    const KIND: &'static str = "test.writes";
    const MAX_ATTEMPTS: i32 = 1;
    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        for n in 0..self.writes {
            ctx.lease.renew().await?;
            record(self.key, n, ctx.attempt);
            tokio::time::sleep(Duration::from_millis(self.gap_ms)).await;
        }
        Ok(())
    }
}

fn registry() -> Registry {
    Registry::new()
        .with::<Track>()
        .with::<Flaky>()
        .with::<Hang>()
        .with::<Doomed>()
        .with::<Writes>()
}

fn opts(workers: usize) -> WorkerOptions {
    WorkerOptions {
        workers,
        poll_interval: Duration::from_millis(25),
        lease: Duration::from_secs(1),
        backoff_base: Duration::from_millis(200),
        backoff_max: Duration::from_secs(2),
        shutdown_timeout: Duration::from_secs(2),
        stats_interval: Duration::from_millis(200),
        ..WorkerOptions::default()
    }
}

fn start(t: &TestApp, o: WorkerOptions) -> RunnerHandle {
    Runner::new(t.app.clone(), registry(), o).start()
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---------- database helpers (as the admin role, which sees every row) ----------

async fn admin(t: &TestApp) -> adpilot::db::Conn {
    adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin connection")
}

async fn new_org(t: &TestApp, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    diesel::sql_query("INSERT INTO organizations (id, name) VALUES ($1, $2)")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<Text, _>(name)
        .execute(&mut admin(t).await)
        .await
        .expect("insert organization");
    id
}

#[derive(Debug, diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    lease_expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    finished_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    run_at: DateTime<Utc>,
}

async fn rows(t: &TestApp, kind: &str) -> Vec<Row> {
    diesel::sql_query(
        "SELECT id, state, attempts, last_error, lease_expires_at, finished_at, run_at
         FROM jobs WHERE kind = $1 ORDER BY created_at, id",
    )
    .bind::<Text, _>(kind)
    .load(&mut admin(t).await)
    .await
    .expect("jobs")
}

async fn one_row(t: &TestApp, kind: &str) -> Row {
    let mut r = rows(t, kind).await;
    assert_eq!(r.len(), 1, "one {kind} job");
    r.remove(0)
}

async fn enqueue_for(t: &TestApp, org: Uuid, job: impl Job) -> Uuid {
    t.db()
        .tenant(org, async move |c| {
            Ok::<_, DbError>(enqueue(c, Some(org), &job).await?)
        })
        .await
        .expect("enqueue")
        .expect("not deduplicated")
}

// ---------- tests ----------

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_runs() {
    let t = TestApp::new().await;
    let org = new_org(&t, "Acme").await;
    let key = Uuid::new_v4();
    let rolled_back: Result<(), DbError> = t
        .db()
        .tenant(org, async move |c| {
            enqueue(
                c,
                Some(org),
                &Track {
                    key,
                    n: 1,
                    hold_ms: 0,
                },
            )
            .await?;
            // The caller's own work fails after enqueueing: everything rolls back.
            Err(DbError::Connect("the caller's work failed".into()))
        })
        .await;
    assert!(rolled_back.is_err());
    enqueue_for(
        &t,
        org,
        Track {
            key,
            n: 2,
            hold_ms: 0,
        },
    )
    .await;

    let runner = start(&t, opts(2));
    wait_for("the committed job", Duration::from_secs(10), || async {
        events(key).iter().any(|e| e.n == 2)
    })
    .await;
    runner.shutdown().await;
    // The rolled-back job left no row, so no worker can ever claim it (the row count below).
    assert!(
        events(key).iter().all(|e| e.n == 2),
        "the rolled-back job ran: {:?}",
        events(key)
    );
    let r = rows(&t, Track::KIND).await;
    assert_eq!(r.len(), 1, "only the committed job exists");
    assert_eq!(r[0].state, "succeeded");
}

#[tokio::test]
async fn two_workers_never_run_the_same_job_at_once() {
    let t = TestApp::new().await;
    let org = new_org(&t, "Acme").await;
    let key = Uuid::new_v4();
    let total = 60u64;
    t.db()
        .tenant(org, async move |c| {
            for n in 0..total {
                enqueue(
                    c,
                    Some(org),
                    &Track {
                        key,
                        n,
                        hold_ms: 15,
                    },
                )
                .await?;
            }
            Ok::<_, DbError>(())
        })
        .await
        .expect("enqueue");
    // Two processes' worth of runners, four workers each, on one database.
    let a = start(&t, opts(4));
    let b = start(&t, opts(4));
    wait_for("every job to run", Duration::from_secs(30), || async {
        store::unfinished_count(t.db()).await.ok() == Some(0)
    })
    .await;
    a.shutdown().await;
    b.shutdown().await;
    let mut runs: HashMap<u64, usize> = HashMap::new();
    for e in events(key) {
        *runs.entry(e.n).or_default() += 1;
    }
    assert_eq!(runs.len() as u64, total, "every job ran");
    assert!(runs.values().all(|&c| c == 1), "a job ran twice: {runs:?}");
    let overlaps: Vec<_> = OVERLAPS
        .lock()
        .map(|o| o.iter().filter(|(k, _)| *k == key).cloned().collect())
        .unwrap_or_default();
    assert!(overlaps.is_empty(), "concurrent runs: {overlaps:?}");
    assert!(
        rows(&t, Track::KIND)
            .await
            .iter()
            .all(|r| r.state == "succeeded" && r.attempts == 1)
    );
}

#[tokio::test]
async fn job_metrics_count_kinds_states_and_run_times() {
    let t = TestApp::new().await;
    let org = new_org(&t, "Acme").await;
    let key = Uuid::new_v4();
    for n in 0..3 {
        enqueue_for(&t, org, Track { key, n, hold_ms: 0 }).await;
    }
    let runner = start(&t, opts(2));
    wait_for("the jobs", Duration::from_secs(10), || async {
        store::unfinished_count(t.db()).await.ok() == Some(0)
    })
    .await;
    // The counts are refreshed every 200 ms in these tests.
    wait_for("the refreshed counts", Duration::from_secs(30), || async {
        t.app
            .metrics
            .render()
            .contains("jobs{kind=\"test.track\",state=\"succeeded\"} 3")
    })
    .await;
    runner.shutdown().await;
    let text = t.app.metrics.render();
    assert!(
        text.contains("jobs{kind=\"test.track\",state=\"succeeded\"} 3"),
        "{text}"
    );
    assert!(text.contains("job_run_duration_seconds_count{kind=\"test.track\"} 3"));
    assert!(text.contains("job_runs_total{kind=\"test.track\",outcome=\"succeeded\"} 3"));
    assert!(text.contains("job_wait_seconds_count{queue=\"default\"} 3"));
}

#[tokio::test]
async fn a_panic_is_a_failed_attempt_and_a_permanent_error_kills_the_job_at_once() {
    let t = TestApp::new().await;
    let org = new_org(&t, "Acme").await;
    let key = Uuid::new_v4();
    enqueue_for(&t, org, Doomed { key }).await;
    let mut o = opts(1);
    o.backoff_base = Duration::from_millis(10);
    let runner = start(&t, o);
    wait_for("the job to die", Duration::from_secs(10), || async {
        one_row(&t, Doomed::KIND).await.state == "dead"
    })
    .await;
    // The worker survived the panic and still runs jobs.
    enqueue_for(
        &t,
        org,
        Track {
            key,
            n: 5,
            hold_ms: 0,
        },
    )
    .await;
    wait_for("a later job", Duration::from_secs(10), || async {
        events(key).iter().any(|e| e.n == 5)
    })
    .await;
    runner.shutdown().await;
    let row = one_row(&t, Doomed::KIND).await;
    assert_eq!(
        row.attempts, 2,
        "dead on the permanent error, 3 attempts unused"
    );
    assert_eq!(
        row.last_error.as_deref(),
        Some("the ad account was deleted")
    );
}

/// The heartbeat notices a lost lease only at its next beat; a run that renews its lease
/// before each platform change stops at the first change after another worker took it over.
#[tokio::test]
async fn a_run_taken_over_by_another_worker_makes_no_further_platform_change() {
    let t = TestApp::new().await;
    let org = new_org(&t, "Acme").await;
    let key = Uuid::new_v4();
    enqueue_for(
        &t,
        org,
        Writes {
            key,
            writes: 20,
            gap_ms: 100,
        },
    )
    .await;
    // A long lease: the heartbeat (every 10 s) would not notice the takeover in time.
    let mut o = opts(1);
    o.lease = Duration::from_secs(30);
    let runner = start(&t, o);
    wait_for("two changes", Duration::from_secs(10), || async {
        events(key).len() >= 2
    })
    .await;
    // What the reaper and another worker's claim do to the row when a lease runs out.
    diesel::sql_query(
        "UPDATE jobs SET lease_owner = 'another-process#0', lease_expires_at = now() + interval '30 seconds'
         WHERE kind = 'test.writes'",
    )
    .execute(&mut admin(&t).await)
    .await
    .expect("take the job over");
    let at_takeover = events(key).len();
    // The run ends (its next renewal finds the lease gone) and counts as finished.
    wait_for("the run to stop", Duration::from_secs(30), || async {
        t.app
            .metrics
            .render()
            .contains("job_runs_total{kind=\"test.writes\",")
    })
    .await;
    let after = events(key).len();
    assert!(
        after <= at_takeover + 1,
        "{} changes after the takeover (at most the one under way may finish)",
        after - at_takeover
    );
    assert!(after < 20, "the run went on to the end");
    let row = one_row(&t, Writes::KIND).await;
    assert_eq!(row.state, "running", "the row is the other worker's");
    runner.shutdown().await;
}

#[tokio::test]
async fn a_job_whose_worker_was_killed_runs_again_after_the_lease_expires() {
    let t = TestApp::new().await;
    let org = new_org(&t, "Acme").await;
    let key = Uuid::new_v4();
    enqueue_for(&t, org, Hang { key }).await;

    let first = start(&t, opts(1));
    wait_for(
        "the first attempt to start",
        Duration::from_secs(10),
        || async { !events(key).is_empty() },
    )
    .await;
    // Once a heartbeat has extended the lease, kill the worker without any cleanup.
    let first_lease = one_row(&t, Hang::KIND)
        .await
        .lease_expires_at
        .expect("a lease");
    wait_for("a heartbeat", Duration::from_secs(30), || async {
        one_row(&t, Hang::KIND)
            .await
            .lease_expires_at
            .is_some_and(|l| l > first_lease)
    })
    .await;
    drop(first);
    let killed = one_row(&t, Hang::KIND).await;
    assert_eq!(killed.state, "running", "a killed worker leaves its lease");
    let lease_end = killed.lease_expires_at.expect("a lease");

    let second = start(&t, opts(1));
    wait_for("the job to run again", Duration::from_secs(15), || async {
        events(key).iter().any(|e| e.attempt == 2)
    })
    .await;
    wait_for("the job to succeed", Duration::from_secs(5), || async {
        one_row(&t, Hang::KIND).await.state == "succeeded"
    })
    .await;
    second.shutdown().await;
    let ev = events(key);
    let rerun = ev.iter().find(|e| e.attempt == 2).expect("second attempt");
    assert!(
        rerun.at >= lease_end,
        "ran again at {} before the lease ended at {lease_end}",
        rerun.at
    );
    assert!(
        ev.iter().all(|e| e.n != 99),
        "the killed attempt went on running"
    );
    assert_eq!(one_row(&t, Hang::KIND).await.attempts, 2);
}

#[tokio::test]
async fn a_failing_job_backs_off_and_ends_dead_after_max_attempts() {
    let t = TestApp::new().await;
    let org = new_org(&t, "Acme").await;
    let key = Uuid::new_v4();
    enqueue_for(
        &t,
        org,
        Flaky {
            key,
            fail_times: 99,
            retry_after_ms: None,
        },
    )
    .await;
    let runner = start(&t, opts(2));
    wait_for("the job to die", Duration::from_secs(15), || async {
        one_row(&t, Flaky::KIND).await.state == "dead"
    })
    .await;
    // Nothing runs a dead job: a job queued after it runs, and the dead one did not again.
    enqueue_for(
        &t,
        org,
        Track {
            key: Uuid::new_v4(),
            n: 1,
            hold_ms: 0,
        },
    )
    .await;
    wait_for("a later job", Duration::from_secs(30), || async {
        rows(&t, Track::KIND)
            .await
            .iter()
            .all(|r| r.state == "succeeded")
    })
    .await;
    runner.shutdown().await;

    let ev = events(key);
    assert_eq!(
        ev.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // Base 200 ms, doubled per attempt, at least half of it after jitter.
    let gap1 = ev[1].at - ev[0].at;
    let gap2 = ev[2].at - ev[1].at;
    assert!(gap1 >= chrono::Duration::milliseconds(100), "{gap1}");
    assert!(gap2 >= chrono::Duration::milliseconds(200), "{gap2}");
    let row = one_row(&t, Flaky::KIND).await;
    assert_eq!(row.attempts, 3);
    assert!(row.finished_at.is_some());
    assert_eq!(
        row.last_error.as_deref(),
        Some("platform said no (attempt 3)")
    );
}

#[tokio::test]
async fn a_retry_after_from_the_job_is_honoured() {
    let t = TestApp::new().await;
    let org = new_org(&t, "Acme").await;
    let key = Uuid::new_v4();
    enqueue_for(
        &t,
        org,
        Flaky {
            key,
            fail_times: 1,
            retry_after_ms: Some(1500),
        },
    )
    .await;
    let mut o = opts(2);
    // Backoff alone would retry within 10 ms.
    o.backoff_base = Duration::from_millis(10);
    let runner = start(&t, o);
    wait_for("the first attempt", Duration::from_secs(10), || async {
        !events(key).is_empty()
    })
    .await;
    wait_for(
        "the failure to be recorded",
        Duration::from_secs(5),
        || async { one_row(&t, Flaky::KIND).await.state != "running" },
    )
    .await;
    let waiting = one_row(&t, Flaky::KIND).await;
    assert_eq!(waiting.state, "failed");
    assert_eq!(
        waiting.last_error.as_deref(),
        Some("platform said no (attempt 1)")
    );
    wait_for("the second attempt", Duration::from_secs(10), || async {
        events(key).len() >= 2
    })
    .await;
    wait_for("success", Duration::from_secs(5), || async {
        one_row(&t, Flaky::KIND).await.state == "succeeded"
    })
    .await;
    runner.shutdown().await;
    let ev = events(key);
    let gap = ev[1].at - ev[0].at;
    assert!(
        gap >= chrono::Duration::milliseconds(1500),
        "retried after {gap}"
    );
    assert!(waiting.run_at >= ev[0].at + chrono::Duration::milliseconds(1500));
}

#[tokio::test]
async fn two_schedulers_on_one_database_enqueue_one_job_per_slot() {
    let t = TestApp::new().await;
    let key = Uuid::new_v4();
    let schedules = || {
        vec![Schedule::new("tick", "* * * * * *", move |slot| Track {
            key,
            n: slot.timestamp() as u64,
            hold_ms: 0,
        })]
    };
    let mut a = Scheduler::new(t.db().clone(), schedules()).expect("scheduler a");
    let mut b = Scheduler::new(t.db().clone(), schedules()).expect("scheduler b");

    // The same tick seen by both processes, a few hundred milliseconds apart.
    let base = {
        use chrono::Timelike;
        let b = Utc::now() - chrono::Duration::seconds(60);
        b.with_nanosecond(0).unwrap_or(b)
    };
    for i in 0..5 {
        let at = base + chrono::Duration::seconds(i) + chrono::Duration::milliseconds(100);
        let later = at + chrono::Duration::milliseconds(600);
        let (ra, rb) = tokio::join!(a.fire("tick", at), b.fire("tick", later));
        let (sa, ja) = ra.expect("fire a");
        let (sb, jb) = rb.expect("fire b");
        assert_eq!(sa, sb, "both name the same slot");
        assert!(
            ja.is_some() != jb.is_some(),
            "exactly one enqueues slot {sa}"
        );
    }
    assert_eq!(rows(&t, Track::KIND).await.len(), 5);

    // And with real ticks, every second, for a few seconds.
    a.start().await.expect("start a");
    b.start().await.expect("start b");
    wait_for("three more ticks", Duration::from_secs(60), || async {
        rows(&t, Track::KIND).await.len() >= 5 + 3
    })
    .await;
    a.shutdown().await;
    b.shutdown().await;

    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = BigInt)]
        jobs: i64,
        #[diesel(sql_type = BigInt)]
        distinct_payloads: i64,
        #[diesel(sql_type = BigInt)]
        slots: i64,
    }
    let c: Counts = diesel::sql_query(
        "SELECT (SELECT count(*) FROM jobs WHERE kind = 'test.track') AS jobs,
                (SELECT count(DISTINCT payload->'n') FROM jobs WHERE kind = 'test.track') AS distinct_payloads,
                (SELECT count(*) FROM job_schedule_slots WHERE schedule = 'tick') AS slots",
    )
    .get_result(&mut admin(&t).await)
    .await
    .expect("counts");
    assert!(c.jobs >= 5 + 3, "ticks enqueued jobs: {}", c.jobs);
    assert_eq!(c.jobs, c.distinct_payloads, "one job per slot");
    assert_eq!(c.jobs, c.slots);
}

#[tokio::test]
async fn backup_then_wipe_then_restore_gives_back_equal_data() {
    use adpilot::jobs::backup;
    if backup::find_tool("pg_dump", None).is_none()
        || backup::find_tool("pg_restore", None).is_none()
    {
        skip_for_missing_tool("pg_dump/pg_restore are not installed");
        return;
    }
    let t = TestApp::new().await;
    t.sign_up("owner@example.com", "Backed Up Inc").await;
    let org = new_org(&t, "Second").await;
    enqueue_for(
        &t,
        org,
        Track {
            key: Uuid::new_v4(),
            n: 7,
            hold_ms: 0,
        },
    )
    .await;

    async fn snapshot(t: &TestApp) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct J {
            #[diesel(sql_type = Text)]
            j: String,
        }
        let mut c = admin(t).await;
        let mut out = Vec::new();
        for table in [
            "users",
            "organizations",
            "memberships",
            "sessions",
            "audit_log",
            "jobs",
        ] {
            let rows: Vec<J> = diesel::sql_query(format!(
                "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]')::text AS j FROM {table} t"
            ))
            .load(&mut c)
            .await
            .expect("snapshot");
            out.push(format!("{table}: {}", rows[0].j));
        }
        out
    }
    let before = snapshot(&t).await;
    assert!(before[0].contains("owner@example.com"));

    let dir = t.data_dir.path().join("backups");
    let file = backup::backup_now(&t.app.backup, &dir, 7)
        .await
        .expect("backup");
    assert!(file.is_file());

    // Wipe: the whole schema, tables, functions, policies and grants, is dropped.
    let mut c = admin(&t).await;
    for q in ["DROP SCHEMA public CASCADE", "CREATE SCHEMA public"] {
        diesel::sql_query(q).execute(&mut c).await.expect("wipe");
    }
    let gone = diesel::sql_query("SELECT 1 FROM users")
        .execute(&mut c)
        .await;
    assert!(gone.is_err(), "tables are gone after the wipe");

    backup::restore(&t.app.backup, &file)
        .await
        .expect("restore");
    assert_eq!(snapshot(&t).await, before);
    // The application role works on the restored tables, tenant rules included.
    let seen = t
        .db()
        .tenant(org, async move |c| {
            Ok::<_, DbError>(store::list_for_org(c, None, 10).await?)
        })
        .await
        .expect("tenant read after restore");
    assert_eq!(seen.len(), 1);
}

#[tokio::test]
async fn an_admin_sees_a_dead_job_on_the_jobs_page_and_retries_it() {
    let t = TestApp::new().await;
    let mut owner = t.sign_up("owner@example.com", "Agency").await;
    let other = new_org(&t, "Someone else").await;
    let org: Uuid = {
        #[derive(diesel::QueryableByName)]
        struct O {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: Uuid,
        }
        let o: O = diesel::sql_query("SELECT id FROM organizations WHERE name = 'Agency'")
            .get_result(&mut admin(&t).await)
            .await
            .expect("org");
        o.id
    };
    let key = Uuid::new_v4();
    enqueue_for(
        &t,
        org,
        Flaky {
            key,
            fail_times: 99,
            retry_after_ms: None,
        },
    )
    .await;
    // Another organization's job must not show up.
    enqueue_for(
        &t,
        other,
        Track {
            key,
            n: 1,
            hold_ms: 0,
        },
    )
    .await;
    let mut o = opts(1);
    o.backoff_base = Duration::from_millis(10);
    let runner = start(&t, o);
    wait_for("the job to die", Duration::from_secs(15), || async {
        one_row(&t, Flaky::KIND).await.state == "dead"
    })
    .await;
    wait_for("the other job", Duration::from_secs(5), || async {
        one_row(&t, Track::KIND).await.state == "succeeded"
    })
    .await;
    runner.shutdown().await;
    let dead = one_row(&t, Flaky::KIND).await;

    let dash = owner.get("/dashboard").await;
    assert!(
        dash.body.contains("href=\"/jobs\""),
        "admins see the Jobs link"
    );
    let page = owner.get("/jobs").await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("test.flaky"));
    assert!(page.body.contains(">dead<"));
    assert!(page.body.contains("3 / 3"));
    assert!(page.body.contains("platform said no (attempt 3)"));
    assert!(
        !page.body.contains("test.track"),
        "another organization's job is listed"
    );
    let action = format!("/jobs/{}/retry", dead.id);
    assert!(page.body.contains(&action));
    let only_dead = owner.get("/jobs?state=dead").await;
    assert!(only_dead.body.contains("test.flaky"));
    assert!(
        owner
            .get("/jobs?state=succeeded")
            .await
            .body
            .contains("No jobs in state succeeded")
    );

    let r = owner.post(&action, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let row = one_row(&t, Flaky::KIND).await;
    assert_eq!(row.state, "queued");
    assert_eq!(row.attempts, 0);
    let after = owner.get("/jobs").await;
    assert!(after.body.contains("queued to run again"));
    assert!(!after.body.contains(&action), "no retry button once queued");
    // Retrying it again is refused with a message; another organization's job is not found.
    let again = owner.post(&action, &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(
        owner
            .get("/jobs")
            .await
            .body
            .contains("only a dead job can be retried")
    );
    let foreign = one_row(&t, Track::KIND).await;
    owner
        .post(&format!("/jobs/{}/retry", foreign.id), &[])
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let audit = owner.get("/settings/audit").await;
    assert!(audit.body.contains("job.retry"));
}

#[tokio::test]
async fn members_and_clients_cannot_see_or_retry_jobs() {
    let t = TestApp::new().await;
    let mut owner = t.sign_up("o@example.com", "Agency").await;
    let mut others = Vec::new();
    for (email, role) in [("m@example.com", "member"), ("c@example.com", "client")] {
        owner.get("/settings").await;
        owner
            .post("/settings/invites", &[("email", email), ("role", role)])
            .await;
        let path = t.last_email_link(&format!("{BASE}/invites/"));
        let mut c = t.client();
        c.get(&path).await;
        c.post(
            &path,
            &[("name", role), ("password", "a good long password")],
        )
        .await;
        c.get("/dashboard").await.assert_status(StatusCode::OK);
        others.push(c);
    }
    let org: Uuid = {
        #[derive(diesel::QueryableByName)]
        struct O {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: Uuid,
        }
        let o: O = diesel::sql_query("SELECT id FROM organizations WHERE name = 'Agency'")
            .get_result(&mut admin(&t).await)
            .await
            .expect("org");
        o.id
    };
    let id = enqueue_for(
        &t,
        org,
        Track {
            key: Uuid::new_v4(),
            n: 1,
            hold_ms: 0,
        },
    )
    .await;
    diesel::sql_query("UPDATE jobs SET state = 'dead', finished_at = now() WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(&mut admin(&t).await)
        .await
        .expect("kill job");
    for c in &mut others {
        let dash = c.get("/dashboard").await;
        assert!(!dash.body.contains("href=\"/jobs\""), "no Jobs link");
        c.get("/jobs").await.assert_status(StatusCode::FORBIDDEN);
        c.post(&format!("/jobs/{id}/retry"), &[])
            .await
            .assert_status(StatusCode::FORBIDDEN);
    }
    assert_eq!(one_row(&t, Track::KIND).await.state, "dead");
}

#[tokio::test]
async fn graceful_shutdown_releases_a_job_still_running_at_the_timeout() {
    let t = TestApp::new().await;
    let org = new_org(&t, "Acme").await;
    let key = Uuid::new_v4();
    enqueue_for(&t, org, Hang { key }).await;
    // Two workers: the idle one stops at once, the other is still running at the timeout, and
    // shutting down must wait for the second without touching the first again.
    let mut o = opts(2);
    o.shutdown_timeout = Duration::from_millis(300);
    o.lease = Duration::from_secs(30);
    let runner = start(&t, o);
    wait_for("the job to start", Duration::from_secs(10), || async {
        !events(key).is_empty()
    })
    .await;
    runner.shutdown().await;
    let row = one_row(&t, Hang::KIND).await;
    assert_eq!(row.state, "queued", "released for another process");
    assert_eq!(row.attempts, 0, "the interrupted attempt does not count");
    assert!(row.lease_expires_at.is_none());
}

#[tokio::test]
async fn dedupe_by_kind_keeps_one_unfinished_job_per_organization() {
    use adpilot::jobs::maintenance::PruneSessions;
    let t = TestApp::new().await;
    let first = adpilot::jobs::enqueue_system(t.db(), &PruneSessions {})
        .await
        .expect("enqueue");
    let second = adpilot::jobs::enqueue_system(t.db(), &PruneSessions {})
        .await
        .expect("enqueue");
    assert!(first.is_some());
    assert_eq!(second, None, "deduplicated while the first is unfinished");
    // A tenant transaction does not see system jobs.
    let org = new_org(&t, "Acme").await;
    let seen = t
        .db()
        .tenant(org, async move |c| {
            Ok::<_, DbError>(store::list_for_org(c, None, 10).await?)
        })
        .await
        .expect("list");
    assert!(seen.is_empty());
}

#[tokio::test]
async fn outside_the_worker_scope_jobs_follow_the_tenant_rules() {
    use adpilot::jobs::maintenance::PruneJobs;
    let t = TestApp::new().await;
    let a = new_org(&t, "A").await;
    let b = new_org(&t, "B").await;
    adpilot::jobs::enqueue_system(t.db(), &PruneJobs {})
        .await
        .expect("system job");
    let key = Uuid::new_v4();
    enqueue_for(
        &t,
        a,
        Track {
            key,
            n: 1,
            hold_ms: 0,
        },
    )
    .await;

    let db = t.db().clone();
    let count = |org: Option<Uuid>| {
        let db = db.clone();
        async move {
            let f = async move |c: &mut adpilot::db::Conn| {
                Ok::<_, DbError>(store::list_for_org(c, None, 100).await?.len())
            };
            match org {
                Some(o) => db.tenant(o, f).await,
                None => db.global(f).await,
            }
            .expect("count")
        }
    };
    assert_eq!(count(None).await, 0, "no context: no jobs at all");
    assert_eq!(count(Some(b)).await, 0, "B sees none of A's jobs");
    assert_eq!(
        count(Some(a)).await,
        1,
        "A sees its own job, not the system job"
    );

    // A tenant transaction cannot enqueue for another organization, nor a system job.
    for target in [Some(b), None] {
        let r = t
            .db()
            .tenant(a, async move |c| {
                Ok::<_, DbError>(
                    enqueue(
                        c,
                        target,
                        &Track {
                            key,
                            n: 2,
                            hold_ms: 0,
                        },
                    )
                    .await?,
                )
            })
            .await;
        assert!(r.is_err(), "enqueue for {target:?} from A was allowed");
    }
}

/// A server that was down when a schedule was due enqueues the most recent missed slot when it
/// starts (once across processes), and a slot already enqueued is not enqueued again.
#[tokio::test]
async fn a_schedule_missed_while_down_is_caught_up_once_at_start() {
    let t = TestApp::new().await;
    let key = Uuid::new_v4();
    // Nightly at 03:00 UTC: the most recent slot is in the past whenever the test runs.
    let schedules = || {
        vec![Schedule::new("nightly", "0 0 3 * * *", move |slot| Track {
            key,
            n: slot.timestamp() as u64,
            hold_ms: 0,
        })]
    };
    let now = Utc::now();
    let today_3 = now
        .date_naive()
        .and_hms_opt(3, 0, 0)
        .expect("03:00")
        .and_utc();
    let missed = if today_3 <= now {
        today_3
    } else {
        today_3 - chrono::Duration::days(1)
    };
    let mut a = Scheduler::new(t.db().clone(), schedules()).expect("scheduler a");
    let mut b = Scheduler::new(t.db().clone(), schedules()).expect("scheduler b");
    a.start().await.expect("start a");
    b.start().await.expect("start b");
    a.shutdown().await;
    b.shutdown().await;
    #[derive(diesel::QueryableByName)]
    struct Slot {
        #[diesel(sql_type = Timestamptz)]
        slot: DateTime<Utc>,
    }
    let slots: Vec<Slot> =
        diesel::sql_query("SELECT slot FROM job_schedule_slots WHERE schedule = 'nightly'")
            .load(&mut admin(&t).await)
            .await
            .expect("slots");
    assert_eq!(
        slots.iter().map(|s| s.slot).collect::<Vec<_>>(),
        vec![missed],
        "the missed 03:00 slot, once"
    );
    let jobs = rows(&t, Track::KIND).await;
    assert_eq!(jobs.len(), 1, "one job for the missed slot");
    // A later start (a restart) finds the slot done and adds nothing.
    let mut c = Scheduler::new(t.db().clone(), schedules()).expect("scheduler c");
    c.start().await.expect("start c");
    c.shutdown().await;
    assert_eq!(rows(&t, Track::KIND).await.len(), 1);
}

/// Housekeeping jobs, run by the workers: sessions past their idle or absolute timeout are
/// deleted, live ones kept; finished jobs older than the kept days are deleted, newer kept.
#[tokio::test]
async fn housekeeping_prunes_expired_sessions_and_old_finished_jobs() {
    use adpilot::jobs::maintenance::{PruneJobs, PruneSessions};
    let t = TestApp::new().await;
    let _live = t.sign_up("live@example.com", "Live").await;
    let _idle = t.sign_up("idle@example.com", "Idle").await;
    let _old = t.sign_up("old@example.com", "Old").await;
    let mut a = admin(&t).await;
    for sql in [
        "UPDATE sessions SET last_seen_at = now() - interval '13 hours' \
         WHERE user_id = (SELECT id FROM users WHERE email = 'idle@example.com')",
        "UPDATE sessions SET expires_at = now() - interval '1 minute' \
         WHERE user_id = (SELECT id FROM users WHERE email = 'old@example.com')",
    ] {
        diesel::sql_query(sql).execute(&mut a).await.expect(sql);
    }
    let org = new_org(&t, "Acme").await;
    let key = Uuid::new_v4();
    for n in [1, 2] {
        enqueue_for(&t, org, Track { key, n, hold_ms: 0 }).await;
    }
    let runner = Runner::new(
        t.app.clone(),
        registry().with::<PruneSessions>().with::<PruneJobs>(),
        opts(1),
    )
    .start();
    wait_for("the jobs", Duration::from_secs(30), || async {
        store::unfinished_count(t.db()).await.ok() == Some(0)
    })
    .await;
    // One finished 15 days ago (past the default 14), one just now.
    diesel::sql_query(
        "UPDATE jobs SET finished_at = now() - interval '15 days' WHERE kind = 'test.track' AND payload->>'n' = '1'",
    )
    .execute(&mut a)
    .await
    .expect("age a job");
    adpilot::jobs::enqueue_system(t.db(), &PruneSessions {})
        .await
        .expect("enqueue");
    adpilot::jobs::enqueue_system(t.db(), &PruneJobs {})
        .await
        .expect("enqueue");
    wait_for("the housekeeping", Duration::from_secs(30), || async {
        store::unfinished_count(t.db()).await.ok() == Some(0)
    })
    .await;
    runner.shutdown().await;
    #[derive(diesel::QueryableByName)]
    struct Email {
        #[diesel(sql_type = Text)]
        email: String,
    }
    let left: Vec<Email> = diesel::sql_query(
        "SELECT u.email FROM sessions s JOIN users u ON u.id = s.user_id ORDER BY u.email",
    )
    .load(&mut a)
    .await
    .expect("sessions");
    assert_eq!(
        left.into_iter().map(|e| e.email).collect::<Vec<_>>(),
        vec!["live@example.com".to_string()]
    );
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = Text)]
        n: String,
    }
    let kept: Vec<N> = diesel::sql_query(
        "SELECT payload->>'n' AS n FROM jobs WHERE kind = 'test.track' ORDER BY 1",
    )
    .load(&mut a)
    .await
    .expect("jobs");
    assert_eq!(
        kept.into_iter().map(|r| r.n).collect::<Vec<_>>(),
        vec!["2".to_string()],
        "the old finished job went, the recent one stayed"
    );
}
