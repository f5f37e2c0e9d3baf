//! Metrics sync against the sandbox: backfill equals the platform's truth, late conversions
//! update with revisions kept, statuses follow, failures keep earlier data, partitions exist.

use std::collections::HashMap;

use adpilot::analytics::ingest::{self, MetricRow};
use adpilot::analytics::sync;
use adpilot::sandbox::{FaultKind, FaultSpec, SandboxConfig, TruthQuery};
use adpilot::types::Platform;
use axum::http::StatusCode;
use diesel::sql_types::{BigInt, Date, Text};
use diesel_async::RunQueryDsl;

use crate::connections::connect;
use crate::support::*;

#[derive(diesel::QueryableByName, Debug)]
struct Stored {
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Date)]
    date: chrono::NaiveDate,
    #[diesel(sql_type = BigInt)]
    impressions: i64,
    #[diesel(sql_type = BigInt)]
    clicks: i64,
    #[diesel(sql_type = BigInt)]
    spend_micros: i64,
    #[diesel(sql_type = Text)]
    conversions: String,
    #[diesel(sql_type = BigInt)]
    revenue_micros: i64,
}

async fn stored_at(admin_url: &str) -> HashMap<(String, String, chrono::NaiveDate), Stored> {
    let mut c = adpilot::db::connect_one(admin_url).await.expect("admin");
    let rows: Vec<Stored> = diesel::sql_query(
        "SELECT c.platform, c.external_id, m.date, m.impressions, m.clicks, m.spend_micros, trim_scale(m.conversions)::text AS conversions, m.revenue_micros
         FROM metrics_daily m JOIN campaigns c ON c.id = m.campaign_id",
    )
    .load(&mut c)
    .await
    .expect("stored metrics");
    rows.into_iter()
        .map(|r| ((r.platform.clone(), r.external_id.clone(), r.date), r))
        .collect()
}

async fn sync_all(
    t: &TestApp,
    sb: &adpilot::sandbox::SandboxHandle,
) -> Vec<Result<sync::SyncReport, sync::SyncError>> {
    let org = org_of(t).await;
    let mut out = Vec::new();
    for account in sync::accounts_to_sync(&t.app, org).await.expect("accounts") {
        out.push(sync::sync_account(&t.app, org, account, sb.clock().now()).await);
    }
    out
}

/// Compares every campaign-day stored for `platforms` with the sandbox's truth over the
/// backfilled 90 days (every value, nothing missing, nothing extra); returns how many.
pub async fn assert_stored_equals_truth(
    admin_url: &str,
    sb: &adpilot::sandbox::SandboxHandle,
    platforms: &[Platform],
) -> usize {
    assert_stored_equals_truth_over(admin_url, sb, platforms, 90).await
}

/// [`assert_stored_equals_truth`] over the last `days` days of each account.
async fn assert_stored_equals_truth_over(
    admin_url: &str,
    sb: &adpilot::sandbox::SandboxHandle,
    platforms: &[Platform],
    days: i64,
) -> usize {
    let got = stored_at(admin_url).await;
    let mut compared = 0;
    for &platform in platforms {
        for a in sb.accounts(Some(platform)) {
            let tz: chrono_tz::Tz = a.time_zone.parse().expect("tz");
            let today = sb.clock().now().with_timezone(&tz).date_naive();
            let from = today - chrono::Duration::days(days);
            let truth = sb.daily_metrics(&TruthQuery {
                platform: Some(platform),
                account_id: Some(a.id.clone()),
                from: Some(from),
                to: Some(today),
                ..Default::default()
            });
            for m in truth {
                let s = got
                    .get(&(platform.as_str().to_string(), m.campaign_id.clone(), m.date))
                    .unwrap_or_else(|| panic!("missing {platform} {} {}", m.campaign_id, m.date));
                assert_eq!(
                    (s.impressions, s.clicks, s.spend_micros, s.revenue_micros),
                    (m.impressions, m.clicks, m.spend_micros, m.revenue_micros)
                );
                assert_eq!(s.conversions, m.conversions.to_string());
                compared += 1;
            }
        }
    }
    let of_platforms = got
        .keys()
        .filter(|(p, _, _)| platforms.iter().any(|x| x.as_str() == p))
        .count();
    assert_eq!(
        of_platforms, compared,
        "nothing beyond the truth was stored"
    );
    compared
}

/// A sandbox whose clock stands still (its truth does not move during a test), an app on it
/// and a signed-up marketer.
async fn signed_up_on_a_still_sandbox() -> (adpilot::sandbox::SandboxHandle, TestApp, Client) {
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    })
    .await;
    let t = TestApp::with_sandbox(&sb).await;
    let c = t.sign_up("ann@example.com", "Acme").await;
    (sb, t, c)
}

#[tokio::test]
async fn first_sync_backfills_and_equals_the_sandbox_truth_per_campaign_and_day() {
    let (sb, t, mut c) = signed_up_on_a_still_sandbox().await;
    for p in ["google", "meta", "tiktok"] {
        connect(&mut c, p).await;
    }
    for r in sync_all(&t, &sb).await {
        let r = r.expect("sync");
        assert!(r.backfill_done && r.rows_read > 0);
    }
    let compared = assert_stored_equals_truth(&t.db.admin_url, &sb, &Platform::ALL).await;
    assert!(compared > 1000, "compared {compared} campaign-days");
    let page = c.get("/connections").await;
    assert!(
        page.body.contains("Last sync"),
        "sync state shown on the Connections page"
    );
}

#[tokio::test]
async fn late_conversions_update_on_the_next_sync_and_keep_revisions_and_statuses_follow() {
    let (sb, t, mut c) = signed_up_on_a_still_sandbox().await;
    connect(&mut c, "meta").await;
    sync_all(&t, &sb).await.into_iter().for_each(|r| {
        r.expect("sync");
    });
    let before = count(&t, "SELECT count(*) AS n FROM metric_revisions").await;
    assert_eq!(
        before, 0,
        "a first report is stored once, as the current row"
    );
    let conv_before = count(
        &t,
        "SELECT coalesce(sum(conversions), 0)::bigint AS n FROM metrics_daily",
    )
    .await;
    // A day passes: recent days' conversions keep arriving.
    sb.clock().advance(chrono::Duration::hours(30));
    // Someone pauses a campaign at the platform.
    let a = sb
        .accounts(Some(Platform::Meta))
        .into_iter()
        .next()
        .expect("account");
    let camp = sb
        .campaigns(&TruthQuery {
            platform: Some(Platform::Meta),
            account_id: Some(a.id.clone()),
            ..Default::default()
        })
        .into_iter()
        .find(|c| c.status == adpilot::sandbox::CampaignStatus::Enabled)
        .expect("active campaign");
    let p = t.app.platforms.adapter(Platform::Meta);
    let tok = sb.issue_token(Platform::Meta, None).access_token;
    p.pause(
        &adpilot::platforms::Credentials::new(tok),
        &adpilot::platforms::AccountRef::new(a.id.clone(), a.currency),
        &camp.campaign_id,
    )
    .await
    .expect("pause");
    sync_all(&t, &sb).await.into_iter().for_each(|r| {
        r.expect("second sync");
    });
    let after = count(&t, "SELECT count(*) AS n FROM metric_revisions").await;
    let conv_after = count(
        &t,
        "SELECT coalesce(sum(conversions), 0)::bigint AS n FROM metrics_daily",
    )
    .await;
    assert!(after > before, "changed values were appended as revisions");
    assert!(conv_after > conv_before, "late conversions arrived");
    let superseded = count(
        &t,
        "SELECT count(*) AS n FROM metric_revisions r JOIN metrics_daily m USING (org_id, campaign_id, date) \
         WHERE r.observed_at < m.updated_at AND r.conversions < m.conversions",
    )
    .await;
    assert!(
        superseded > 0,
        "the numbers a late conversion replaced are kept, observed before the current ones"
    );
    let paused = count(
        &t,
        &format!(
            "SELECT count(*) AS n FROM campaigns WHERE external_id = '{}' AND status = 'paused'",
            camp.campaign_id
        ),
    )
    .await;
    assert_eq!(
        paused, 1,
        "the paused campaign shows as paused after the next sync"
    );
}

/// The account picker's form with every offered account ticked and these history fields.
async fn save_history(
    c: &mut Client,
    picker: &str,
    backfill_days: &str,
    lookback_days: &str,
) -> Resp {
    let page = c.get(picker).await;
    let ids: Vec<String> = page
        .body
        .split("name=\"account\" value=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect();
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|i| ("account", i.as_str())).collect();
    fields.push(("backfill_days", backfill_days));
    fields.push(("lookback_days", lookback_days));
    c.post(picker, &fields).await
}

/// The earliest stored day of each Meta account, against the account's today.
async fn days_loaded(t: &TestApp, sb: &adpilot::sandbox::SandboxHandle) -> Vec<i64> {
    let mut out = Vec::new();
    for a in sb.accounts(Some(Platform::Meta)) {
        let tz: chrono_tz::Tz = a.time_zone.parse().expect("tz");
        let today = sb.clock().now().with_timezone(&tz).date_naive();
        let oldest = count(
            t,
            &format!(
                "SELECT coalesce(DATE '{today}' - min(m.date), -1)::bigint AS n FROM metrics_daily m \
                 JOIN ad_accounts a ON a.id = m.account_id WHERE a.external_id = '{}'",
                a.id
            ),
        )
        .await;
        out.push(oldest);
    }
    out
}

#[tokio::test]
async fn history_is_chosen_per_connection_and_a_longer_one_is_loaded_by_the_next_sync() {
    let (sb, t, mut c) = signed_up_on_a_still_sandbox().await;
    let conn = crate::connections::start(&mut c, "meta").await;
    let back = consent(&conn, "approve").await;
    let picker = c
        .get(&back)
        .await
        .location()
        .expect("to the account picker")
        .to_string();
    let page = c.get(&picker).await;
    assert!(
        page.body.contains("name=\"backfill_days\" value=\"90\"")
            && page.body.contains("name=\"lookback_days\" value=\"7\""),
        "the defaults are offered"
    );

    // Bad values come back beside their field, as typed, and nothing is saved.
    for (backfill, lookback, message) in [
        (
            "ninety",
            "7",
            "History to load must be a whole number of days from 1 to 730.",
        ),
        (
            "731",
            "7",
            "History to load must be a whole number of days from 1 to 730.",
        ),
        (
            "90",
            "0",
            "Days re-read on every sync must be a whole number of days from 1 to 90.",
        ),
        (
            "90",
            "2.5",
            "Days re-read on every sync must be a whole number of days from 1 to 90.",
        ),
    ] {
        let r = save_history(&mut c, &picker, backfill, lookback).await;
        r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.body.contains(message),
            "{backfill}/{lookback}: {}",
            r.body
        );
        assert!(r.body.contains("Nothing was saved"));
        assert!(
            r.body.contains(&format!("value=\"{backfill}\"")),
            "typed value kept"
        );
        assert!(r.body.contains("aria-invalid=\"true\""));
    }
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM ad_accounts WHERE managed").await,
        0,
        "no account chosen by a refused form"
    );

    let r = save_history(&mut c, &picker, "30", "3").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for r in sync_all(&t, &sb).await {
        let r = r.expect("first sync");
        assert!(r.backfill_done);
    }
    assert!(
        days_loaded(&t, &sb).await.iter().all(|&d| d == 30),
        "30 days loaded: {:?}",
        days_loaded(&t, &sb).await
    );
    let page = c.get("/connections").await;
    assert!(
        page.body
            .contains("History: 30 days loaded · the last 3 days re-read on every sync."),
        "{}",
        page.body
    );
    // A later sync reads the 3 recent days and today, not a week.
    for r in sync_all(&t, &sb).await {
        let r = r.expect("later sync");
        assert!(
            r.rows_read > 0 && r.rows_read <= r.campaigns * 4,
            "{} rows for {} campaigns",
            r.rows_read,
            r.campaigns
        );
    }

    // Longer: the next sync goes on from where the backfill stopped.
    let r = save_history(&mut c, &picker, "120", "3").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get("/connections").await;
    assert!(
        page.body.contains("data-hx-trigger=\"every 5s\""),
        "the page follows the loading"
    );
    for r in sync_all(&t, &sb).await {
        let r = r.expect("sync after extending");
        assert!(r.backfill_done && r.backfilled_from.is_some());
    }
    assert!(days_loaded(&t, &sb).await.iter().all(|&d| d == 120));
    let compared =
        assert_stored_equals_truth_over(&t.db.admin_url, &sb, &[Platform::Meta], 120).await;
    assert!(compared > 0);
    let page = c.get("/connections").await;
    assert!(
        !page.body.contains("data-hx-trigger=\"every 5s\""),
        "loaded: no more polling"
    );

    // Shorter: nothing already loaded is deleted.
    let r = save_history(&mut c, &picker, "60", "3").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    sync_all(&t, &sb).await.into_iter().for_each(|r| {
        r.expect("sync after shortening");
    });
    assert!(days_loaded(&t, &sb).await.iter().all(|&d| d == 120));
    assert!(
        c.get("/connections")
            .await
            .body
            .contains("History: 60 days loaded")
    );
}

#[tokio::test]
async fn a_failed_sync_keeps_earlier_data_and_records_the_error() {
    let (sb, t, mut c) = signed_up_on_a_still_sandbox().await;
    connect(&mut c, "google").await;
    sync_all(&t, &sb).await.into_iter().for_each(|r| {
        r.expect("sync");
    });
    let rows = count(&t, "SELECT count(*) AS n FROM metrics_daily").await;
    sb.inject_fault(
        FaultSpec::new(FaultKind::RateLimit)
            .platform(Platform::Google)
            .count(100)
            .retry_after_secs(3600),
    )
    .expect("fault");
    for r in sync_all(&t, &sb).await {
        assert!(
            matches!(
                r,
                Err(sync::SyncError::Platform(
                    adpilot::platforms::PlatformError::RateLimited { .. }
                ))
            ),
            "{r:?}"
        );
    }
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM metrics_daily").await,
        rows,
        "nothing lost"
    );
    assert!(count(&t, "SELECT count(*) AS n FROM account_sync WHERE last_error LIKE 'Rate limited%' AND rate_limited_until > now()").await > 0);
    // While rate limited the account waits for its window without calling the platform.
    sb.clear_calls();
    sync_all(&t, &sb).await;
    assert!(
        sb.calls().is_empty(),
        "no calls inside the rate-limit window"
    );
}

/// The daily upkeep job is what keeps partitions ahead of ingest: the migration's own ones run
/// out a few months after the database was made (and the tests' template is kept between runs),
/// so this runs the upkeep on days chosen here, far past anything the migration made, and then
/// the real job through the job system.
#[tokio::test]
async fn the_daily_partition_upkeep_keeps_months_ahead_of_any_day() {
    use adpilot::analytics::jobs::{PARTITION_HORIZON_DAYS, PartitionUpkeep, upkeep_partitions};
    let t = TestApp::new().await;
    let month = |d: chrono::NaiveDate| format!("metrics_daily_{}", d.format("%Y_%m"));
    let today = chrono::Utc::now().date_naive() + chrono::Duration::days(3 * 366);
    let horizon = today + chrono::Duration::days(PARTITION_HORIZON_DAYS);
    assert!(
        !table_exists(&t, &month(today)).await,
        "made by the upkeep, not the migration"
    );
    // As the server's role, which the job runs as.
    let mut conn = t.db().conn().await.expect("conn");
    let created = upkeep_partitions(&mut conn, today)
        .await
        .expect("the server role may run the upkeep");
    assert!(created >= 5, "last month to four months ahead: {created}");
    for d in [today, today + chrono::Duration::days(62), horizon] {
        assert!(table_exists(&t, &month(d)).await, "{} exists", month(d));
    }
    assert_eq!(
        upkeep_partitions(&mut conn, today).await.expect("again"),
        0,
        "a second run on the same day makes nothing"
    );
    // A day's metrics on the horizon can be written.
    let _c = t.sign_up("ann@example.com", "Acme").await;
    let org = org_of(&t).await;
    let camp = uuid::Uuid::now_v7();
    assert_eq!(ingest(&t, org, vec![metric(camp, horizon, 3)]).await, 1);

    // The job production runs, through the jobs system: a partition missing ahead of today
    // (dropped here) is made again.
    let ahead = chrono::Utc::now().date_naive() + chrono::Duration::days(62);
    admin_exec(&t, &format!("DROP TABLE IF EXISTS {}", month(ahead))).await;
    assert!(!table_exists(&t, &month(ahead)).await);
    adpilot::jobs::enqueue_system(&t.app.db, &PartitionUpkeep {})
        .await
        .expect("enqueue");
    let workers = job_workers(&t);
    eventually(
        "the upkeep job succeeded",
        std::time::Duration::from_secs(60),
        || async {
            count(
                &t,
                "SELECT count(*) AS n FROM jobs WHERE kind = 'analytics.partitions' AND state = 'succeeded'",
            )
            .await
                == 1
        },
    )
    .await;
    workers.shutdown().await;
    assert!(
        table_exists(&t, &month(ahead)).await,
        "{} made by the job",
        month(ahead)
    );
    assert!(
        adpilot::jobs::catalog::schedules(&t.app.config)
            .iter()
            .any(|s| s.name == "metrics_partitions"),
        "the upkeep is scheduled"
    );
}

fn metric(campaign: uuid::Uuid, date: chrono::NaiveDate, clicks: i64) -> MetricRow {
    MetricRow {
        account_id: uuid::Uuid::from_u128(7),
        campaign_id: campaign,
        date,
        impressions: 100,
        clicks,
        spend_micros: 1_000_000,
        conversions: rust_decimal::Decimal::new(15, 1),
        revenue_micros: 0,
        all_clicks: None,
        purchases: None,
        purchase_value_micros: None,
        leads: None,
        installs: None,
        registrations: None,
        conversion_types: Default::default(),
    }
}

async fn ingest(t: &TestApp, org: uuid::Uuid, rows: Vec<MetricRow>) -> usize {
    t.db()
        .tenant(org, async move |c| {
            Ok::<_, adpilot::db::DbError>(ingest::upsert(c, &rows).await?)
        })
        .await
        .expect("ingest")
}

/// Clicks of one campaign-day as known just before `at`, or None if it was not known yet.
async fn clicks_known_at(
    t: &TestApp,
    campaign: uuid::Uuid,
    date: chrono::NaiveDate,
    at: chrono::DateTime<chrono::Utc>,
) -> Option<i64> {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = BigInt)]
        clicks: i64,
    }
    let mut a = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let r: Vec<R> = diesel::sql_query(format!(
        "SELECT clicks FROM {} k WHERE campaign_id = $2 AND date = $3",
        ingest::known_at_source("$1")
    ))
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .bind::<diesel::sql_types::Uuid, _>(campaign)
    .bind::<Date, _>(date)
    .load(&mut a)
    .await
    .expect("known at");
    r.into_iter().next().map(|r| r.clicks)
}

#[tokio::test]
async fn every_reported_value_is_kept_with_when_it_was_seen_and_a_first_report_once() {
    let t = TestApp::new().await;
    let _c = t.sign_up("ann@example.com", "Acme").await;
    let org = org_of(&t).await;
    let camp = uuid::Uuid::new_v4();
    let day1 = chrono::Utc::now().date_naive() - chrono::Duration::days(3);
    let day2 = day1 + chrono::Duration::days(1);
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(20));

    let t0 = chrono::Utc::now();
    pause().await;
    assert_eq!(ingest(&t, org, vec![metric(camp, day1, 5)]).await, 1);
    pause().await;
    let t1 = chrono::Utc::now();
    pause().await;
    assert_eq!(
        ingest(&t, org, vec![metric(camp, day1, 7), metric(camp, day2, 3)]).await,
        2,
        "one day changed, one new"
    );
    pause().await;
    let t2 = chrono::Utc::now();
    pause().await;
    assert_eq!(
        ingest(&t, org, vec![metric(camp, day1, 7), metric(camp, day2, 3)]).await,
        0,
        "the same numbers again change nothing"
    );
    assert_eq!(ingest(&t, org, vec![metric(camp, day1, 9)]).await, 1);
    pause().await;
    let t3 = chrono::Utc::now();

    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM metric_revisions").await,
        2,
        "the two replaced values of day 1, nothing for first reports or repeats"
    );
    assert_eq!(clicks_known_at(&t, camp, day1, t0).await, None);
    assert_eq!(clicks_known_at(&t, camp, day1, t1).await, Some(5));
    assert_eq!(clicks_known_at(&t, camp, day2, t1).await, None);
    assert_eq!(clicks_known_at(&t, camp, day1, t2).await, Some(7));
    assert_eq!(clicks_known_at(&t, camp, day2, t2).await, Some(3));
    assert_eq!(clicks_known_at(&t, camp, day1, t3).await, Some(9));
}

#[tokio::test]
async fn two_writers_of_one_account_at_once_both_land_and_nothing_is_lost() {
    let t = TestApp::new().await;
    let _c = t.sign_up("ann@example.com", "Acme").await;
    let org = org_of(&t).await;
    let today = chrono::Utc::now().date_naive();
    let camps: Vec<uuid::Uuid> = (0..400).map(|_| uuid::Uuid::new_v4()).collect();
    let rows = |clicks: i64| -> Vec<MetricRow> {
        (0..10)
            .flat_map(|d| {
                let date = today - chrono::Duration::days(d);
                camps.iter().map(move |c| metric(*c, date, clicks))
            })
            .collect()
    };
    // Both see no stored rows when they start; without serialization one would fail on
    // the key, or one report would vanish without a revision.
    let (a, b) = tokio::join!(ingest(&t, org, rows(1)), ingest(&t, org, rows(2)));
    assert_eq!((a, b), (4000, 4000), "each wrote all of its rows");
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM metrics_daily").await,
        4000
    );
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM metric_revisions").await,
        4000,
        "the first writer's numbers are kept as revisions of the second's"
    );
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM metrics_daily m JOIN metric_revisions r USING (org_id, campaign_id, date) \
             WHERE m.clicks + r.clicks = 3"
        )
        .await,
        4000
    );
}

#[derive(diesel::QueryableByName, Debug)]
struct Named {
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = BigInt)]
    clicks: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    all_clicks: Option<i64>,
    #[diesel(sql_type = Text)]
    conversions: String,
    #[diesel(sql_type = BigInt)]
    revenue_micros: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    purchases: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    purchase_value_micros: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    registrations: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    installs: Option<String>,
    #[diesel(sql_type = Text)]
    types: String,
    #[diesel(sql_type = Text)]
    level: String,
}

/// Every stored day of every level (campaigns, ad groups, ads).
async fn named(admin_url: &str) -> Vec<Named> {
    let mut c = adpilot::db::connect_one(admin_url).await.expect("admin");
    let mut out = Vec::new();
    for table in [
        "metrics_daily",
        "ad_group_metrics_daily",
        "ad_metrics_daily",
    ] {
        let rows: Vec<Named> = diesel::sql_query(format!(
            "SELECT c.platform, m.clicks, m.all_clicks, trim_scale(m.conversions)::text AS conversions,
                    m.revenue_micros, trim_scale(m.purchases)::text AS purchases, m.purchase_value_micros,
                    trim_scale(m.registrations)::text AS registrations, trim_scale(m.installs)::text AS installs,
                    coalesce(m.conversion_types, '{{}}')::text AS types, '{table}' AS level
             FROM {table} m JOIN campaigns c ON c.id = m.campaign_id"
        ))
        .load(&mut c)
        .await
        .expect("stored metrics");
        assert!(!rows.is_empty(), "{table} has rows");
        out.extend(rows);
    }
    out
}

/// Every platform's row keeps destination clicks, all clicks, the named conversion metrics and
/// the per-type figures; a change of an account's conversion settings re-derives its stored
/// history from those figures without a platform call.
#[tokio::test]
async fn named_metrics_are_stored_and_conversion_settings_rederive_history() {
    let (sb, t, mut c) = signed_up_on_a_still_sandbox().await;
    for p in ["google", "meta", "tiktok"] {
        connect(&mut c, p).await;
    }
    for r in sync_all(&t, &sb).await {
        r.expect("sync");
    }
    let rows = named(&t.db.admin_url).await;
    let of = |p: &'static str| rows.iter().filter(move |r| r.platform == p);
    for r in of("meta") {
        assert_eq!(r.all_clicks, Some(r.clicks + r.clicks * 2 / 5), "{r:?}");
        assert_eq!(
            r.purchases.as_deref(),
            Some(r.conversions.as_str()),
            "{r:?}"
        );
        assert_eq!(r.purchase_value_micros, Some(r.revenue_micros), "{r:?}");
        assert_eq!(r.installs.as_deref(), Some("0"), "{r:?}");
    }
    for r in of("google") {
        assert_eq!(r.all_clicks, Some(r.clicks + r.clicks / 8), "{r:?}");
        assert_eq!(
            r.purchases.as_deref(),
            Some(r.conversions.as_str()),
            "{r:?}"
        );
        let signups = (r.clicks / 10).to_string();
        assert_eq!(r.registrations.as_deref(), Some(signups.as_str()), "{r:?}");
    }
    for r in of("tiktok") {
        assert_eq!(r.all_clicks, None, "TikTok has no all-clicks figure");
        assert_eq!(
            r.purchases.as_deref(),
            Some(r.conversions.as_str()),
            "{r:?}"
        );
        assert!(r.types.contains("complete_payment"), "{r:?}");
    }
    assert!(of("meta").any(|r| r.types.contains("omni_purchase")));
    for level in ["ad_group_metrics_daily", "ad_metrics_daily"] {
        for p in ["google", "meta", "tiktok"] {
            assert!(
                of(p).any(|r| r.level == level && r.purchases.is_some() && r.types.len() > 2),
                "{p} {level} keeps named metrics and per-type figures"
            );
        }
    }

    // Google conversions become the secondary sign-up action; revenue stays the default.
    let org = org_of(&t).await;
    let google = sb.accounts(Some(Platform::Google));
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let ids: Vec<Id> = diesel::sql_query("SELECT id FROM ad_accounts WHERE platform = 'google'")
        .load(&mut admin)
        .await
        .expect("ids");
    assert_eq!(ids.len(), google.len());
    let user: Id = diesel::sql_query("SELECT id FROM users LIMIT 1")
        .get_result(&mut admin)
        .await
        .expect("user");
    sb.clear_calls();
    let settings = adpilot::analytics::conversions::ConversionSettings {
        conversion_types: vec!["Newsletter sign-up".into()],
        revenue_types: vec![],
    };
    let currencies: Vec<adpilot::types::Currency> = google.iter().map(|a| a.currency).collect();
    let written = t
        .db()
        .tenant(org, async move |c| {
            let mut n = 0;
            for (a, cur) in ids.iter().zip(currencies) {
                adpilot::analytics::conversion_settings::save(c, org, a.id, user.id, &settings)
                    .await?;
                n += adpilot::analytics::conversion_settings::rederive(
                    c,
                    a.id,
                    Platform::Google,
                    cur,
                    &settings,
                )
                .await?;
            }
            Ok::<_, adpilot::db::DbError>(n)
        })
        .await
        .expect("rederive");
    assert_eq!(written, of("google").count(), "every level's rows");
    assert!(sb.calls().is_empty(), "no platform call");
    let after = named(&t.db.admin_url).await;
    for r in after.iter().filter(|r| r.platform == "google") {
        assert_eq!(r.conversions, (r.clicks / 10).to_string(), "{r:?}");
        assert_eq!(r.purchases.as_deref().map(str::is_empty), Some(false));
    }
    let before_revenue: i64 = of("google").map(|r| r.revenue_micros).sum();
    let after_revenue: i64 = after
        .iter()
        .filter(|r| r.platform == "google")
        .map(|r| r.revenue_micros)
        .sum();
    assert_eq!(before_revenue, after_revenue, "revenue kept its default");
}

/// The account's conversions page: the attribution in use, the types seen in its data, a
/// change that recalculates stored history, and an unknown type refused with nothing saved.
#[tokio::test]
async fn the_conversions_page_lists_seen_types_and_recalculates_on_save() {
    let (sb, t, mut c) = signed_up_on_a_still_sandbox().await;
    connect(&mut c, "meta").await;
    for r in sync_all(&t, &sb).await {
        r.expect("sync");
    }
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    #[derive(diesel::QueryableByName)]
    struct Acct {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let acct: Acct = diesel::sql_query(
        "SELECT id FROM ad_accounts WHERE platform = 'meta' AND currency = 'USD' LIMIT 1",
    )
    .get_result(&mut admin)
    .await
    .expect("a USD Meta account");
    let path = format!("/accounts/{}/conversions", acct.id);
    let page = c.get(&path).await;
    page.assert_status(StatusCode::OK);
    assert!(
        page.body.contains("use_account_attribution_setting=true"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"omni_purchase\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("the platform&#x27;s own definition")
            || page.body.contains("the platform's own definition")
    );

    let url = t.db.admin_url.clone();
    let total = || conversions_sum(&url, acct.id);
    let before = total().await;
    assert_ne!(before, "0");

    let refused = c
        .post(&path, &[("count", "lead"), ("count", "omni_purchase")])
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("Nothing was saved: lead is not a conversion type"),
        "{}",
        refused.body
    );
    assert_eq!(total().await, before);

    // Landing page views instead of purchases: the stored days are recalculated.
    let r = c
        .post(
            &path,
            &[("count", "landing_page_view"), ("value", "omni_purchase")],
        )
        .await;
    r.assert_status(StatusCode::SEE_OTHER);
    let after = total().await;
    assert_ne!(after, before);
    let page = c.get(&path).await;
    assert!(page.body.contains("recalculated"), "{}", page.body);
    assert!(page.body.contains("Untick everything"), "{}", page.body);
}

#[derive(diesel::QueryableByName)]
struct Sum {
    #[diesel(sql_type = Text)]
    n: String,
}

async fn conversions_sum(admin_url: &str, account: uuid::Uuid) -> String {
    let mut c = adpilot::db::connect_one(admin_url).await.expect("admin");
    let s: Sum = diesel::sql_query(
        "SELECT coalesce(trim_scale(sum(conversions)), 0)::text AS n FROM metrics_daily WHERE account_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(account)
    .get_result(&mut c)
    .await
    .expect("sum");
    s.n
}
