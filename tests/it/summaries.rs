//! The summaries (metric_summaries, ad_group_metric_summaries, ad_metric_summaries,
//! account_metric_summaries) against the daily rows, after each writer of the daily tables: a
//! backfill through the real ingest paths, late revisions of old and recent days (the ingest
//! again), a conversion-settings change re-deriving every stored row, and deletions. Every
//! summary row equals the sum of its daily rows, and every dashboard read through the summaries
//! (campaign table and totals, the ad group and ad tables, a campaign's ad groups, an ad
//! group's ads, the daily chart through the per-account days) equals the same read of the
//! daily rows alone, over short, month-aligned, odd and two-year ranges. A write that skips the
//! refresh is caught, so the comparison can fail.

use adpilot::analytics::conversion_settings;
use adpilot::analytics::conversions::ConversionSettings;
use adpilot::analytics::ingest::{self, MetricRow};
use adpilot::analytics::level_ingest::{self, LevelRow, Table};
use adpilot::analytics::level_queries;
use adpilot::analytics::level_table::{self, Page};
use adpilot::analytics::queries::{self, Filters, Sort};
use adpilot::analytics::range::DateRange;
use adpilot::analytics::summaries::{self, Read, Refresh};
use adpilot::db::DbError;
use adpilot::platforms::Level;
use adpilot::platforms::model::{ConversionTypes, DEFAULT_TYPE, TypeFigure};
use adpilot::types::{Currency, Platform};
use chrono::{Duration, NaiveDate, Utc};
use diesel::sql_types::Date;
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::support::*;

struct Tree {
    org: Uuid,
    /// (account, campaign, [(ad group, [ads])])
    campaigns: Vec<(Uuid, Uuid, Vec<(Uuid, Vec<Uuid>)>)>,
}

/// An organization with a USD and a EUR account, 2 campaigns each, 2 ad groups per campaign
/// and 3 ads per ad group, created as the migrating role.
async fn tree(t: &TestApp, name: &str) -> Tree {
    let org = Uuid::new_v4();
    admin_exec(
        t,
        &format!("INSERT INTO organizations (id, name) VALUES ('{org}', '{name}')"),
    )
    .await;
    let mut campaigns = Vec::new();
    for (i, (platform, currency)) in [("google", "USD"), ("meta", "EUR")].iter().enumerate() {
        let account = Uuid::new_v4();
        admin_exec(
            t,
            &format!(
                "INSERT INTO ad_accounts (id, org_id, platform, external_id, name, currency, time_zone, status, managed)
                 VALUES ('{account}', '{org}', '{platform}', '{i}', 'Account {i}', '{currency}', 'UTC', 'enabled', true)"
            ),
        )
        .await;
        for c in 0..2 {
            let campaign = Uuid::new_v4();
            admin_exec(
                t,
                &format!(
                    "INSERT INTO campaigns (id, org_id, account_id, platform, external_id, name, status, currency)
                     VALUES ('{campaign}', '{org}', '{account}', '{platform}', 'c{i}{c}', 'Campaign {i}{c}', 'active', '{currency}')"
                ),
            )
            .await;
            let mut groups = Vec::new();
            for g in 0..2 {
                let group = Uuid::new_v4();
                admin_exec(
                    t,
                    &format!(
                        "INSERT INTO ad_groups (org_id, id, account_id, campaign_id, platform, external_id, name, status, currency)
                         VALUES ('{org}', '{group}', '{account}', '{campaign}', '{platform}', 'g{i}{c}{g}', 'Group {i}{c}{g}', 'active', '{currency}')"
                    ),
                )
                .await;
                let mut ads = Vec::new();
                for a in 0..3 {
                    let ad = Uuid::new_v4();
                    admin_exec(
                        t,
                        &format!(
                            "INSERT INTO ads (org_id, id, account_id, campaign_id, ad_group_id, platform, external_id, name, status)
                             VALUES ('{org}', '{ad}', '{account}', '{campaign}', '{group}', '{platform}', 'a{i}{c}{g}{a}', 'Ad {i}{c}{g}{a}', 'active')"
                        ),
                    )
                    .await;
                    ads.push(ad);
                }
                groups.push((group, ads));
            }
            campaigns.push((account, campaign, groups));
        }
    }
    Tree { org, campaigns }
}

/// Figures that differ by object, day and `salt` (a later report of the same day).
fn figures(n: i64, salt: i64) -> (i64, i64, i64, Decimal, i64) {
    let h = (n * 7919 + salt * 104_729) % 9973;
    (
        1000 + h,
        10 + h % 97,
        1_000_000 + h * 1_000,
        Decimal::new(h % 700, 2),
        (h % 13) * 3_000_000,
    )
}

/// Per-type figures whose "lead" type differs from the default one, so that counting leads as
/// conversions (a settings change) rewrites the row's conversions and revenue.
fn types(n: i64) -> ConversionTypes {
    let f = |count: i64, value: i64| TypeFigure {
        count: Decimal::from(count),
        value: Decimal::from(value),
        category: None,
    };
    [
        (DEFAULT_TYPE.to_string(), f(n % 7, n % 11)),
        ("lead".to_string(), f(1 + n % 5, 2 + n % 3)),
    ]
    .into_iter()
    .collect()
}

/// The tree's rows at all three levels for `days`, written through the sync's ingest paths.
async fn ingest(t: &TestApp, tree: &Tree, days: &[NaiveDate], salt: i64) {
    ingest_with(t, tree, days, salt, Refresh::Summaries).await;
}

async fn ingest_with(t: &TestApp, tree: &Tree, days: &[NaiveDate], salt: i64, refresh: Refresh) {
    let (mut camp, mut groups, mut ads) = (Vec::new(), Vec::new(), Vec::new());
    for (ci, (account, campaign, gs)) in tree.campaigns.iter().enumerate() {
        for d in days {
            let day = (*d - NaiveDate::MIN).num_days();
            let (imp, clk, spend, conv, rev) = figures(day * 31 + ci as i64, salt);
            camp.push(MetricRow {
                account_id: *account,
                campaign_id: *campaign,
                date: *d,
                impressions: imp,
                clicks: clk,
                spend_micros: spend,
                conversions: conv,
                revenue_micros: rev,
                all_clicks: None,
                purchases: None,
                purchase_value_micros: None,
                leads: None,
                installs: None,
                registrations: None,
                conversion_types: types(imp),
            });
            for (gi, (group, ad_ids)) in gs.iter().enumerate() {
                for (ai, ad) in std::iter::once(None)
                    .chain(ad_ids.iter().map(Some))
                    .enumerate()
                {
                    let (imp, clk, spend, conv, rev) =
                        figures(day * 131 + (ci * 17 + gi * 5 + ai) as i64, salt);
                    let row = LevelRow {
                        account_id: *account,
                        campaign_id: *campaign,
                        ad_group_id: *group,
                        ad_id: ad.copied(),
                        date: *d,
                        impressions: imp,
                        clicks: clk,
                        all_clicks: Some(clk + 1),
                        spend_micros: spend,
                        conversions: conv,
                        revenue_micros: rev,
                        purchases: None,
                        purchase_value_micros: None,
                        leads: None,
                        installs: None,
                        registrations: None,
                        conversion_types: types(imp),
                    };
                    if ad.is_some() {
                        ads.push(row);
                    } else {
                        groups.push(row);
                    }
                }
            }
        }
    }
    t.app
        .db
        .tenant(tree.org, async move |c| {
            ingest::upsert_with(c, &camp, refresh).await?;
            level_ingest::upsert_with(c, Table::AdGroups, &groups, refresh).await?;
            level_ingest::upsert_with(c, Table::Ads, &ads, refresh).await?;
            Ok::<_, DbError>(())
        })
        .await
        .expect("ingest");
}

/// Rows of a summary table that differ from the sums of its daily rows (either way), per grain.
async fn summary_mismatches(t: &TestApp, daily: &str, summary: &str, keys: &str) -> i64 {
    let grains: &[(&str, &str)] = if summary == "account_metric_summaries" {
        &[("d", "")]
    } else {
        &[("m", "metrics_month_start"), ("w", "metrics_block_start")]
    };
    let mut total = 0;
    for (grain, start) in grains {
        let sql = format!(
            "WITH raw AS (
               SELECT org_id, {start}(date) AS period_start, {keys}, count(*)::int AS days,
                 sum(impressions) AS impressions, sum(clicks) AS clicks,
                 sum(spend_micros) AS spend_micros, sum(conversions) AS conversions,
                 sum(revenue_micros) AS revenue_micros
               FROM {daily} GROUP BY org_id, 2, {keys}
             ), s AS (
               SELECT * FROM {summary} WHERE grain = '{grain}'
             )
             SELECT count(*) AS n FROM raw FULL JOIN s USING (org_id, period_start, {keys})
             WHERE (raw.days, raw.impressions, raw.clicks, raw.spend_micros, raw.conversions,
                    raw.revenue_micros)
                   IS DISTINCT FROM (s.days, s.impressions, s.clicks, s.spend_micros,
                    s.conversions, s.revenue_micros)"
        );
        total += count(t, &sql).await;
    }
    total
}

async fn assert_summaries_equal_daily_rows(t: &TestApp, when: &str) {
    for (daily, summary, keys) in [
        ("metrics_daily", "metric_summaries", "campaign_id"),
        ("metrics_daily", "account_metric_summaries", "account_id"),
        (
            "ad_group_metrics_daily",
            "ad_group_metric_summaries",
            "campaign_id, ad_group_id",
        ),
        (
            "ad_metrics_daily",
            "ad_metric_summaries",
            "ad_group_id, ad_id",
        ),
    ] {
        assert_eq!(
            summary_mismatches(t, daily, summary, keys).await,
            0,
            "{summary} differs from {daily} {when}"
        );
        let n = count(
            t,
            &format!("SELECT count(*) AS n FROM {summary} WHERE days > 0"),
        )
        .await;
        assert!(n > 0, "{summary} is empty {when}");
    }
}

/// Every read the pages make, through the summaries and from the daily rows alone, for `range`.
async fn assert_reads_agree(t: &TestApp, tree: &Tree, range: DateRange) {
    let campaign = tree.campaigns[1].1;
    let group = tree.campaigns[2].2[1].0;
    let filters = [
        Filters::default(),
        Filters {
            campaign_id: Some(campaign),
            ..Filters::default()
        },
    ];
    let page = Page {
        sort: Sort::default(),
        limit: None,
        offset: 0,
    };
    let mut nonempty = 0;
    for f in &filters {
        let f2 = f.clone();
        let (a, b) = t
            .app
            .db
            .tenant(tree.org, async move |c| {
                let mut a =
                    queries::campaign_aggregates_from(c, Read::Summaries, range, &f2).await?;
                let mut b =
                    queries::campaign_aggregates_from(c, Read::DailyRows, range, &f2).await?;
                // In the statement's order; the pages sort them (and sort both alike).
                a.sort_by_key(|x| x.row.campaign_id);
                b.sort_by_key(|x| x.row.campaign_id);
                Ok::<_, DbError>((a, b))
            })
            .await
            .expect("campaign reads");
        assert_eq!(a, b, "campaign table over {range:?} with {f:?}");
        nonempty += a.len();
        for level in [Level::AdGroup, Level::Ad] {
            let f2 = f.clone();
            let (a, b) = t
                .app
                .db
                .tenant(tree.org, async move |c| {
                    let a =
                        level_table::level_page_from(c, Read::Summaries, level, range, &f2, page)
                            .await?;
                    let b =
                        level_table::level_page_from(c, Read::DailyRows, level, range, &f2, page)
                            .await?;
                    Ok::<_, DbError>((a, b))
                })
                .await
                .expect("level reads");
            assert_eq!(a.rows, b.rows, "{level:?} table over {range:?} with {f:?}");
            assert_eq!(a.totals, b.totals, "{level:?} totals over {range:?}");
            assert_eq!(a.total, b.total, "{level:?} count over {range:?}");
            nonempty += a.rows.len();
        }
    }
    for f in [
        Filters::default(),
        Filters {
            platform: Some(adpilot::types::Platform::Meta),
            ..Filters::default()
        },
        Filters {
            account_id: Some(tree.campaigns[0].0),
            ..Filters::default()
        },
    ] {
        let f2 = f.clone();
        let (a, b) = t
            .app
            .db
            .tenant(tree.org, async move |c| {
                let a = queries::daily_from(c, Read::Summaries, range, &f2).await?;
                let b = queries::daily_from(c, Read::DailyRows, range, &f2).await?;
                Ok::<_, DbError>((a, b))
            })
            .await
            .expect("chart reads");
        assert_eq!(a, b, "the daily chart over {range:?} with {f:?}");
        assert!(!a.is_empty(), "no chart over {range:?} with {f:?}");
    }
    let (a, b, x, y) = t
        .app
        .db
        .tenant(tree.org, async move |c| {
            let a = level_queries::ad_groups_of_campaign_from(c, Read::Summaries, campaign, range)
                .await?;
            let b = level_queries::ad_groups_of_campaign_from(c, Read::DailyRows, campaign, range)
                .await?;
            let x = level_queries::ads_of_ad_group_from(c, Read::Summaries, group, range).await?;
            let y = level_queries::ads_of_ad_group_from(c, Read::DailyRows, group, range).await?;
            Ok::<_, DbError>((a, b, x, y))
        })
        .await
        .expect("drill-down reads");
    assert_eq!(a, b, "a campaign's ad groups over {range:?}");
    assert_eq!(x, y, "an ad group's ads over {range:?}");
    assert_eq!(a.len(), 2);
    assert_eq!(x.len(), 3);
    assert!(nonempty > 0, "nothing to compare over {range:?}");
}

#[tokio::test]
async fn summaries_equal_the_daily_rows_after_late_revisions_and_deletions() {
    let t = TestApp::new().await;
    // A second organization whose rows must never reach the first one's sums.
    let other = tree(&t, "Other").await;
    let tree = tree(&t, "Summarized").await;
    let today = Utc::now().date_naive();
    let first = today - Duration::days(150);
    let days: Vec<NaiveDate> = DateRange {
        from: first,
        to: today,
    }
    .dates()
    .collect();
    // A backfill in two syncs, the older days last (as a backfill walks back).
    let (old, recent) = days.split_at(days.len() / 2);
    ingest(&t, &tree, recent, 0).await;
    ingest(&t, &tree, old, 0).await;
    ingest(&t, &other, &days[..40], 5).await;
    assert_summaries_equal_daily_rows(&t, "after the backfill").await;

    // Late revisions: the last week re-read with new numbers (a lookback), and some old days
    // in the middle of blocks and months revised by a later report.
    let lookback: Vec<NaiveDate> = days[days.len() - 7..].to_vec();
    ingest(&t, &tree, &lookback, 1).await;
    let scattered: Vec<NaiveDate> = days.iter().copied().step_by(11).collect();
    ingest(&t, &tree, &scattered, 2).await;
    assert_summaries_equal_daily_rows(&t, "after late revisions").await;

    // A conversion-settings change: leads now count as conversions and revenue, and every
    // stored row of both accounts, at every level, is re-derived.
    let settings = ConversionSettings {
        conversion_types: vec!["lead".into()],
        revenue_types: vec!["lead".into()],
    };
    let cur = |c: &str| c.parse::<Currency>().expect("currency");
    let accounts = [
        (tree.campaigns[0].0, Platform::Google, cur("USD")),
        (tree.campaigns[2].0, Platform::Meta, cur("EUR")),
    ];
    let before = count(
        &t,
        "SELECT sum(conversions)::int8 AS n FROM metric_summaries",
    )
    .await;
    let rewritten = t
        .app
        .db
        .tenant(tree.org, async move |c| {
            let mut n = 0;
            for (account, platform, currency) in accounts {
                n += conversion_settings::rederive(c, account, platform, currency, &settings)
                    .await?;
            }
            Ok::<_, DbError>(n)
        })
        .await
        .expect("rederive");
    assert!(rewritten > 1000, "re-derived {rewritten} rows");
    let after = count(
        &t,
        "SELECT sum(conversions)::int8 AS n FROM metric_summaries",
    )
    .await;
    assert_ne!(
        before, after,
        "the re-derived conversions reach the summaries"
    );
    assert_summaries_equal_daily_rows(&t, "after a conversion-settings change").await;

    // Deletions, as the administrator: a day of one campaign at every level, and a whole block
    // of another (its block summaries must go, not stay behind with nothing under them).
    let gone = days[20];
    let block = summaries::block_start(days[60]);
    let block_days = format!("date BETWEEN '{block}' AND '{}'", block + Duration::days(6));
    for daily in [
        "metrics_daily",
        "ad_group_metrics_daily",
        "ad_metrics_daily",
    ] {
        admin_exec(
            &t,
            &format!(
                "DELETE FROM {daily} WHERE org_id = '{}' AND date = '{gone}' AND campaign_id = '{}'",
                tree.org, tree.campaigns[0].1
            ),
        )
        .await;
        admin_exec(
            &t,
            &format!(
                "DELETE FROM {daily} WHERE org_id = '{}' AND {block_days} AND campaign_id = '{}'",
                tree.org, tree.campaigns[3].1
            ),
        )
        .await;
    }
    let revisions = count(
        &t,
        "SELECT (SELECT count(*) FROM metric_revisions) + (SELECT count(*) FROM ad_metric_revisions) AS n",
    )
    .await;
    assert!(revisions > 0, "the re-reads changed stored rows");
    let left = count(
        &t,
        &format!(
            "SELECT count(*) AS n FROM metric_summaries WHERE grain = 'w' AND period_start = '{block}'
               AND campaign_id = '{}'",
            tree.campaigns[3].1
        ),
    )
    .await;
    assert_eq!(left, 0, "the emptied block's summary is gone");
    assert_summaries_equal_daily_rows(&t, "after late revisions and deletions").await;

    let ranges = [
        (today, today),
        (today - Duration::days(6), today),
        (today - Duration::days(29), today),
        (today - Duration::days(89), today),
        // Month-aligned and block-aligned ranges, and one straddling both.
        (
            summaries::month_start(today - Duration::days(62)),
            summaries::month_end(today - Duration::days(40)),
        ),
        (
            summaries::block_start(today - Duration::days(50)),
            today - Duration::days(9),
        ),
        (gone - Duration::days(3), gone + Duration::days(40)),
        // Two years, most of it before the first stored day.
        (today - Duration::days(730), today),
    ];
    for (from, to) in ranges {
        assert_reads_agree(&t, &tree, DateRange { from, to }).await;
    }

    // The comparison can fail: a write that skips the refresh leaves summaries that differ.
    ingest_with(&t, &tree, &days[30..33], 9, Refresh::SkipToMeasure).await;
    let stale = summary_mismatches(
        &t,
        "ad_metrics_daily",
        "ad_metric_summaries",
        "ad_group_id, ad_id",
    )
    .await;
    assert!(stale > 0, "stale summaries went unnoticed");

    // The operator's repair (after a dropped partition, say) rebuilds every summary of the
    // organization from its daily rows, in key order.
    let rebuilt = count(
        &t,
        "SELECT count(*) AS n FROM (SELECT metric_summaries_rebuild(org_id)
           FROM (SELECT org_id FROM metrics_daily UNION SELECT org_id FROM ad_metrics_daily
                 UNION SELECT org_id FROM ad_group_metrics_daily) o) r",
    )
    .await;
    assert!(rebuilt > 0, "an organization was rebuilt");
    assert_summaries_equal_daily_rows(&t, "after metric_summaries_rebuild").await;
}

#[tokio::test]
async fn the_sql_and_rust_blocks_are_the_same() {
    #[derive(diesel::QueryableByName)]
    struct B {
        #[diesel(sql_type = Date)]
        d: NaiveDate,
        #[diesel(sql_type = Date)]
        block: NaiveDate,
        #[diesel(sql_type = Date)]
        month: NaiveDate,
    }
    let t = TestApp::new().await;
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let rows: Vec<B> = diesel::sql_query(
        "SELECT d::date AS d, metrics_block_start(d::date) AS block, metrics_month_start(d::date) AS month
         FROM generate_series(date '2023-12-01', date '2025-03-31', interval '1 day') d",
    )
    .load(&mut c)
    .await
    .expect("blocks");
    assert_eq!(rows.len(), 487);
    for r in rows {
        assert_eq!(r.block, summaries::block_start(r.d), "block of {}", r.d);
        assert_eq!(r.month, summaries::month_start(r.d), "month of {}", r.d);
    }
}
