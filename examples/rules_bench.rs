//! One full check of 1,000 rules over 20,000 campaigns with 90 days of metrics.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!         cargo run --release --example rules_bench -- [CAMPAIGNS] [RULES]
//!
//! Creates a scratch database (dropped at the end), migrates it, seeds one organization with
//! 200 ad accounts in three time zones, CAMPAIGNS campaigns (default 20,000) with 90 days of
//! metrics each, and RULES rules (default 1,000) in dry-run mode (evaluated and logged exactly
//! like live rules, no platform call), then times one check of every rule: the facts query,
//! evaluation, cooldown lookups and the run records.

use std::time::Instant;

use adpilot::automation::{runner, store};
use diesel_async::RunQueryDsl;

mod common;
use common::{Res, Scratch};

#[tokio::main]
async fn main() -> Res<()> {
    // RUST_LOG=info shows each check's phases (load, evaluate, total).
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let arg = |n: usize, d: usize| {
        std::env::args()
            .nth(n)
            .and_then(|a| a.parse().ok())
            .unwrap_or(d)
    };
    let (campaigns, rules) = (arg(1, 20_000), arg(2, 1_000));
    let scratch = Scratch::create().await?;
    let result = run(&scratch, campaigns, rules).await;
    // BENCH_KEEP leaves the database for a look at the plans (drop it by hand afterwards).
    scratch
        .finish(std::env::var_os("BENCH_KEEP").is_some())
        .await?;
    result
}

/// Rule texts in the contract's shapes, with thresholds varied per rule.
fn rule_text(i: usize) -> String {
    match i % 5 {
        0 => format!(
            "rule \"Stop losers {i}\"\n  for campaigns on google where name contains \"P{}-\"\n  when cpa > {} on each of last 3 days and clicks in last 7 days >= 100\n  then pause\n  at most once per 24 hours\n",
            i % 50,
            150 + i % 60
        ),
        1 => format!(
            "rule \"Scale winners {i}\"\n  for campaigns on meta\n  when roas in last 3 days > {} and spend in last 3 days > 100\n  then increase budget by 20% up to 500\n  at most once per 3 days\n",
            9 + i % 5
        ),
        2 => format!(
            "rule \"Spend guard {i}\"\n  for campaigns on tiktok\n  when spend today > {}.5 * daily_budget\n  then pause\n",
            1 + i % 3
        ),
        3 => format!(
            "rule \"Fading ROAS {i}\"\n  when roas in last 7 days < 0.{} * roas in previous 7 days and spend in last 7 days > {}\n  then notify \"team@acme.test\"\n",
            10 + i % 10,
            200 + i
        ),
        _ => format!(
            "rule \"CPC cap {i}\"\n  for campaigns where status is active\n  when cpc yesterday > {} and clicks yesterday > 50 and not conversions yesterday > 0\n  then decrease budget by 25% down to 20\n",
            3 + i % 7
        ),
    }
}

async fn run(scratch: &Scratch, campaigns: usize, rules: usize) -> Res<()> {
    let (app, _) = scratch.app().await?;
    let db_url = scratch.owner_url.clone();

    // Seeding as the owner role (row-level security does not apply to it), in SQL.
    let seeded = Instant::now();
    let org = uuid::Uuid::now_v7();
    let mut c = adpilot::db::connect_one(&db_url).await?;
    diesel::sql_query(format!(
        "INSERT INTO organizations (id, name, time_zone) VALUES ('{org}', 'Bench', 'UTC')"
    ))
    .execute(&mut c)
    .await?;
    diesel::sql_query(format!(
        "INSERT INTO ad_accounts (id, org_id, platform, external_id, name, currency, time_zone, status, managed)
         SELECT gen_random_uuid(), '{org}', (ARRAY['google','meta','tiktok'])[1 + a % 3], 'acct-' || a, 'Account ' || a,
                'USD', (ARRAY['UTC','America/New_York','Europe/Berlin'])[1 + (a / 3) % 3], 'active', true
         FROM generate_series(0, 199) a"
    ))
    .execute(&mut c)
    .await?;
    diesel::sql_query(format!(
        "INSERT INTO campaigns (id, org_id, account_id, platform, external_id, name, status, daily_budget_micros, currency)
         SELECT gen_random_uuid(), '{org}', a.id, a.platform, 'c-' || k, 'P' || (k % 50) || '-Prospecting ' || k,
                CASE WHEN k % 10 = 0 THEN 'paused' ELSE 'active' END, (150 + k % 300) * 1000000, 'USD'
         FROM generate_series(0, {n}) k
         JOIN (SELECT id, platform, row_number() OVER (ORDER BY external_id) - 1 AS i FROM ad_accounts) a ON a.i = k % 200",
        n = campaigns.saturating_sub(1)
    ))
    .execute(&mut c)
    .await?;
    diesel::sql_query("SELECT setseed(0.42)")
        .execute(&mut c)
        .await?;
    diesel::sql_query(format!(
        "INSERT INTO metrics_daily (org_id, account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros)
         SELECT '{org}', c.account_id, c.id, current_date - d, imp, clk, clk * (200000 + (random() * 3000000)::bigint),
                (clk * random() * 0.08)::numeric(20,6), (clk * random() * 8 * 1000000)::bigint
         FROM campaigns c CROSS JOIN generate_series(0, 89) d
         CROSS JOIN LATERAL (SELECT ((500 + random() * 9500) * CASE WHEN d = 0 THEN 0.4 ELSE 1 END)::bigint AS imp) i
         CROSS JOIN LATERAL (SELECT (i.imp * (0.005 + random() * 0.04))::bigint AS clk) k"
    ))
    .execute(&mut c)
    .await?;
    diesel::sql_query("ANALYZE").execute(&mut c).await?;
    let owner = uuid::Uuid::now_v7();
    diesel::sql_query(format!(
        "INSERT INTO users (id, email, name, password_hash) VALUES ('{owner}', 'bench@example.com', 'Bench', 'x')"
    ))
    .execute(&mut c)
    .await
    .ok();
    let texts: Vec<String> = (0..rules).map(rule_text).collect();
    let ids = app
        .db
        .tenant(org, async move |c| {
            let mut ids = Vec::with_capacity(texts.len());
            for t in &texts {
                match store::save(c, org, owner, None, t, store::Mode::DryRun).await? {
                    Ok(id) => ids.push(id),
                    Err(d) => panic!("bench rule does not check: {d:?}\n{t}"),
                }
            }
            Ok::<_, adpilot::db::DbError>(ids)
        })
        .await?;
    println!(
        "seeded {campaigns} campaigns x 90 days, {} rules in {:.1} s",
        ids.len(),
        seeded.elapsed().as_secs_f64()
    );

    let now = chrono::Utc::now();
    // The facts query alone, with every window the rules use.
    let windows: std::collections::BTreeSet<_> = (0..rules)
        .filter_map(|i| {
            adpilot::automation::language::check_single(&rule_text(i))
                .rules
                .pop()
        })
        .flat_map(|r| r.required_windows())
        .collect();
    let started = Instant::now();
    let n = app
        .db
        .tenant(org, async move |c| {
            let zones = adpilot::automation::facts::zones(c, now).await?;
            let v = adpilot::automation::facts::load(
                c,
                &zones,
                &windows,
                None,
                adpilot::automation::facts::Source::Current,
            )
            .await?;
            Ok::<_, adpilot::db::DbError>(v.len())
        })
        .await?;
    println!(
        "facts query: {n} campaigns with every window in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // What a tick queues for the organization: every rule, each for its slot, in one check.
    let checks: Vec<_> = ids.iter().map(|id| (*id, now)).collect();
    for round in 1..=2 {
        let started = Instant::now();
        let summaries = runner::check_rules(&app, org, &checks, now, None).await?;
        let secs = started.elapsed().as_secs_f64();
        let matched: usize = summaries.iter().map(|s| s.matched).sum();
        let evaluated: usize = summaries.iter().map(|s| s.evaluated).sum();
        let acted: usize = summaries.iter().map(|s| s.executed).sum();
        println!(
            "check {round}: {} rules, {evaluated} rule×campaign evaluations, {matched} matches, {acted} actions (dry run) in {secs:.2} s",
            summaries.len()
        );
        let shape: std::collections::HashMap<uuid::Uuid, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i % 5)).collect();
        let mut by_shape = [0usize; 5];
        for s in &summaries {
            if let Some(k) = shape.get(&s.rule_id) {
                by_shape[*k] += s.matched;
            }
        }
        println!(
            "  matches by rule shape (stop losers, scale, spend guard, fading, cpc cap): {by_shape:?}"
        );
    }
    // How scheduled checks ran before they were batched per organization: one job, and one
    // facts query, per rule (a sample, so the figure is per rule).
    let sample = 20.min(ids.len());
    let later = now + chrono::Duration::days(2);
    let started = Instant::now();
    for id in &ids[..sample] {
        runner::check_rule(&app, org, *id, later, later).await?;
    }
    let per_rule = started.elapsed().as_secs_f64() / sample.max(1) as f64;
    println!(
        "one rule at a time (a job per rule, as before batching): {per_rule:.2} s per rule, so {:.0} s for all {} rules",
        per_rule * ids.len() as f64,
        ids.len()
    );
    if std::env::var_os("BENCH_SHOW").is_some() {
        #[derive(diesel::QueryableByName)]
        struct Seen {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
        }
        let rows: Vec<Seen> = diesel::sql_query(
            "SELECT r.name || ': ' || i.seen::text AS t FROM rule_run_items i JOIN rules r ON r.id = i.rule_id ORDER BY random() LIMIT 5",
        )
        .load(&mut c)
        .await?;
        for r in rows {
            println!("  e.g. {}", r.t);
        }
    }
    Ok(())
}
