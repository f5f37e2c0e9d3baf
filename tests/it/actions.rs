//! The audited action path: user clicks and intents applied exactly once, across retries and
//! crashes, checked against the sandbox's state.

use adpilot::automation::eval::BudgetPlan;
use adpilot::campaigns::actions::{self, ActionKind, ActionRequest, ActionState, Source, Target};
use adpilot::sandbox::{CampaignStatus, SandboxConfig, TruthQuery};
use adpilot::types::{Money, Platform};
use axum::http::StatusCode;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::connections::connect;
use crate::support::*;

#[derive(diesel::QueryableByName)]
struct Camp {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    external_id: String,
}

async fn setup() -> (adpilot::sandbox::SandboxHandle, TestApp, Client, Uuid) {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    connect(&mut c, "google").await;
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

async fn active_campaign(t: &TestApp) -> Camp {
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    diesel::sql_query("SELECT id, external_id FROM campaigns WHERE status = 'active' AND daily_budget_micros IS NOT NULL AND currency = 'USD' ORDER BY name LIMIT 1")
        .get_result(&mut c)
        .await
        .expect("an active campaign")
}

fn truth_budget(sb: &adpilot::sandbox::SandboxHandle, external: &str) -> (i64, CampaignStatus) {
    let c = sb.campaigns(&TruthQuery {
        platform: Some(Platform::Google),
        campaign_id: Some(external.to_string()),
        ..Default::default()
    });
    (c[0].daily_budget_micros, c[0].status)
}

fn budget_writes(sb: &adpilot::sandbox::SandboxHandle) -> usize {
    sb.calls()
        .iter()
        .filter(|c| c.path.contains("campaignBudgets:mutate"))
        .count()
}

#[tokio::test]
async fn pause_from_the_campaign_page_happens_once_and_a_second_click_is_the_same_change() {
    let (sb, t, mut c, _) = setup().await;
    let camp = active_campaign(&t).await;
    c.get("/connections").await;
    let intent = Uuid::now_v7().to_string();
    let r = c
        .post(
            &format!("/campaigns/{}/pause", camp.id),
            &[("intent", &intent)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        truth_budget(&sb, &camp.external_id).1,
        CampaignStatus::Paused
    );
    sb.clear_calls();
    let again = c
        .post(
            &format!("/campaigns/{}/pause", camp.id),
            &[("intent", &intent)],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(
        sb.calls().iter().all(|call| !call.path.contains(":mutate")),
        "a repeated submit does not call the platform"
    );
    let r = c
        .post(
            &format!("/campaigns/{}/pause", camp.id),
            &[("intent", &Uuid::now_v7().to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = c.cookies.get("adpilot_flash").cloned().unwrap_or_default();
    assert!(
        cookie.contains("already") || cookie.contains("Nothing"),
        "skipped as already paused: {cookie}"
    );
    let audit = c.get("/settings/audit").await;
    assert!(audit.body.contains("campaign.pause"));
    // Bad budget input changes nothing.
    let before = truth_budget(&sb, &camp.external_id).0;
    let r = c
        .post(
            &format!("/campaigns/{}/budget", camp.id),
            &[("budget", "abc")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(truth_budget(&sb, &camp.external_id).0, before);
    let r = c
        .post(
            &format!("/campaigns/{}/budget", camp.id),
            &[("budget", "123.45")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(truth_budget(&sb, &camp.external_id).0, 123_450_000);
}

#[tokio::test]
async fn a_budget_change_is_applied_exactly_once_across_retries_and_crashes() {
    let (sb, t, _c, org) = setup().await;
    let camp = active_campaign(&t).await;
    let start = truth_budget(&sb, &camp.external_id).0;
    let plan = BudgetPlan::Change {
        direction: adpilot::automation::language::ast::Direction::Increase,
        by: adpilot::automation::eval::ChangeBy::Percent(rust_decimal::Decimal::from(20)),
        limit: None,
    };
    let req = ActionRequest {
        target: Target::Campaign(camp.id),
        kind: ActionKind::SetBudget,
        source: Source::Rule {
            rule_id: Uuid::now_v7(),
            run_id: None,
        },
        intent_key: "rule:scale:window-1".into(),
        budget: Some(plan),
        bid: None,
    };
    let first = actions::request(&t.app, org, req.clone())
        .await
        .expect("first");
    assert_eq!(first.state, ActionState::Succeeded, "{:?}", first.message);
    let after_first = truth_budget(&sb, &camp.external_id).0;
    assert_eq!(after_first, start * 12 / 10);
    let again = actions::request(&t.app, org, req).await.expect("retry");
    assert_eq!(again.id, first.id);
    assert_eq!(
        truth_budget(&sb, &camp.external_id).0,
        after_first,
        "a retry never applies it twice"
    );

    // Crash after the intent stored its amounts, before the platform call.
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let crash_before = Uuid::now_v7();
    let target = after_first + 10_000_000;
    diesel::sql_query("INSERT INTO platform_actions (id, org_id, campaign_id, kind, source, intent_key, from_budget_micros, to_budget_micros, currency, state, attempts) VALUES ($1, $2, $3, 'set_budget', 'rule', 'crash-before', $4, $5, 'USD', 'executing', 1)")
        .bind::<SqlUuid, _>(crash_before)
        .bind::<SqlUuid, _>(org)
        .bind::<SqlUuid, _>(camp.id)
        .bind::<BigInt, _>(after_first)
        .bind::<BigInt, _>(target)
        .execute(&mut admin)
        .await
        .expect("intent");
    let done = actions::execute(&t.app, org, crash_before)
        .await
        .expect("resume");
    assert_eq!(done.state, ActionState::Succeeded);
    assert_eq!(
        truth_budget(&sb, &camp.external_id).0,
        target,
        "applied once on recovery"
    );
    actions::execute(&t.app, org, crash_before)
        .await
        .expect("again");
    assert_eq!(truth_budget(&sb, &camp.external_id).0, target);

    // Crash after the platform call landed, before the outcome was recorded.
    let crash_after = Uuid::now_v7();
    let landed = target + 5_000_000;
    let tok = sb.issue_token(Platform::Google, None).access_token;
    let account = sb
        .accounts(Some(Platform::Google))
        .into_iter()
        .find(|a| a.currency.as_str() == "USD")
        .expect("usd");
    t.app
        .platforms
        .adapter(Platform::Google)
        .set_daily_budget(
            &adpilot::platforms::Credentials::new(tok),
            &adpilot::platforms::AccountRef::new(account.id.clone(), account.currency),
            &camp.external_id,
            Money::new(landed, account.currency),
        )
        .await
        .expect("the call that landed");
    diesel::sql_query("INSERT INTO platform_actions (id, org_id, campaign_id, kind, source, intent_key, from_budget_micros, to_budget_micros, currency, state, attempts) VALUES ($1, $2, $3, 'set_budget', 'rule', 'crash-after', $4, $5, 'USD', 'executing', 1)")
        .bind::<SqlUuid, _>(crash_after)
        .bind::<SqlUuid, _>(org)
        .bind::<SqlUuid, _>(camp.id)
        .bind::<BigInt, _>(target)
        .bind::<BigInt, _>(landed)
        .execute(&mut admin)
        .await
        .expect("intent");
    sb.clear_calls();
    let done = actions::execute(&t.app, org, crash_after)
        .await
        .expect("resume");
    assert_eq!(done.state, ActionState::Succeeded);
    assert_eq!(
        budget_writes(&sb),
        0,
        "the landed change is confirmed, not repeated"
    );
    assert_eq!(truth_budget(&sb, &camp.external_id).0, landed);
}

#[tokio::test]
async fn clients_and_other_organizations_cannot_change_campaigns() {
    let (sb, t, mut owner, _) = setup().await;
    let camp = active_campaign(&t).await;
    owner.get("/settings").await;
    owner
        .post(
            "/settings/invites",
            &[("email", "client@example.com"), ("role", "client")],
        )
        .await;
    let path = t.last_email_link(&format!("{BASE}/invites/"));
    let mut client = t.client();
    client.get(&path).await;
    client
        .post(
            &path,
            &[("name", "Client"), ("password", "a good long password")],
        )
        .await;
    client.get("/dashboard").await;
    let r = client
        .post(&format!("/campaigns/{}/pause", camp.id), &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut other = t.sign_up("b@example.com", "Other").await;
    other.get("/dashboard").await;
    let r = other
        .post(&format!("/campaigns/{}/pause", camp.id), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        truth_budget(&sb, &camp.external_id).1,
        CampaignStatus::Enabled,
        "nothing changed"
    );
}
