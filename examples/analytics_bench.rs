//! Analytics at scale: ingest rate through the sync's bulk paths beside a plain COPY of the
//! same rows, and the dashboards' latency (full HTTP request through the router, and each read's
//! SQL through the summaries beside the same read of the daily rows alone) for the benchmark
//! organization of issue 24.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!         cargo run --release --example analytics_bench -- [--scale 0.1] [--requests 60]
//!
//! Creates a scratch database (dropped at the end) and seeds, with set-based SQL as the admin
//! role: 50 × scale organizations with 400 campaigns × 730 days each (campaign level only), plus
//! the benchmark organization: 2,000 campaigns, 10,000 ad groups and 30,000 ads, each with 730
//! days (about 1.5M campaign-days, 7.3M ad-group-days and 22M ad-days; its size does not scale).
//! The summaries are then built from those rows (`metric_summaries_rebuild`). Then:
//!
//! 1. ingest: campaign rows through `analytics::ingest::upsert` (the sync's path), in 50k-row
//!    tenant transactions like a sync's chunks: one account at a time, a re-read with 1 in 10
//!    changed, and `ingest_streams` accounts at once; then ad rows of one account (one sync)
//!    through `analytics::level_ingest::upsert` (with its summary refresh), beside the same merge
//!    without the refresh and a plain `COPY` of the same rows into the same table, in rounds
//!    that take turns (medians and ratios printed);
//! 2. the benchmark organization's pages, last 30 days vs the previous 30: each read's SQL
//!    through the summaries beside the same read of the daily rows alone (p50/p95), then full
//!    HTTP requests through the router (session, tenant middleware, templates) for 1 and 8
//!    concurrent users: the dashboard at each level, the campaign page (its ad groups), the ad
//!    group page (its ads) and a custom two-year range.

use std::time::{Duration, Instant};

use adpilot::analytics::ingest::{self, MetricRow};
use adpilot::analytics::summaries::Refresh;
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
    /// Days of one account's 15,000 ads for each round of the ad-level ingest measurement.
    #[arg(long, default_value_t = 14)]
    ad_ingest_days: i64,
    /// Rounds of the ad-level ingest measurement (medians are printed).
    #[arg(long, default_value_t = 3)]
    ad_ingest_rounds: usize,
    /// Days of history seeded (two years by default; fewer only for a quick trial).
    #[arg(long, default_value_t = 730)]
    history_days: i64,
    /// Repetitions of the slowest baselines (the daily rows alone over two years).
    #[arg(long, default_value_t = 5)]
    slow_requests: usize,
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
    let first_day = today - Days::days(args.history_days.max(1) - 1);
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
    diesel::sql_query("SELECT ensure_levels_partitions($1, $2)")
        .bind::<diesel::sql_types::Date, _>(first_day - Days::days(31))
        .bind::<diesel::sql_types::Date, _>(today + Days::days(31))
        .execute(&mut admin_c)
        .await?;
    seed_levels(&mut admin_c, big_org).await?;
    let (group_rows, ad_rows) = seed_level_metrics(&mut admin_c, big_org, first_day, today).await?;
    let seeded = started.elapsed();
    // The seed writes the daily rows directly, not through the ingest, so the summaries are
    // built from them afterwards, as the migration builds them for rows already stored.
    let t = Instant::now();
    diesel::sql_query("SELECT metric_summaries_rebuild(id) FROM organizations")
        .execute(&mut admin_c)
        .await?;
    let built = t.elapsed();
    let t = Instant::now();
    diesel::sql_query("VACUUM ANALYZE")
        .execute(&mut admin_c)
        .await?;
    println!(
        "seeded {} organizations ({small} × 400 campaigns + 1 × 2,000) × {} days = {rows} campaign-days, and for the large one 10,000 ad groups and 30,000 ads: {group_rows} ad-group-days, {ad_rows} ad-days, in {:.1} s (+ summaries built {:.1} s, + VACUUM ANALYZE {:.1} s)",
        small + 1,
        args.history_days,
        seeded.as_secs_f64(),
        built.as_secs_f64(),
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

    ad_ingest(
        &app,
        &mut admin_c,
        &db_url,
        args.ad_ingest_days,
        args.ad_ingest_rounds.max(1),
        today,
    )
    .await?;

    // The dashboard is measured as it runs day to day: after autovacuum has seen the
    // ingest's new rows, not while it works through them.
    diesel::sql_query("VACUUM ANALYZE")
        .execute(&mut admin_c)
        .await?;

    reads(&app, big_org, today, args).await?;

    // 3. Full HTTP requests through the router, as the person sees them.
    let router = adpilot::router::router(app.clone());
    #[derive(diesel::QueryableByName)]
    struct Ids {
        #[diesel(sql_type = SqlUuid)]
        campaign: Uuid,
        #[diesel(sql_type = SqlUuid)]
        group: Uuid,
    }
    let ids: Ids = diesel::sql_query(
        "SELECT campaign_id AS campaign, id AS group FROM ad_groups WHERE org_id = $1 ORDER BY id LIMIT 1",
    )
    .bind::<SqlUuid, _>(big_org)
    .get_result(&mut admin_c)
    .await?;
    let two_years = format!(
        "/dashboard?range=custom&from={}&to={today}",
        today - Days::days(730)
    );
    let pages: Vec<(&str, String, &[u8])> = vec![
        (
            "dashboard, campaigns",
            "/dashboard?range=last_30&sort=spend&dir=desc".into(),
            b"Totals in ",
        ),
        (
            "dashboard, ad groups",
            "/dashboard?range=last_30&level=ad_group".into(),
            b"Totals in ",
        ),
        (
            "dashboard, ads",
            "/dashboard?range=last_30&level=ad".into(),
            b"Totals in ",
        ),
        ("dashboard, 2 years", two_years.clone(), b"Totals in "),
        (
            "campaign page (ad groups)",
            format!("/campaigns/{}?range=last_30", ids.campaign),
            b"</html>",
        ),
        (
            "ad group page (ads)",
            format!("/ad-groups/{}?range=last_30", ids.group),
            b"</html>",
        ),
    ];
    let cookie = format!("{}={token}", adpilot::auth::sessions::COOKIE);
    println!("full HTTP requests through the router (session, tenant, templates):");
    for (name, path, marker) in pages {
        let one = {
            let (path, cookie) = (path.clone(), cookie.clone());
            move |router: axum::Router| {
                let (path, cookie) = (path.clone(), cookie.clone());
                async move {
                    let req = Request::builder()
                        .uri(path.as_str())
                        .header(header::COOKIE, cookie)
                        .body(Body::empty())?;
                    let t = Instant::now();
                    let resp = router.oneshot(req).await?;
                    let status = resp.status();
                    let body = resp.into_body().collect().await?.to_bytes();
                    let d = t.elapsed();
                    if !status.is_success() || !body.windows(marker.len()).any(|w| w == marker) {
                        return Err(format!("{path} answered {status}").into());
                    }
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(d)
                }
            }
        };
        for _ in 0..3 {
            one(router.clone()).await?;
        }
        let n = args.requests;
        let mut http1 = Vec::new();
        for _ in 0..n {
            http1.push(one(router.clone()).await?);
        }
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (router, one) = (router.clone(), one.clone());
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for _ in 0..n.div_ceil(8).max(5) {
                    out.push(one(router.clone()).await?);
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(out)
            }));
        }
        let mut http8 = Vec::new();
        for t in tasks {
            http8.extend(t.await??);
        }
        println!(
            "  {name:<26} 1 user {}   8 users {}",
            summary(http1),
            summary(http8)
        );
    }
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
                    all_clicks: Some(12 + n % 110),
                    purchases: Some(Decimal::from(n % 7)),
                    purchase_value_micros: Some((n % 7) * 25_000_000),
                    leads: Some(Decimal::ZERO),
                    installs: Some(Decimal::ZERO),
                    registrations: Some(Decimal::ZERO),
                    conversion_types: bench_types(n),
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

/// A Meta-like row's per-type figures: the default and two purchase types.
fn bench_types(n: i64) -> adpilot::platforms::model::ConversionTypes {
    use adpilot::platforms::model::{DEFAULT_TYPE, TypeFigure};
    let f = TypeFigure {
        count: Decimal::from(n % 7),
        value: Decimal::from((n % 7) * 25),
        category: None,
    };
    [
        DEFAULT_TYPE,
        "omni_purchase",
        "offsite_conversion.fb_pixel_purchase",
    ]
    .into_iter()
    .map(|k| (k.to_string(), f.clone()))
    .collect()
}

/// 5 ad groups per campaign and 3 ads per ad group for `org` (10,000 and 30,000 for the large
/// organization's 2,000 campaigns).
async fn seed_levels(c: &mut adpilot::db::Conn, org: Uuid) -> Res<()> {
    diesel::sql_query(
        "INSERT INTO ad_groups (org_id, id, account_id, campaign_id, platform, external_id, name, status, currency)
         SELECT c.org_id, gen_random_uuid(), c.account_id, c.id, c.platform, c.external_id || '-' || g,
                'Ad group ' || g || ' of ' || c.name, CASE WHEN g = 5 THEN 'paused' ELSE 'active' END, c.currency
         FROM campaigns c CROSS JOIN generate_series(1, 5) g WHERE c.org_id = $1",
    )
    .bind::<SqlUuid, _>(org)
    .execute(c)
    .await?;
    diesel::sql_query(
        "INSERT INTO ads (org_id, id, account_id, campaign_id, ad_group_id, platform, external_id, name, status)
         SELECT g.org_id, gen_random_uuid(), g.account_id, g.campaign_id, g.id, g.platform, 'ad-' || a,
                'Ad ' || a || ' of ' || g.name, 'active'
         FROM ad_groups g CROSS JOIN generate_series(1, 3) a WHERE g.org_id = $1",
    )
    .bind::<SqlUuid, _>(org)
    .execute(c)
    .await?;
    Ok(())
}

/// Every day from `from` to `to` for each ad group and ad of `org`, a month per statement (in
/// date order, as a backfill writes them).
async fn seed_level_metrics(
    c: &mut adpilot::db::Conn,
    org: Uuid,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Res<(usize, usize)> {
    let (mut groups, mut ads) = (0, 0);
    let mut m = adpilot::analytics::summaries::month_start(from);
    while m <= to {
        let start = m.max(from);
        let end = adpilot::analytics::summaries::month_end(m).min(to);
        groups += diesel::sql_query(
            "INSERT INTO ad_group_metrics_daily (org_id, account_id, campaign_id, ad_group_id, date, impressions,
               clicks, spend_micros, conversions, revenue_micros)
             SELECT g.org_id, g.account_id, g.campaign_id, g.id, d::date, 300 + h % 7000, 3 + h % 130,
                    (2 + h % 100) * 1000000::int8, (h % 9)::numeric, (h % 9) * 40000000::int8
             FROM generate_series($2::date, $3::date, interval '1 day') d
             CROSS JOIN ad_groups g
             CROSS JOIN LATERAL (SELECT abs(hashtext(g.id::text || d::text)) AS h) x
             WHERE g.org_id = $1",
        )
        .bind::<SqlUuid, _>(org)
        .bind::<diesel::sql_types::Date, _>(start)
        .bind::<diesel::sql_types::Date, _>(end)
        .execute(c)
        .await?;
        ads += diesel::sql_query(
            "INSERT INTO ad_metrics_daily (org_id, account_id, campaign_id, ad_group_id, ad_id, date, impressions,
               clicks, spend_micros, conversions, revenue_micros)
             SELECT a.org_id, a.account_id, a.campaign_id, a.ad_group_id, a.id, d::date, 100 + h % 2500,
                    1 + h % 45, (1 + h % 35) * 1000000::int8, (h % 4)::numeric, (h % 4) * 40000000::int8
             FROM generate_series($2::date, $3::date, interval '1 day') d
             CROSS JOIN ads a
             CROSS JOIN LATERAL (SELECT abs(hashtext(a.id::text || d::text)) AS h) x
             WHERE a.org_id = $1",
        )
        .bind::<SqlUuid, _>(org)
        .bind::<diesel::sql_types::Date, _>(start)
        .bind::<diesel::sql_types::Date, _>(end)
        .execute(c)
        .await?;
        m = end + Days::days(1);
    }
    Ok((groups, ads))
}

/// Ad rows of one account (one sync) written three ways into three organizations of the same
/// shape, round after round (each round an older stretch of `days` days, as a backfill walks
/// back; the three ways take turns, so the machine's noise falls on all of them): through
/// `level_ingest::upsert` with its summary refresh (the sync's path), through the same merge
/// without the refresh, and as a plain COPY of the same rows into the same table. Prints each
/// round and the medians, with the ratios.
async fn ad_ingest(
    app: &adpilot::app::AppState,
    admin_c: &mut adpilot::db::Conn,
    db_url: &str,
    days: i64,
    rounds: usize,
    today: chrono::NaiveDate,
) -> Res<()> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    // Three organizations of the benchmark's shape; each writes one account's 15,000 ads.
    let mut orgs: Vec<Vec<Ad>> = Vec::new();
    for _ in 0..3 {
        let r: Id = diesel::sql_query(
            "INSERT INTO organizations (id, name) VALUES (gen_random_uuid(), 'Ad ingest') RETURNING id",
        )
        .get_result(admin_c)
        .await?;
        seed_org_campaigns(admin_c, Some(r.id), 2000).await?;
        seed_levels(admin_c, r.id).await?;
        let ads: Vec<Ad> = diesel::sql_query(
            "SELECT a.org_id, a.account_id, a.campaign_id, a.ad_group_id, a.id
             FROM ads a JOIN ad_accounts acc ON acc.id = a.account_id
             WHERE a.org_id = $1 AND acc.currency = 'USD'
             ORDER BY a.campaign_id IS NULL, (SELECT c.external_id FROM campaigns c WHERE c.id = a.campaign_id),
                      (SELECT g.external_id FROM ad_groups g WHERE g.id = a.ad_group_id), a.external_id",
        )
        .bind::<SqlUuid, _>(r.id)
        .load(admin_c)
        .await?;
        orgs.push(ads);
    }
    diesel::sql_query("ANALYZE").execute(admin_c).await?;
    let (client, connection) = tokio_postgres::connect(db_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let per_day = orgs[0].len();
    let total = per_day * days as usize;
    println!(
        "ad-level ingest, 1 sync of one account ({per_day} ads × {days} days = {total} new ad-days a round; rows/s):"
    );
    println!(
        "  {:<8} {:>16} {:>16} {:>12} {:>10} {:>12} {:>12}",
        "round",
        "with refresh",
        "without refresh",
        "plain COPY",
        "refresh",
        "with / COPY",
        "without/COPY"
    );
    let (mut with, mut without, mut copy) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let first = today - Days::days(days * round as i64);
        let rows = ad_rows(&orgs[0], first, days);
        let w = ingest_ads(app, orgs[0][0].org_id, &rows, Refresh::Summaries).await?;
        let rows1 = relabel(&rows, &orgs[0], &orgs[1]);
        let wo = ingest_ads(app, orgs[1][0].org_id, &rows1, Refresh::SkipToMeasure).await?;
        let cp = copy_ads(
            &client,
            orgs[2][0].org_id,
            &relabel(&rows, &orgs[0], &orgs[2]),
        )
        .await?;
        let rate = |s: f64| total as f64 / s;
        println!(
            "  {:<8} {:>16.0} {:>16.0} {:>12.0} {:>9.0}% {:>11.0}% {:>11.0}%",
            round + 1,
            rate(w),
            rate(wo),
            rate(cp),
            100.0 * (w - wo) / wo,
            100.0 * cp / w,
            100.0 * cp / wo
        );
        with.push(w);
        without.push(wo);
        copy.push(cp);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (w, wo, cp) = (med(&mut with), med(&mut without), med(&mut copy));
    let rate = |s: f64| total as f64 / s;
    println!(
        "  {:<8} {:>16.0} {:>16.0} {:>12.0} {:>9.0}% {:>11.0}% {:>11.0}%   (time of the refresh: +{:.0}% on the merge; ingest at {:.0}% of COPY's rate)",
        "median",
        rate(w),
        rate(wo),
        rate(cp),
        100.0 * (w - wo) / wo,
        100.0 * cp / w,
        100.0 * cp / wo,
        100.0 * (w - wo) / wo,
        100.0 * cp / w,
    );
    Ok(())
}

#[derive(diesel::QueryableByName, Clone, Copy)]
struct Ad {
    #[diesel(sql_type = SqlUuid)]
    org_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    campaign_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    ad_group_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// `days` days ending at `last` of every ad of `ads`, day by day in list order.
fn ad_rows(
    ads: &[Ad],
    last: chrono::NaiveDate,
    days: i64,
) -> Vec<adpilot::analytics::level_ingest::LevelRow> {
    let mut rows = Vec::with_capacity(ads.len() * days as usize);
    for d in 0..days {
        for (i, a) in ads.iter().enumerate() {
            let n = (i as i64) * 7 + d * 13;
            let conv = Decimal::from(n % 4);
            rows.push(adpilot::analytics::level_ingest::LevelRow {
                account_id: a.account_id,
                campaign_id: a.campaign_id,
                ad_group_id: a.ad_group_id,
                ad_id: Some(a.id),
                date: last - Days::days(d),
                impressions: 100 + n % 2500,
                clicks: 1 + n % 45,
                all_clicks: Some(3 + n % 45),
                spend_micros: 1_000_000 + (n % 1000) * 10_000,
                conversions: conv,
                revenue_micros: (n % 4) * 25_000_000,
                purchases: Some(conv),
                purchase_value_micros: Some((n % 4) * 25_000_000),
                leads: Some(Decimal::ZERO),
                installs: Some(Decimal::ZERO),
                registrations: Some(Decimal::ZERO),
                conversion_types: bench_types(n),
            });
        }
    }
    rows
}

/// The same rows for the same ad positions of another organization of the same shape.
fn relabel(
    rows: &[adpilot::analytics::level_ingest::LevelRow],
    from: &[Ad],
    to: &[Ad],
) -> Vec<adpilot::analytics::level_ingest::LevelRow> {
    let per_day = from.len().max(1);
    rows.iter()
        .enumerate()
        .filter_map(|(j, r)| {
            let a = to.get(j % per_day)?;
            let mut r = r.clone();
            r.account_id = a.account_id;
            r.campaign_id = a.campaign_id;
            r.ad_group_id = a.ad_group_id;
            r.ad_id = Some(a.id);
            Some(r)
        })
        .collect()
}

/// Seconds to write `rows` through `level_ingest` in one tenant transaction, as a sync writes
/// the days of one range (`analytics::sync`: one transaction per range of at most 30 days).
async fn ingest_ads(
    app: &adpilot::app::AppState,
    org: Uuid,
    rows: &[adpilot::analytics::level_ingest::LevelRow],
    refresh: Refresh,
) -> Res<f64> {
    use adpilot::analytics::level_ingest::{self, Table};
    let rows = rows.to_vec();
    let t = Instant::now();
    app.db
        .tenant(org, async move |c| {
            Ok::<_, adpilot::db::DbError>(
                level_ingest::upsert_with(c, Table::Ads, &rows, refresh).await?,
            )
        })
        .await?;
    Ok(t.elapsed().as_secs_f64())
}

/// Seconds to COPY `rows` into `ad_metrics_daily` (text format, one COPY, as the owner).
async fn copy_ads(
    client: &tokio_postgres::Client,
    org: Uuid,
    rows: &[adpilot::analytics::level_ingest::LevelRow],
) -> Res<f64> {
    use futures_util::SinkExt;
    let mut text = String::with_capacity(rows.len() * 260);
    for r in rows {
        let types = serde_json::to_string(&r.conversion_types).unwrap_or_else(|_| "{}".into());
        text.push_str(&format!(
            "{org}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t0\t0\t0\t{}\n",
            r.account_id,
            r.campaign_id,
            r.ad_group_id,
            r.ad_id.unwrap_or_default(),
            r.date,
            r.impressions,
            r.clicks,
            r.all_clicks.unwrap_or(0),
            r.spend_micros,
            r.conversions,
            r.revenue_micros,
            r.purchases.unwrap_or_default(),
            r.purchase_value_micros.unwrap_or(0),
            types.replace('\\', "\\\\"),
        ));
    }
    let t = Instant::now();
    let sink = client
        .copy_in(
            "COPY ad_metrics_daily (org_id, account_id, campaign_id, ad_group_id, ad_id, date,
               impressions, clicks, all_clicks, spend_micros, conversions, revenue_micros, purchases,
               purchase_value_micros, leads, installs, registrations, conversion_types) FROM STDIN",
        )
        .await?;
    let mut sink = std::pin::pin!(sink);
    sink.send(bytes::Bytes::from(text)).await?;
    sink.as_mut().finish().await?;
    Ok(t.elapsed().as_secs_f64())
}

/// Times `n` runs of `f`.
async fn times<F, Fut>(n: usize, mut f: F) -> Res<Vec<Duration>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Res<()>>,
{
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await?;
        out.push(t.elapsed());
    }
    Ok(out)
}

fn median_ms(d: &[Duration]) -> f64 {
    let mut d = d.to_vec();
    d.sort();
    pct(&d, 0.5)
}

/// Each read of the pages, through the summaries beside the daily rows alone (SQL only, one
/// user), printed with the ratio of the medians.
async fn reads(
    app: &adpilot::app::AppState,
    org: Uuid,
    today: chrono::NaiveDate,
    args: &Args,
) -> Res<()> {
    use adpilot::analytics::level_queries;
    use adpilot::analytics::level_table::{self, Page};
    use adpilot::analytics::queries::{self, Filters, Sort};
    use adpilot::analytics::range::DateRange;
    use adpilot::analytics::summaries::Read;
    use adpilot::platforms::Level;
    let last30 = DateRange {
        from: today - Days::days(29),
        to: today,
    };
    let two_years = DateRange {
        from: today - Days::days(730),
        to: today,
    };
    #[derive(diesel::QueryableByName)]
    struct Ids {
        #[diesel(sql_type = SqlUuid)]
        campaign: Uuid,
        #[diesel(sql_type = SqlUuid)]
        group: Uuid,
    }
    let ids: Ids = app
        .db
        .tenant(org, async move |c| {
            Ok::<_, adpilot::db::DbError>(
                diesel::sql_query(
                    "SELECT campaign_id AS campaign, id AS group FROM ad_groups ORDER BY id LIMIT 1",
                )
                .get_result::<Ids>(c)
                .await?,
            )
        })
        .await?;
    let page = Page {
        sort: Sort::default(),
        limit: Some(50),
        offset: 0,
    };
    type Read3 = (&'static str, DateRange, u8);
    let cases: Vec<Read3> = vec![
        ("campaign table + totals, last 30", last30, 0),
        ("ad group table, last 30", last30, 1),
        ("ad table, last 30", last30, 2),
        ("campaign page's ad groups", last30, 3),
        ("ad group page's ads", last30, 4),
        ("campaign table, 2 years", two_years, 0),
        ("ad group table, 2 years", two_years, 1),
        ("ad table, 2 years", two_years, 2),
    ];
    println!(
        "reads of the large organization (SQL alone, 1 user; through the summaries | the daily rows alone):"
    );
    for (name, range, kind) in cases {
        let run = |read: Read| {
            let (app, campaign, group) = (app.clone(), ids.campaign, ids.group);
            async move {
                app.db
                    .tenant(org, async move |c| {
                        let n = match kind {
                            0 => queries::campaign_aggregates_from(
                                c,
                                read,
                                range,
                                &Filters::default(),
                            )
                            .await?
                            .len(),
                            1 | 2 => {
                                let level = if kind == 1 { Level::AdGroup } else { Level::Ad };
                                level_table::level_page_from(
                                    c,
                                    read,
                                    level,
                                    range,
                                    &Filters::default(),
                                    page,
                                )
                                .await?
                                .rows
                                .len()
                            }
                            3 => {
                                level_queries::ad_groups_of_campaign_from(c, read, campaign, range)
                                    .await?
                                    .len()
                            }
                            _ => level_queries::ads_of_ad_group_from(c, read, group, range)
                                .await?
                                .len(),
                        };
                        if n == 0 {
                            return Err(adpilot::db::DbError::from(
                                diesel::result::Error::NotFound,
                            ));
                        }
                        Ok::<_, adpilot::db::DbError>(())
                    })
                    .await?;
                Ok(())
            }
        };
        run(Read::Summaries).await?;
        let fast = times(args.requests, || run(Read::Summaries)).await?;
        let slow_n = if range == two_years || kind == 2 {
            args.slow_requests
        } else {
            args.requests
        };
        let slow = times(slow_n, || run(Read::DailyRows)).await?;
        println!(
            "  {name:<34} {}   | {}   {:5.1}× faster",
            summary(fast.clone()),
            summary(slow.clone()),
            median_ms(&slow) / median_ms(&fast).max(0.001)
        );
    }
    // The chart reads every day of the range, so it has no summary to read.
    let chart = times(args.requests, || {
        let app = app.clone();
        async move {
            app.db
                .tenant(org, async move |c| {
                    Ok::<_, adpilot::db::DbError>(
                        queries::daily(c, last30, &Filters::default()).await?,
                    )
                })
                .await?;
            Ok(())
        }
    })
    .await?;
    println!(
        "  {:<34} {}",
        "daily chart, last 30 (daily rows)",
        summary(chart)
    );
    Ok(())
}
