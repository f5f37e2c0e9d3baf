//! Workers: claim, run outside any transaction under a heartbeat-extended lease, record the
//! outcome; a reaper takes back expired leases; graceful shutdown releases what is left.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::settings::JobsConfig;
use super::store::{self, Claimed};
use super::{JobCtx, JobError, Registry};
use crate::app::AppState;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Concurrent jobs in this process.
    pub workers: usize,
    /// Sleep between looks at an empty queue (plus up to 25% jitter).
    pub poll_interval: Duration,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    /// First retry delay; doubled per attempt, with jitter, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long shutdown waits for running jobs before aborting and releasing them.
    pub shutdown_timeout: Duration,
    /// Queues to take jobs from; `None` = all.
    pub queues: Option<Vec<String>>,
    /// Identifies this process in `lease_owner`.
    pub id: String,
    /// How often job counts and queue lag are refreshed in the metrics.
    pub stats_interval: Duration,
}

impl WorkerOptions {
    pub fn from_config(c: &JobsConfig) -> WorkerOptions {
        WorkerOptions {
            workers: c.workers,
            poll_interval: c.poll_interval,
            lease: c.lease,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(3600),
            shutdown_timeout: c.shutdown_timeout,
            queues: None,
            id: process_id(),
            stats_interval: Duration::from_secs(15),
        }
    }

    fn heartbeat(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(50))
    }

    fn reap_interval(&self) -> Duration {
        (self.lease / 2).clamp(Duration::from_millis(100), Duration::from_secs(15))
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions::from_config(&JobsConfig::default())
    }
}

/// `host:pid:random`, unique per process start.
pub fn process_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "adpilot".into());
    let rnd: u32 = rand::random();
    format!("{host}:{}:{rnd:08x}", std::process::id())
}

/// Delay before the next attempt after `attempt` failed: base * 2^(attempt-1), capped, with
/// "equal jitter" (half fixed, half random) so a burst of failures spreads out; a retry-after
/// from the job is a floor, never shortened.
pub fn backoff(
    attempt: i32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
    rng: &mut impl Rng,
) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let full = base.saturating_mul(1u32 << exp).min(max);
    let half = full / 2;
    let jittered = half + half.mul_f64(rng.random::<f64>());
    match retry_after {
        // A little jitter on top so many jobs limited at once do not return at once.
        Some(after) => after + Duration::from_millis(rng.random_range(0..=250)),
        None => jittered,
    }
}

struct Shared {
    app: AppState,
    registry: Registry,
    kinds: Vec<String>,
    opts: WorkerOptions,
}

pub struct Runner {
    shared: Arc<Shared>,
}

/// Aborts a task when dropped, so a killed worker takes its job's future with it.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn spawn_guarded<T: Send + 'static>(
    f: impl std::future::Future<Output = T> + Send + 'static,
) -> (JoinHandle<T>, AbortOnDrop) {
    let h = tokio::spawn(f);
    let guard = AbortOnDrop(h.abort_handle());
    (h, guard)
}

/// A started runner. Dropping it kills the workers abruptly (as a crash would: leases are
/// left to expire); [`RunnerHandle::shutdown`] stops them gracefully.
pub struct RunnerHandle {
    // Declared first so it drops first: a dropped handle aborts the tasks before the senders
    // below close (a closed channel would otherwise read as "stop" or "release").
    guards: Vec<AbortOnDrop>,
    stop: watch::Sender<bool>,
    abort: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    timeout: Duration,
}

impl Runner {
    pub fn new(app: AppState, registry: Registry, opts: WorkerOptions) -> Runner {
        let kinds = registry.kinds();
        Runner {
            shared: Arc::new(Shared {
                app,
                registry,
                kinds,
                opts,
            }),
        }
    }

    pub fn start(self) -> RunnerHandle {
        let (stop, stop_rx) = watch::channel(false);
        let (abort, abort_rx) = watch::channel(false);
        let mut workers = Vec::new();
        let mut guards = Vec::new();
        for n in 0..self.shared.opts.workers {
            let shared = self.shared.clone();
            let (s, a) = (stop_rx.clone(), abort_rx.clone());
            let (h, g) = spawn_guarded(worker_loop(shared, n, s, a));
            workers.push(h);
            guards.push(g);
        }
        guards.push(spawn_guarded(reaper_loop(self.shared.clone(), stop_rx.clone())).1);
        guards.push(spawn_guarded(stats_loop(self.shared.clone(), stop_rx)).1);
        tracing::info!(
            workers = self.shared.opts.workers,
            id = %self.shared.opts.id,
            "job workers started"
        );
        RunnerHandle {
            stop,
            abort,
            workers,
            guards,
            timeout: self.shared.opts.shutdown_timeout,
        }
    }
}

impl RunnerHandle {
    /// Stops claiming, waits up to the shutdown timeout for running jobs, then aborts them and
    /// releases their leases so another process can run them at once.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let mut handles = std::mem::take(&mut self.workers);
        let all = futures_util::future::join_all(handles.iter_mut());
        if tokio::time::timeout(self.timeout, all).await.is_err() {
            tracing::warn!(
                timeout_secs = self.timeout.as_secs(),
                "jobs still running at the shutdown timeout: aborting them and releasing their leases"
            );
            let _ = self.abort.send(true);
            // Workers that stopped in time have given up their result; polling their handles
            // again would panic.
            handles.retain(|h| !h.is_finished());
            // Releasing is a quick update per job; give it a bounded moment.
            let all = futures_util::future::join_all(handles.iter_mut());
            if tokio::time::timeout(Duration::from_secs(10), all)
                .await
                .is_err()
            {
                for h in &handles {
                    h.abort();
                }
            }
        }
        self.guards.clear();
        tracing::info!("job workers stopped");
    }
}

async fn worker_loop(
    shared: Arc<Shared>,
    n: usize,
    mut stop: watch::Receiver<bool>,
    abort: watch::Receiver<bool>,
) {
    let owner = format!("{}#{n}", shared.opts.id);
    let queues = shared.opts.queues.clone();
    loop {
        if *stop.borrow() {
            break;
        }
        let claimed = store::claim(
            &shared.app.db,
            &owner,
            &shared.kinds,
            queues.as_deref(),
            shared.opts.lease.as_secs_f64(),
        )
        .await;
        match claimed {
            Ok(Some(job)) => run_one(&shared, &owner, job, abort.clone()).await,
            Ok(None) => {
                let poll = shared.opts.poll_interval;
                let jitter = poll.mul_f64(rand::rng().random::<f64>() * 0.25);
                tokio::select! {
                    _ = tokio::time::sleep(poll + jitter) => {}
                    changed = stop.changed() => if changed.is_err() { break },
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim jobs; trying again shortly");
                tokio::select! {
                    _ = tokio::time::sleep(shared.opts.poll_interval.max(Duration::from_secs(1))) => {}
                    changed = stop.changed() => if changed.is_err() { break },
                }
            }
        }
    }
}

enum Outcome {
    Finished(Result<Result<(), JobError>, tokio::task::JoinError>),
    LeaseLost,
    Aborted,
}

async fn run_one(shared: &Shared, owner: &str, job: Claimed, mut abort: watch::Receiver<bool>) {
    let app = &shared.app;
    let wait = (job.claimed_at - job.due_at).num_milliseconds().max(0) as f64 / 1000.0;
    app.metrics.job_wait(&job.queue, wait);
    let Some(handler) = shared.registry.handler(&job.kind) else {
        // Cannot happen: workers claim only registered kinds.
        let _ = store::release(&app.db, job.id, owner).await;
        return;
    };
    let ctx = JobCtx {
        app: app.clone(),
        id: job.id,
        kind: job.kind.clone(),
        org_id: job.org_id,
        attempt: job.attempts,
        max_attempts: job.max_attempts,
        lease: crate::jobs::Lease::new(app.db.clone(), job.id, owner, shared.opts.lease),
    };
    let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
    let started = Instant::now();
    // Its own task: a panic in the handler becomes a failed attempt, not a dead worker.
    let (mut task, guard) = spawn_guarded(handler(ctx, job.payload.clone()));
    let lease_secs = shared.opts.lease.as_secs_f64();
    let mut beat = tokio::time::interval(shared.opts.heartbeat());
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    beat.tick().await;
    let outcome = loop {
        tokio::select! {
            res = &mut task => break Outcome::Finished(res),
            _ = beat.tick() => match store::heartbeat(&app.db, job.id, owner, lease_secs).await {
                Ok(true) => {}
                Ok(false) => break Outcome::LeaseLost,
                // The lease may still hold; the next beat tries again.
                Err(e) => tracing::warn!(parent: &span, error = %e, "lease heartbeat failed"),
            },
            Ok(()) = abort.changed() => break Outcome::Aborted,
        }
    };
    // Ends the handler if it is still running (lease lost, shutdown).
    drop(guard);
    let elapsed = started.elapsed().as_secs_f64();
    let kind = job.kind.as_str();
    app.metrics.job_run_duration(kind, elapsed);
    let opts = &shared.opts;
    let result = match outcome {
        Outcome::Finished(Ok(Ok(()))) => {
            app.metrics.job_run(kind, "succeeded");
            tracing::debug!(parent: &span, elapsed, "job succeeded");
            with_retries(|| store::complete(&app.db, job.id, owner)).await
        }
        Outcome::Finished(Ok(Err(err))) => {
            let (message, retry_in) = match &err {
                JobError::Permanent(m) => (m.clone(), None),
                JobError::Retry {
                    message,
                    retry_after,
                } => (message.clone(), retry_delay(&job, opts, *retry_after)),
            };
            record_failure(shared, &span, &job, owner, &message, retry_in).await
        }
        Outcome::Finished(Err(join)) => {
            let message = if join.is_panic() {
                "the job panicked (see the server log)".to_string()
            } else {
                "the job was cancelled".to_string()
            };
            tracing::error!(parent: &span, error = %join, "job handler panicked");
            let retry_in = retry_delay(&job, opts, None);
            record_failure(shared, &span, &job, owner, &message, retry_in).await
        }
        Outcome::LeaseLost => {
            app.metrics.job_run(kind, "lease_lost");
            tracing::warn!(parent: &span, "lost the job's lease (expired and reclaimed); stopped running it");
            Ok(false)
        }
        Outcome::Aborted => {
            app.metrics.job_run(kind, "released");
            tracing::info!(parent: &span, "shutdown: released the job for another process");
            with_retries(|| store::release(&app.db, job.id, owner)).await
        }
    };
    if let Err(e) = result {
        // The lease will expire and the reaper hands the job out again.
        tracing::error!(parent: &span, error = %e, "cannot record the job's outcome");
    }
}

/// When a failed attempt runs again: after the backoff (or the handler's hint), unless it was
/// the last attempt.
fn retry_delay(job: &Claimed, opts: &WorkerOptions, hint: Option<Duration>) -> Option<Duration> {
    (job.attempts < job.max_attempts).then(|| {
        backoff(
            job.attempts,
            opts.backoff_base,
            opts.backoff_max,
            hint,
            &mut rand::rng(),
        )
    })
}

async fn record_failure(
    shared: &Shared,
    span: &tracing::Span,
    job: &Claimed,
    owner: &str,
    message: &str,
    retry_in: Option<Duration>,
) -> Result<bool, crate::db::DbError> {
    let app = &shared.app;
    let kind = job.kind.as_str();
    match retry_in {
        Some(d) => {
            app.metrics.job_run(kind, "retry");
            tracing::warn!(parent: span, error = message, retry_in_secs = d.as_secs_f64(), "job failed; will retry");
        }
        None => {
            app.metrics.job_run(kind, "dead");
            tracing::error!(parent: span, error = message, attempts = job.attempts, "job failed for good (dead)");
        }
    }
    let secs = retry_in.map(|d| d.as_secs_f64());
    with_retries(|| store::fail(&app.db, job.id, owner, message, secs)).await
}

/// Outcome writes are retried briefly: losing one would rerun a finished job.
async fn with_retries<F, Fut>(mut f: F) -> Result<bool, crate::db::DbError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, crate::db::DbError>>,
{
    let mut last = None;
    for i in 0..3u32 {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(200 * u64::from(i + 1))).await;
            }
        }
    }
    Err(last.unwrap_or_else(|| crate::db::DbError::Connect("no attempt made".into())))
}

async fn reaper_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let every = shared.opts.reap_interval();
    loop {
        match store::reap_expired(&shared.app.db).await {
            Ok(rows) => {
                for r in rows {
                    tracing::warn!(id = %r.id, kind = %r.kind, state = %r.state, "took back a job whose lease expired");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot check for expired job leases"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
}

async fn stats_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut seen: std::collections::BTreeSet<(String, String)> = Default::default();
    let mut seen_queues: std::collections::BTreeSet<String> = Default::default();
    loop {
        match store::stats(&shared.app.db).await {
            Ok((counts, lags)) => {
                let m = &shared.app.metrics;
                let mut now_seen = std::collections::BTreeSet::new();
                for c in counts {
                    m.jobs_in_state(&c.kind, &c.state, c.n as f64);
                    now_seen.insert((c.kind, c.state));
                }
                // A kind/state that emptied out reads 0, not its last count.
                for (k, s) in seen.difference(&now_seen) {
                    m.jobs_in_state(k, s, 0.0);
                }
                seen.extend(now_seen);
                let mut lag_seen = std::collections::BTreeSet::new();
                for l in lags {
                    m.queue_lag(&l.queue, l.seconds.max(0.0));
                    lag_seen.insert(l.queue);
                }
                for q in seen_queues.difference(&lag_seen) {
                    m.queue_lag(q, 0.0);
                }
                seen_queues.extend(lag_seen);
            }
            Err(e) => tracing::debug!(error = %e, "cannot count jobs for metrics"),
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.opts.stats_interval) => {}
            _ = stop.changed() => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_doubles_with_jitter_and_stays_under_the_cap() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(3600);
        for attempt in 1..=12 {
            let full = (base * 2u32.pow(attempt as u32 - 1)).min(max);
            for _ in 0..50 {
                let d = backoff(attempt, base, max, None, &mut rng);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
            }
        }
        // Huge attempt numbers do not overflow.
        assert!(backoff(i32::MAX, base, max, None, &mut rng) <= max);
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let after = Duration::from_secs(90);
        for _ in 0..50 {
            let d = backoff(
                1,
                Duration::from_secs(1),
                Duration::from_secs(5),
                Some(after),
                &mut rng,
            );
            assert!(d >= after && d <= after + Duration::from_millis(250));
        }
    }
}
