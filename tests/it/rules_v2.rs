//! Rules language version 2 on the server, at campaign level, against the sandbox over real
//! HTTP after a real sync: the named conversion metrics, account figures, `at most N times`,
//! and the id, removed and `paused by` filters. The expected matches are worked out here from
//! the synced rows, independently of the facts query.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use adpilot::automation::runner;
use adpilot::sandbox::{CampaignStatus, SandboxConfig, SandboxHandle, TruthQuery};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::sql_types::{BigInt, Date, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::connections::connect;
use crate::support::*;

fn fixed_now() -> DateTime<Utc> {
    "2026-03-18T15:30:00Z".parse().expect("time")
}

async fn admin(t: &TestApp) -> diesel_async::AsyncPgConnection {
    adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin")
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

async fn setup(platforms: &[&str]) -> (SandboxHandle, TestApp, Client, Uuid) {
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(fixed_now()),
        ..SandboxConfig::default()
    })
    .await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    for p in platforms {
        connect(&mut c, p).await;
    }
    let org: IdRow = diesel::sql_query("SELECT id FROM organizations WHERE name = 'Acme'")
        .get_result(&mut admin(&t).await)
        .await
        .expect("org");
    for a in adpilot::analytics::sync::accounts_to_sync(&t.app, org.id)
        .await
        .expect("accounts")
    {
        adpilot::analytics::sync::sync_account(&t.app, org.id, a, sb.clock().now())
            .await
            .expect("sync");
    }
    (sb, t, c, org.id)
}

async fn save_rule(c: &mut Client, text: &str, mode: &str) -> Uuid {
    c.get("/rules/new").await.assert_status(StatusCode::OK);
    let r = c
        .post(
            "/rules",
            &[("text", text), ("mode", mode), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "save: {}", r.body);
    r.location()
        .expect("to the rule")
        .trim_start_matches("/rules/")
        .parse()
        .expect("rule id")
}

#[derive(diesel::QueryableByName)]
struct DayRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    account: String,
    #[diesel(sql_type = Text)]
    time_zone: String,
    #[diesel(sql_type = Nullable<Date>)]
    date: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<BigInt>)]
    spend_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    clicks: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    all_clicks: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    purchases: Option<String>,
}

/// Per campaign: the sums over the 7 complete days before its account's today.
#[derive(Debug, Default, Clone)]
struct Week {
    id: Uuid,
    external_id: String,
    status: String,
    account: String,
    spend: i64,
    clicks: i64,
    all_clicks: i64,
    purchases: Decimal,
}

async fn weeks(t: &TestApp, now: DateTime<Utc>) -> Vec<Week> {
    let rows: Vec<DayRow> = diesel::sql_query(
        "SELECT c.id, c.external_id, c.status, a.external_id AS account, a.time_zone, m.date, \
           m.spend_micros, m.clicks, m.all_clicks, m.purchases::text AS purchases \
         FROM campaigns c JOIN ad_accounts a ON a.id = c.account_id \
         LEFT JOIN metrics_daily m ON m.campaign_id = c.id",
    )
    .load(&mut admin(t).await)
    .await
    .expect("rows");
    let mut out: BTreeMap<Uuid, Week> = BTreeMap::new();
    for r in rows {
        let w = out.entry(r.id).or_insert_with(|| Week {
            id: r.id,
            external_id: r.external_id.clone(),
            status: r.status.clone(),
            account: r.account.clone(),
            ..Week::default()
        });
        let today = adpilot::analytics::sync::account_today(&r.time_zone, now);
        let Some(d) = r.date else { continue };
        if d < today - Duration::days(7) || d >= today {
            continue;
        }
        w.spend += r.spend_micros.unwrap_or(0);
        w.clicks += r.clicks.unwrap_or(0);
        w.all_clicks += r.all_clicks.or(r.clicks).unwrap_or(0);
        w.purchases += r
            .purchases
            .and_then(|p| p.parse::<Decimal>().ok())
            .unwrap_or_default();
    }
    out.into_values().collect()
}

/// Campaign ids (adpilot's) a rule's latest run logged as matched.
async fn logged(t: &TestApp, rule: Uuid) -> BTreeSet<Uuid> {
    #[derive(diesel::QueryableByName)]
    struct C {
        #[diesel(sql_type = SqlUuid)]
        campaign_id: Uuid,
    }
    let rows: Vec<C> = diesel::sql_query(
        "SELECT campaign_id FROM rule_run_items WHERE run_id = \
           (SELECT id FROM rule_runs WHERE rule_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1)",
    )
    .bind::<SqlUuid, _>(rule)
    .load(&mut admin(t).await)
    .await
    .expect("items");
    rows.into_iter().map(|r| r.campaign_id).collect()
}

/// A threshold with some values above it and some not.
fn middle(mut values: Vec<Decimal>) -> Decimal {
    values.sort();
    values.dedup();
    assert!(values.len() >= 2, "distinct values to split: {values:?}");
    values[values.len() / 2 - 1]
}

fn truth_status(sb: &SandboxHandle) -> HashMap<String, CampaignStatus> {
    sb.campaigns(&TruthQuery::default())
        .into_iter()
        .map(|c| (c.campaign_id, c.status))
        .collect()
}

#[tokio::test]
async fn conversion_types_and_account_figures_decide_dry_and_live_rules() {
    let (sb, t, mut c, org) = setup(&["google", "meta"]).await;
    let now = fixed_now();
    let weeks = weeks(&t, now).await;
    let live: Vec<&Week> = weeks.iter().filter(|w| w.status != "removed").collect();

    // The editor no longer holds these back: no "draft only" in the live check.
    let text = "rule \"Buyers\"\n  when purchases in last 7 days > 0 and account spend in last 7 days > 0\n  then notify \"ann@example.com\"\n";
    let f = c.post("/rules/check", &[("text", text)]).await;
    f.assert_status(StatusCode::OK);
    assert!(!f.body.contains("draft only"), "{}", f.body);

    // Purchases over a threshold that splits the campaigns.
    let x = middle(live.iter().map(|w| w.purchases).collect());
    let expected: BTreeSet<Uuid> = live
        .iter()
        .filter(|w| w.purchases > x)
        .map(|w| w.id)
        .collect();
    let id = save_rule(
        &mut c,
        &format!(
            "rule \"Buyers\"\n  when purchases in last 7 days > {x}\n  then notify \"ann@example.com\"\n"
        ),
        "dry_run",
    )
    .await;
    let s = runner::check_rule(&t.app, org, id, now, now)
        .await
        .expect("check");
    assert_eq!(s.error, None);
    assert_eq!(s.evaluated, live.len(), "removed campaigns are left out");
    assert_eq!(logged(&t, id).await, expected, "purchases > {x}");

    // Every click against destination clicks (they differ on Meta).
    let more: BTreeSet<Uuid> = live
        .iter()
        .filter(|w| w.all_clicks > w.clicks)
        .map(|w| w.id)
        .collect();
    assert!(
        !more.is_empty(),
        "some campaign reports more clicks of all kinds"
    );
    let id = save_rule(
        &mut c,
        "rule \"All clicks\"\n  when all_clicks in last 7 days > clicks in last 7 days\n  then notify \"ann@example.com\"\n",
        "dry_run",
    )
    .await;
    runner::check_rule(&t.app, org, id, now, now)
        .await
        .expect("check");
    assert_eq!(logged(&t, id).await, more);

    // Account spend: the sum over every campaign of the account (removed ones too).
    let mut by_account: BTreeMap<String, i64> = BTreeMap::new();
    for w in &weeks {
        *by_account.entry(w.account.clone()).or_default() += w.spend;
    }
    let y = middle(
        by_account
            .values()
            .map(|s| Decimal::new(*s, 6).floor())
            .collect(),
    );
    let expected: BTreeSet<Uuid> = live
        .iter()
        .filter(|w| Decimal::new(by_account[&w.account], 6) > y)
        .map(|w| w.id)
        .collect();
    assert!(!expected.is_empty() && expected.len() < live.len());
    let id = save_rule(
        &mut c,
        &format!(
            "rule \"Big accounts\"\n  when account spend in last 7 days > {y}\n  then notify \"ann@example.com\"\n"
        ),
        "dry_run",
    )
    .await;
    runner::check_rule(&t.app, org, id, now, now)
        .await
        .expect("check");
    assert_eq!(logged(&t, id).await, expected, "account spend > {y}");

    // Live: exactly the active campaigns over the purchase threshold are paused, once.
    let before = truth_status(&sb);
    let to_pause: BTreeSet<String> = live
        .iter()
        .filter(|w| w.status == "active" && w.purchases > x)
        .map(|w| w.external_id.clone())
        .collect();
    assert!(!to_pause.is_empty());
    let id = save_rule(
        &mut c,
        &format!(
            "rule \"Stop buyers\"\n  for campaigns where status is active\n  when purchases in last 7 days > {x}\n  then pause\n"
        ),
        "live",
    )
    .await;
    let s = runner::check_rule(&t.app, org, id, now, now)
        .await
        .expect("check");
    assert_eq!(s.executed, to_pause.len(), "{s:?}");
    let after = truth_status(&sb);
    for (cid, status) in &after {
        let want = if to_pause.contains(cid) {
            CampaignStatus::Paused
        } else {
            before[cid]
        };
        assert_eq!(*status, want, "campaign {cid}");
    }
    let later = now + Duration::minutes(15);
    let s = runner::check_rule(&t.app, org, id, later, later)
        .await
        .expect("again");
    assert_eq!(s.executed, 0, "{s:?}");
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM platform_actions WHERE state = 'succeeded'"
        )
        .await,
        to_pause.len() as i64
    );
}

async fn active_google_campaigns(t: &TestApp) -> Vec<(Uuid, String)> {
    #[derive(diesel::QueryableByName)]
    struct C {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        external_id: String,
    }
    let rows: Vec<C> = diesel::sql_query(
        "SELECT id, external_id FROM campaigns WHERE platform = 'google' AND status = 'active' \
         AND daily_budget_micros IS NOT NULL ORDER BY external_id",
    )
    .load(&mut admin(t).await)
    .await
    .expect("campaigns");
    rows.into_iter().map(|r| (r.id, r.external_id)).collect()
}

fn budget_writes(sb: &SandboxHandle) -> usize {
    sb.calls()
        .iter()
        .filter(|c| c.path.contains("campaignBudgets:mutate"))
        .count()
}

#[tokio::test]
async fn at_most_n_times_counts_each_slot_once_whatever_the_retries() {
    let (sb, t, mut c, org) = setup(&["google"]).await;
    let now = fixed_now();
    let camps = active_google_campaigns(&t).await;
    let (a, b) = (&camps[0].1, &camps[1].1);
    let twice = save_rule(
        &mut c,
        &format!(
            "rule \"Twice\"\n  for campaigns where id is \"{a}\"\n  then increase budget by 1%\n  at most 2 times\n"
        ),
        "live",
    )
    .await;
    sb.clear_calls();
    let mut executed = Vec::new();
    for (k, retry) in [
        (0, false),
        (0, true),
        (1, false),
        (1, true),
        (2, false),
        (3, false),
    ] {
        let slot = now + Duration::minutes(15 * k);
        // A retry runs the same slot again, later.
        let at = if retry {
            slot + Duration::minutes(2)
        } else {
            slot
        };
        let s = runner::check_rule(&t.app, org, twice, slot, at)
            .await
            .expect("check");
        assert_eq!(s.matched, 1, "{s:?}");
        executed.push(s.executed);
    }
    assert_eq!(budget_writes(&sb), 2, "two changes ever: {executed:?}");
    let h = c.get(&format!("/rules/{twice}/history")).await;
    assert!(
        h.body.contains("at most 2 times for this rule"),
        "{}",
        h.body
    );

    // Per period: once an hour.
    let hourly = save_rule(
        &mut c,
        &format!(
            "rule \"Hourly\"\n  for campaigns where id is \"{b}\"\n  then decrease budget by 1%\n  at most 1 times per 1 hours\n"
        ),
        "live",
    )
    .await;
    sb.clear_calls();
    for m in [0, 15, 30, 61, 75] {
        let at = now + Duration::minutes(m);
        runner::check_rule(&t.app, org, hourly, at, at)
            .await
            .expect("check");
    }
    assert_eq!(budget_writes(&sb), 2, "at 0 and at 61 minutes");
}

#[tokio::test]
async fn paused_by_rule_finds_what_a_rule_paused_and_never_what_a_person_did() {
    let (sb, t, mut c, org) = setup(&["google"]).await;
    let now = fixed_now();
    let camps = active_google_campaigns(&t).await;
    let ((x_id, x), (y_id, y)) = (camps[0].clone(), camps[1].clone());

    // The rule pauses X; a person pauses Y through adpilot.
    let night = save_rule(
        &mut c,
        &format!("rule \"Night off\"\n  for campaigns where id is \"{x}\"\n  then pause\n"),
        "live",
    )
    .await;
    let s = runner::check_rule(&t.app, org, night, now, now)
        .await
        .expect("night");
    assert_eq!(s.executed, 1, "{s:?}");
    let user: IdRow = diesel::sql_query("SELECT id FROM users LIMIT 1")
        .get_result(&mut admin(&t).await)
        .await
        .expect("user");
    let done = adpilot::campaigns::actions::request(
        &t.app,
        org,
        adpilot::campaigns::actions::ActionRequest {
            target: adpilot::campaigns::actions::Target::Campaign(y_id),
            kind: adpilot::campaigns::actions::ActionKind::Pause,
            source: adpilot::campaigns::actions::Source::User(user.id),
            intent_key: "by-hand".into(),
            budget: None,
            bid: None,
        },
    )
    .await
    .expect("pause by hand");
    assert_eq!(
        done.state,
        adpilot::campaigns::actions::ActionState::Succeeded
    );

    // Dry runs: who matches which form.
    let any = save_rule(
        &mut c,
        "rule \"Any\"\n  for campaigns where paused by any rule\n  then resume\n",
        "dry_run",
    )
    .await;
    let this = save_rule(
        &mut c,
        "rule \"This\"\n  for campaigns where paused by this rule\n  then resume\n",
        "dry_run",
    )
    .await;
    for (rule, want) in [(any, vec![x_id]), (this, vec![])] {
        runner::check_rule(&t.app, org, rule, now, now)
            .await
            .expect("check");
        assert_eq!(
            logged(&t, rule).await,
            want.into_iter().collect::<BTreeSet<_>>()
        );
    }

    // The morning resume wakes X only; afterwards nothing is "paused by" the rule any more.
    let morning = save_rule(
        &mut c,
        "rule \"Morning\"\n  for campaigns where paused by rule \"Night off\"\n  then resume\n",
        "live",
    )
    .await;
    let later = now + Duration::minutes(15);
    let s = runner::check_rule(&t.app, org, morning, later, later)
        .await
        .expect("morning");
    assert_eq!((s.matched, s.executed), (1, 1), "{s:?}");
    let status = truth_status(&sb);
    assert_eq!(status[&x], CampaignStatus::Enabled);
    assert_eq!(status[&y], CampaignStatus::Paused);
    let again = now + Duration::minutes(30);
    let s = runner::check_rule(&t.app, org, morning, again, again)
        .await
        .expect("again");
    assert_eq!(s.matched, 0, "{s:?}");
}

#[tokio::test]
async fn removed_campaigns_reach_only_rules_that_name_them() {
    let (_sb, t, mut c, org) = setup(&["google"]).await;
    let now = fixed_now();
    let mut removed = count(
        &t,
        "SELECT count(*) AS n FROM campaigns WHERE status = 'removed'",
    )
    .await;
    if removed == 0 {
        // As a sync records a campaign removed on the platform.
        diesel::sql_query(
            "UPDATE campaigns SET status = 'removed' WHERE id = (SELECT id FROM campaigns ORDER BY external_id LIMIT 1)",
        )
        .execute(&mut admin(&t).await)
        .await
        .expect("remove");
        removed = 1;
    }
    let all = count(&t, "SELECT count(*) AS n FROM campaigns").await;
    let gone = save_rule(
        &mut c,
        "rule \"Gone\"\n  for campaigns where status is removed\n  then notify \"ann@example.com\"\n",
        "dry_run",
    )
    .await;
    let everyone = save_rule(
        &mut c,
        "rule \"Everyone\"\n  then notify \"ann@example.com\"\n",
        "dry_run",
    )
    .await;
    let s = runner::check_rule(&t.app, org, gone, now, now)
        .await
        .expect("gone");
    assert_eq!(
        (s.evaluated, s.matched),
        (removed as usize, removed as usize)
    );
    let s = runner::check_rule(&t.app, org, everyone, now, now)
        .await
        .expect("everyone");
    assert_eq!(s.evaluated, (all - removed) as usize);

    // `id is` names the platform's id.
    let ext: Vec<String> = {
        #[derive(diesel::QueryableByName)]
        struct E {
            #[diesel(sql_type = Text)]
            external_id: String,
        }
        let rows: Vec<E> = diesel::sql_query(
            "SELECT external_id FROM campaigns WHERE status <> 'removed' ORDER BY external_id LIMIT 1",
        )
        .load(&mut admin(&t).await)
        .await
        .expect("ext");
        rows.into_iter().map(|e| e.external_id).collect()
    };
    let one = save_rule(
        &mut c,
        &format!(
            "rule \"One\"\n  for campaigns where id is \"{}\"\n  then notify \"ann@example.com\"\n",
            ext[0]
        ),
        "dry_run",
    )
    .await;
    let s = runner::check_rule(&t.app, org, one, now, now)
        .await
        .expect("one");
    assert_eq!((s.evaluated, s.matched), (1, 1));
}

#[derive(diesel::QueryableByName)]
struct LevelDay {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    campaign_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    time_zone: String,
    #[diesel(sql_type = Nullable<Date>)]
    date: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<BigInt>)]
    clicks: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    spend_micros: Option<i64>,
}

/// Per object of `sql`'s rows: (campaign, name, status, clicks, spend) over the 7 complete
/// days before its account's today.
async fn level_weeks(
    t: &TestApp,
    sql: &str,
    now: DateTime<Utc>,
) -> BTreeMap<Uuid, (Uuid, String, String, i64, i64)> {
    let rows: Vec<LevelDay> = diesel::sql_query(sql)
        .load(&mut admin(t).await)
        .await
        .expect("rows");
    let mut out: BTreeMap<Uuid, (Uuid, String, String, i64, i64)> = BTreeMap::new();
    for r in rows {
        let e = out
            .entry(r.id)
            .or_insert_with(|| (r.campaign_id, r.name.clone(), r.status.clone(), 0, 0));
        let today = adpilot::analytics::sync::account_today(&r.time_zone, now);
        if let Some(d) = r.date
            && d >= today - Duration::days(7)
            && d < today
        {
            e.3 += r.clicks.unwrap_or(0);
            e.4 += r.spend_micros.unwrap_or(0);
        }
    }
    out
}

/// Objects (ad groups or ads) a rule's latest run logged, with the level it logged.
async fn logged_objects(t: &TestApp, rule: Uuid) -> (BTreeSet<Uuid>, BTreeSet<String>) {
    #[derive(diesel::QueryableByName)]
    struct O {
        #[diesel(sql_type = SqlUuid)]
        object_id: Uuid,
        #[diesel(sql_type = Text)]
        level: String,
    }
    let rows: Vec<O> = diesel::sql_query(
        "SELECT object_id, level FROM rule_run_items WHERE run_id = \
           (SELECT id FROM rule_runs WHERE rule_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1)",
    )
    .bind::<SqlUuid, _>(rule)
    .load(&mut admin(t).await)
    .await
    .expect("items");
    (
        rows.iter().map(|r| r.object_id).collect(),
        rows.into_iter().map(|r| r.level).collect(),
    )
}

#[tokio::test]
async fn ad_set_and_ad_rules_run_as_dry_runs_with_preview_and_history() {
    let (sb, t, mut c, org) = setup(&["meta"]).await;
    let now = fixed_now();
    let sets = level_weeks(
        &t,
        "SELECT g.id, g.campaign_id, g.name, g.status, a.time_zone, m.date, m.clicks, m.spend_micros \
         FROM ad_groups g JOIN ad_accounts a ON a.id = g.account_id \
         LEFT JOIN ad_group_metrics_daily m ON m.ad_group_id = g.id",
        now,
    )
    .await;
    assert!(!sets.is_empty(), "the sync brought ad sets");
    let live_sets: Vec<_> = sets.iter().filter(|s| s.1.2 != "removed").collect();
    let x = middle(live_sets.iter().map(|s| Decimal::from(s.1.3)).collect());
    let expected: BTreeSet<Uuid> = live_sets
        .iter()
        .filter(|s| Decimal::from(s.1.3) > x)
        .map(|s| *s.0)
        .collect();
    let text = format!(
        "rule \"Night bids\"\n  for ad sets on meta\n  when clicks in last 7 days > {x} and hour of day >= 0\n  then increase bid by 10% up to 50\n"
    );

    // The editor lets it run in every mode; going live asks first, naming ad sets (the live
    // runs are in `rules_levels_live`).
    let f = c.post("/rules/check", &[("text", text.as_str())]).await;
    assert!(!f.body.contains("dry run only"), "{}", f.body);
    assert!(!f.body.contains("draft only"), "{}", f.body);
    c.get("/rules/new").await.assert_status(StatusCode::OK);
    let r = c
        .post("/rules", &[("text", text.as_str()), ("mode", "live")])
        .await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body.contains("Make “Night bids” live?") && r.body.contains(" ad set"),
        "{}",
        r.body
    );

    // Preview against the accounts (at the real clock, so over every day there is).
    let p = c
        .post(
            "/rules/preview",
            &[(
                "text",
                "rule \"Night bids\"\n  for ad sets on meta\n  when clicks lifetime > 0 and hour of day >= 0\n  then increase bid by 10% up to 50\n",
            )],
        )
        .await;
    p.assert_status(StatusCode::OK);
    // A matched ad set whose name HTML shows as it is.
    let some = expected
        .iter()
        .map(|id| sets[id].1.clone())
        .find(|n| {
            n.chars()
                .all(|ch| ch.is_alphanumeric() || " -%_".contains(ch))
        })
        .expect("an ad set matches");
    assert!(p.body.contains(&some), "{}", p.body);

    // A dry run logs exactly those ad sets, at their level, and changes nothing.
    let id = save_rule(&mut c, &text, "dry_run").await;
    sb.clear_calls();
    let s = runner::check_rule(&t.app, org, id, now, now)
        .await
        .expect("check");
    assert_eq!(s.error, None);
    assert_eq!(s.evaluated, live_sets.len());
    let (objects, levels) = logged_objects(&t, id).await;
    assert_eq!(objects, expected);
    assert_eq!(levels, BTreeSet::from(["ad_group".to_string()]));
    assert!(
        sb.calls().iter().all(|c| c.method == "GET"),
        "a dry run writes nothing"
    );
    let h = c.get(&format!("/rules/{id}/history")).await;
    assert!(h.body.contains(&some), "{}", h.body);
    assert!(h.body.contains("would run (dry run)"), "{}", h.body);

    // A backtest replays the ad sets: every hit is one of them, with its spend afterwards.
    // The sync ran "now"; as if each day's numbers were observed the morning after.
    diesel::sql_query(
        "UPDATE ad_group_metrics_daily SET updated_at = (date + 1)::timestamp AT TIME ZONE 'UTC' + interval '1 hour'",
    )
    .execute(&mut admin(&t).await)
    .await
    .expect("age the stored days");
    let parsed = adpilot::automation::language::check_single(&text)
        .rules
        .pop()
        .expect("rule");
    let b = adpilot::automation::backtest::run(&t.app, org, &parsed, 3, now + Duration::days(1))
        .await
        .expect("backtest");
    assert!(!b.hits.is_empty(), "{b:?}");
    assert_eq!(b.campaigns_in_scope, sets.len());
    for h in &b.hits {
        assert!(sets.contains_key(&h.campaign_id), "{h:?}");
        assert!(!h.spend_after.is_empty());
        assert_eq!(
            h.href,
            format!("/ad-groups/{}", h.campaign_id),
            "links the ad set"
        );
    }

    // Ads against their campaign: an ad's share of its campaign's spend.
    let ads = level_weeks(
        &t,
        "SELECT d.id, d.campaign_id, d.name, d.status, a.time_zone, m.date, m.clicks, m.spend_micros \
         FROM ads d JOIN ad_accounts a ON a.id = d.account_id \
         LEFT JOIN ad_metrics_daily m ON m.ad_id = d.id",
        now,
    )
    .await;
    let campaigns: HashMap<Uuid, i64> = weeks(&t, now)
        .await
        .into_iter()
        .map(|w| (w.id, w.spend))
        .collect();
    let expected: BTreeSet<Uuid> = ads
        .iter()
        .filter(|a| a.1.2 != "removed")
        .filter(|a| {
            let camp = campaigns.get(&a.1.0).copied().unwrap_or(0);
            // spend > 0.3 * campaign spend, with the language's division-free comparison.
            Decimal::new(a.1.4, 6) > Decimal::new(3, 1) * Decimal::new(camp, 6)
        })
        .map(|a| *a.0)
        .collect();
    assert!(!expected.is_empty() && expected.len() < ads.len());
    let id = save_rule(
        &mut c,
        "rule \"Big ads\"\n  for ads\n  when spend in last 7 days > 0.3 * campaign spend in last 7 days\n  then notify \"ann@example.com\"\n",
        "live",
    )
    .await;
    let s = runner::check_rule(&t.app, org, id, now, now)
        .await
        .expect("check");
    assert_eq!(s.error, None);
    assert_eq!(logged_objects(&t, id).await.0, expected);
}
