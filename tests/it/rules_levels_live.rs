//! Live rules at ad-group (Meta: ad set) and ad level, against the sandbox over real HTTP after
//! a real sync: each matched object is changed once through the audited action path (a second
//! check changes nothing), bids move with their from/to recorded, an ad set under a campaign
//! budget is skipped with the reason, the kill switch and the per-check limit hold at levels,
//! `paused by` reads each level's own pauses, and a retry after a lost platform answer does
//! not write twice.

use std::collections::{BTreeMap, BTreeSet};

use adpilot::automation::eval::{BudgetPlan, ChangeBy};
use adpilot::automation::language::ast::Direction;
use adpilot::automation::runner;
use adpilot::sandbox::{
    CampaignStatus as Truth, FaultKind, FaultSpec, SandboxConfig, SandboxHandle, TruthQuery,
};
use adpilot::types::{Currency, Money, Platform};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
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

/// Signed up, `platforms` connected and synced; `tweak` changes the app's configuration.
async fn setup_with(
    platforms: &[&str],
    tweak: impl FnOnce(&mut adpilot::config::Config),
) -> (SandboxHandle, TestApp, Client, Uuid) {
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(fixed_now()),
        ..SandboxConfig::default()
    })
    .await;
    let t = TestApp::build_with(&[], Some(&sb), tweak).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    for p in platforms {
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

async fn save_dry(c: &mut Client, text: &str) -> Uuid {
    let r = c
        .post("/rules", &[("text", text), ("mode", "dry_run")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "save: {}", r.body);
    r.location()
        .expect("to the rule")
        .trim_start_matches("/rules/")
        .parse()
        .expect("rule id")
}

#[derive(diesel::QueryableByName, Debug, Clone)]
struct Obj {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
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
    /// Every synced day's clicks (`clicks lifetime`: the sync ran at the sandbox's fixed now,
    /// so the editor's real clock sees the same days).
    #[diesel(sql_type = BigInt)]
    clicks_all: i64,
}

/// The stored ad groups of `platform`, with their lifetime clicks.
async fn ad_groups(t: &TestApp, platform: Platform) -> Vec<Obj> {
    diesel::sql_query(
        "SELECT g.id, g.external_id, g.name, g.status, g.budget_micros, g.bid_micros,
                COALESCE((SELECT sum(m.clicks) FROM ad_group_metrics_daily m
                  WHERE m.ad_group_id = g.id), 0)::bigint AS clicks_all
         FROM ad_groups g
         WHERE g.platform = $1 ORDER BY g.external_id",
    )
    .bind::<Text, _>(platform.as_str())
    .load(&mut admin(t).await)
    .await
    .expect("ad groups")
}

#[derive(diesel::QueryableByName, Debug)]
struct Item {
    #[diesel(sql_type = SqlUuid)]
    object_id: Uuid,
    #[diesel(sql_type = Text)]
    level: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    actions: serde_json::Value,
}

/// The items of a rule's latest run.
async fn last_items(t: &TestApp, rule: Uuid) -> Vec<Item> {
    diesel::sql_query(
        "SELECT object_id, level, actions FROM rule_run_items WHERE run_id = \
           (SELECT id FROM rule_runs WHERE rule_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1)",
    )
    .bind::<SqlUuid, _>(rule)
    .load(&mut admin(t).await)
    .await
    .expect("items")
}

/// (status, reason) of each action of an item.
fn statuses(i: &Item) -> Vec<(String, String)> {
    i.actions
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["status"].as_str().unwrap_or("").to_string(),
                        x["reason"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Platform write calls since the last `clear_calls` (Google's searches are reads).
fn writes(sb: &SandboxHandle) -> Vec<String> {
    sb.calls()
        .into_iter()
        .filter(|c| {
            c.method == "POST"
                && !c.path.contains("googleAds:search")
                && !c.path.contains("oauth")
                && !c.path.contains("token")
        })
        .map(|c| c.path)
        .collect()
}

/// What `increase ... by 10%` makes of `micros` (rounded to the currency's minor unit).
fn up_10(micros: i64, currency: Currency) -> i64 {
    BudgetPlan::Change {
        direction: Direction::Increase,
        by: ChangeBy::Percent(rust_decimal::Decimal::from(10)),
        limit: None,
    }
    .apply(Money::new(micros, currency))
    .expect("+10%")
    .micros
}

fn truth_group_status(sb: &SandboxHandle, platform: Platform, id: &str) -> Truth {
    sb.ad_groups(&TruthQuery {
        platform: Some(platform),
        ad_group_id: Some(id.to_string()),
        ..Default::default()
    })
    .into_iter()
    .next()
    .expect("the ad group in the sandbox")
    .status
}

#[tokio::test]
async fn a_live_ad_set_rule_pauses_exactly_the_matching_ad_sets_once() {
    let (sb, t, mut c, org) = setup_with(&["meta"], |_| {}).await;
    let now = fixed_now();
    let sets = ad_groups(&t, Platform::Meta).await;
    let active: Vec<&Obj> = sets.iter().filter(|s| s.status == "active").collect();
    assert!(active.len() >= 4, "enough active ad sets: {sets:?}");
    // A threshold that splits the active ad sets.
    let mut clicks: Vec<i64> = active.iter().map(|s| s.clicks_all).collect();
    clicks.sort();
    let x = clicks[clicks.len() / 2];
    let expected: BTreeSet<Uuid> = active
        .iter()
        .filter(|s| s.clicks_all > x)
        .map(|s| s.id)
        .collect();
    assert!(!expected.is_empty() && expected.len() < active.len());
    c.post(
        "/rules/settings",
        &[
            ("max_actions_per_check", "200"),
            ("max_budget_increase_pct", "50"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);

    let text = format!(
        "rule \"Busy sets off\"\n  for ad sets on meta where status is active\n  when clicks lifetime > {x}\n  then pause\n"
    );
    // The editor no longer calls it dry-run only; going live asks first, naming the ad sets.
    let f = c.post("/rules/check", &[("text", text.as_str())]).await;
    assert!(!f.body.contains("dry run only"), "{}", f.body);
    c.get("/rules/new").await.assert_status(StatusCode::OK);
    let confirm = c
        .post("/rules", &[("text", text.as_str()), ("mode", "live")])
        .await;
    confirm.assert_status(StatusCode::OK);
    assert!(
        confirm.body.contains(&format!(
            "This will change {} ad set{} now",
            expected.len(),
            if expected.len() == 1 { "" } else { "s" }
        )),
        "{}",
        confirm.body
    );
    let first = expected.iter().next().copied().expect("one");
    assert!(
        confirm.body.contains(&format!("/ad-groups/{first}")),
        "links to the ad set: {}",
        confirm.body
    );
    let id = save_live(&mut c, &text).await;

    sb.clear_calls();
    let s = runner::check_rule(&t.app, org, id, now, now)
        .await
        .expect("check");
    assert_eq!(s.error, None);
    assert_eq!(s.matched, expected.len());
    assert_eq!(s.executed, expected.len(), "{s:?}");
    assert_eq!(writes(&sb).len(), expected.len(), "one write per ad set");
    for g in &sets {
        let want = if expected.contains(&g.id) {
            Truth::Paused
        } else if g.status == "active" {
            Truth::Enabled
        } else {
            continue;
        };
        assert_eq!(
            truth_group_status(&sb, Platform::Meta, &g.external_id),
            want,
            "{} {}",
            g.external_id,
            g.name
        );
    }
    // Meta ids are above 2^53: the ones paused are the ones synced, digit for digit.
    assert!(
        sets.iter()
            .filter(|g| expected.contains(&g.id))
            .any(|g| g.external_id.parse::<u64>().is_ok_and(|n| n > 1 << 53)),
        "an ad set id above 2^53 among {:?}",
        sets.iter().map(|g| &g.external_id).collect::<Vec<_>>()
    );
    let items = last_items(&t, id).await;
    assert_eq!(
        items.iter().map(|i| i.object_id).collect::<BTreeSet<_>>(),
        expected
    );
    assert!(items.iter().all(|i| i.level == "ad_group"));
    for i in &items {
        assert_eq!(
            statuses(i),
            vec![("executed".to_string(), "paused on Meta Ads".to_string())],
            "{}",
            i.object_id
        );
    }
    let stored = ad_groups(&t, Platform::Meta).await;
    for g in &stored {
        if expected.contains(&g.id) {
            assert_eq!(g.status, "paused", "storage follows the platform");
        }
    }

    // A second check, later: nothing left to pause, nothing written.
    sb.clear_calls();
    let later = now + Duration::minutes(20);
    let s = runner::check_rule(&t.app, org, id, later, later)
        .await
        .expect("check again");
    assert_eq!(s.executed, 0, "{s:?}");
    assert!(writes(&sb).is_empty(), "{:?}", writes(&sb));

    // The history names each ad set and links to its page.
    let h = c.get(&format!("/rules/{id}/history")).await;
    h.assert_status(StatusCode::OK);
    for g in stored.iter().filter(|g| expected.contains(&g.id)) {
        assert!(
            h.body.contains(&format!("href=\"/ad-groups/{}\"", g.id)),
            "{}",
            h.body
        );
        let shown = g.name.replace('&', "&amp;").replace('\'', "&#x27;");
        assert!(
            h.body.contains(&shown) || h.body.contains(&g.name),
            "{}",
            g.name
        );
    }
    assert!(h.body.contains(">Ad set<"), "the level is named");

    // `paused by` at ad-set level: the rule's own pauses, never a person's.
    let by_hand = stored
        .iter()
        .find(|g| g.status == "active")
        .expect("an active ad set");
    let r = c
        .post(
            &format!("/ad-groups/{}/pause", by_hand.id),
            &[("intent", &Uuid::now_v7().to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        truth_group_status(&sb, Platform::Meta, &by_hand.external_id),
        Truth::Paused,
        "paused by a person"
    );
    let wake = save_dry(
        &mut c,
        "rule \"Wake busy sets\"\n  for ad sets where paused by rule \"Busy sets off\"\n  then resume\n",
    )
    .await;
    let any = save_dry(
        &mut c,
        "rule \"Wake any\"\n  for ad sets where paused by any rule\n  then resume\n",
    )
    .await;
    for rule in [wake, any] {
        let s = runner::check_rule(&t.app, org, rule, later, later)
            .await
            .expect("paused-by check");
        assert_eq!(s.error, None);
        assert_eq!(
            last_items(&t, rule)
                .await
                .iter()
                .map(|i| i.object_id)
                .collect::<BTreeSet<_>>(),
            expected,
            "only what the rule paused"
        );
    }

    // Budgets: an ad set with its own budget is raised once; one under a campaign budget
    // (Advantage campaign budget) is skipped with the reason and left alone.
    let own = stored
        .iter()
        .find(|g| g.status != "removed" && g.budget_micros.is_some())
        .expect("an ad set with its own budget");
    let cbo = stored
        .iter()
        .find(|g| g.status != "removed" && g.budget_micros.is_none())
        .expect("an ad set under a campaign budget");
    let text = format!(
        "rule \"Set budgets\"\n  for ad sets where id is \"{}\" or id is \"{}\"\n  then increase budget by 10%\n",
        own.external_id, cbo.external_id
    );
    let budgets = save_live(&mut c, &text).await;
    let truth_of = |id: &str| {
        sb.ad_groups(&TruthQuery {
            platform: Some(Platform::Meta),
            ad_group_id: Some(id.to_string()),
            ..Default::default()
        })
        .remove(0)
    };
    let before_truth = |id: &str| truth_of(id).daily_budget_micros;
    let currency = truth_of(&own.external_id).currency;
    let own_before = before_truth(&own.external_id).expect("own budget");
    let cbo_before = before_truth(&cbo.external_id);
    sb.clear_calls();
    let s = runner::check_rule(&t.app, org, budgets, later, later)
        .await
        .expect("budget check");
    assert_eq!((s.matched, s.executed, s.skipped), (2, 1, 1), "{s:?}");
    let items = last_items(&t, budgets).await;
    let of = |id: Uuid| items.iter().find(|i| i.object_id == id).expect("item");
    let skipped = statuses(of(cbo.id));
    assert_eq!(skipped[0].0, "skipped");
    assert!(
        skipped[0].1.contains("Advantage campaign budget"),
        "{skipped:?}"
    );
    assert_eq!(statuses(of(own.id))[0].0, "executed");
    let own_after = before_truth(&own.external_id).expect("own budget");
    assert_eq!(own_after, up_10(own_before, currency), "+10% once");
    assert_eq!(before_truth(&cbo.external_id), cbo_before);
    assert_eq!(writes(&sb).len(), 1, "{:?}", writes(&sb));
    // The same check again (same window): the key finds the first change.
    let s = runner::check_rule(&t.app, org, budgets, later, later)
        .await
        .expect("budget check again");
    assert_eq!(s.executed, 0, "cooling down: {s:?}");
    assert_eq!(before_truth(&own.external_id), Some(own_after));

    // In a browser, at desktop and phone width: the history with ad sets, which it links.
    let Some(b) = crate::webdriver::Browser::start("rules-levels").await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = t.app.clone();
    let server = tokio::spawn(async move {
        let _ = adpilot::server::serve(app, listener).await;
    });
    b.goto(&format!("{url}/login")).await;
    for (k, v) in &c.cookies {
        b.add_cookie(k, v).await;
    }
    b.goto(&format!("{url}/rules/{budgets}/history")).await;
    b.find("table.history-items").await;
    let text = b.body_text().await;
    assert!(text.contains("Advantage campaign budget"), "{text}");
    assert!(text.contains("Undo this check"), "{text}");
    assert!(
        !b.shots_both("history").await,
        "the history scrolls sideways on a phone"
    );
    b.quit().await;
    server.abort();
}

#[tokio::test]
async fn a_google_ad_group_bid_rule_changes_the_bid_once_across_a_lost_answer() {
    // A short timeout: a lost answer fails the call (after the adapter's own retries, each of
    // which lands the same absolute bid) and leaves the change pending for the next check.
    let (sb, t, mut c, org) = setup_with(&["google"], |cfg| {
        cfg.platforms.request_timeout = std::time::Duration::from_secs(3);
    })
    .await;
    let now = fixed_now();
    let groups = ad_groups(&t, Platform::Google).await;
    let g = groups
        .iter()
        .find(|g| g.status == "active" && g.bid_micros.is_some())
        .expect("an active ad group with a bid");
    let from = sb
        .ad_groups(&TruthQuery {
            platform: Some(Platform::Google),
            ad_group_id: Some(g.external_id.clone()),
            ..Default::default()
        })
        .remove(0);
    let from_micros = from.bid_micros.expect("bid");
    let text = format!(
        "rule \"Bid up\"\n  for ad groups on google where id is \"{}\"\n  when clicks lifetime >= 0\n  then increase bid by 10%\n",
        g.external_id
    );
    let id = save_live(&mut c, &text).await;

    // The platform carries the bid change out; its answer never arrives.
    sb.inject_fault(
        FaultSpec::new(FaultKind::LostResponse)
            .platform(Platform::Google)
            .method("POST")
            .path_contains("adGroups:mutate")
            .delay_ms(6000)
            .count(20),
    )
    .expect("fault");
    sb.clear_calls();
    let s = runner::check_rule(&t.app, org, id, now, now)
        .await
        .expect("check");
    assert_eq!(s.error, None);
    let bid_writes = |sb: &SandboxHandle| {
        writes(sb)
            .iter()
            .filter(|p| p.contains("adGroups:mutate"))
            .count()
    };
    let first_writes = bid_writes(&sb);
    assert!(first_writes >= 1);
    let items = last_items(&t, id).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].level, "ad_group");
    assert_eq!(statuses(&items[0])[0].0, "pending", "{items:?}");
    let expect = up_10(from_micros, from.currency);
    let truth = |sb: &SandboxHandle| {
        sb.ad_groups(&TruthQuery {
            platform: Some(Platform::Google),
            ad_group_id: Some(g.external_id.clone()),
            ..Default::default()
        })
        .remove(0)
        .bid_micros
    };
    assert_eq!(truth(&sb), Some(expect), "the change landed");

    // The next check retries under the same key: it finds the change landed and writes
    // nothing; the bid moved once.
    let s = runner::check_rule(&t.app, org, id, now, now)
        .await
        .expect("retry");
    assert_eq!(s.error, None);
    assert_eq!(
        bid_writes(&sb),
        first_writes,
        "no write on the retry: {:?}",
        writes(&sb)
    );
    assert_eq!(truth(&sb), Some(expect), "+10% once");
    let items = last_items(&t, id).await;
    let a = &items[0].actions[0];
    assert_eq!(a["status"], "executed", "{a}");
    let major = |m: i64| Money::new(m, from.currency).to_major().to_string();
    assert_eq!(a["from"].as_str(), Some(major(from_micros).as_str()), "{a}");
    assert_eq!(a["to"].as_str(), Some(major(expect).as_str()), "{a}");
    #[derive(diesel::QueryableByName)]
    struct Pa {
        #[diesel(sql_type = Text)]
        state: String,
        #[diesel(sql_type = Nullable<BigInt>)]
        from_budget_micros: Option<i64>,
        #[diesel(sql_type = Nullable<BigInt>)]
        to_budget_micros: Option<i64>,
    }
    let rows: Vec<Pa> = diesel::sql_query(
        "SELECT state, from_budget_micros, to_budget_micros FROM platform_actions WHERE rule_id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .load(&mut admin(&t).await)
    .await
    .expect("actions");
    assert_eq!(rows.len(), 1, "one intent");
    assert_eq!(rows[0].state, "succeeded");
    assert_eq!(
        (rows[0].from_budget_micros, rows[0].to_budget_micros),
        (Some(from_micros), Some(expect))
    );
    let stored = ad_groups(&t, Platform::Google).await;
    assert_eq!(
        stored
            .iter()
            .find(|s| s.id == g.id)
            .and_then(|s| s.bid_micros),
        Some(expect),
        "storage follows the platform"
    );
    let h = c.get(&format!("/rules/{id}/history")).await;
    assert!(
        h.body.contains(&format!("href=\"/ad-groups/{}\"", g.id)),
        "{}",
        h.body
    );
}

#[tokio::test]
async fn ad_rules_on_tiktok_pause_ads_within_the_kill_switch_and_the_per_check_limit() {
    let (sb, t, mut c, org) = setup_with(&["tiktok"], |_| {}).await;
    let now = fixed_now();
    let active = |sb: &SandboxHandle| -> BTreeMap<String, Truth> {
        sb.ads(&TruthQuery {
            platform: Some(Platform::Tiktok),
            ..Default::default()
        })
        .into_iter()
        .map(|a| (a.ad_id, a.status))
        .collect()
    };
    #[derive(diesel::QueryableByName)]
    struct Ad {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        external_id: String,
    }
    let ads: Vec<Ad> = diesel::sql_query(
        "SELECT id, external_id FROM ads WHERE platform = 'tiktok' AND status = 'active' \
         ORDER BY external_id",
    )
    .load(&mut admin(&t).await)
    .await
    .expect("ads");
    assert!(ads.len() >= 3, "several active TikTok ads");
    c.post(
        "/rules/settings",
        &[
            ("max_actions_per_check", "2"),
            ("max_budget_increase_pct", "50"),
            ("kill_switch", "on"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let id = save_live(
        &mut c,
        "rule \"Ads off\"\n  for ads on tiktok where status is active\n  then pause\n",
    )
    .await;
    let before = active(&sb);

    // The kill switch: every ad matched, nothing written.
    sb.clear_calls();
    let s = runner::check_rule(&t.app, org, id, now, now)
        .await
        .expect("check");
    assert_eq!(s.matched, ads.len());
    assert_eq!(s.executed, 0);
    assert!(writes(&sb).is_empty());
    assert_eq!(active(&sb), before);
    let items = last_items(&t, id).await;
    assert!(items.iter().all(|i| i.level == "ad"));
    for i in &items {
        let why = &statuses(i)[0].1;
        assert!(why.contains("kill switch"), "{}: {why}", i.object_id);
    }

    // Off again: two ads per check, the rest skipped at the limit.
    c.post(
        "/rules/settings",
        &[
            ("max_actions_per_check", "2"),
            ("max_budget_increase_pct", "50"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let later = now + Duration::minutes(15);
    let s = runner::check_rule(&t.app, org, id, later, later)
        .await
        .expect("check");
    assert_eq!((s.executed, s.skipped), (2, ads.len() - 2), "{s:?}");
    let after = active(&sb);
    let paused: Vec<&String> = after
        .iter()
        .filter(|(k, v)| **v == Truth::Paused && before.get(*k) != Some(&Truth::Paused))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(paused.len(), 2, "{paused:?}");
    assert!(
        paused
            .iter()
            .all(|p| ads.iter().any(|a| &a.external_id == *p))
    );
    let items = last_items(&t, id).await;
    let limited = items
        .iter()
        .filter(|i| statuses(i)[0].1.contains("at most 2 changes per check"))
        .count();
    assert_eq!(limited, ads.len() - 2);
    // The TikTok writes went to the ad status endpoint, once per ad.
    let w = writes(&sb);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w.iter().all(|p| p.contains("ad/status/update")), "{w:?}");
    let h = c.get(&format!("/rules/{id}/history")).await;
    let one = ads
        .iter()
        .find(|a| paused.contains(&&a.external_id))
        .expect("a paused ad");
    assert!(h.body.contains(&format!("href=\"/ads/{}\"", one.id)));
}
