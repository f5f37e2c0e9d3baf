//! Job throughput: no-op jobs per second with 1 and 4 workers.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!         cargo run --release --example jobs_bench -- [JOBS]
//!
//! Creates a scratch database (dropped at the end), migrates it, enqueues JOBS no-op jobs
//! (default 2000) and times the workers until every one has succeeded. Each job costs a claim
//! transaction and a completion transaction, so this measures the queue itself.

use std::time::{Duration, Instant};

use adpilot::jobs::worker::{Runner, WorkerOptions};
use adpilot::jobs::{Job, JobCtx, JobError, NewJob, Registry, store};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Noop {}

impl Job for Noop {
    const KIND: &'static str = "bench.noop";
    async fn run(self, _ctx: JobCtx) -> Result<(), JobError> {
        Ok(())
    }
}

mod common;
use common::{Res, Scratch};

#[tokio::main]
async fn main() -> Res<()> {
    let jobs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let scratch = Scratch::create().await?;
    let result = run(&scratch, jobs).await;
    scratch.finish(false).await?;
    result
}

async fn run(scratch: &Scratch, jobs: usize) -> Res<()> {
    let (app, _) = scratch.app().await?;
    let u = url::Url::parse(&scratch.admin_url)?;
    println!(
        "{jobs} no-op jobs per round, PostgreSQL at {}",
        u.host_str().unwrap_or("?")
    );
    for workers in [1usize, 4] {
        let batch: Vec<NewJob> = (0..jobs)
            .map(|_| NewJob::new(None, &Noop {}))
            .collect::<Result<_, _>>()?;
        store::system_scope(&app.db, "benchmark enqueues", async move |c| {
            for j in batch {
                j.insert(c).await?;
            }
            Ok::<_, adpilot::db::DbError>(())
        })
        .await?;
        let opts = WorkerOptions {
            workers,
            poll_interval: Duration::from_millis(10),
            ..WorkerOptions::default()
        };
        let started = Instant::now();
        let runner = Runner::new(app.clone(), Registry::new().with::<Noop>(), opts).start();
        while store::unfinished_count(&app.db).await? > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        runner.shutdown().await;
        println!(
            "{workers} worker{}: {jobs} jobs in {secs:.2} s = {:.0} jobs/s",
            if workers == 1 { "" } else { "s" },
            jobs as f64 / secs
        );
        let mut c = adpilot::db::connect_one(&scratch.owner_url).await?;
        diesel::sql_query("DELETE FROM jobs")
            .execute(&mut c)
            .await?;
    }
    Ok(())
}
