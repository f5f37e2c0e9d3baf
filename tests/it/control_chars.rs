//! Issue 27: a NUL (or another invisible control character) typed into any form brings the
//! form back with that field's error and what was typed, never a bare 400 or 500, and nothing
//! is stored.

use adpilot::sandbox::{SandboxConfig, SandboxHandle};
use axum::http::StatusCode;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::support::*;

const PASSWORD: &str = "a good long password";

/// The field error every such form shows (`web::form::CONTROL_MESSAGE`).
const MESSAGE: &str = "This had invisible control characters (such as NUL) in it.";

/// One form with a control character in one field.
struct Case {
    /// The page the form is on (read first for its CSRF token).
    page: String,
    path: String,
    fields: Vec<(&'static str, String)>,
    /// What the page shows again of what was typed, control characters removed (`None` for a
    /// password, which is never shown again).
    echoed: Option<String>,
    /// A count that must not move: what the form would have stored.
    stored: &'static str,
}

/// The message sits in a field error (beside its input), not only in a banner.
fn has_field_error(body: &str) -> bool {
    body.match_indices(MESSAGE).any(|(i, _)| {
        let before = &body[i.saturating_sub(120)..i];
        before.contains("field-error")
    })
}

/// The forms, `account` a managed ad account, `ad_set` one of its ad sets with a budget,
/// `connection` its connection and `campaign` one of its campaigns with a daily budget.
fn cases(account: Uuid, ad_set: Uuid, connection: Uuid, campaign: Uuid) -> Vec<Case> {
    let account = account.to_string();
    let pushes_or_ai = "SELECT (SELECT count(*) FROM campaign_pushes) \
                        + (SELECT count(*) FROM ai_usage) + (SELECT count(*) FROM ai_cache) AS n";
    vec![
        Case {
            page: "/campaigns/new".into(),
            path: "/campaigns/new/copy".into(),
            fields: vec![
                ("account", account.clone()),
                ("name", "Spring".into()),
                ("product", "Trail\0shoes".into()),
                ("copy_action", "draft".into()),
            ],
            echoed: Some("value=\"Trailshoes\"".into()),
            stored: pushes_or_ai,
        },
        Case {
            page: "/campaigns/new".into(),
            path: "/campaigns/new/targeting".into(),
            fields: vec![
                ("account", account.clone()),
                ("product", "Trail shoes".into()),
                ("notes", "Exclude\u{1} staff".into()),
                ("copy_action", "targeting".into()),
            ],
            echoed: Some("Exclude staff</textarea>".into()),
            stored: pushes_or_ai,
        },
        Case {
            page: "/campaigns/new".into(),
            path: "/campaigns/new/check".into(),
            fields: vec![
                ("account", account.clone()),
                ("name", "Spring".into()),
                ("objective", "traffic".into()),
                ("daily_budget", "1\u{0}2".into()),
                ("start", "paused".into()),
            ],
            echoed: Some("value=\"12\"".into()),
            stored: pushes_or_ai,
        },
        Case {
            page: "/campaigns".into(),
            path: "/campaigns/bulk".into(),
            fields: vec![
                ("bulk_intent", Uuid::now_v7().to_string()),
                ("back", "/campaigns".into()),
                ("campaign", campaign.to_string()),
                ("op", "budget".into()),
                ("budget", "12\0,50".into()),
            ],
            echoed: Some("value=\"12,50\"".into()),
            stored: "SELECT count(*) AS n FROM platform_actions",
        },
        Case {
            page: "/rules".into(),
            path: "/rules/settings".into(),
            fields: vec![
                ("max_actions_per_check", "5\u{0}0".into()),
                ("max_budget_increase_pct", "20".into()),
            ],
            echoed: Some("value=\"50\"".into()),
            stored: "SELECT count(*) AS n FROM audit_log WHERE action = 'rules.settings'",
        },
        Case {
            page: format!("/connections/{connection}/accounts"),
            path: format!("/connections/{connection}/accounts"),
            fields: vec![
                ("account", account.clone()),
                ("backfill_days", "3\u{0}0".into()),
                ("lookback_days", "3".into()),
            ],
            echoed: Some("value=\"30\"".into()),
            stored: "SELECT count(*) AS n FROM audit_log",
        },
        Case {
            page: "/reports".into(),
            path: "/reports".into(),
            fields: vec![
                ("name", "Weekly\0Numbers".into()),
                ("frequency", "weekly".into()),
                ("weekday", "1".into()),
                ("send_time", "09:00".into()),
                ("period", "last_7_days".into()),
                ("recipients", "boss@example.com".into()),
            ],
            echoed: Some("value=\"WeeklyNumbers\"".into()),
            stored: "SELECT count(*) AS n FROM report_schedules",
        },
        Case {
            page: "/reports".into(),
            path: "/reports".into(),
            fields: vec![
                ("name", "Weekly".into()),
                ("frequency", "daily".into()),
                ("send_time", "09:00".into()),
                ("period", "yesterday".into()),
                ("recipients", "boss@example.com,\u{1}cfo@example.com".into()),
            ],
            echoed: Some("boss@example.com,cfo@example.com</textarea>".into()),
            stored: "SELECT count(*) AS n FROM report_schedules",
        },
        Case {
            page: "/alerts".into(),
            path: "/alerts/channels".into(),
            fields: vec![
                ("kind", "email".into()),
                ("target", "ops\0@example.com".into()),
            ],
            echoed: Some("value=\"ops@example.com\"".into()),
            stored: "SELECT count(*) AS n FROM alert_channels",
        },
        Case {
            page: "/alerts".into(),
            path: "/alerts/budgets".into(),
            fields: vec![
                ("account_id", account.clone()),
                ("budget", "5\u{0}000".into()),
                ("percent", "80".into()),
            ],
            echoed: Some("value=\"5000\"".into()),
            stored: "SELECT count(*) AS n FROM budget_targets",
        },
        Case {
            page: format!("/ad-groups/{ad_set}"),
            path: format!("/ad-groups/{ad_set}/budget"),
            fields: vec![("budget", "12\u{0}.50".into())],
            echoed: Some("value=\"12.50\"".into()),
            stored: "SELECT count(*) AS n FROM platform_actions",
        },
        Case {
            page: "/settings".into(),
            path: "/settings/invites".into(),
            fields: vec![
                ("email", "new\u{7}@example.com".into()),
                ("role", "member".into()),
            ],
            echoed: Some("value=\"new@example.com\"".into()),
            stored: "SELECT count(*) AS n FROM invitations",
        },
        Case {
            page: "/account".into(),
            path: "/account/password".into(),
            fields: vec![
                ("current_password", PASSWORD.into()),
                ("new_password", "another good\0 password".into()),
            ],
            echoed: None,
            stored: "SELECT count(*) AS n FROM users WHERE password_changed_at > created_at",
        },
        Case {
            page: "/orgs/new".into(),
            path: "/orgs".into(),
            fields: vec![("name", "Second\0Shop".into()), ("time_zone", "UTC".into())],
            echoed: Some("value=\"SecondShop\"".into()),
            stored: "SELECT count(*) AS n FROM organizations",
        },
        Case {
            page: "/ai/copy".into(),
            path: "/ai/copy".into(),
            fields: vec![
                ("product", "Trail\0running shoes".into()),
                ("tone", "friendly".into()),
                ("variations", "2".into()),
                ("google", "on".into()),
            ],
            echoed: Some("value=\"Trailrunning shoes\"".into()),
            stored: "SELECT (SELECT count(*) FROM ai_usage) + (SELECT count(*) FROM copy_drafts) \
                     + (SELECT count(*) FROM ai_cache) AS n",
        },
    ]
}

/// A managed Meta account and one of its ad sets with a budget, synced from the sandbox.
async fn meta_account(t: &TestApp, sb: &SandboxHandle, owner: &mut Client) -> (Uuid, Uuid) {
    crate::connections::connect(owner, "meta").await;
    let org = org_of(t).await;
    let accounts = adpilot::analytics::sync::accounts_to_sync(&t.app, org)
        .await
        .expect("accounts");
    let account = *<[Uuid]>::first(&accounts).expect("a managed account");
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
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let set: R = diesel::sql_query(
        "SELECT id FROM ad_groups WHERE budget_micros IS NOT NULL AND status = 'active' \
         ORDER BY external_id LIMIT 1",
    )
    .get_result(
        &mut adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin"),
    )
    .await
    .expect("an ad set with a budget");
    (account, set.id)
}

/// One id the admin connection sees (`sql` selects it as `id`).
async fn one_id(t: &TestApp, sql: &str) -> Uuid {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let r: R = diesel::sql_query(sql)
        .get_result(
            &mut adpilot::db::connect_one(&t.db.admin_url)
                .await
                .expect("admin"),
        )
        .await
        .expect(sql);
    r.id
}

#[tokio::test]
async fn a_control_character_in_any_form_comes_back_as_that_fields_error() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut owner = t.sign_up("owner@example.com", "Shop").await;
    let (account, ad_set) = meta_account(&t, &sb, &mut owner).await;
    let connection = one_id(
        &t,
        &format!("SELECT connection_id AS id FROM ad_accounts WHERE id = '{account}'"),
    )
    .await;
    let campaign = one_id(
        &t,
        &format!(
            "SELECT id FROM campaigns WHERE account_id = '{account}' \
             AND daily_budget_micros IS NOT NULL ORDER BY external_id LIMIT 1"
        ),
    )
    .await;
    for case in cases(account, ad_set, connection, campaign) {
        let what = format!("{} {:?}", case.path, case.fields);
        let before = count(&t, case.stored).await;
        owner.get(&case.page).await.assert_status(StatusCode::OK);
        let fields: Vec<(&str, &str)> = case.fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = owner.post(&case.path, &fields).await;
        assert!(
            r.status == StatusCode::OK || r.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {} {}",
            r.status,
            r.body
        );
        assert!(
            has_field_error(&r.body),
            "{what}: no field error: {}",
            r.body
        );
        if let Some(echo) = &case.echoed {
            assert!(
                r.body.contains(echo.as_str()),
                "{what}: {echo} not kept: {}",
                r.body
            );
        }
        assert!(!r.body.contains('\0'), "{what}: the page carries a NUL");
        assert_eq!(count(&t, case.stored).await, before, "{what}: stored");
    }

    // The name of kept drafts on the Ad copy page: the drafts and the name come back.
    owner.get("/ai/copy").await;
    let drafted = owner
        .post(
            "/ai/copy",
            &[
                ("product", "Trail running shoes"),
                ("tone", "friendly"),
                ("variations", "1"),
                ("google", "on"),
            ],
        )
        .await;
    let hidden = |name: &str| -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = drafted.body.find(&marker).expect(name) + marker.len();
        let end = start + drafted.body[start..].find('"').expect("end of value");
        html_unescape(&drafted.body[start..end])
    };
    let (brief, drafts) = (hidden("brief"), hidden("drafts"));
    let kept = count(&t, "SELECT count(*) AS n FROM copy_drafts").await;
    let r = owner
        .post(
            "/ai/copy/drafts",
            &[
                ("brief", brief.as_str()),
                ("drafts", drafts.as_str()),
                ("name", "Spring\0 shoes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(has_field_error(&r.body), "{}", r.body);
    assert!(r.body.contains("value=\"Spring shoes\""), "{}", r.body);
    assert!(
        r.body.contains("class=\"card platform-copy\""),
        "the drafts stay"
    );
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM copy_drafts").await,
        kept
    );
    // A brief that the page could not have sent (it refuses control characters before
    // drafting): said to be damaged, nothing kept, not a 500.
    let r = owner
        .post(
            "/ai/copy/drafts",
            &[
                (
                    "brief",
                    &brief.replace("Trail running", "Trail\\u0000running"),
                ),
                ("drafts", drafts.as_str()),
                ("name", "Spring"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("damaged"), "{}", r.body);
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM copy_drafts").await,
        kept
    );

    // Checkbox forms: a control character there is a damaged form; the page says so and
    // nothing changes (the stored choice is shown).
    let page = format!("/accounts/{account}/conversions");
    owner.get(&page).await.assert_status(StatusCode::OK);
    let settings = "SELECT count(*) AS n FROM account_conversion_settings";
    let before = count(&t, settings).await;
    let r = owner.post(&page, &[("count", "purchase\0")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Nothing was saved") && r.body.contains("control characters"));
    assert!(!r.body.contains('\0'));
    assert_eq!(count(&t, settings).await, before);
    let page = format!("/connections/{connection}/accounts");
    owner.get(&page).await;
    let managed = "SELECT count(*) AS n FROM ad_accounts WHERE managed";
    let before = count(&t, managed).await;
    let r = owner
        .post(
            &page,
            &[
                ("account", &format!("{account}\0")),
                ("backfill_days", "30"),
                ("lookback_days", "3"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Nothing was saved") && r.body.contains("control characters"));
    assert_eq!(count(&t, managed).await, before);

    // The sign-up confirmation, one button: said, nothing created, the button offered again.
    let mut newcomer = t.client();
    newcomer.get("/signup").await;
    newcomer
        .post(
            "/signup",
            &[
                ("name", "New Comer"),
                ("email", "newcomer@example.com"),
                ("password", PASSWORD),
                ("org_name", "Newco"),
                ("time_zone", "UTC"),
            ],
        )
        .await
        .assert_status(StatusCode::OK);
    let link = t.last_email_link(&format!("{BASE}/signup/confirm/"));
    newcomer.get(&link).await.assert_status(StatusCode::OK);
    let users = count(&t, "SELECT count(*) AS n FROM users").await;
    let r = newcomer.post(&link, &[("go", "\0")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Nothing was created") && r.body.contains("Create my account"));
    assert_eq!(count(&t, "SELECT count(*) AS n FROM users").await, users);
    newcomer
        .post(&link, &[])
        .await
        .assert_status(StatusCode::SEE_OTHER);

    // The invitation's own form, where the invited person chooses a name and password.
    owner.get("/settings").await;
    owner
        .post(
            "/settings/invites",
            &[("email", "new@example.com"), ("role", "member")],
        )
        .await
        .assert_status(StatusCode::OK);
    let link = t.last_email_link(&format!("{BASE}/invites/"));
    let mut invited = t.client();
    invited.get(&link).await.assert_status(StatusCode::OK);
    let users = count(&t, "SELECT count(*) AS n FROM users").await;
    let r = invited
        .post(&link, &[("name", "New\0Member"), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(has_field_error(&r.body), "{}", r.body);
    assert!(r.body.contains("value=\"NewMember\""), "{}", r.body);
    assert_eq!(count(&t, "SELECT count(*) AS n FROM users").await, users);

    // The rule helper's buttons without JavaScript: the snippet goes in, the control character
    // is an error at its place and leaves the text; nothing is saved.
    owner.get("/rules/new").await;
    let r = owner
        .post(
            "/rules/insert",
            &[
                ("text", "rule \"Nul\u{0}Guard\"\n  when\n  then pause\n"),
                ("insert", "spend in last 7 days"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("line 1, column 10") && r.body.contains("control character"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("rule &quot;NulGuard&quot;") || r.body.contains("rule &#34;NulGuard&#34;"),
        "{}",
        r.body
    );
    assert!(!r.body.contains('\0'));
    assert_eq!(count(&t, "SELECT count(*) AS n FROM rules").await, 0);

    // The editor's preview and "Describe the rule": said so, nothing looked up or asked.
    let nul_rule =
        "rule \"X\"\n  where name contains \"a\u{0}b\"\n  when spend today > 1\n  then pause\n";
    let r = owner.post("/rules/preview", &[("text", nul_rule)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("invisible control character"), "{}", r.body);
    let r = owner
        .post(
            "/rules/describe",
            &[
                ("text", "rule \"Y\"\n  when spend today > 1\n  then pause\n"),
                ("description", "pause\u{0} losers"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(MESSAGE), "{}", r.body);
    // (The description's field shows only with an AI model configured; the editor's text stays.)
    assert!(r.body.contains("when spend today &#62; 1"), "{}", r.body);
    assert!(!r.body.contains('\0'));

    // A rule drafted from a description: the fragment says what is wrong; nothing is asked.
    owner.get("/ai/rule-draft").await;
    let r = owner
        .post("/ai/rule-draft", &[("description", "pause\0 everything")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(MESSAGE), "{}", r.body);
    assert_eq!(count(&t, "SELECT count(*) AS n FROM ai_usage").await, 0);
}

/// `&amp;` and friends back to text (attribute values as askama writes them).
fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// The plan choice is a button: a control character in it is a damaged form, said in the
/// flash; nothing is bought (Stripe is not asked) or changed.
#[tokio::test]
async fn a_control_character_in_the_plan_choice_buys_nothing_and_says_why() {
    let b = crate::billing::billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    owner.get("/billing").await.assert_status(StatusCode::OK);
    let r = owner
        .post("/billing/checkout", &[("plan", "starter\0")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/billing"));
    let page = owner.get("/billing").await;
    assert!(
        page.body.contains("Nothing was bought or changed")
            && page.body.contains("control characters"),
        "{}",
        page.body
    );
    assert!(b.stripe.seen().await.is_empty(), "Stripe not asked");
}
