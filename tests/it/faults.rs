//! Faults as they happen in production: the server process killed in the middle of a batch of
//! budget changes, PostgreSQL restarted in the middle of a sync and of a rule check, and a
//! platform that rate-limits and fails. Each test checks the outcome against the sandbox's
//! state: nothing lost, nothing applied twice.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use adpilot::sandbox::{CampaignStatus, FaultKind, FaultSpec, SandboxConfig, TruthQuery};
use adpilot::types::Platform;
use axum::http::StatusCode;
use base64::Engine;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::connections::connect;
use crate::support::*;
use crate::sync::assert_stored_equals_truth;

const METRICS_TOKEN: &str = "faults-metrics-token-0123456789";

async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(diesel::QueryableByName, Debug)]
struct JobLine {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Like [`wait_until`], but on timeout prints the jobs and sync states to explain why.
async fn wait_until_or_show<F, Fut>(what: &str, timeout: Duration, admin_url: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !done().await {
        if Instant::now() > deadline {
            let mut c = adpilot::db::connect_one(admin_url).await.expect("admin");
            let lines: Vec<JobLine> = diesel::sql_query(
                "(SELECT concat_ws(' ', kind, state, attempts, run_at, left(last_error, 200)) AS line FROM jobs ORDER BY created_at)
                 UNION ALL (SELECT concat_ws(' ', 'sync', account_id, backfill_done, backfilled_from, rate_limited_until, left(last_error, 200)) FROM account_sync)
                 UNION ALL (SELECT concat_ws(' ', 'action', kind, state, attempts, intent_key, created_at, left(message, 200)) FROM platform_actions)
                 UNION ALL (SELECT concat_ws(' ', 'rule run', slot, started_at, finished_at, actions_executed, actions_failed, left(error, 200)) FROM rule_runs)",
            )
            .load(&mut c)
            .await
            .unwrap_or_default();
            let lines: Vec<String> = lines.into_iter().map(|l| l.line).collect();
            panic!("timed out waiting for {what}:\n{}", lines.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(diesel::QueryableByName, Debug)]
struct ActionRow {
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    from_budget_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    to_budget_micros: Option<i64>,
}

async fn actions_of_kind(admin_url: &str, kind: &str) -> Vec<ActionRow> {
    let Ok(mut c) = adpilot::db::connect_one(admin_url).await else {
        return Vec::new();
    };
    diesel::sql_query(
        "SELECT c.external_id, a.state, a.from_budget_micros, a.to_budget_micros
         FROM platform_actions a JOIN campaigns c ON c.id = a.campaign_id
         WHERE a.kind = $1 ORDER BY c.external_id",
    )
    .bind::<Text, _>(kind)
    .load(&mut c)
    .await
    .unwrap_or_default()
}

fn google_campaigns(sb: &adpilot::sandbox::SandboxHandle) -> Vec<adpilot::sandbox::TruthCampaign> {
    sb.campaigns(&TruthQuery {
        platform: Some(Platform::Google),
        ..TruthQuery::default()
    })
}

/// Saves a rule through the editor's form; returns its page.
async fn save_rule(c: &mut Client, text: &str, mode: &str) -> String {
    c.get("/rules/new").await.assert_status(StatusCode::OK);
    let r = c
        .post(
            "/rules",
            &[("text", text), ("mode", mode), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "rule saved: {}", r.body);
    r.location().expect("rule page").to_string()
}

/// An `adpilot serve` child process on the test's database, its platforms served by `sb`.
pub(crate) struct ServeProcess {
    child: tokio::process::Child,
    port: u16,
}

impl ServeProcess {
    /// Starts it and waits until it answers `/healthz`.
    pub(crate) async fn spawn(
        t: &TestApp,
        sb: &adpilot::sandbox::SandboxHandle,
        data: &std::path::Path,
    ) -> Self {
        Self::spawn_with(t, sb, data, &[]).await
    }

    async fn spawn_with(
        t: &TestApp,
        sb: &adpilot::sandbox::SandboxHandle,
        data: &std::path::Path,
        extra_env: &[(&str, &str)],
    ) -> Self {
        let oauth = sb.oauth_endpoints();
        let key = base64::engine::general_purpose::STANDARD.encode(TEST_SECRET_KEY);
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_adpilot"))
            .args(["serve", "--no-migrate"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &t.db.admin_url)
            .env("ADPILOT_APP_DATABASE_URL", t.db.app_url())
            .env("ADPILOT_SECRET_KEY", key)
            // The process binds a port the system chooses and says which (no free-port race).
            .env("ADPILOT_BIND", "127.0.0.1:0")
            .env("ADPILOT_BASE_URL", BASE)
            .env("ADPILOT_DATA_DIR", data)
            .env("ADPILOT_JOB_LEASE_SECS", "5")
            .env("ADPILOT_JOB_POLL_MS", "100")
            .env("ADPILOT_GOOGLE_ADS_URL", sb.base_url())
            .env("ADPILOT_GOOGLE_CLIENT_ID", "adpilot-demo.apps.sandbox")
            .env("ADPILOT_GOOGLE_CLIENT_SECRET", "demo-secret")
            .env("ADPILOT_GOOGLE_OAUTH_AUTHORIZE_URL", oauth.google_authorize)
            .env("ADPILOT_GOOGLE_OAUTH_TOKEN_URL", oauth.google_token)
            .env("ADPILOT_GOOGLE_OAUTH_REVOKE_URL", oauth.google_revoke)
            .env("RUST_LOG", "warn")
            .env("ADPILOT_METRICS_TOKEN", METRICS_TOKEN)
            .envs(extra_env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start adpilot serve");
        let mut child = child;
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = tokio::sync::oneshot::channel::<u16>();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt;
            let mut tx = Some(tx);
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(port) = line
                    .split_once("(listening on ")
                    .and_then(|(_, a)| a.trim_end_matches(')').parse::<std::net::SocketAddr>().ok())
                    .map(|a| a.port())
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(port);
                }
                eprintln!("{line}");
            }
        });
        let port = match tokio::time::timeout(Duration::from_secs(120), rx).await {
            Ok(Ok(port)) => port,
            _ => panic!("adpilot serve did not say where it listens"),
        };
        let mut me = ServeProcess { child, port };
        let http = reqwest::Client::new();
        let health = format!("http://127.0.0.1:{port}/healthz");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("adpilot serve exited at start: {status}");
            }
            if let Ok(r) = http.get(&health).send().await
                && r.status().is_success()
            {
                return me;
            }
            assert!(Instant::now() < deadline, "adpilot serve did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Finished job runs so far, from the process's own `/metrics` (behind its token).
    async fn job_runs(&self) -> f64 {
        let text = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{}/metrics", self.port))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .filter(|l| l.starts_with("job_runs_total") || l.starts_with("adpilot_job_runs_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// SIGTERM: the graceful shutdown `adpilot serve` does on a deploy.
    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: signalling our own child process by its id.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(40), self.child.wait()).await;
    }

    /// SIGKILL: no shutdown, no lease released, no outcome recorded.
    pub(crate) async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let _ = self.child.wait().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_in_a_batch_of_budget_changes_applies_each_exactly_once_after_restart() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    connect(&mut c, "google").await;
    let org = org_of(&t).await;
    for a in adpilot::analytics::sync::accounts_to_sync(&t.app, org)
        .await
        .expect("accounts")
    {
        adpilot::analytics::sync::sync_account(&t.app, org, a, sb.clock().now())
            .await
            .expect("sync");
    }
    let before: HashMap<String, i64> = google_campaigns(&sb)
        .into_iter()
        .filter(|c| c.status == CampaignStatus::Enabled)
        .map(|c| (c.campaign_id, c.daily_budget_micros))
        .collect();
    assert!(before.len() >= 4, "a batch of several campaigns");
    save_rule(
        &mut c,
        "rule \"Scale everything\"\n  for campaigns on google where status is active\n  when clicks in last 7 days >= 0\n  then increase budget by 10%\n  check every 5 minutes",
        "live",
    )
    .await;

    // Each budget write takes a while at the platform, so the batch is still running when the
    // process dies.
    sb.inject_fault(FaultSpec {
        delay_ms: Some(600),
        path_contains: Some("campaignBudgets:mutate".into()),
        ..FaultSpec::new(FaultKind::Timeout)
    })
    .expect("latency");
    sb.clear_calls();
    let data = tempdir::TempDir::new();
    let first = ServeProcess::spawn(&t, &sb, data.path()).await;
    adpilot::automation::jobs::enqueue_due(&t.app, chrono::Utc::now())
        .await
        .expect("queue the check");
    let writes = |sb: &adpilot::sandbox::SandboxHandle| {
        sb.calls()
            .iter()
            .filter(|c| c.path.contains("campaignBudgets:mutate"))
            .count()
    };
    wait_until_or_show(
        "two budget writes",
        Duration::from_secs(60),
        &t.db.admin_url,
        || {
            let n = writes(&sb);
            async move { n >= 2 }
        },
    )
    .await;
    first.kill().await;
    let at_kill = writes(&sb);
    // Intents marked executing when the process died: their write may have reached the
    // platform unrecorded, and is sent again (the same target) after the restart.
    let in_flight = actions_of_kind(&t.db.admin_url, "set_budget")
        .await
        .iter()
        .filter(|a| a.state == "executing")
        .count();
    assert!(
        at_kill < before.len(),
        "killed in the middle of the batch ({at_kill} of {} writes)",
        before.len()
    );

    // Restarted: the check's lease runs out, the job runs again and finishes the batch.
    let second = ServeProcess::spawn(&t, &sb, data.path()).await;
    wait_until(
        "every budget change done",
        Duration::from_secs(120),
        || async {
            let rows = actions_of_kind(&t.db.admin_url, "set_budget").await;
            rows.len() == before.len() && rows.iter().all(|r| r.state == "succeeded")
        },
    )
    .await;
    second.kill().await;

    let actions = actions_of_kind(&t.db.admin_url, "set_budget").await;
    let after: HashMap<String, i64> = google_campaigns(&sb)
        .into_iter()
        .map(|c| (c.campaign_id, c.daily_budget_micros))
        .collect();
    for a in &actions {
        let was = before[&a.external_id];
        assert_eq!(
            a.from_budget_micros,
            Some(was),
            "computed from the platform's budget"
        );
        let to = a.to_budget_micros.expect("target");
        assert!(
            to > was && to <= was + was / 10 + 10_000,
            "+10% once: {was} -> {to}"
        );
        assert_eq!(
            after[&a.external_id], to,
            "{} holds the target",
            a.external_id
        );
    }
    let mut per_campaign: HashMap<&str, usize> = HashMap::new();
    for a in &actions {
        *per_campaign.entry(a.external_id.as_str()).or_default() += 1;
    }
    assert!(
        per_campaign.values().all(|n| *n == 1),
        "one action per campaign: {per_campaign:?}"
    );
    // Only a write whose outcome the kill lost is sent again; every other campaign's budget
    // was written once.
    assert!(
        writes(&sb) <= before.len() + in_flight,
        "{} budget writes for {} campaigns ({at_kill} before the kill, {in_flight} in flight)",
        writes(&sb),
        before.len()
    );
}

/// A PostgreSQL cluster of this test's own, so it can be stopped and started without
/// disturbing other tests.
struct PrivateCluster {
    dir: std::path::PathBuf,
    pg: Option<adpilot::db::embedded::EmbeddedPostgres>,
}

impl PrivateCluster {
    async fn start() -> Option<PrivateCluster> {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/fault-pg")
            .join(uuid::Uuid::new_v4().simple().to_string());
        let mut me = PrivateCluster { dir, pg: None };
        if adpilot::db::embedded::find_bin_dir().is_none() {
            skip_for_missing_tool("the PostgreSQL server programs are not installed");
            return None;
        }
        me.up().await;
        Some(me)
    }

    fn url(&self) -> String {
        self.pg.as_ref().expect("running").url()
    }

    async fn up(&mut self) {
        let dir = self.dir.clone();
        let pg = tokio::task::spawn_blocking(move || {
            adpilot::db::embedded::EmbeddedPostgres::start(&dir)
        })
        .await
        .expect("join")
        .expect("start the private cluster");
        self.pg = Some(pg);
    }

    async fn down(&mut self) {
        if let Some(pg) = self.pg.take() {
            tokio::task::spawn_blocking(move || pg.stop())
                .await
                .expect("join")
                .expect("stop the private cluster");
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if let Some(pg) = self.pg.take() {
            let _ = pg.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Keeps the database down until the platform has answered the call that was in flight when it
/// went down (so the answer meets a stopped database), or for 10 s when none was. Only the
/// outage's length: nothing here is asserted.
async fn outage_until_answered(what: &str, answered: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !answered() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "database outage ended after {what} {}",
        if answered() {
            "was answered"
        } else {
            "was not under way"
        }
    );
}

#[derive(diesel::QueryableByName)]
struct SyncState {
    #[diesel(sql_type = Bool)]
    backfill_done: bool,
}

async fn sync_states(admin_url: &str) -> Option<Vec<bool>> {
    let mut c = adpilot::db::connect_one(admin_url).await.ok()?;
    let rows: Vec<SyncState> = diesel::sql_query("SELECT backfill_done FROM account_sync")
        .load(&mut c)
        .await
        .ok()?;
    Some(rows.into_iter().map(|r| r.backfill_done).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_sync_and_mid_rule_check_loses_and_doubles_nothing() {
    let Some(mut pg) = PrivateCluster::start().await else {
        return;
    };
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    })
    .await;
    let data = tempdir::TempDir::new();
    let data_dir = data.path().to_string_lossy().to_string();
    let admin_url = pg.url();
    let mut config = config_from_args(&[
        "--database-url",
        &admin_url,
        "--public-url",
        BASE,
        "--data-dir",
        &data_dir,
        "--db-pool-size",
        "4",
        "--job-lease-secs",
        "5",
        "--job-poll-ms",
        "100",
    ]);
    adpilot::server::use_sandbox(&mut config.platforms, &sb);
    config.platforms.retry.base_delay = Duration::from_millis(20);
    config.platforms.retry.max_delay = Duration::from_millis(200);
    let database = adpilot::server::open_database(&config, true)
        .await
        .expect("migrate the private cluster");
    let app = adpilot::server::build_app(config, &database)
        .await
        .expect("app");
    let jobs = adpilot::jobs::catalog::start(app.clone())
        .await
        .expect("jobs");
    let mut c = Client {
        app: app.clone(),
        cookies: HashMap::new(),
        csrf: None,
        origin: Some(BASE.to_string()),
    };
    c.get("/signup").await.assert_status(StatusCode::OK);
    let r = c
        .post(
            "/signup",
            &[
                ("name", "Ann"),
                ("email", "ann@example.com"),
                ("password", "a good long password"),
                ("org_name", "Acme"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Slow metric reads keep the first backfill running while the database goes away.
    sb.inject_fault(FaultSpec {
        delay_ms: Some(1000),
        platform: Some(Platform::Google),
        path_contains: Some("search".into()),
        ..FaultSpec::new(FaultKind::Timeout)
    })
    .expect("latency");
    connect(&mut c, "google").await;
    wait_until("the backfill under way", Duration::from_secs(60), || {
        let sb = &sb;
        async move {
            sb.calls()
                .iter()
                .filter(|c| c.path.contains("search"))
                .count()
                >= 1
        }
    })
    .await;
    let states = sync_states(&admin_url).await.expect("sync states");
    let accounts = sb.accounts(Some(Platform::Google)).len();
    assert!(
        states.iter().filter(|done| **done).count() < accounts,
        "stopped while a backfill was unfinished"
    );
    let searches = |sb: &adpilot::sandbox::SandboxHandle| {
        sb.calls()
            .iter()
            .filter(|c| c.path.contains("search"))
            .count()
    };
    let before_down = searches(&sb);
    pg.down().await;
    let health = c.get("/healthz").await;
    assert_eq!(
        health.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        health.body
    );
    let page = c.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.body.contains("database"),
        "the error page says what is wrong: {}",
        page.body
    );
    outage_until_answered("a metrics read", || searches(&sb) > before_down).await;
    pg.up().await;
    wait_until("the server answers again", Duration::from_secs(30), || {
        let mut c = c.clone();
        async move { c.get("/healthz").await.status == StatusCode::OK }
    })
    .await;
    wait_until("every backfill finished", Duration::from_secs(180), || {
        let url = admin_url.clone();
        async move {
            matches!(sync_states(&url).await, Some(s) if !s.is_empty() && s.iter().all(|d| *d))
        }
    })
    .await;
    sb.clear_faults();
    let compared = assert_stored_equals_truth(&admin_url, &sb, &[Platform::Google]).await;
    assert!(compared > 500, "compared {compared} campaign-days");

    // A live rule pausing campaigns, with the database stopped while a pause is in flight.
    let targets: Vec<String> = google_campaigns(&sb)
        .into_iter()
        .filter(|c| c.status == CampaignStatus::Enabled && c.name.contains("Brand"))
        .map(|c| c.campaign_id)
        .collect();
    assert!(!targets.is_empty(), "active Brand campaigns on Google");
    c.get("/dashboard").await.assert_status(StatusCode::OK);
    save_rule(
        &mut c,
        "rule \"Pause Brand\"\n  for campaigns on google where name contains \"Brand\" and status is active\n  when clicks in last 7 days >= 0\n  then pause\n  check every 5 minutes",
        "live",
    )
    .await;
    sb.inject_fault(FaultSpec {
        delay_ms: Some(1500),
        path_contains: Some("campaigns:mutate".into()),
        ..FaultSpec::new(FaultKind::Timeout)
    })
    .expect("latency");
    sb.clear_calls();
    adpilot::automation::jobs::enqueue_due(&app, chrono::Utc::now())
        .await
        .expect("queue the check");
    let pause_calls = |sb: &adpilot::sandbox::SandboxHandle| {
        sb.calls()
            .iter()
            .filter(|c| c.path.contains("campaigns:mutate"))
            .count()
    };
    wait_until("a pause sent", Duration::from_secs(60), || {
        let n = pause_calls(&sb);
        async move { n >= 1 }
    })
    .await;
    let before_down = pause_calls(&sb);
    pg.down().await;
    outage_until_answered("a pause", || pause_calls(&sb) > before_down).await;
    pg.up().await;
    sb.clear_faults();
    wait_until_or_show(
        "every pause recorded as done",
        Duration::from_secs(120),
        &admin_url,
        || {
            let url = admin_url.clone();
            let n = targets.len();
            async move {
                let rows = actions_of_kind(&url, "pause").await;
                rows.len() == n && rows.iter().all(|r| r.state == "succeeded")
            }
        },
    )
    .await;
    let paused: Vec<String> = google_campaigns(&sb)
        .into_iter()
        .filter(|c| c.status == CampaignStatus::Paused)
        .map(|c| c.campaign_id)
        .collect();
    for id in &targets {
        assert!(paused.contains(id), "{id} paused at the platform");
    }
    let actions = actions_of_kind(&admin_url, "pause").await;
    assert_eq!(
        actions.len(),
        targets.len(),
        "one pause action per campaign"
    );
    // One job pauses one campaign at a time: only the pause whose outcome the outage kept
    // from being recorded may be sent again.
    assert!(
        pause_calls(&sb) <= targets.len() + 1,
        "{} pause calls for {} campaigns",
        pause_calls(&sb),
        targets.len()
    );
    jobs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_that_rate_limits_and_fails_still_syncs_everything_and_its_hints_are_honoured() {
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    })
    .await;
    let t = TestApp::build(&["--job-poll-ms", "100"], Some(&sb)).await;
    let jobs = adpilot::jobs::catalog::start(t.app.clone())
        .await
        .expect("jobs");
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    for spec in [
        FaultSpec {
            fraction: Some(0.15),
            retry_after_secs: Some(1),
            ..FaultSpec::new(FaultKind::RateLimit)
        },
        FaultSpec {
            fraction: Some(0.1),
            ..FaultSpec::new(FaultKind::ServerError)
        },
    ] {
        sb.inject_fault(spec).expect("fault");
    }
    connect(&mut c, "google").await;
    connect(&mut c, "meta").await;
    wait_until_or_show(
        "every backfill finished",
        Duration::from_secs(240),
        &t.db.admin_url,
        || {
            let url = t.db.admin_url.clone();
            async move {
                matches!(sync_states(&url).await, Some(s) if s.len() >= 6 && s.iter().all(|d| *d))
            }
        },
    )
    .await;
    jobs.shutdown().await;
    let calls = sb.calls();
    let limited = calls
        .iter()
        .filter(|c| c.fault == Some(FaultKind::RateLimit))
        .count();
    let failed = calls
        .iter()
        .filter(|c| c.fault == Some(FaultKind::ServerError))
        .count();
    assert!(
        limited > 0 && failed > 0,
        "faults were served ({limited} rate limits, {failed} errors)"
    );
    // After a rate limit on a Google Ads customer, that customer's next call waits out the
    // 1 s hint (other accounts go on meanwhile).
    let customer = |path: &str| -> Option<String> {
        let rest = path.split("/customers/").nth(1)?;
        Some(rest.split(['/', ':']).next()?.to_string())
    };
    let mut checked = 0;
    for (i, call) in calls.iter().enumerate() {
        if call.fault != Some(FaultKind::RateLimit) {
            continue;
        }
        let Some(id) = customer(&call.path) else {
            continue;
        };
        if let Some(next) = calls[i + 1..]
            .iter()
            .find(|n| customer(&n.path).as_deref() == Some(id.as_str()))
        {
            assert!(
                next.elapsed_ms + 50 >= call.elapsed_ms + 1000,
                "customer {id} called again {} ms after a rate limit with a 1 s hint",
                next.elapsed_ms - call.elapsed_ms
            );
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "some rate limits on Google Ads were followed by a retry"
    );
    sb.clear_faults();
    let compared =
        assert_stored_equals_truth(&t.db.admin_url, &sb, &[Platform::Google, Platform::Meta]).await;
    assert!(compared > 1000, "compared {compared} campaign-days");
}

#[derive(diesel::QueryableByName, Debug)]
struct SlotRow {
    #[diesel(sql_type = Text)]
    schedule: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    slot: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    state: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
    attempts: Option<i32>,
}

#[derive(diesel::QueryableByName, Debug)]
struct RunCount {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
    #[diesel(sql_type = Text)]
    state: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_on_one_database_run_each_due_job_once() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    connect(&mut c, "google").await;
    save_rule(
        &mut c,
        "rule \"Watch CPA\"\n  when cpa in last 7 days > 500\n  then notify \"ann@example.com\"\n  check every 5 minutes",
        "dry_run",
    )
    .await;

    // Every periodic duty every 2 seconds on two processes for 60 seconds: 30 slots of each,
    // half an hour of a once-a-minute schedule.
    let every: Vec<String> = adpilot::jobs::settings::SCHEDULE_NAMES
        .iter()
        .filter(|n| **n != "backup")
        .map(|n| format!("{n}=*/2 * * * * *"))
        .collect();
    let every = every.join(";");
    let env = [
        ("ADPILOT_SCHEDULES", every.as_str()),
        ("ADPILOT_BACKUP_CRON", "off"),
    ];
    let (da, db) = (tempdir::TempDir::new(), tempdir::TempDir::new());
    let a = ServeProcess::spawn_with(&t, &sb, da.path(), &env).await;
    let b = ServeProcess::spawn_with(&t, &sb, db.path(), &env).await;
    let started = chrono::Utc::now();
    // Until every schedule has had SLOTS slots (half a minute at this pace; how long it takes
    // on a loaded machine does not matter) and both processes have run jobs.
    const SLOTS: i64 = 15;
    wait_until("every schedule's slots", Duration::from_secs(300), || {
        let url = t.db.admin_url.clone();
        async move {
            let Ok(mut c) = adpilot::db::connect_one(&url).await else {
                return false;
            };
            #[derive(diesel::QueryableByName)]
            struct Least {
                #[diesel(sql_type = BigInt)]
                n: i64,
            }
            let names: Vec<&str> = adpilot::jobs::settings::SCHEDULE_NAMES
                .iter()
                .copied()
                .filter(|n| *n != "backup")
                .collect();
            diesel::sql_query(
                "SELECT coalesce(min(n), 0) AS n FROM (SELECT count(s.slot) AS n FROM unnest($1::text[]) AS x(name) \
                 LEFT JOIN job_schedule_slots s ON s.schedule = x.name AND s.slot >= $2 GROUP BY x.name) per",
            )
            .bind::<diesel::sql_types::Array<Text>, _>(names)
            .bind::<diesel::sql_types::Timestamptz, _>(started)
            .get_result::<Least>(&mut c)
            .await
            .is_ok_and(|l| l.n >= SLOTS)
        }
    })
    .await;
    wait_until(
        "both processes ran jobs",
        Duration::from_secs(120),
        || async { a.job_runs().await > 0.0 && b.job_runs().await > 0.0 },
    )
    .await;
    let ended = chrono::Utc::now();
    tokio::join!(a.stop(), b.stop());

    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let slots: Vec<SlotRow> = diesel::sql_query(
        "SELECT s.schedule, s.slot, j.state, j.attempts FROM job_schedule_slots s
         LEFT JOIN jobs j ON j.id = s.job_id ORDER BY s.schedule, s.slot",
    )
    .load(&mut admin)
    .await
    .expect("slots");
    let settled = ended - chrono::Duration::seconds(6);
    for name in adpilot::jobs::settings::SCHEDULE_NAMES
        .iter()
        .filter(|n| **n != "backup")
    {
        let mine: Vec<&SlotRow> = slots
            .iter()
            .filter(|s| s.schedule == *name && s.slot >= started)
            .collect();
        assert!(mine.len() >= SLOTS as usize, "{name}: {} slots", mine.len());
        for pair in mine.windows(2) {
            assert_eq!(
                (pair[1].slot - pair[0].slot).num_seconds(),
                2,
                "{name}: no slot missed between {} and {}",
                pair[0].slot,
                pair[1].slot
            );
        }
        for s in mine.iter().filter(|s| s.slot < settled) {
            // A slot is claimed and its job inserted in one transaction: never a slot without.
            let state = s
                .state
                .as_deref()
                .unwrap_or_else(|| panic!("{name} at {} has no job", s.slot));
            assert_eq!(
                (state, s.attempts),
                ("succeeded", Some(1)),
                "{name} at {} ran once and succeeded",
                s.slot
            );
        }
    }
    // Every job either process ran, system or per organization, was claimed once.
    let runs: Vec<RunCount> = diesel::sql_query("SELECT kind, attempts, state FROM jobs")
        .load(&mut admin)
        .await
        .expect("jobs");
    let twice: Vec<&RunCount> = runs.iter().filter(|r| r.attempts > 1).collect();
    assert!(twice.is_empty(), "jobs claimed more than once: {twice:?}");
    let kinds: std::collections::BTreeSet<&str> = runs
        .iter()
        .filter(|r| r.state == "succeeded")
        .map(|r| r.kind.as_str())
        .collect();
    for k in ["analytics.sync_org", "rules.check_batch"] {
        assert!(kinds.contains(k), "fan-out jobs ran too ({k}): {kinds:?}");
    }
}
