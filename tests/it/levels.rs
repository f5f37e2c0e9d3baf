//! The ad-group and ad levels against the sandbox over real HTTP: every stored object-day
//! equals the sandbox's truth, the structure (statuses, ad-set budgets, bids, ad text) follows
//! the platforms, removed objects keep their history, and an interrupted sync leaves every
//! stored row intact and resumes.

use std::collections::HashMap;

use adpilot::analytics::level_queries;
use adpilot::analytics::sync;
use adpilot::sandbox::{
    CampaignStatus as TruthStatus, FaultKind, FaultSpec, SandboxConfig, TruthQuery,
};
use adpilot::types::Platform;
use diesel::sql_types::{BigInt, Date, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::connections::connect;
use crate::support::*;

#[derive(diesel::QueryableByName, Debug)]
struct Stored {
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Text)]
    group_ext: String,
    #[diesel(sql_type = Text)]
    ad_ext: String,
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

type Key = (String, String, String, chrono::NaiveDate);

async fn stored(admin_url: &str, ads: bool) -> HashMap<Key, Stored> {
    let mut c = adpilot::db::connect_one(admin_url).await.expect("admin");
    let sql = if ads {
        "SELECT a.platform, g.external_id AS group_ext, a.external_id AS ad_ext, m.date,
                m.impressions, m.clicks, m.spend_micros, trim_scale(m.conversions)::text AS conversions,
                m.revenue_micros
         FROM ad_metrics_daily m
         JOIN ads a ON a.org_id = m.org_id AND a.id = m.ad_id
         JOIN ad_groups g ON g.org_id = a.org_id AND g.id = a.ad_group_id"
    } else {
        "SELECT g.platform, g.external_id AS group_ext, '' AS ad_ext, m.date,
                m.impressions, m.clicks, m.spend_micros, trim_scale(m.conversions)::text AS conversions,
                m.revenue_micros
         FROM ad_group_metrics_daily m
         JOIN ad_groups g ON g.org_id = m.org_id AND g.id = m.ad_group_id"
    };
    let rows: Vec<Stored> = diesel::sql_query(sql).load(&mut c).await.expect("stored");
    rows.into_iter()
        .map(|r| {
            (
                (
                    r.platform.clone(),
                    r.group_ext.clone(),
                    r.ad_ext.clone(),
                    r.date,
                ),
                r,
            )
        })
        .collect()
}

/// Compares every ad-group-day and ad-day stored for `platforms` with the truth over the
/// backfilled 90 days: every value, nothing missing, nothing extra. Returns how many.
async fn assert_levels_equal_truth(
    admin_url: &str,
    sb: &adpilot::sandbox::SandboxHandle,
    platforms: &[Platform],
) -> (usize, usize) {
    assert_levels_equal_truth_over(admin_url, sb, platforms, 90).await
}

/// [`assert_levels_equal_truth`] over the last `days` days; with fewer days than were synced
/// only the window is compared (older days are not re-read, as at campaign level).
async fn assert_levels_equal_truth_over(
    admin_url: &str,
    sb: &adpilot::sandbox::SandboxHandle,
    platforms: &[Platform],
    days: i64,
) -> (usize, usize) {
    let mut counts = (0, 0);
    for ads in [false, true] {
        let got = stored(admin_url, ads).await;
        let mut compared = 0;
        for &platform in platforms {
            for a in sb.accounts(Some(platform)) {
                let tz: chrono_tz::Tz = a.time_zone.parse().expect("tz");
                let today = sb.clock().now().with_timezone(&tz).date_naive();
                let truth = sb.level_metrics(
                    &TruthQuery {
                        platform: Some(platform),
                        account_id: Some(a.id.clone()),
                        from: Some(today - chrono::Duration::days(days)),
                        to: Some(today),
                        ..Default::default()
                    },
                    ads,
                );
                for m in truth {
                    let key = (
                        platform.as_str().to_string(),
                        m.ad_group_id.clone(),
                        m.ad_id.clone().unwrap_or_default(),
                        m.date,
                    );
                    let s = got
                        .get(&key)
                        .unwrap_or_else(|| panic!("missing {key:?} (ads: {ads})"));
                    assert_eq!(
                        (s.impressions, s.clicks, s.spend_micros, s.revenue_micros),
                        (m.impressions, m.clicks, m.spend_micros, m.revenue_micros),
                        "{key:?}"
                    );
                    assert_eq!(s.conversions, m.conversions.to_string(), "{key:?}");
                    compared += 1;
                }
            }
        }
        let of_platforms = got
            .keys()
            .filter(|(p, ..)| platforms.iter().any(|x| x.as_str() == p))
            .count();
        if days >= 90 {
            assert_eq!(
                of_platforms, compared,
                "nothing beyond the truth (ads: {ads})"
            );
        }
        if ads {
            counts.1 = compared;
        } else {
            counts.0 = compared;
        }
    }
    counts
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

async fn still_sandbox() -> (adpilot::sandbox::SandboxHandle, TestApp, Client) {
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    })
    .await;
    let t = TestApp::with_sandbox(&sb).await;
    let c = t.sign_up("ann@example.com", "Acme").await;
    (sb, t, c)
}

#[derive(diesel::QueryableByName, Debug)]
struct StoredGroup {
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    budget_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    bid_micros: Option<i64>,
    #[diesel(sql_type = Text)]
    campaign_ext: String,
}

#[derive(diesel::QueryableByName, Debug)]
struct StoredAd {
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    final_url: Option<String>,
    #[diesel(sql_type = Text)]
    headlines: String,
    #[diesel(sql_type = Nullable<Text>)]
    primary_text: Option<String>,
}

fn word(s: TruthStatus) -> &'static str {
    match s {
        TruthStatus::Enabled => "active",
        TruthStatus::Paused => "paused",
        TruthStatus::Removed => "removed",
    }
}

#[tokio::test]
async fn every_level_stored_equals_the_sandbox_truth_per_object_and_day() {
    let (sb, t, mut c) = still_sandbox().await;
    for p in ["google", "meta", "tiktok"] {
        connect(&mut c, p).await;
    }
    for r in sync_all(&t, &sb).await {
        let r = r.expect("sync");
        assert!(r.backfill_done && r.ad_groups > 0 && r.ads > 0 && r.level_rows_read > 0);
    }
    let (groups, ads) = assert_levels_equal_truth(&t.db.admin_url, &sb, &Platform::ALL).await;
    assert!(
        groups > 1000 && ads > 2000,
        "{groups} ad-group-days, {ads} ad-days"
    );

    // Structure: names, switches, ad-group budgets and bids as the platform has them.
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let stored_groups: Vec<StoredGroup> = diesel::sql_query(
        "SELECT g.platform, g.external_id, g.name, g.status, g.budget_micros, g.bid_micros,
                c.external_id AS campaign_ext
         FROM ad_groups g JOIN campaigns c ON c.org_id = g.org_id AND c.id = g.campaign_id",
    )
    .load(&mut admin)
    .await
    .expect("ad groups");
    let by_id: HashMap<(String, String), &StoredGroup> = stored_groups
        .iter()
        .map(|g| ((g.platform.clone(), g.external_id.clone()), g))
        .collect();
    let truth_groups = sb.ad_groups(&TruthQuery::default());
    let campaign_removed: HashMap<String, bool> = sb
        .campaigns(&TruthQuery::default())
        .into_iter()
        .map(|c| (c.campaign_id, c.status == TruthStatus::Removed))
        .collect();
    // Deleting a Meta or TikTok campaign deletes what is in it; Google keeps each object's own
    // status.
    let gone = |platform: Platform, campaign: &str, own: TruthStatus| {
        own == TruthStatus::Removed
            || (platform != Platform::Google && campaign_removed.get(campaign) == Some(&true))
    };
    assert!(stored_groups.len() <= truth_groups.len(), "nothing made up");
    let mut removed = 0;
    for tg in &truth_groups {
        let Some(g) = by_id.get(&(tg.platform.as_str().to_string(), tg.ad_group_id.clone())) else {
            // Meta and TikTok list no deleted ad sets; one deleted before the synced history
            // never shows up at all.
            assert!(
                gone(tg.platform, &tg.campaign_id, tg.status) && tg.platform != Platform::Google,
                "ad group {tg:?} stored"
            );
            continue;
        };
        let removed_here = gone(tg.platform, &tg.campaign_id, tg.status);
        let want = if removed_here {
            "removed"
        } else {
            word(tg.status)
        };
        assert_eq!(g.status, want, "{tg:?}");
        assert_eq!(g.campaign_ext, tg.campaign_id);
        if removed_here {
            removed += 1;
        } else {
            // A removed one no listing returns keeps the name it last had.
            assert_eq!(g.name, tg.name);
        }
        if !removed_here {
            assert_eq!(g.budget_micros, tg.daily_budget_micros, "{tg:?}");
        }
        if !removed_here || tg.platform == Platform::Google {
            assert_eq!(g.bid_micros, tg.bid_micros, "{tg:?}");
        }
    }
    assert!(removed > 0, "some ad groups were removed at the platform");
    // The demo's shapes: a Meta campaign on ad-set budgets has none of its own, a
    // Performance Max campaign has no ad groups.
    assert!(
        truth_groups
            .iter()
            .any(|g| g.platform == Platform::Meta && g.daily_budget_micros.is_some())
    );
    let n = count(
        &t,
        "SELECT count(*) AS n FROM campaigns c WHERE platform = 'meta' AND daily_budget_micros IS NULL \
         AND EXISTS (SELECT 1 FROM ad_groups g WHERE g.campaign_id = c.id AND g.budget_micros IS NOT NULL)",
    )
    .await;
    assert!(n >= 1, "a Meta campaign with ad-set budgets");
    let pmax = sb
        .campaigns(&TruthQuery {
            platform: Some(Platform::Google),
            ..Default::default()
        })
        .into_iter()
        .filter(|c| c.objective == "PERFORMANCE_MAX")
        .count();
    if pmax > 0 {
        let n = count(
            &t,
            "SELECT count(*) AS n FROM ad_groups g JOIN campaigns c ON c.id = g.campaign_id \
             WHERE c.name LIKE 'PMax%'",
        )
        .await;
        assert_eq!(n, 0, "Performance Max campaigns have no ad groups");
    }

    let stored_ads: Vec<StoredAd> = diesel::sql_query(
        "SELECT platform, external_id, name, status, final_url, array_to_string(headlines, '|') AS headlines,
                primary_text FROM ads",
    )
    .load(&mut admin)
    .await
    .expect("ads");
    let ads_by_id: HashMap<(String, String), &StoredAd> = stored_ads
        .iter()
        .map(|a| ((a.platform.clone(), a.external_id.clone()), a))
        .collect();
    let group_gone: HashMap<String, bool> = truth_groups
        .iter()
        .map(|g| {
            (
                g.ad_group_id.clone(),
                gone(g.platform, &g.campaign_id, g.status),
            )
        })
        .collect();
    for ta in sb.ads(&TruthQuery::default()) {
        if group_gone.get(&ta.ad_group_id) == Some(&true) {
            // Meta and TikTok list no ads of a deleted ad group: they are removed with it.
            continue;
        }
        let a = ads_by_id
            .get(&(ta.platform.as_str().to_string(), ta.ad_id.clone()))
            .unwrap_or_else(|| panic!("ad {} stored", ta.ad_id));
        assert_eq!(
            (a.name.as_str(), a.status.as_str()),
            (ta.name.as_str(), word(ta.status))
        );
        assert_eq!(a.final_url.as_deref(), Some(ta.final_url.as_str()));
        match ta.platform {
            Platform::Google => assert_eq!(a.headlines, ta.headlines.join("|")),
            Platform::Meta => {
                assert_eq!(a.headlines, ta.headlines.join("|"));
                assert_eq!(a.primary_text, ta.primary_text);
            }
            Platform::Tiktok => assert_eq!(a.primary_text, ta.primary_text),
        }
    }
}

#[tokio::test]
async fn a_sync_interrupted_at_the_ad_level_keeps_every_row_and_resumes() {
    let (sb, t, mut c) = still_sandbox().await;
    connect(&mut c, "meta").await;
    // The ad-level report fails (every retry): nothing of the first range is written, at any
    // level, and the account's progress does not move.
    sb.inject_fault(
        FaultSpec::new(FaultKind::ServerError)
            .platform(Platform::Meta)
            .query_contains("level=ad&")
            .count(10_000),
    )
    .expect("fault");
    for r in sync_all(&t, &sb).await {
        assert!(r.is_err(), "the sync fails while the ad level does");
    }
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM metrics_daily").await,
        0
    );
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM ad_group_metrics_daily").await,
        0
    );
    sb.clear_faults();
    for r in sync_all(&t, &sb).await {
        r.expect("resumed sync");
    }
    assert_levels_equal_truth(&t.db.admin_url, &sb, &[Platform::Meta]).await;
    let before = stored(&t.db.admin_url, true).await;

    // A day later conversions have moved; the next sync dies at the ad level again: every
    // stored row is still what it was.
    sb.clock().advance(chrono::Duration::hours(30));
    sb.inject_fault(
        FaultSpec::new(FaultKind::ServerError)
            .platform(Platform::Meta)
            .query_contains("level=ad&")
            .count(10_000),
    )
    .expect("fault");
    for r in sync_all(&t, &sb).await {
        assert!(r.is_err());
    }
    let during = stored(&t.db.admin_url, true).await;
    assert_eq!(during.len(), before.len());
    for (k, v) in &before {
        let d = &during[k];
        assert_eq!(
            (d.impressions, d.clicks, d.spend_micros, &d.conversions),
            (v.impressions, v.clicks, v.spend_micros, &v.conversions)
        );
    }
    sb.clear_faults();
    for r in sync_all(&t, &sb).await {
        r.expect("sync after the fault");
    }
    // The days every sync reads again (the default lookback of 7 days, and today).
    assert_levels_equal_truth_over(&t.db.admin_url, &sb, &[Platform::Meta], 7).await;
    // Late conversions changed ad-days, and what they replaced is kept.
    assert!(count(&t, "SELECT count(*) AS n FROM ad_metric_revisions").await > 0);
    assert!(count(&t, "SELECT count(*) AS n FROM ad_group_metric_revisions").await > 0);
}

#[derive(clap::Parser)]
struct PlatformCli {
    #[command(subcommand)]
    cmd: adpilot::platforms::cli::PlatformCommand,
}

async fn cli_lines(args: &[&str]) -> Vec<serde_json::Value> {
    use clap::Parser;
    let cli = PlatformCli::try_parse_from(std::iter::once("platform").chain(args.iter().copied()))
        .expect("arguments");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = adpilot::platforms::cli::run(cli.cmd, &mut out, &mut err).await;
    assert_eq!(
        code,
        std::process::ExitCode::SUCCESS,
        "{}",
        String::from_utf8_lossy(&err)
    );
    String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[tokio::test]
async fn the_operator_cli_prints_ad_groups_ads_and_level_metrics_from_the_sandbox() {
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    })
    .await;
    let base = sb.base_url();
    for platform in Platform::ALL {
        let token = sb.issue_token(platform, None).access_token;
        let a = sb
            .accounts(Some(platform))
            .into_iter()
            .next()
            .expect("account");
        let common = |cmd: &'static str| -> Vec<String> {
            vec![
                cmd.to_string(),
                "--platform".into(),
                platform.as_str().into(),
                "--base-url".into(),
                base.clone(),
                "--access-token".into(),
                token.clone(),
                "--account".into(),
                a.id.clone(),
            ]
        };
        let args = common("ad-groups");
        let groups = cli_lines(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let truth = sb.ad_groups(&TruthQuery {
            platform: Some(platform),
            account_id: Some(a.id.clone()),
            ..Default::default()
        });
        let campaigns: HashMap<String, TruthStatus> = sb
            .campaigns(&TruthQuery {
                platform: Some(platform),
                account_id: Some(a.id.clone()),
                ..Default::default()
            })
            .into_iter()
            .map(|c| (c.campaign_id, c.status))
            .collect();
        let listed = truth
            .iter()
            .filter(|g| {
                platform == Platform::Google
                    || (g.status != TruthStatus::Removed
                        && campaigns.get(&g.campaign_id) != Some(&TruthStatus::Removed))
            })
            .count();
        assert_eq!(groups.len(), listed, "{platform} ad groups");
        for g in &groups {
            for k in [
                "id",
                "name",
                "status",
                "delivery",
                "campaign_id",
                "budget",
                "bid",
            ] {
                assert!(g.get(k).is_some(), "{platform} ad group line has {k}: {g}");
            }
        }
        let one_campaign = truth
            .iter()
            .find(|g| g.status == TruthStatus::Enabled)
            .map(|g| g.campaign_id.clone())
            .expect("a campaign with ad groups");
        let mut args = common("ads");
        args.extend(["--campaign".to_string(), one_campaign.clone()]);
        let ads = cli_lines(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
        assert!(!ads.is_empty());
        assert!(
            ads.iter()
                .all(|x| x["campaign_id"] == one_campaign.as_str() && x["ad_group_id"].is_string())
        );

        let tz: chrono_tz::Tz = a.time_zone.parse().expect("tz");
        let to = sb.clock().now().with_timezone(&tz).date_naive() - chrono::Duration::days(1);
        let from = to - chrono::Duration::days(2);
        let mut args = common("metrics");
        args.extend([
            "--from".to_string(),
            from.to_string(),
            "--to".to_string(),
            to.to_string(),
            "--level".to_string(),
            "ad".to_string(),
        ]);
        let rows = cli_lines(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let truth = sb.level_metrics(
            &TruthQuery {
                platform: Some(platform),
                account_id: Some(a.id.clone()),
                from: Some(from),
                to: Some(to),
                ..Default::default()
            },
            true,
        );
        assert_eq!(rows.len(), truth.len(), "{platform} ad-days");
        for r in &rows {
            for k in [
                "campaign_id",
                "ad_group_id",
                "ad_id",
                "date",
                "impressions",
                "clicks",
                "all_clicks",
                "spend",
                "conversions",
                "revenue",
                "currency",
            ] {
                assert!(r.get(k).is_some(), "{platform} metrics line has {k}: {r}");
            }
            let t = truth
                .iter()
                .find(|t| {
                    Some(t.ad_id.as_deref().unwrap_or("")) == r["ad_id"].as_str()
                        && t.date.to_string() == r["date"].as_str().unwrap_or("")
                })
                .expect("row in truth");
            assert_eq!(r["impressions"], t.impressions);
            let spend: rust_decimal::Decimal = r["spend"]
                .as_str()
                .unwrap_or("x")
                .parse()
                .expect("decimal string");
            assert_eq!(
                spend,
                adpilot::types::Money::new(t.spend_micros, a.currency).to_major()
            );
        }
    }
}

#[derive(diesel::QueryableByName, Debug)]
struct Ids {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    campaign_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    campaign_name: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    group_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    group_name: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    ad_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    ad_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    primary_text: Option<String>,
}

#[tokio::test]
async fn a_campaign_drills_down_to_its_ad_sets_and_ads_with_breadcrumbs_and_csv() {
    let (sb, t, mut c) = still_sandbox().await;
    connect(&mut c, "meta").await;
    for r in sync_all(&t, &sb).await {
        r.expect("sync");
    }
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let ids: Ids = diesel::sql_query(
        "SELECT c.id AS campaign_id, c.name AS campaign_name, g.id AS group_id, g.name AS group_name,
                a.id AS ad_id, a.name AS ad_name, a.primary_text
         FROM ads a JOIN ad_groups g ON g.id = a.ad_group_id JOIN campaigns c ON c.id = a.campaign_id
         WHERE a.status = 'active' AND g.status = 'active'
           AND EXISTS (SELECT 1 FROM ad_metrics_daily m WHERE m.ad_id = a.id AND m.date >= current_date - 20)
         ORDER BY c.name, g.name, a.name LIMIT 1",
    )
    .get_result(&mut admin)
    .await
    .expect("an active ad with recent days");
    let esc = |s: &str| s.replace('&', "&amp;").replace('\'', "&#x27;");

    let page = c
        .get(&format!(
            "/campaigns/{}?range=last_30_days",
            ids.campaign_id
        ))
        .await;
    page.assert_status(axum::http::StatusCode::OK);
    assert!(page.body.contains("Ad sets"), "Meta says ad sets");
    assert!(page.body.contains(&format!("/ad-groups/{}", ids.group_id)));
    assert!(page.body.contains(&esc(&ids.group_name)));
    assert!(
        page.body.contains("sort=spend&#38;dir=asc"),
        "the spend column sorts (descending now, ascending on a click)"
    );
    let sorted = c
        .get(&format!(
            "/campaigns/{}?range=last_30_days&sort=name&dir=asc",
            ids.campaign_id
        ))
        .await;
    sorted.assert_status(axum::http::StatusCode::OK);
    let csv = c
        .get(&format!(
            "/campaigns/{}/ad-groups.csv?range=last_30_days",
            ids.campaign_id
        ))
        .await;
    csv.assert_status(axum::http::StatusCode::OK);
    assert!(
        csv.body
            .starts_with("name,status,delivery,budget,bid,Spend")
    );
    assert!(csv.body.contains(&ids.group_name));

    let group = c
        .get(&format!("/ad-groups/{}?range=last_30_days", ids.group_id))
        .await;
    group.assert_status(axum::http::StatusCode::OK);
    assert!(
        group
            .body
            .contains(&format!("/campaigns/{}", ids.campaign_id)),
        "breadcrumb to the campaign"
    );
    assert!(group.body.contains(&esc(&ids.campaign_name)));
    assert!(group.body.contains(&format!("/ads/{}", ids.ad_id)));
    let ads_csv = c
        .get(&format!(
            "/ad-groups/{}/ads.csv?range=last_30_days",
            ids.group_id
        ))
        .await;
    assert!(ads_csv.body.contains(&ids.ad_name));

    let ad = c
        .get(&format!("/ads/{}?range=last_30_days", ids.ad_id))
        .await;
    ad.assert_status(axum::http::StatusCode::OK);
    assert!(
        ad.body.contains(&format!("/ad-groups/{}", ids.group_id)),
        "breadcrumb to the ad set"
    );
    if let Some(text) = &ids.primary_text {
        assert!(ad.body.contains(&esc(text)), "the ad's text is shown");
    }
    let days = c
        .get(&format!("/ads/{}/days.csv?range=last_30_days", ids.ad_id))
        .await;
    assert_eq!(days.body.lines().count(), 31, "a header and 30 days");

    // The day lists of the ad set's and the ad's pages hold exactly the stored days (each is
    // read by its parent and object key, so a wrong parent would show zeros, not an error).
    #[derive(diesel::QueryableByName, PartialEq, Debug)]
    struct StoredDay {
        #[diesel(sql_type = Date)]
        date: chrono::NaiveDate,
        #[diesel(sql_type = BigInt)]
        impressions: i64,
        #[diesel(sql_type = BigInt)]
        spend_micros: i64,
    }
    let range = {
        let to = chrono::Utc::now().date_naive();
        adpilot::analytics::range::DateRange {
            from: to - chrono::Duration::days(59),
            to,
        }
    };
    let org = org_of(&t).await;
    for (daily, obj, id) in [
        ("ad_group_metrics_daily", "ad_group_id", ids.group_id),
        ("ad_metrics_daily", "ad_id", ids.ad_id),
    ] {
        let want: Vec<StoredDay> = diesel::sql_query(format!(
            "SELECT date, impressions, spend_micros FROM {daily}
             WHERE {obj} = $1 AND date BETWEEN $2 AND $3 ORDER BY date"
        ))
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<Date, _>(range.from)
        .bind::<Date, _>(range.to)
        .load(&mut admin)
        .await
        .expect("stored days");
        assert!(!want.is_empty(), "{daily}: the object has days to compare");
        let of = if obj == "ad_id" {
            level_queries::DaysOf::Ad {
                ad_group_id: ids.group_id,
                ad_id: id,
            }
        } else {
            level_queries::DaysOf::AdGroup {
                campaign_id: ids.campaign_id,
                ad_group_id: id,
            }
        };
        let got = t
            .app
            .db
            .tenant(org, async move |c| {
                Ok::<_, adpilot::db::DbError>(level_queries::object_days(c, of, range).await?)
            })
            .await
            .expect("object days");
        assert_eq!(got.len(), 60, "every day of the range, zeros included");
        let got: Vec<StoredDay> = got
            .into_iter()
            .filter(|(_, m)| m.impressions != 0 || m.spend_micros != 0)
            .map(|(date, m)| StoredDay {
                date,
                impressions: m.impressions,
                spend_micros: m.spend_micros,
            })
            .collect();
        let want: Vec<StoredDay> = want
            .into_iter()
            .filter(|d| d.impressions != 0 || d.spend_micros != 0)
            .collect();
        assert_eq!(got, want, "{daily}: the page's days are the stored days");
    }

    // Another organization sees none of it.
    let mut other = t.sign_up("bob@example.com", "Other").await;
    for path in [
        format!("/ad-groups/{}", ids.group_id),
        format!("/ads/{}", ids.ad_id),
        format!("/ads/{}/days.csv", ids.ad_id),
    ] {
        other
            .get(&path)
            .await
            .assert_status(axum::http::StatusCode::NOT_FOUND);
    }
}
