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

/// The forms, `account` a managed ad account and `ad_set` one of its ad sets with a budget.
fn cases(account: Uuid, ad_set: Uuid) -> Vec<Case> {
    let account = account.to_string();
    vec![
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

#[tokio::test]
async fn a_control_character_in_any_form_comes_back_as_that_fields_error() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut owner = t.sign_up("owner@example.com", "Shop").await;
    let (account, ad_set) = meta_account(&t, &sb, &mut owner).await;
    for case in cases(account, ad_set) {
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
