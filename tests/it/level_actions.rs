//! Changes below the campaign through the audited action path, against the sandbox over real
//! HTTP: pause and resume ad groups (Meta ad sets) and ads, ad-group budgets and bids on all
//! three platforms; refusals in the platform's words that leave the sandbox unchanged; and
//! every change exactly once across retries, interruptions and a killed server.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use adpilot::automation::eval::{BudgetPlan, ChangeBy};
use adpilot::automation::language::ast::Direction;
use adpilot::campaigns::actions::{
    self, ActionError, ActionKind, ActionRequest, ActionState, Source, Target,
};
use adpilot::sandbox::{
    CampaignStatus as Truth, FaultKind, FaultSpec, SandboxConfig, SandboxHandle, TruthAdGroup,
    TruthQuery,
};
use adpilot::types::{Currency, Money, Platform};
use axum::http::StatusCode;
use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::connections::connect;
use crate::support::*;

/// A stored ad group with what the pages and tests need of it.
#[derive(diesel::QueryableByName, Debug, Clone)]
struct Group {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    budget_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    bid_micros: Option<i64>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Text)]
    campaign_status: String,
}

#[derive(diesel::QueryableByName, Debug, Clone)]
struct AdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    status: String,
}

async fn admin(t: &TestApp) -> adpilot::db::Conn {
    adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin")
}

async fn groups(t: &TestApp, platform: Platform) -> Vec<Group> {
    diesel::sql_query(
        "SELECT g.id, g.external_id, g.status, g.budget_micros, g.bid_micros,
                c.currency, c.status AS campaign_status
         FROM ad_groups g JOIN campaigns c ON c.org_id = g.org_id AND c.id = g.campaign_id
         WHERE g.platform = $1 ORDER BY g.external_id",
    )
    .bind::<Text, _>(platform.as_str())
    .load(&mut admin(t).await)
    .await
    .expect("ad groups")
}

async fn group(t: &TestApp, id: Uuid) -> Group {
    diesel::sql_query(
        "SELECT g.id, g.external_id, g.status, g.budget_micros, g.bid_micros,
                c.currency, c.status AS campaign_status
         FROM ad_groups g JOIN campaigns c ON c.org_id = g.org_id AND c.id = g.campaign_id
         WHERE g.id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .get_result(&mut admin(t).await)
    .await
    .expect("ad group")
}

async fn ads_of(t: &TestApp, group: Uuid) -> Vec<AdRow> {
    diesel::sql_query(
        "SELECT id, external_id, status FROM ads WHERE ad_group_id = $1 ORDER BY external_id",
    )
    .bind::<SqlUuid, _>(group)
    .load(&mut admin(t).await)
    .await
    .expect("ads")
}

fn truth_group(sb: &SandboxHandle, platform: Platform, id: &str) -> TruthAdGroup {
    sb.ad_groups(&TruthQuery {
        platform: Some(platform),
        ad_group_id: Some(id.to_string()),
        ..Default::default()
    })
    .into_iter()
    .next()
    .expect("the ad group in the sandbox")
}

fn truth_ad(sb: &SandboxHandle, platform: Platform, id: &str) -> Truth {
    sb.ads(&TruthQuery {
        platform: Some(platform),
        ..Default::default()
    })
    .into_iter()
    .find(|a| a.ad_id == id)
    .expect("the ad in the sandbox")
    .status
}

/// Every ad group and ad of the sandbox, to compare before and after a refusal.
fn world(sb: &SandboxHandle) -> String {
    sandbox_settings(sb)
}

/// Platform write calls (not reads) since the last `clear_calls`.
fn writes(sb: &SandboxHandle) -> Vec<String> {
    sb.calls()
        .into_iter()
        .filter(|c| {
            c.method == "POST"
                && !c.path.contains("googleAds:search")
                && !c.path.contains("/oauth")
                && !c.path.contains("token")
        })
        .map(|c| c.path)
        .collect()
}

/// Signed up, the platforms connected, their structure and a few days synced.
async fn setup(platforms: &[&str]) -> (SandboxHandle, TestApp, Client, Uuid) {
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    })
    .await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    for p in platforms {
        connect(&mut c, p).await;
    }
    let org = org_of(&t).await;
    let accounts = adpilot::analytics::sync::accounts_to_sync(&t.app, org)
        .await
        .expect("accounts");
    // A short history: these tests are about structure, not numbers.
    t.app
        .db
        .tenant(org, async |conn| {
            adpilot::analytics::sync::set_history(
                conn,
                org,
                &accounts,
                adpilot::analytics::sync::HistorySettings {
                    backfill_days: 2,
                    lookback_days: 1,
                },
            )
            .await?;
            Ok::<_, adpilot::db::DbError>(())
        })
        .await
        .expect("history");
    for a in accounts {
        adpilot::analytics::sync::sync_account(&t.app, org, a, sb.clock().now())
            .await
            .expect("sync");
    }
    (sb, t, c, org)
}

fn flash(c: &Client) -> String {
    let raw = c.cookies.get("adpilot_flash").cloned().unwrap_or_default();
    url::form_urlencoded::parse(raw.as_bytes())
        .map(|(_, v)| v.into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// An active ad group in an active campaign, with at least one active ad.
async fn live_group(t: &TestApp, platform: Platform, pick: impl Fn(&Group) -> bool) -> Group {
    for g in groups(t, platform).await {
        if g.status == "active"
            && g.campaign_status == "active"
            && pick(&g)
            && ads_of(t, g.id).await.iter().any(|a| a.status == "active")
        {
            return g;
        }
    }
    panic!("no live {platform:?} ad group to change")
}

#[tokio::test]
async fn ad_groups_and_ads_pause_and_resume_from_their_pages_on_every_platform() {
    let (sb, t, mut c, _) = setup(&["google", "meta", "tiktok"]).await;
    for platform in Platform::ALL {
        let g = live_group(&t, platform, |_| true).await;
        let page = c.get(&format!("/ad-groups/{}", g.id)).await;
        page.assert_status(StatusCode::OK);
        assert!(page.body.contains("id=\"pause-button\""), "{platform:?}");
        let intent = Uuid::now_v7().to_string();
        let r = c
            .post(
                &format!("/ad-groups/{}/pause", g.id),
                &[("intent", &intent)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(flash(&c).contains("Done"), "{platform:?}: {}", flash(&c));
        assert_eq!(
            truth_group(&sb, platform, &g.external_id).status,
            Truth::Paused,
            "{platform:?} ad group paused on the platform"
        );
        assert_eq!(group(&t, g.id).await.status, "paused", "stored");
        // The same form sent again is the same change: no second call.
        sb.clear_calls();
        let again = c
            .post(
                &format!("/ad-groups/{}/pause", g.id),
                &[("intent", &intent)],
            )
            .await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
        assert!(writes(&sb).is_empty(), "{:?}", writes(&sb));
        let page = c.get(&format!("/ad-groups/{}", g.id)).await;
        assert!(page.body.contains("id=\"resume-button\""));
        assert!(
            page.body.contains("pause") && page.body.contains("succeeded"),
            "the history shows the change"
        );
        let r = c
            .post(
                &format!("/ad-groups/{}/resume", g.id),
                &[("intent", &Uuid::now_v7().to_string())],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            truth_group(&sb, platform, &g.external_id).status,
            Truth::Enabled
        );
        assert_eq!(group(&t, g.id).await.status, "active");

        // One of its ads.
        let ad = ads_of(&t, g.id)
            .await
            .into_iter()
            .find(|a| a.status == "active")
            .expect("an active ad");
        c.get(&format!("/ads/{}", ad.id))
            .await
            .assert_status(StatusCode::OK);
        let r = c
            .post(
                &format!("/ads/{}/pause", ad.id),
                &[("intent", &Uuid::now_v7().to_string())],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(
            truth_ad(&sb, platform, &ad.external_id),
            Truth::Paused,
            "{platform:?} ad paused"
        );
        let page = c.get(&format!("/ads/{}", ad.id)).await;
        assert!(page.body.contains("id=\"resume-button\"") && page.body.contains("succeeded"));
        // The ad group's page lists its ads' changes too.
        let gp = c.get(&format!("/ad-groups/{}", g.id)).await;
        assert!(gp.body.contains(&format!("/ads/{}\">an ad</a>", ad.id)));
        c.post(
            &format!("/ads/{}/resume", ad.id),
            &[("intent", &Uuid::now_v7().to_string())],
        )
        .await;
        assert_eq!(truth_ad(&sb, platform, &ad.external_id), Truth::Enabled);
    }
    let audit = c.get("/settings/audit").await;
    assert!(audit.body.contains("ad_group.pause") && audit.body.contains("ad.resume"));
}

#[tokio::test]
async fn budgets_and_bids_change_on_the_platform_and_in_storage() {
    let (sb, t, mut c, _) = setup(&["google", "meta", "tiktok"]).await;
    // Ad-set and ad-group budgets (Meta, TikTok): +10%, then a big jump that asks first.
    for platform in [Platform::Meta, Platform::Tiktok] {
        let g = live_group(&t, platform, |g| g.budget_micros.is_some()).await;
        let cur: Currency = g.currency.parse().expect("currency");
        let before = truth_group(&sb, platform, &g.external_id)
            .daily_budget_micros
            .expect("a budget of its own");
        assert_eq!(g.budget_micros, Some(before));
        let to = Money::new(before + before / 10, cur);
        let to = Money::from_minor_units(to.to_minor_units(), cur).expect("whole");
        let typed = to.to_major().to_string();
        let page = c.get(&format!("/ad-groups/{}", g.id)).await;
        assert!(page.body.contains("id=\"budget-form\""), "{platform:?}");
        let r = c
            .post(
                &format!("/ad-groups/{}/budget", g.id),
                &[("intent", &Uuid::now_v7().to_string()), ("budget", &typed)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(
            truth_group(&sb, platform, &g.external_id).daily_budget_micros,
            Some(to.micros),
            "{platform:?} budget on the platform"
        );
        assert_eq!(group(&t, g.id).await.budget_micros, Some(to.micros));

        // Ten times the budget: a question first, nothing changes until it is answered.
        let big = Money::new(to.micros * 10, cur).to_major().to_string();
        let intent = Uuid::now_v7().to_string();
        let r = c
            .post(
                &format!("/ad-groups/{}/budget", g.id),
                &[("intent", &intent), ("budget", &big)],
            )
            .await;
        r.assert_status(StatusCode::OK);
        assert!(
            r.body.contains("Change it?") && r.body.contains("10×"),
            "{platform:?}"
        );
        assert_eq!(
            truth_group(&sb, platform, &g.external_id).daily_budget_micros,
            Some(to.micros)
        );
        let r = c
            .post(
                &format!("/ad-groups/{}/budget", g.id),
                &[("intent", &intent), ("budget", &big), ("confirm", "yes")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            truth_group(&sb, platform, &g.external_id).daily_budget_micros,
            Some(to.micros * 10)
        );

        // What a person typed is never re-scaled: ambiguous or over-precise amounts come back.
        for bad in ["12,50", "1.234", "abc", "0"] {
            let r = c
                .post(
                    &format!("/ad-groups/{}/budget", g.id),
                    &[("intent", &Uuid::now_v7().to_string()), ("budget", bad)],
                )
                .await;
            r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                r.body.contains("class=\"field-error\"")
                    && r.body.contains(&format!("value=\"{bad}\"")),
                "{bad}: the error and what was typed"
            );
        }
        assert_eq!(
            truth_group(&sb, platform, &g.external_id).daily_budget_micros,
            Some(to.micros * 10)
        );
    }

    // Bids on all three.
    for platform in Platform::ALL {
        let g = live_group(&t, platform, |g| g.bid_micros.is_some()).await;
        let cur: Currency = g.currency.parse().expect("currency");
        let before = truth_group(&sb, platform, &g.external_id)
            .bid_micros
            .expect("a bid");
        let to = Money::from_minor_units(Money::new(before, cur).to_minor_units() + 1, cur)
            .expect("bid");
        let r = c
            .post(
                &format!("/ad-groups/{}/bid", g.id),
                &[
                    ("intent", &Uuid::now_v7().to_string()),
                    ("bid", &to.to_major().to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(flash(&c).contains("bid"), "{platform:?}: {}", flash(&c));
        assert_eq!(
            truth_group(&sb, platform, &g.external_id).bid_micros,
            Some(to.micros),
            "{platform:?} bid on the platform"
        );
        assert_eq!(group(&t, g.id).await.bid_micros, Some(to.micros));
        let page = c.get(&format!("/ad-groups/{}", g.id)).await;
        assert!(page.body.contains("set bid") && page.body.contains("ok"));
    }
}

#[tokio::test]
async fn refusals_change_nothing_and_say_why_in_the_platforms_words() {
    let (sb, t, mut c, org) = setup(&["google", "meta", "tiktok"]).await;
    let user = Uuid::now_v7();
    let set = |target, kind, amount: Money| ActionRequest {
        target,
        kind,
        source: Source::Rule {
            rule_id: user,
            run_id: None,
        },
        intent_key: format!("refusal:{}", Uuid::now_v7()),
        budget: (kind == ActionKind::SetBudget).then_some(BudgetPlan::Set(amount)),
        bid: (kind == ActionKind::SetBid).then_some(BudgetPlan::Set(amount)),
    };
    let cases = [
        // Meta: an ad set under a campaign budget.
        (
            Platform::Meta,
            ActionKind::SetBudget,
            "Advantage campaign budget",
        ),
        // TikTok: an ad group under budget optimisation.
        (
            Platform::Tiktok,
            ActionKind::SetBudget,
            "Campaign Budget Optimization",
        ),
        // Google: ad groups never have a budget; refused before any call.
        (
            Platform::Google,
            ActionKind::SetBudget,
            "no budget of their own",
        ),
        // Meta: a bid on an ad set whose strategy has none.
        (Platform::Meta, ActionKind::SetBid, "bid strategy"),
        (Platform::Tiktok, ActionKind::SetBid, "BID_TYPE_CUSTOM"),
    ];
    for (platform, kind, words) in cases {
        let g = live_group(&t, platform, |g| match kind {
            ActionKind::SetBid => g.bid_micros.is_none(),
            _ => g.budget_micros.is_none(),
        })
        .await;
        let cur: Currency = g.currency.parse().expect("currency");
        let before = world(&sb);
        let stored = group(&t, g.id).await;
        sb.clear_calls();
        let o = actions::request(
            &t.app,
            org,
            set(Target::AdGroup(g.id), kind, Money::new(25_000_000, cur)),
        )
        .await
        .expect("recorded");
        assert_eq!(o.state, ActionState::Failed, "{platform:?} {kind:?}: {o:?}");
        let msg = o.message.clone().unwrap_or_default();
        assert!(msg.contains(words), "{platform:?} {kind:?}: {msg}");
        assert_eq!(
            world(&sb),
            before,
            "{platform:?} {kind:?}: the sandbox is unchanged"
        );
        let after = group(&t, g.id).await;
        assert_eq!(
            (after.budget_micros, after.bid_micros),
            (stored.budget_micros, stored.bid_micros)
        );
        if platform == Platform::Google {
            assert!(writes(&sb).is_empty(), "Google: no call at all");
        }
        // A relative change has nothing to start from: skipped with the reason.
        let o = actions::request(
            &t.app,
            org,
            ActionRequest {
                budget: (kind == ActionKind::SetBudget).then_some(up_10()),
                bid: (kind == ActionKind::SetBid).then_some(up_10()),
                ..set(Target::AdGroup(g.id), kind, Money::new(1, cur))
            },
        )
        .await
        .expect("recorded");
        assert_eq!(o.state, ActionState::Skipped, "{o:?}");
        assert_eq!(world(&sb), before);
    }

    // From the page: the refusal is the flash, and the history keeps the platform's answer.
    let g = live_group(&t, Platform::Meta, |g| g.budget_micros.is_none()).await;
    let page = c.get(&format!("/ad-groups/{}", g.id)).await;
    assert!(
        !page.body.contains("id=\"budget-form\"") && page.body.contains("id=\"budget-note\""),
        "no budget form where the campaign holds the budget"
    );
    let before = world(&sb);
    let r = c
        .post(
            &format!("/ad-groups/{}/budget", g.id),
            &[("intent", &Uuid::now_v7().to_string()), ("budget", "40")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        flash(&c).contains("The platform refused") && flash(&c).contains("Advantage"),
        "{}",
        flash(&c)
    );
    assert_eq!(world(&sb), before);
    let page = c.get(&format!("/ad-groups/{}", g.id)).await;
    assert!(page.body.contains("failed") && page.body.contains("invalid"));

    // Levels that have no such thing are refused before anything is recorded.
    let ad = ads_of(&t, g.id).await.remove(0);
    let e = actions::request(
        &t.app,
        org,
        set(
            Target::Ad(ad.id),
            ActionKind::SetBudget,
            Money::new(1, "USD".parse().expect("usd")),
        ),
    )
    .await
    .expect_err("ads have no budget");
    assert!(matches!(e, ActionError::NotAtThisLevel(_)));

    // The sandbox refuses unknown ids and writes of the wrong type, as the platforms do.
    for platform in Platform::ALL {
        let account = sb
            .accounts(Some(platform))
            .into_iter()
            .next()
            .expect("an account");
        let creds =
            adpilot::platforms::Credentials::new(sb.issue_token(platform, None).access_token);
        let acct = adpilot::platforms::AccountRef::new(account.id.clone(), account.currency);
        let adapter = t.app.platforms.adapter(platform);
        let e = adapter
            .set_ad_group_status(
                &creds,
                &acct,
                "1234567",
                adpilot::platforms::CampaignStatus::Paused,
            )
            .await
            .expect_err("unknown id");
        // Meta answers an unknown id as it answers one the token may not see (code 100,
        // subcode 33), which the adapter reads as a missing permission.
        let words = match platform {
            Platform::Google => "was not found",
            Platform::Meta => "does not exist",
            Platform::Tiktok => "does not exist",
        };
        assert!(
            matches!(e.kind(), "invalid" | "auth") && e.message().contains(words),
            "{platform:?}: {} {}",
            e.kind(),
            e.message()
        );
    }
    // Meta: a budget sent to an ad.
    let account = sb.accounts(Some(Platform::Meta)).remove(0);
    let creds =
        adpilot::platforms::Credentials::new(sb.issue_token(Platform::Meta, None).access_token);
    let acct = adpilot::platforms::AccountRef::new(account.id.clone(), account.currency);
    let meta_ad = sb
        .ads(&TruthQuery {
            platform: Some(Platform::Meta),
            account_id: Some(account.id.clone()),
            ..Default::default()
        })
        .remove(0);
    let before = world(&sb);
    let e = t
        .app
        .platforms
        .adapter(Platform::Meta)
        .set_ad_group_budget(
            &creds,
            &acct,
            &meta_ad.ad_id,
            adpilot::platforms::LevelBudget {
                period: adpilot::platforms::BudgetPeriod::Daily,
                amount: Money::new(30_000_000, account.currency),
            },
        )
        .await
        .expect_err("an ad has no budget");
    assert!(e.message().contains("Ad"), "{}", e.message());
    assert_eq!(world(&sb), before);
}

fn up_10() -> BudgetPlan {
    BudgetPlan::Change {
        direction: Direction::Increase,
        by: ChangeBy::Percent(rust_decimal::Decimal::from(10)),
        limit: None,
    }
}

fn up_20() -> BudgetPlan {
    BudgetPlan::Change {
        direction: Direction::Increase,
        by: ChangeBy::Percent(rust_decimal::Decimal::from(20)),
        limit: None,
    }
}

/// Google ad-group bid writes and Meta ad-set writes since the last `clear_calls`.
fn level_writes(sb: &SandboxHandle, object: &str) -> usize {
    writes(sb)
        .iter()
        .filter(|p| p.contains("adGroups:mutate") || p.ends_with(object) || p.contains("adgroup/"))
        .count()
}

#[tokio::test]
async fn level_changes_happen_exactly_once_across_retries_and_interruptions() {
    let (sb, t, _c, org) = setup(&["google", "meta"]).await;
    let mut adm = admin(&t).await;
    // An ad set's budget (Meta) and an ad group's bid (Google), each by a rule's +20%.
    let cases = [
        (Platform::Meta, ActionKind::SetBudget),
        (Platform::Google, ActionKind::SetBid),
    ];
    for (platform, kind) in cases {
        let g = live_group(&t, platform, |g| match kind {
            ActionKind::SetBid => g.bid_micros.is_some(),
            _ => g.budget_micros.is_some(),
        })
        .await;
        let cur: Currency = g.currency.parse().expect("currency");
        let amount = |sb: &SandboxHandle| {
            let tg = truth_group(sb, platform, &g.external_id);
            match kind {
                ActionKind::SetBid => tg.bid_micros,
                _ => tg.daily_budget_micros,
            }
            .expect("an amount")
        };
        let start = amount(&sb);
        let req = ActionRequest {
            target: Target::AdGroup(g.id),
            kind,
            source: Source::Rule {
                rule_id: Uuid::now_v7(),
                run_id: None,
            },
            intent_key: format!("rule:scale:{}:window-1", g.id),
            budget: (kind == ActionKind::SetBudget).then(up_20),
            bid: (kind == ActionKind::SetBid).then(up_20),
        };
        let first = actions::request(&t.app, org, req.clone())
            .await
            .expect("first");
        assert_eq!(first.state, ActionState::Succeeded, "{:?}", first.message);
        let expect = BudgetPlan::apply_to(&up_20(), "x", Money::new(start, cur))
            .expect("plan")
            .micros;
        assert_eq!(amount(&sb), expect, "{platform:?} +20%");
        let again = actions::request(&t.app, org, req).await.expect("retry");
        assert_eq!(again.id, first.id);
        assert_eq!(amount(&sb), expect, "a retry never applies it twice");

        let insert = |id: Uuid, key: &str, from: i64, to: i64| {
            diesel::sql_query(
                "INSERT INTO platform_actions (id, org_id, campaign_id, level, ad_group_id, kind,
                   source, intent_key, from_budget_micros, to_budget_micros, currency,
                   budget_period, state, attempts)
                 SELECT $1, $2, g.campaign_id, 'ad_group', g.id, $3, 'rule', $4, $5, $6, $7,
                   CASE WHEN $3 = 'set_budget' THEN 'daily' END, 'executing', 1
                 FROM ad_groups g WHERE g.id = $8",
            )
            .bind::<SqlUuid, _>(id)
            .bind::<SqlUuid, _>(org)
            .bind::<Text, _>(kind.as_str())
            .bind::<Text, _>(key.to_string())
            .bind::<BigInt, _>(from)
            .bind::<BigInt, _>(to)
            .bind::<Text, _>(cur.as_str().to_string())
            .bind::<SqlUuid, _>(g.id)
        };
        // Interrupted after the amounts were stored, before the platform call.
        let before_call = Uuid::now_v7();
        let target = expect + 10_000_000;
        insert(
            before_call,
            &format!("crash-before-{platform:?}"),
            expect,
            target,
        )
        .execute(&mut adm)
        .await
        .expect("intent");
        let done = actions::execute(&t.app, org, before_call)
            .await
            .expect("resume");
        assert_eq!(done.state, ActionState::Succeeded, "{:?}", done.message);
        assert_eq!(amount(&sb), target, "applied once on recovery");
        actions::execute(&t.app, org, before_call)
            .await
            .expect("again");
        assert_eq!(amount(&sb), target);

        // Interrupted after the call landed, before the outcome was recorded.
        let landed = target + 5_000_000;
        let account = sb
            .accounts(Some(platform))
            .into_iter()
            .find(|a| {
                sb.ad_groups(&TruthQuery {
                    platform: Some(platform),
                    account_id: Some(a.id.clone()),
                    ad_group_id: Some(g.external_id.clone()),
                    ..Default::default()
                })
                .len()
                    == 1
            })
            .expect("its account");
        let creds =
            adpilot::platforms::Credentials::new(sb.issue_token(platform, None).access_token);
        let acct = adpilot::platforms::AccountRef::new(account.id.clone(), account.currency);
        let adapter = t.app.platforms.adapter(platform);
        match kind {
            ActionKind::SetBid => adapter
                .set_ad_group_bid(&creds, &acct, &g.external_id, Money::new(landed, cur))
                .await
                .expect("the call that landed"),
            _ => adapter
                .set_ad_group_budget(
                    &creds,
                    &acct,
                    &g.external_id,
                    adpilot::platforms::LevelBudget {
                        period: adpilot::platforms::BudgetPeriod::Daily,
                        amount: Money::new(landed, cur),
                    },
                )
                .await
                .expect("the call that landed"),
        }
        let after_call = Uuid::now_v7();
        insert(
            after_call,
            &format!("crash-after-{platform:?}"),
            target,
            landed,
        )
        .execute(&mut adm)
        .await
        .expect("intent");
        sb.clear_calls();
        let done = actions::execute(&t.app, org, after_call)
            .await
            .expect("resume");
        assert_eq!(done.state, ActionState::Succeeded);
        assert_eq!(
            level_writes(&sb, &g.external_id),
            0,
            "{platform:?}: the landed change is confirmed, not repeated"
        );
        assert_eq!(amount(&sb), landed);
        let stored = group(&t, g.id).await;
        let stored = match kind {
            ActionKind::SetBid => stored.bid_micros,
            _ => stored.budget_micros,
        };
        assert_eq!(stored, Some(landed), "storage follows the platform");
    }
}

#[derive(diesel::QueryableByName, Debug)]
struct ActionRow {
    #[diesel(sql_type = SqlUuid)]
    ad_group_id: Uuid,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    from_budget_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    to_budget_micros: Option<i64>,
}

async fn bid_actions(admin_url: &str) -> Vec<ActionRow> {
    let Ok(mut c) = adpilot::db::connect_one(admin_url).await else {
        return Vec::new();
    };
    diesel::sql_query(
        "SELECT ad_group_id, state, from_budget_micros, to_budget_micros FROM platform_actions
         WHERE kind = 'set_bid' ORDER BY ad_group_id",
    )
    .load(&mut c)
    .await
    .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_in_a_batch_of_bid_changes_applies_each_exactly_once_after_restart() {
    let (sb, t, _c, org) = setup(&["google"]).await;
    // The batch: +10% on the bid of every live ad group of the USD account, recorded as a rule
    // records its intents; the server's open-actions job carries them out.
    let live: Vec<Group> = groups(&t, Platform::Google)
        .await
        .into_iter()
        .filter(|g| g.status == "active" && g.currency == "USD" && g.bid_micros.is_some())
        .collect();
    assert!(live.len() >= 4, "a batch of several ad groups");
    let before: HashMap<Uuid, i64> = live
        .iter()
        .map(|g| {
            let b = truth_group(&sb, Platform::Google, &g.external_id)
                .bid_micros
                .expect("bid");
            (g.id, b)
        })
        .collect();
    let plan = serde_json::to_string(&up_10()).expect("plan");
    let mut adm = admin(&t).await;
    for g in &live {
        diesel::sql_query(
            "INSERT INTO platform_actions (id, org_id, campaign_id, level, ad_group_id, kind,
               source, intent_key, budget_change, created_at)
             SELECT $1, $2, g.campaign_id, 'ad_group', g.id, 'set_bid', 'rule', $3, $4::jsonb,
               now() - interval '2 minutes'
             FROM ad_groups g WHERE g.id = $5",
        )
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<SqlUuid, _>(org)
        .bind::<Text, _>(format!("rule:bids:{}:window-1", g.id))
        .bind::<Text, _>(&plan)
        .bind::<SqlUuid, _>(g.id)
        .execute(&mut adm)
        .await
        .expect("intent");
    }
    // Each bid write takes a while at the platform, so the batch is still running when the
    // process dies.
    sb.inject_fault(FaultSpec {
        delay_ms: Some(700),
        path_contains: Some("adGroups:mutate".into()),
        ..FaultSpec::new(FaultKind::Timeout)
    })
    .expect("latency");
    sb.clear_calls();
    let bid_writes = |sb: &SandboxHandle| {
        sb.calls()
            .iter()
            .filter(|c| c.path.contains("adGroups:mutate"))
            .count()
    };
    let data = tempdir::TempDir::new();
    let first = crate::faults::ServeProcess::spawn(&t, &sb, data.path()).await;
    t.app
        .db
        .tenant(org, async |c| {
            adpilot::jobs::enqueue(c, Some(org), &adpilot::campaigns::jobs::ResumeActions {})
                .await?;
            Ok::<_, adpilot::db::DbError>(())
        })
        .await
        .expect("queue the open actions");
    let deadline = Instant::now() + Duration::from_secs(90);
    while bid_writes(&sb) < 2 {
        assert!(Instant::now() < deadline, "no bid writes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.kill().await;
    let at_kill = bid_writes(&sb);
    let in_flight = bid_actions(&t.db.admin_url)
        .await
        .iter()
        .filter(|a| a.state == "executing")
        .count();
    assert!(
        at_kill < live.len(),
        "killed in the middle of the batch ({at_kill} of {})",
        live.len()
    );

    // Restarted: the job's lease runs out, it runs again and finishes the batch.
    let second = crate::faults::ServeProcess::spawn(&t, &sb, data.path()).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows = bid_actions(&t.db.admin_url).await;
        if rows.len() == live.len() && rows.iter().all(|r| r.state == "succeeded") {
            break;
        }
        assert!(Instant::now() < deadline, "every bid change done: {rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    second.kill().await;

    for a in bid_actions(&t.db.admin_url).await {
        let g = live.iter().find(|g| g.id == a.ad_group_id).expect("ours");
        let was = before[&g.id];
        assert_eq!(
            a.from_budget_micros,
            Some(was),
            "computed from the platform's bid"
        );
        let to = a.to_budget_micros.expect("target");
        let expect = BudgetPlan::apply_to(
            &up_10(),
            "bid",
            Money::new(was, "USD".parse().expect("usd")),
        )
        .expect("plan")
        .micros;
        assert_eq!(to, expect, "+10% once");
        assert_eq!(
            truth_group(&sb, Platform::Google, &g.external_id).bid_micros,
            Some(to),
            "{} holds the target",
            g.external_id
        );
        assert_eq!(group(&t, g.id).await.bid_micros, Some(to));
    }
    // Only a write whose outcome the kill lost is sent again.
    assert!(
        bid_writes(&sb) <= live.len() + in_flight,
        "{} bid writes for {} ad groups ({at_kill} before the kill, {in_flight} in flight)",
        bid_writes(&sb),
        live.len()
    );
}

/// A rule check's changes below the campaign, undone in one step from the rule's history:
/// an ad set's pause, an ad set's budget and an ad group's bid go back, each exactly once; an
/// ad that a person paused again by hand after the check's pause is left alone; a second undo
/// changes nothing.
#[tokio::test]
async fn a_checks_ad_group_and_ad_changes_are_undone_once_and_overtaken_ones_left_alone() {
    let (sb, t, mut c, org) = setup(&["google", "meta"]).await;
    c.get("/rules/new").await;
    let r = c
        .post(
            "/rules",
            &[
                (
                    "text",
                    "rule \"Levels\"\n  for ad sets on meta\n  when clicks in last 7 days > 0\n  then pause\n",
                ),
                ("mode", "draft"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let rule_id: Uuid = r
        .location()
        .and_then(|l| l.trim_start_matches("/rules/").parse().ok())
        .expect("rule id");
    let run = Uuid::now_v7();
    let by_rule = |target, kind, key: &str, budget, bid| ActionRequest {
        target,
        kind,
        source: Source::Rule {
            rule_id,
            run_id: Some(run),
        },
        intent_key: format!("rule:levels:{key}"),
        budget,
        bid,
    };
    let up = |pct: i64| BudgetPlan::Change {
        direction: Direction::Increase,
        by: ChangeBy::Percent(rust_decimal::Decimal::from(pct)),
        limit: None,
    };

    let paused = live_group(&t, Platform::Meta, |g| g.budget_micros.is_none()).await;
    let budgeted = live_group(&t, Platform::Meta, |g| {
        g.budget_micros.is_some() && g.id != paused.id
    })
    .await;
    let bid = live_group(&t, Platform::Google, |g| g.bid_micros.is_some()).await;
    let ad = ads_of(&t, budgeted.id)
        .await
        .into_iter()
        .find(|a| a.status == "active")
        .expect("an active ad");
    let budget_before = truth_group(&sb, Platform::Meta, &budgeted.external_id).daily_budget_micros;
    let bid_before = truth_group(&sb, Platform::Google, &bid.external_id).bid_micros;

    for req in [
        by_rule(
            Target::AdGroup(paused.id),
            ActionKind::Pause,
            "pause",
            None,
            None,
        ),
        by_rule(
            Target::AdGroup(budgeted.id),
            ActionKind::SetBudget,
            "budget",
            Some(up(20)),
            None,
        ),
        by_rule(
            Target::AdGroup(bid.id),
            ActionKind::SetBid,
            "bid",
            None,
            Some(up(10)),
        ),
        by_rule(Target::Ad(ad.id), ActionKind::Pause, "ad", None, None),
    ] {
        let done = actions::request(&t.app, org, req).await.expect("change");
        assert_eq!(done.state, ActionState::Succeeded, "{:?}", done.message);
    }
    assert_eq!(
        truth_group(&sb, Platform::Meta, &paused.external_id).status,
        Truth::Paused
    );
    assert_ne!(
        truth_group(&sb, Platform::Meta, &budgeted.external_id).daily_budget_micros,
        budget_before
    );
    assert_ne!(
        truth_group(&sb, Platform::Google, &bid.external_id).bid_micros,
        bid_before
    );
    // A person resumes the ad and pauses it again: the check's pause is no longer the last.
    for kind in ["resume", "pause"] {
        c.get(&format!("/ads/{}", ad.id)).await;
        let r = c
            .post(
                &format!("/ads/{}/{kind}", ad.id),
                &[("intent", &Uuid::now_v7().to_string())],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }

    sb.clear_calls();
    c.get(&format!("/rules/{rule_id}/history")).await;
    let r = c
        .post(&format!("/rules/{rule_id}/runs/{run}/undo"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let said = flash(&c);
    assert!(said.contains("Undone (3)"), "{said}");
    assert!(
        said.contains("ad set") && said.contains("changed again since"),
        "{said}"
    );
    assert_eq!(
        writes(&sb).len(),
        3,
        "one call per change: {:?}",
        writes(&sb)
    );
    assert_eq!(
        truth_group(&sb, Platform::Meta, &paused.external_id).status,
        Truth::Enabled,
        "the ad set runs again"
    );
    assert_eq!(
        truth_group(&sb, Platform::Meta, &budgeted.external_id).daily_budget_micros,
        budget_before,
        "the ad set's budget is back"
    );
    assert_eq!(
        truth_group(&sb, Platform::Google, &bid.external_id).bid_micros,
        bid_before,
        "the ad group's bid is back"
    );
    assert_eq!(
        truth_ad(&sb, Platform::Meta, &ad.external_id),
        Truth::Paused,
        "the ad a person paused stays paused"
    );

    // Again: the same undo, nothing more on the platform.
    sb.clear_calls();
    c.get(&format!("/rules/{rule_id}/history")).await;
    let r = c
        .post(&format!("/rules/{rule_id}/runs/{run}/undo"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(flash(&c).contains("undone already"), "{}", flash(&c));
    assert!(writes(&sb).is_empty(), "{:?}", writes(&sb));
}

/// The `action` of the Undo form of the change `change` on a page, if the page offers one.
fn undo_form(body: &str, base: &str, change: Uuid) -> bool {
    body.contains(&format!("action=\"{base}/changes/{change}/undo\""))
}

/// Issue 27: a change a rule check made to an ad set or an ad is undone from that object's
/// own page, through the same audited undo as the rule history (exactly once: a second click
/// says it is undone already and calls no platform); a person's change offers no undo, and a
/// change of another object is not found under this one.
#[tokio::test]
async fn a_rules_change_is_undone_once_from_the_ad_sets_and_the_ads_page() {
    let (sb, t, mut c, org) = setup(&["meta"]).await;
    c.get("/rules/new").await;
    let r = c
        .post(
            "/rules",
            &[
                (
                    "text",
                    "rule \"Sets\"\n  for ad sets on meta\n  when clicks in last 7 days > 0\n  then pause\n",
                ),
                ("mode", "draft"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let rule_id: Uuid = r
        .location()
        .and_then(|l| l.trim_start_matches("/rules/").parse().ok())
        .expect("rule id");
    let run = Uuid::now_v7();
    let set = live_group(&t, Platform::Meta, |g| g.budget_micros.is_some()).await;
    let other = live_group(&t, Platform::Meta, |g| g.id != set.id).await;
    let ad = ads_of(&t, set.id)
        .await
        .into_iter()
        .find(|a| a.status == "active")
        .expect("an active ad");
    let budget_before = truth_group(&sb, Platform::Meta, &set.external_id).daily_budget_micros;
    let mut made = Vec::new();
    for (target, kind, key, budget) in [
        (
            Target::AdGroup(set.id),
            ActionKind::SetBudget,
            "budget",
            Some(up_20()),
        ),
        (Target::Ad(ad.id), ActionKind::Pause, "ad", None),
        (Target::AdGroup(other.id), ActionKind::Pause, "other", None),
    ] {
        let req = ActionRequest {
            target,
            kind,
            source: Source::Rule {
                rule_id,
                run_id: Some(run),
            },
            intent_key: format!("rule:page-undo:{key}"),
            budget,
            bid: None,
        };
        let done = actions::request(&t.app, org, req).await.expect("change");
        assert_eq!(done.state, ActionState::Succeeded, "{:?}", done.message);
        made.push(done.id);
    }
    let (budget_change, ad_pause, other_pause) = (made[0], made[1], made[2]);
    assert_ne!(
        truth_group(&sb, Platform::Meta, &set.external_id).daily_budget_micros,
        budget_before
    );

    // The ad set's page lists the rule's change with an Undo button.
    let base = format!("/ad-groups/{}", set.id);
    let page = c.get(&base).await;
    page.assert_status(StatusCode::OK);
    assert!(undo_form(&page.body, &base, budget_change), "{}", page.body);
    // A change of another ad set is not found under this one; nothing is called.
    sb.clear_calls();
    let r = c
        .post(&format!("{base}/changes/{other_pause}/undo"), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(writes(&sb).is_empty(), "{:?}", writes(&sb));

    c.get(&base).await;
    let r = c
        .post(&format!("{base}/changes/{budget_change}/undo"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some(base.as_str()));
    let said = flash(&c);
    assert!(
        said.contains("Undone (1)") && said.contains("budget back"),
        "{said}"
    );
    assert_eq!(writes(&sb).len(), 1, "{:?}", writes(&sb));
    assert_eq!(
        truth_group(&sb, Platform::Meta, &set.external_id).daily_budget_micros,
        budget_before,
        "the ad set's budget is back on the platform"
    );
    assert_eq!(group(&t, set.id).await.budget_micros, budget_before);
    let page = c.get(&base).await;
    assert!(
        !undo_form(&page.body, &base, budget_change),
        "{}",
        page.body
    );
    assert!(page.body.contains(">undone<"), "{}", page.body);

    // A second click (a stale tab): the same undo, said so, nothing more on the platform.
    sb.clear_calls();
    let r = c
        .post(&format!("{base}/changes/{budget_change}/undo"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(flash(&c).contains("undone already"), "{}", flash(&c));
    assert!(writes(&sb).is_empty(), "{:?}", writes(&sb));
    // The rule history's undo of the whole check does not undo it a second time.
    c.get(&format!("/rules/{rule_id}/history")).await;
    let r = c
        .post(&format!("/rules/{rule_id}/runs/{run}/undo"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let said = flash(&c);
    assert!(
        said.contains("Undone (2)") && said.contains("1 change had been undone already"),
        "{said}"
    );
    assert_eq!(
        truth_group(&sb, Platform::Meta, &set.external_id).daily_budget_micros,
        budget_before
    );

    // The ad's page: its pause was undone by the history's undo above, so it says so.
    let ad_base = format!("/ads/{}", ad.id);
    let page = c.get(&ad_base).await;
    assert!(!undo_form(&page.body, &ad_base, ad_pause), "{}", page.body);
    assert!(page.body.contains(">undone<"), "{}", page.body);
    assert_eq!(
        truth_ad(&sb, Platform::Meta, &ad.external_id),
        Truth::Enabled
    );

    // A person's change has no Undo button, and undoing it from here is not found.
    c.get(&ad_base).await;
    let r = c
        .post(
            &format!("{ad_base}/pause"),
            &[("intent", &Uuid::now_v7().to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let by_hand: Uuid = {
        #[derive(diesel::QueryableByName)]
        struct R {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
        }
        let r: R = diesel::sql_query(
            "SELECT id FROM platform_actions WHERE source = 'user' AND ad_id = $1 \
             AND intent_key LIKE 'user:%' ORDER BY created_at DESC LIMIT 1",
        )
        .bind::<SqlUuid, _>(ad.id)
        .get_result(&mut admin(&t).await)
        .await
        .expect("the person's change");
        r.id
    };
    let page = c.get(&ad_base).await;
    assert!(!undo_form(&page.body, &ad_base, by_hand), "{}", page.body);
    let r = c
        .post(&format!("{ad_base}/changes/{by_hand}/undo"), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(
        truth_ad(&sb, Platform::Meta, &ad.external_id),
        Truth::Paused
    );
}
