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
use clap::Parser;
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

#[derive(Parser)]
struct SettingsOnly {
    #[command(flatten)]
    s: adpilot::config::Settings,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Res<()> {
    let jobs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let admin = std::env::var("DATABASE_URL").map_err(
        |_| "set DATABASE_URL to a PostgreSQL superuser URL (a scratch database is created)",
    )?;
    let name = format!("adpilot_bench_{}", uuid::Uuid::new_v4().simple());
    let mut c = adpilot::db::connect_one(&admin).await?;
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await?;
    let result = run(&admin, &name, jobs).await;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut c)
        .await?;
    result
}

async fn run(admin: &str, name: &str, jobs: usize) -> Res<()> {
    let u = url::Url::parse(admin)?;
    let db_url = adpilot::db::url_with_role(admin, u.username(), u.password(), Some(name))?;
    let password = "benchpassword0000";
    adpilot::db::migrate::run(&db_url, Some(password)).await?;
    let app_url = adpilot::db::url_with_role(&db_url, adpilot::db::APP_ROLE, Some(password), None)?;
    let data = std::env::temp_dir().join(format!("{name}-data"));
    let settings = SettingsOnly::try_parse_from([
        "bench",
        "--database-url",
        &db_url,
        "--app-database-url",
        &app_url,
        "--data-dir",
        &data.to_string_lossy(),
        "--db-pool-size",
        "16",
        "--secret-key",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ])?
    .s;
    let config = adpilot::config::Config::from_settings(&settings).map_err(|p| p.join("; "))?;
    let database = adpilot::server::Database {
        admin_url: db_url.clone(),
        app_url,
        app_password: password.into(),
        embedded: None,
    };
    let app = adpilot::server::build_app(config, &database).await?;
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
        let mut c = adpilot::db::connect_one(&db_url).await?;
        diesel::sql_query("DELETE FROM jobs")
            .execute(&mut c)
            .await?;
    }
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
