//! Campaign lifetime figures (rules language version 2 at campaign level) against the sandbox
//! over real HTTP after a real sync: the lifetime budget, Meta's remaining budget, the flight's
//! start and end and the creation time are stored as each platform gave them, and live rules
//! on `days_left`, `lifetime_budget`, `budget_remaining` and `days_since_created` pause exactly
//! the campaigns the sandbox's truth says. Expected matches are worked out here from the truth.

use std::collections::{BTreeSet, HashMap};

use adpilot::automation::runner;
use adpilot::sandbox::{CampaignStatus, SandboxConfig, SandboxHandle, TruthCampaign, TruthQuery};
use adpilot::types::Platform;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::connections::connect;
use crate::support::*;

fn fixed_now() -> DateTime<Utc> {
    "2026-03-18T15:30:00Z".parse().expect("time")
}

async fn admin(t: &TestApp) -> adpilot::db::Conn {
    adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin")
}

/// Signed up, all three platforms connected and synced at the sandbox's fixed time.
async fn setup() -> (SandboxHandle, TestApp, Client, Uuid) {
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(fixed_now()),
        ..SandboxConfig::default()
    })
    .await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    for p in ["google", "meta", "tiktok"] {
        connect(&mut c, p).await;
    }
    let org = org_of(&t).await;
    for a in adpilot::analytics::sync::accounts_to_sync(&t.app, org)
        .await
        .expect("accounts")
    {
        adpilot::analytics::sync::sync_account(&t.app, org, a, sb.clock().now())
            .await
            .expect("sync");
    }
    (sb, t, c, org)
}

#[derive(diesel::QueryableByName, Debug)]
struct Stored {
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    daily_budget_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    lifetime_budget_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    budget_remaining_micros: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    starts_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    ends_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    platform_created_at: Option<DateTime<Utc>>,
}

async fn stored(t: &TestApp) -> HashMap<(String, String), Stored> {
    let rows: Vec<Stored> = diesel::sql_query(
        "SELECT platform, external_id, daily_budget_micros, lifetime_budget_micros, \
                budget_remaining_micros, starts_at, ends_at, platform_created_at FROM campaigns",
    )
    .load(&mut admin(t).await)
    .await
    .expect("campaigns");
    rows.into_iter()
        .map(|r| ((r.platform.clone(), r.external_id.clone()), r))
        .collect()
}

/// Each account's time zone, by (platform, account id).
fn zones(sb: &SandboxHandle) -> HashMap<(Platform, String), chrono_tz::Tz> {
    sb.accounts(None)
        .into_iter()
        .map(|a| {
            let tz = a.time_zone.parse().expect("zone");
            ((a.platform, a.id), tz)
        })
        .collect()
}

fn tz_of(zones: &HashMap<(Platform, String), chrono_tz::Tz>, c: &TruthCampaign) -> chrono_tz::Tz {
    zones[&(c.platform, c.account_id.clone())]
}

#[tokio::test]
async fn campaign_flight_figures_are_stored_as_each_platform_gives_them() {
    let (sb, t, _c, _org) = setup().await;
    let stored = stored(&t).await;
    let zones = zones(&sb);
    for platform in Platform::ALL {
        let (mut lifetime, mut ends) = (0, 0);
        for tc in sb.campaigns(&TruthQuery {
            platform: Some(platform),
            ..TruthQuery::default()
        }) {
            // Listings leave removed campaigns out; their figures stay unknown.
            if tc.status == CampaignStatus::Removed {
                continue;
            }
            let s = &stored[&(platform.as_str().to_string(), tc.campaign_id.clone())];
            let tz = tz_of(&zones, &tc);
            assert_eq!(
                s.lifetime_budget_micros, tc.lifetime_budget_micros,
                "{tc:?}"
            );
            if tc.lifetime_budget_micros.is_some() {
                lifetime += 1;
                assert_eq!(
                    s.daily_budget_micros, None,
                    "no daily budget beside it: {tc:?}"
                );
            }
            // Meta's own figure; elsewhere the rules work it out.
            let remaining = match platform {
                Platform::Meta => tc.budget_remaining_micros,
                _ => None,
            };
            assert_eq!(s.budget_remaining_micros, remaining, "{tc:?}");
            assert_eq!(s.ends_at, tc.ends_at, "{tc:?}");
            ends += usize::from(tc.ends_at.is_some());
            let (created, starts) = match platform {
                // Google has no creation time; its start is the first day, local midnight.
                Platform::Google => {
                    let day = tc.created_at.with_timezone(&tz).date_naive();
                    let midnight = tz
                        .from_local_datetime(&day.and_time(NaiveTime::MIN))
                        .earliest()
                        .map(|t| t.with_timezone(&Utc));
                    (None, midnight)
                }
                Platform::Meta => (Some(tc.created_at), Some(tc.created_at)),
                Platform::Tiktok => (Some(tc.created_at), None),
            };
            assert_eq!(s.platform_created_at, created, "{tc:?}");
            assert_eq!(s.starts_at, starts, "{tc:?}");
        }
        assert!(
            lifetime > 0,
            "{platform}: some campaigns have lifetime budgets"
        );
        if platform != Platform::Tiktok {
            assert!(ends > 0, "{platform}: some campaigns have an end date");
        }
    }
}

/// The account-local "today" of a campaign at the fixed time.
fn today_of(zones: &HashMap<(Platform, String), chrono_tz::Tz>, c: &TruthCampaign) -> NaiveDate {
    fixed_now().with_timezone(&tz_of(zones, c)).date_naive()
}

/// Days from `today` to `end`, both included (the contract's `days_left`).
fn days_left(end: NaiveDate, today: NaiveDate) -> i64 {
    (end - today).num_days() + 1
}

fn active(sb: &SandboxHandle) -> Vec<TruthCampaign> {
    sb.campaigns(&TruthQuery::default())
        .into_iter()
        .filter(|c| c.status == CampaignStatus::Enabled)
        .collect()
}

#[derive(diesel::QueryableByName)]
struct FirstDay {
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Nullable<Date>)]
    first: Option<NaiveDate>,
}

/// The first synced day of each campaign's account, by campaign id: what "lifetime spend"
/// covers where the platform gives no remaining figure.
async fn first_synced_day(t: &TestApp) -> HashMap<String, NaiveDate> {
    let rows: Vec<FirstDay> = diesel::sql_query(
        "SELECT c.external_id, (SELECT min(m.date) FROM metrics_daily m \
           WHERE m.account_id = c.account_id) AS first FROM campaigns c",
    )
    .load(&mut admin(t).await)
    .await
    .expect("first days");
    // An account without a synced day has no spend to subtract.
    rows.into_iter()
        .map(|r| (r.external_id, r.first.unwrap_or(NaiveDate::MAX)))
        .collect()
}

/// Lifetime budget minus lifetime spend as the rules see it: Meta's own figure, else the
/// budget minus the truth's spend over the synced days.
fn remaining(sb: &SandboxHandle, c: &TruthCampaign, first: NaiveDate) -> Option<i64> {
    let total = c.lifetime_budget_micros?;
    if c.platform == Platform::Meta {
        return c.budget_remaining_micros;
    }
    let spent: i64 = sb
        .daily_metrics(&TruthQuery {
            platform: Some(c.platform),
            campaign_id: Some(c.campaign_id.clone()),
            from: Some(first),
            ..TruthQuery::default()
        })
        .iter()
        .map(|m| m.spend_micros)
        .sum();
    Some(total - spent)
}

async fn save_live(c: &mut Client, text: &str) -> Uuid {
    c.get("/rules/new").await.assert_status(StatusCode::OK);
    let r = c
        .post(
            "/rules",
            &[("text", text), ("mode", "live"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "save: {}", r.body);
    r.location()
        .expect("to the rule")
        .trim_start_matches("/rules/")
        .parse()
        .expect("rule id")
}

/// Runs a live rule twice and checks that the first check paused exactly `expected` (and
/// nothing else) and the second changed nothing.
async fn pauses_exactly(
    sb: &SandboxHandle,
    t: &TestApp,
    org: Uuid,
    rule: Uuid,
    expected: &BTreeSet<String>,
) {
    let before: BTreeSet<String> = active(sb).into_iter().map(|c| c.campaign_id).collect();
    let now = fixed_now();
    let s = runner::check_rule(&t.app, org, rule, now, now)
        .await
        .expect("check");
    assert_eq!(s.error, None, "{s:?}");
    assert_eq!(s.executed, expected.len(), "{s:?}");
    let after: BTreeSet<String> = active(sb).into_iter().map(|c| c.campaign_id).collect();
    let paused: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(&paused, expected);
    let again = runner::check_rule(&t.app, org, rule, now, now)
        .await
        .expect("again");
    assert_eq!(again.executed, 0, "{again:?}");
}

#[tokio::test]
async fn live_campaign_rules_on_flight_figures_pause_what_the_truth_says() {
    let (sb, t, mut c, org) = setup().await;
    let zones = zones(&sb);
    c.post(
        "/rules/settings",
        &[
            ("max_actions_per_check", "1000"),
            ("max_budget_increase_pct", "50"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);

    // Flights ending within 20 days, today included (Google and Meta; TikTok campaigns have
    // no end date, so `days_left` is undefined there and never matches).
    let text = "rule \"Flight ending\"\n  for campaigns where status is active\n  when days_left <= 20\n  then pause\n";
    let f = c.post("/rules/check", &[("text", text)]).await;
    assert!(!f.body.contains("draft only"), "{}", f.body);
    let ending = save_live(&mut c, text).await;
    let with_end: Vec<TruthCampaign> = active(&sb)
        .into_iter()
        .filter(|c| c.end_date.is_some())
        .collect();
    let expected: BTreeSet<String> = with_end
        .iter()
        .filter(|c| {
            c.end_date
                .is_some_and(|e| days_left(e, today_of(&zones, c)) <= 20)
        })
        .map(|c| c.campaign_id.clone())
        .collect();
    assert!(
        !expected.is_empty() && expected.len() < with_end.len(),
        "the threshold splits the flights: {} of {}",
        expected.len(),
        with_end.len()
    );
    pauses_exactly(&sb, &t, org, ending, &expected).await;

    // Lifetime budgets mostly spent, on campaigns older than 60 days.
    let text = "rule \"Budget mostly spent\"\n  for campaigns where status is active\n  when lifetime_budget > 0 and budget_remaining < 0.5 * lifetime_budget and days_since_created >= 60\n  then pause\n";
    let spent = save_live(&mut c, text).await;
    let first = first_synced_day(&t).await;
    let with_lifetime: Vec<TruthCampaign> = active(&sb)
        .into_iter()
        .filter(|c| c.lifetime_budget_micros.is_some())
        .collect();
    let expected: BTreeSet<String> = with_lifetime
        .iter()
        .filter(|c| {
            let old = c.platform != Platform::Google
                && (today_of(&zones, c)
                    - c.created_at.with_timezone(&tz_of(&zones, c)).date_naive())
                .num_days()
                    >= 60;
            let left = remaining(&sb, c, first[&c.campaign_id]);
            let total = c.lifetime_budget_micros.unwrap_or(0);
            old && left.is_some_and(|l| i128::from(l) * 2 < i128::from(total))
        })
        .map(|c| c.campaign_id.clone())
        .collect();
    assert!(
        !expected.is_empty() && expected.len() < with_lifetime.len(),
        "the rule splits the lifetime budgets: {} of {}",
        expected.len(),
        with_lifetime.len()
    );
    assert!(
        expected.iter().any(|id| with_lifetime
            .iter()
            .any(|c| &c.campaign_id == id && c.platform == Platform::Meta)),
        "Meta's own remaining figure decides some"
    );
    pauses_exactly(&sb, &t, org, spent, &expected).await;
}
