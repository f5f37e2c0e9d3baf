//! Analytics at scale: ingest rate through the sync's bulk path, and the dashboard's latency
//! (full HTTP request through the router vs. its SQL alone) for a large organization.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!         cargo run --release --example analytics_bench -- [--scale 0.1] [--requests 60]
//!
//! Creates a scratch database (dropped at the end) and seeds, with set-based SQL as the admin
//! role: 50 × scale organizations with 400 campaigns × 730 days each, plus one large
//! organization with 2,000 campaigns × 730 days (its size does not scale: it is the one being
//! measured). Full scale is about 16M metric rows. Then:
//!
//! 1. ingest: `ingest_rows` (default 1M) new rows through `analytics::ingest::upsert` (the
//!    sync's path), in 50k-row tenant transactions like a sync's chunks: first one account at
//!    a time, then `ingest_streams` accounts at once (4, as many syncs as the job workers run
//!    by default), each on its own connection; and in between, a re-read of the first run's
//!    rows with 1 in 10 changed (a later sync's lookback: updates and revisions);
//! 2. the large organization's dashboard for the last 30 days vs the previous 30, top 50
//!    campaigns by spend and the daily chart: p50/p95 of the full HTTP request through the
//!    router (session, tenant middleware, templates), one user and 8 concurrent users, next to
//!    the same SQL (`load_dashboard`) run alone.

use std::time::{Duration, Instant};

use adpilot::analytics::ingest::{self, MetricRow};
use adpilot::analytics::routes::load_dashboard;
use adpilot::analytics::views::{DashParams, DashQuery};
use axum::body::Body;
use axum::http::{Request, header};
use chrono::{Duration as Days, Utc};
use clap::Parser;
use diesel::sql_types::{Integer, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use http_body_util::BodyExt;
use rust_decimal::Decimal;
use tower::ServiceExt;
use uuid::Uuid;

mod common;
use common::{Res, Scratch};

#[derive(Parser)]
struct Args {
    /// Share of the 50 smaller organizations to seed (the large one is always full size).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Dashboard requests per measurement.
    #[arg(long, default_value_t = 60)]
    requests: usize,
    /// Rows for each ingest measurement.
    #[arg(long, default_value_t = 1_000_000)]
    ingest_rows: usize,
    /// Accounts synced at once in the second ingest measurement (the job workers' default).
    #[arg(long, default_value_t = 4)]
    ingest_streams: usize,
    /// Keep the scratch database (prints its name) instead of dropping it.
    #[arg(long)]
    keep: bool,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Res<()> {
    let args = Args::parse();
    let scratch = Scratch::create().await?;
    let result = run(&scratch, &args).await;
    scratch.finish(args.keep).await?;
    result
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn summary(mut d: Vec<Duration>) -> String {
    d.sort();
    format!("p50 {:7.1} ms   p95 {:7.1} ms", pct(&d, 0.5), pct(&d, 0.95))
}

async fn run(scratch: &Scratch, args: &Args) -> Res<()> {
    let (app, config) = scratch.app().await?;
    let session_max = config.session_max;
    let db_url = scratch.owner_url.clone();

    // The large organization is a real sign-up, so requests carry a real session.
    let (user_id, big_org) = adpilot::auth::accounts::sign_up(
        &app.db,
        adpilot::auth::accounts::NewAccount {
            email: "bench@example.com".into(),
            name: "Bench".into(),
            password: "a good long password".into(),
            org_name: "Large agency".into(),
            time_zone: "UTC".into(),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let token =
        adpilot::auth::sessions::create(&app.db, user_id, Some(big_org), session_max, None, None)
            .await
            .map_err(|e| e.to_string())?;

    let small = ((50.0 * args.scale).round() as i32).max(1);
    let mut admin_c = adpilot::db::connect_one(&db_url).await?;
    let today = Utc::now().date_naive();
    let first_day = today - Days::days(729);
    diesel::sql_query("SELECT ensure_metrics_partitions($1, $2)")
        .bind::<diesel::sql_types::Date, _>(first_day - Days::days(800))
        .bind::<diesel::sql_types::Date, _>(today + Days::days(31))
        .execute(&mut admin_c)
        .await?;
    let started = Instant::now();
    // Organizations, accounts (USD and EUR, so the dashboard shows two currencies) and
    // campaigns, then 730 days of metrics each, all generated in SQL.
    diesel::sql_query(
        "INSERT INTO organizations (id, name) SELECT gen_random_uuid(), 'Org ' || g FROM generate_series(1, $1) g",
    )
    .bind::<Integer, _>(small)
    .execute(&mut admin_c)
    .await?;
    seed_org_campaigns(&mut admin_c, None, 400).await?;
    seed_org_campaigns(&mut admin_c, Some(big_org), 2000).await?;
    let rows = seed_metrics(&mut admin_c, first_day, today).await?;
    let seeded = started.elapsed();
    let t = Instant::now();
    diesel::sql_query("VACUUM ANALYZE")
        .execute(&mut admin_c)
        .await?;
    println!(
        "seeded {} organizations ({small} × 400 campaigns + 1 × 2,000) × 730 days = {rows} metric rows in {:.1} s (+ VACUUM ANALYZE {:.1} s)",
        small + 1,
        seeded.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );

    // 1. Ingest through the sync's bulk path: one account's sync at a time, then as many at
    //    once as the job workers run by default.
    let (total, secs, mut work) =
        ingest_run(&app, &mut admin_c, 1, args.ingest_rows, today).await?;
    println!(
        "ingest, 1 sync at a time:  {total} new campaign-days in {secs:.1} s = {:.0} rows/s",
        total as f64 / secs
    );
    // A later sync re-reads days it already stored: most come back unchanged, a few with late
    // conversions (each of those updates its row and appends the replaced values as a
    // revision).
    for (_, rows) in &mut work {
        for r in rows.iter_mut().step_by(10) {
            r.conversions += Decimal::ONE;
            r.revenue_micros += 25_000_000;
        }
    }
    let (changed, secs) = ingest_pass(&app, work).await?;
    println!(
        "ingest, re-read of those {total} (1 in 10 changed): {changed} updated + revised in {secs:.1} s = {:.0} rows/s read",
        total as f64 / secs
    );
    let streams = args.ingest_streams.max(1);
    let (total, secs, _) = ingest_run(&app, &mut admin_c, streams, args.ingest_rows, today).await?;
    println!(
        "ingest, {streams} syncs at once:   {total} new campaign-days in {secs:.1} s = {:.0} rows/s (1 row each, no revision: only replaced values get one)",
        total as f64 / secs
    );

    // The dashboard is measured as it runs day to day: after autovacuum has seen the
    // ingest's new rows, not while it works through them.
    diesel::sql_query("VACUUM ANALYZE metrics_daily")
        .execute(&mut admin_c)
        .await?;

    // 2. The large organization's dashboard.
    let router = adpilot::router::router(app.clone());
    let path = "/dashboard?range=last_30&sort=spend&dir=desc&kpi1=spend&kpi2=conversions";
    let request = move |router: axum::Router| {
        let token = token.clone();
        async move {
            let req = Request::builder()
                .uri(path)
                .header(
                    header::COOKIE,
                    format!("{}={token}", adpilot::auth::sessions::COOKIE),
                )
                .body(Body::empty())?;
            let t = Instant::now();
            let resp = router.oneshot(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            let d = t.elapsed();
            if !status.is_success() || !body.windows(10).any(|w| w == b"Totals in ") {
                return Err(format!("dashboard answered {status}").into());
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(d)
        }
    };
    let q = DashQuery {
        range: Some("last_30".into()),
        sort: Some("spend".into()),
        ..DashQuery::default()
    };
    let params = DashParams::parse(&q, today);
    let sql = move |app: adpilot::app::AppState, params: DashParams| async move {
        let t = Instant::now();
        let d = load_dashboard(&app, big_org, &params)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let el = t.elapsed();
        if d.campaigns.rows.len() != 50 {
            return Err(format!("expected 50 rows, got {}", d.campaigns.rows.len()).into());
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(el)
    };
    // Warm-up: caches and connections.
    for _ in 0..5 {
        request(router.clone()).await?;
    }
    let n = args.requests;
    let mut http1 = Vec::new();
    for _ in 0..n {
        http1.push(request(router.clone()).await?);
    }
    let mut sql1 = Vec::new();
    for _ in 0..n {
        sql1.push(sql(app.clone(), params.clone()).await?);
    }
    let mut http8 = Vec::new();
    let mut sql8 = Vec::new();
    for kind in 0..2 {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (router, app, params) = (router.clone(), app.clone(), params.clone());
            let request = request.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for _ in 0..n.div_ceil(8).max(5) {
                    out.push(if kind == 0 {
                        request(router.clone()).await?
                    } else {
                        sql(app.clone(), params.clone()).await?
                    });
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(out)
            }));
        }
        for t in tasks {
            let v = t.await??;
            if kind == 0 {
                http8.extend(v);
            } else {
                sql8.extend(v);
            }
        }
    }
    println!(
        "dashboard of the large organization (2,000 campaigns; last 30 days vs previous 30, top 50 by spend, chart):"
    );
    println!(
        "  1 user     HTTP {}   SQL alone {}",
        summary(http1),
        summary(sql1)
    );
    println!(
        "  8 users    HTTP {}   SQL alone {}",
        summary(http8),
        summary(sql8)
    );
    Ok(())
}

/// Two accounts (USD, EUR) and `per_org` campaigns for `org`, or for every organization that
/// has no account yet when `org` is None.
async fn seed_org_campaigns(c: &mut adpilot::db::Conn, org: Option<Uuid>, per_org: i32) -> Res<()> {
    diesel::sql_query(
        "INSERT INTO ad_accounts (id, org_id, platform, external_id, name, currency, time_zone, status, managed)
         SELECT gen_random_uuid(), o.id, p.platform, p.platform || '-' || p.currency, 'Account ' || p.currency, p.currency, 'UTC', 'enabled', true
         FROM organizations o
         CROSS JOIN (VALUES ('google', 'USD'), ('meta', 'EUR')) AS p(platform, currency)
         WHERE ($1::uuid IS NULL AND NOT EXISTS (SELECT 1 FROM ad_accounts a WHERE a.org_id = o.id)
                AND o.name LIKE 'Org %')
            OR o.id = $1",
    )
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(org)
    .execute(c)
    .await?;
    diesel::sql_query(
        "INSERT INTO campaigns (id, org_id, account_id, platform, external_id, name, status, daily_budget_micros, currency)
         SELECT gen_random_uuid(), a.org_id, a.id, a.platform, a.id || '-' || g, 'Campaign ' || g,
                CASE WHEN g % 5 = 0 THEN 'paused' ELSE 'active' END, 50000000, a.currency
         FROM ad_accounts a
         CROSS JOIN generate_series(1, $2 / 2) g
         WHERE NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.account_id = a.id)
           AND ($1::uuid IS NULL OR a.org_id = $1)",
    )
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(org)
    .bind::<Integer, _>(per_org)
    .execute(c)
    .await?;
    Ok(())
}

/// 730 days of plausible numbers for every campaign (deterministic, varied by campaign and day).
async fn seed_metrics(
    c: &mut adpilot::db::Conn,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Res<usize> {
    let n = diesel::sql_query(
        "INSERT INTO metrics_daily (org_id, account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros)
         SELECT c.org_id, c.account_id, c.id, d::date,
                1000 + h % 20000,
                10 + h % 400,
                (5 + h % 300) * 1000000::int8,
                (h % 23)::numeric,
                (h % 23) * 40000000::int8
         FROM campaigns c
         CROSS JOIN generate_series($1::date, $2::date, interval '1 day') d
         CROSS JOIN LATERAL (SELECT abs(hashtext(c.id::text || d::text)) AS h) x",
    )
    .bind::<diesel::sql_types::Date, _>(from)
    .bind::<diesel::sql_types::Date, _>(to)
    .execute(c)
    .await?;
    Ok(n)
}

type Work = Vec<(Uuid, Vec<MetricRow>)>;

/// Ingests `rows` new campaign-days for fresh accounts (1,000 campaigns each), `streams`
/// accounts at once, each in 50k-row tenant transactions. Returns rows written, seconds and
/// the rows (per organization) for a re-read.
async fn ingest_run(
    app: &adpilot::app::AppState,
    admin_c: &mut adpilot::db::Conn,
    streams: usize,
    rows: usize,
    today: chrono::NaiveDate,
) -> Res<(usize, f64, Work)> {
    #[derive(diesel::QueryableByName)]
    struct Camp {
        #[diesel(sql_type = SqlUuid)]
        org_id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        account_id: Uuid,
    }
    // seed_org_campaigns gives each organization two accounts; a single stream still writes
    // one organization, 2,000 campaigns, one chunk after the other.
    let orgs = streams.div_ceil(2);
    let mut camps: Vec<Camp> = Vec::new();
    for _ in 0..orgs {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
        }
        let r: Id = diesel::sql_query(
            "INSERT INTO organizations (id, name) VALUES (gen_random_uuid(), 'Ingest') RETURNING id",
        )
        .get_result(admin_c)
        .await?;
        seed_org_campaigns(admin_c, Some(r.id), 2000).await?;
        let mut c: Vec<Camp> = diesel::sql_query(
            "SELECT org_id, id, account_id FROM campaigns WHERE org_id = $1 ORDER BY account_id, id",
        )
        .bind::<SqlUuid, _>(r.id)
        .load(admin_c)
        .await?;
        camps.append(&mut c);
    }
    // One batch of work per stream: an account's campaigns (or, with one stream, all of them).
    let mut groups: Vec<(Uuid, Vec<&Camp>)> = Vec::new();
    if streams == 1 {
        let org = camps
            .as_slice()
            .first()
            .map(|c| c.org_id)
            .unwrap_or_default();
        groups.push((org, camps.iter().collect()));
    } else {
        for c in &camps {
            match groups.last_mut() {
                Some((_, g)) if g.iter().next().map(|f| f.account_id) == Some(c.account_id) => {
                    g.push(c)
                }
                _ => groups.push((c.org_id, vec![c])),
            }
        }
        groups.truncate(streams);
    }
    let per_group = rows.div_ceil(groups.len().max(1));
    let mut work: Work = Vec::new();
    for (org, g) in &groups {
        let days = per_group.div_ceil(g.len().max(1));
        let mut all = Vec::with_capacity(per_group);
        'outer: for d in 0..days {
            for (i, cmp) in g.iter().enumerate() {
                if all.len() >= per_group {
                    break 'outer;
                }
                let n = (i * 7 + d * 13) as i64;
                all.push(MetricRow {
                    account_id: cmp.account_id,
                    campaign_id: cmp.id,
                    date: today - Days::days(d as i64),
                    impressions: 1000 + n % 5000,
                    clicks: 10 + n % 90,
                    spend_micros: 1_000_000 + (n % 1000) * 10_000,
                    conversions: Decimal::from(n % 7),
                    revenue_micros: (n % 7) * 25_000_000,
                });
            }
        }
        work.push((*org, all));
    }
    let total: usize = work.iter().map(|(_, w)| w.len()).sum();
    let (_, secs) = ingest_pass(app, work.clone()).await?;
    Ok((total, secs, work))
}

/// Writes each organization's rows through `ingest::upsert` in 50k-row tenant transactions,
/// the organizations at once. Returns rows new or changed, and seconds.
async fn ingest_pass(app: &adpilot::app::AppState, work: Work) -> Res<(usize, f64)> {
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (org, all) in work {
        let app = app.clone();
        tasks.spawn(async move {
            let mut changed = 0;
            for chunk in all.chunks(50_000) {
                let chunk = chunk.to_vec();
                changed += app
                    .db
                    .tenant(org, async move |c| {
                        Ok::<_, adpilot::db::DbError>(ingest::upsert(c, &chunk).await?)
                    })
                    .await?;
            }
            Ok::<_, adpilot::db::DbError>(changed)
        });
    }
    let mut changed = 0;
    while let Some(r) = tasks.join_next().await {
        changed += r??;
    }
    Ok((changed, t.elapsed().as_secs_f64()))
}
