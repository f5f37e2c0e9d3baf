//! One check of 200 ad-level rules over 30,000 ads (issue 23's speed target: at most 2 s),
//! beside the facts SQL alone (the baseline) in the same run.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!         cargo run --release --example rules_levels_bench -- [ADS] [RULES] [DAYS]
//!
//! Creates a scratch database (dropped at the end), migrates it, seeds one organization with
//! 60 ad accounts in three time zones, ADS/15 campaigns, ADS/3 ad groups and ADS ads (default
//! 30,000) with DAYS days (default 30) of metrics at all three levels, and RULES ad-level rules
//! (default 200) in dry-run mode (evaluated and logged exactly like live rules, no platform
//! call). Prints the facts query alone for the ads with every window the rules use, then one
//! full check of every rule (facts at every level the rules read, evaluation, cooldown
//! lookups, run records), twice.

use std::time::Instant;

use adpilot::automation::language::ast::Level;
use adpilot::automation::{facts, level_facts, runner, store};
use diesel_async::RunQueryDsl;

mod common;
use common::{Res, Scratch};

#[tokio::main]
async fn main() -> Res<()> {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let arg = |n: usize, d: usize| {
        std::env::args()
            .nth(n)
            .and_then(|a| a.parse().ok())
            .unwrap_or(d)
    };
    let (ads, rules, days) = (arg(1, 30_000), arg(2, 200), arg(3, 30));
    let scratch = Scratch::create().await?;
    let result = run(&scratch, ads, rules, days).await;
    scratch
        .finish(std::env::var_os("BENCH_KEEP").is_some())
        .await?;
    result
}

/// Ad-level rules in the shapes published rules take, thresholds varied per rule.
fn rule_text(i: usize) -> String {
    match i % 5 {
        0 => format!(
            "rule \"Ad losers {i}\"\n  for ads on google where campaign name contains \"P{}-\"\n  when cpa in last 7 days > {} and clicks in last 7 days >= 50\n  then pause\n",
            i % 50,
            40 + i % 60
        ),
        1 => format!(
            "rule \"Weak CTR {i}\"\n  for ads\n  when ctr in last 3 days < 0.{}% and impressions in last 3 days > 1000\n  then pause\n",
            3 + i % 5
        ),
        2 => format!(
            "rule \"Worse than campaign {i}\"\n  for ads where status is active\n  when cpa in last 7 days > {}.5 * campaign cpa in last 7 days and spend in last 7 days > 20\n  then pause\n  at most 2 times per 7 days\n",
            1 + i % 3
        ),
        3 => format!(
            "rule \"Evening spend {i}\"\n  for ads where ad set name contains \"G{}\"\n  when spend today > {} and hour of day >= 8\n  then pause\n",
            i % 10,
            5 + i % 20
        ),
        _ => format!(
            "rule \"Weak CVR {i}\"\n  for ads\n  when cvr in last 14 days < 0.5 * ad group cvr in last 14 days and clicks in last 14 days > {}\n  then notify \"team@acme.test\"\n",
            100 + i
        ),
    }
}

async fn run(scratch: &Scratch, ads: usize, rules: usize, days: usize) -> Res<()> {
    let (app, _) = scratch.app().await?;
    let db_url = scratch.owner_url.clone();
    let campaigns = (ads / 15).max(1);
    let groups = (ads / 3).max(1);

    // Seeding as the owner role (row-level security does not apply to it), in SQL.
    let seeded = Instant::now();
    let org = uuid::Uuid::now_v7();
    let mut c = adpilot::db::connect_one(&db_url).await?;
    for sql in [
        format!("INSERT INTO organizations (id, name, time_zone) VALUES ('{org}', 'Bench', 'UTC')"),
        format!(
            "INSERT INTO ad_accounts (id, org_id, platform, external_id, name, currency, time_zone, status, managed)
             SELECT gen_random_uuid(), '{org}', (ARRAY['google','meta','tiktok'])[1 + a % 3], 'acct-' || a, 'Account ' || a,
                    'USD', (ARRAY['UTC','America/New_York','Europe/Berlin'])[1 + (a / 3) % 3], 'active', true
             FROM generate_series(0, 59) a"
        ),
        format!(
            "INSERT INTO campaigns (id, org_id, account_id, platform, external_id, name, status, daily_budget_micros, currency)
             SELECT gen_random_uuid(), '{org}', a.id, a.platform, 'c-' || k, 'P' || (k % 50) || '-Prospecting ' || k,
                    'active', (150 + k % 300) * 1000000, 'USD'
             FROM generate_series(0, {n}) k
             JOIN (SELECT id, platform, row_number() OVER (ORDER BY external_id) - 1 AS i FROM ad_accounts) a ON a.i = k % 60",
            n = campaigns - 1
        ),
        format!(
            "INSERT INTO ad_groups (org_id, id, account_id, campaign_id, platform, external_id, name, status, budget_period, budget_micros, bid_micros, currency)
             SELECT '{org}', gen_random_uuid(), c.account_id, c.id, c.platform, 'g-' || k, 'G' || (k % 10) || ' set ' || k,
                    CASE WHEN k % 9 = 0 THEN 'paused' ELSE 'active' END,
                    CASE WHEN c.platform = 'google' THEN NULL ELSE 'daily' END,
                    CASE WHEN c.platform = 'google' THEN NULL ELSE (20 + k % 80) * 1000000 END,
                    (1 + k % 4) * 1000000, 'USD'
             FROM generate_series(0, {n}) k
             JOIN (SELECT id, account_id, platform, row_number() OVER (ORDER BY external_id) - 1 AS i FROM campaigns) c ON c.i = k % {campaigns}",
            n = groups - 1
        ),
        format!(
            "INSERT INTO ads (org_id, id, account_id, campaign_id, ad_group_id, platform, external_id, name, status)
             SELECT '{org}', gen_random_uuid(), g.account_id, g.campaign_id, g.id, g.platform, 'ad-' || k, 'Ad ' || k,
                    CASE WHEN k % 11 = 0 THEN 'paused' ELSE 'active' END
             FROM generate_series(0, {n}) k
             JOIN (SELECT id, account_id, campaign_id, platform, row_number() OVER (ORDER BY external_id) - 1 AS i FROM ad_groups) g ON g.i = k % {groups}",
            n = ads - 1
        ),
        "SELECT setseed(0.42)".to_string(),
        format!(
            "INSERT INTO ad_metrics_daily (org_id, account_id, campaign_id, ad_group_id, ad_id, date, impressions, clicks, spend_micros, conversions, revenue_micros)
             SELECT '{org}', d.account_id, d.campaign_id, d.ad_group_id, d.id, current_date - x, imp, clk,
                    clk * (200000 + (random() * 3000000)::bigint), (clk * random() * 0.08)::numeric(20,6),
                    (clk * random() * 8 * 1000000)::bigint
             FROM ads d CROSS JOIN generate_series(0, {last}) x
             CROSS JOIN LATERAL (SELECT ((100 + random() * 1900) * CASE WHEN x = 0 THEN 0.4 ELSE 1 END)::bigint AS imp) i
             CROSS JOIN LATERAL (SELECT (i.imp * (0.003 + random() * 0.04))::bigint AS clk) k",
            last = days - 1
        ),
        format!(
            "INSERT INTO ad_group_metrics_daily (org_id, account_id, campaign_id, ad_group_id, date, impressions, clicks, spend_micros, conversions, revenue_micros)
             SELECT '{org}', min(account_id::text)::uuid, campaign_id, ad_group_id, date, sum(impressions), sum(clicks),
                    sum(spend_micros), sum(conversions), sum(revenue_micros)
             FROM ad_metrics_daily GROUP BY campaign_id, ad_group_id, date"
        ),
        format!(
            "INSERT INTO metrics_daily (org_id, account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros)
             SELECT '{org}', min(account_id::text)::uuid, campaign_id, date, sum(impressions), sum(clicks),
                    sum(spend_micros), sum(conversions), sum(revenue_micros)
             FROM ad_group_metrics_daily GROUP BY campaign_id, date"
        ),
        "ANALYZE".to_string(),
    ] {
        diesel::sql_query(sql).execute(&mut c).await?;
    }
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
        "seeded {ads} ads ({groups} ad groups, {campaigns} campaigns) x {days} days, {} rules in {:.1} s",
        ids.len(),
        seeded.elapsed().as_secs_f64()
    );

    let now = chrono::Utc::now();
    // The baseline: the ads' facts query alone, with every window the rules use.
    let windows: std::collections::BTreeSet<_> = (0..rules)
        .filter_map(|i| {
            adpilot::automation::language::check_single(&rule_text(i))
                .rules
                .pop()
        })
        .flat_map(|r| r.required_windows())
        .collect();
    let mut baseline = f64::MAX;
    for _ in 0..2 {
        let w = windows.clone();
        let started = Instant::now();
        let n = app
            .db
            .tenant(org, async move |c| {
                let zones = facts::zones(c, now).await?;
                let v =
                    level_facts::load_level(c, &zones, Level::Ad, &w, None, facts::Source::Current)
                        .await?;
                Ok::<_, adpilot::db::DbError>(v.len())
            })
            .await?;
        baseline = baseline.min(started.elapsed().as_secs_f64());
        println!(
            "baseline, the facts query alone: {n} ads with {} windows in {:.2} s",
            windows.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let checks: Vec<_> = ids.iter().map(|id| (*id, now)).collect();
    for round in 1..=2 {
        let started = Instant::now();
        let summaries = runner::check_rules(&app, org, &checks, now, None).await?;
        let secs = started.elapsed().as_secs_f64();
        let matched: usize = summaries.iter().map(|s| s.matched).sum();
        let evaluated: usize = summaries.iter().map(|s| s.evaluated).sum();
        let errors = summaries.iter().filter(|s| s.error.is_some()).count();
        println!(
            "check {round}: {} ad-level rules, {evaluated} rule×ad evaluations, {matched} matches, {errors} errors in {secs:.2} s \
             (target 2.00 s; baseline {baseline:.2} s, so {:.2} s beyond the facts query)",
            summaries.len(),
            secs - baseline
        );
    }
    Ok(())
}
