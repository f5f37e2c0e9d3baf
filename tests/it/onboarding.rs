//! The dashboard's getting-started checklist: each step ticks itself off when the real thing
//! is done, links to its page, and the checklist goes away when complete or dismissed.

use adpilot::sandbox::SandboxConfig;
use axum::http::StatusCode;

use crate::connections::connect;
use crate::support::*;

/// The checklist's items as (label, done), read from the dashboard.
fn items(html: &str) -> Vec<(String, bool)> {
    let Some(start) = html.find("class=\"card onboarding\"") else {
        return Vec::new();
    };
    let section = &html[start
        ..html[start..]
            .find("</section>")
            .map_or(html.len(), |e| start + e)];
    section
        .split("<li class=\"")
        .skip(1)
        .map(|li| {
            let done = li.starts_with("done");
            let label = li
                .split_once("<a href=\"")
                .and_then(|(_, rest)| rest.split_once("\">"))
                .and_then(|(_, rest)| rest.split_once("</a>"))
                .map(|(label, _)| label.to_string())
                .unwrap_or_default();
            (label, done)
        })
        .collect()
}

fn done(html: &str) -> Vec<bool> {
    items(html).into_iter().map(|(_, d)| d).collect()
}

#[tokio::test]
async fn each_step_ticks_itself_off_from_the_real_thing_and_the_list_goes_when_all_are_done() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    let page = c.get("/dashboard").await;
    page.assert_status(StatusCode::OK);
    let labels: Vec<String> = items(&page.body).into_iter().map(|(l, _)| l).collect();
    assert_eq!(
        labels,
        [
            "Connect an ad account",
            "First sync done",
            "A rule in dry run",
            "Schedule a report",
            "Invite a teammate"
        ]
    );
    assert_eq!(done(&page.body), [false; 5]);
    for href in ["/connections", "/rules/new", "/reports", "/settings#invite"] {
        assert!(page.body.contains(&format!("href=\"{href}\"")), "{href}");
    }
    assert!(page.body.contains("0 of 5 done"));

    // 1. Connect through the sandbox's consent page.
    connect(&mut c, "google").await;
    let page = c.get("/dashboard").await;
    assert_eq!(done(&page.body), [true, false, false, false, false]);

    // 2. The first sync.
    let org = org_of(&t).await;
    for a in adpilot::analytics::sync::accounts_to_sync(&t.app, org)
        .await
        .expect("accounts")
    {
        adpilot::analytics::sync::sync_account(&t.app, org, a, sb.clock().now())
            .await
            .expect("sync");
    }
    let page = c.get("/dashboard").await;
    assert_eq!(done(&page.body), [true, true, false, false, false]);

    // 3. A draft rule is not enough; the dry run is.
    c.get("/rules/new").await;
    let text = "rule \"Stop losers\"\n  for campaigns on google\n  when spend in last 7 days > 1000000\n  then pause\n";
    let r = c.post("/rules", &[("text", text), ("mode", "draft")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let rule = r.location().expect("rule").to_string();
    let page = c.get("/dashboard").await;
    assert_eq!(done(&page.body), [true, true, false, false, false]);
    c.get(&rule).await;
    let r = c
        .post(&format!("{rule}/mode"), &[("mode", "dry_run")])
        .await;
    assert!(r.status.is_redirection(), "{}: {}", r.status, r.body);
    let page = c.get("/dashboard").await;
    assert_eq!(done(&page.body), [true, true, true, false, false]);

    // 4. A report schedule.
    c.get("/reports").await;
    let r = c
        .post(
            "/reports",
            &[
                ("name", "Weekly"),
                ("frequency", "weekly"),
                ("weekday", "1"),
                ("send_time", "09:00"),
                ("period", "last_7_days"),
                ("platform", "all"),
                ("recipients", "ann@example.com"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get("/dashboard").await;
    assert_eq!(done(&page.body), [true, true, true, true, false]);
    assert!(page.body.contains("4 of 5 done"));

    // 5. An invitation: every step is done and the checklist is gone.
    c.get("/settings").await;
    let r = c
        .post(
            "/settings/invites",
            &[("email", "bo@example.com"), ("role", "member")],
        )
        .await;
    assert!(r.body.contains("Invitation sent") || r.status == StatusCode::SEE_OTHER);
    let page = c.get("/dashboard").await;
    page.assert_status(StatusCode::OK);
    assert!(!page.body.contains("Getting started"), "all done: hidden");
}

#[tokio::test]
async fn owners_and_admins_dismiss_it_for_the_organization_and_others_cannot() {
    let t = TestApp::new().await;
    let mut owner = t.sign_up("o@example.com", "Agency").await;
    owner.get("/settings").await;
    owner
        .post(
            "/settings/invites",
            &[("email", "m@example.com"), ("role", "member")],
        )
        .await;
    let path = t.last_email_link(&format!("{BASE}/invites/"));
    let mut memb = t.client();
    memb.get(&path).await;
    memb.post(
        &path,
        &[("name", "M"), ("password", "a good long password")],
    )
    .await;
    // The invitation was accepted: four steps remain, the member sees the list without the
    // button and cannot dismiss it.
    let page = memb.get("/dashboard").await;
    assert_eq!(done(&page.body), [false, false, false, false, true]);
    assert!(!page.body.contains("Hide this checklist"));
    let r = memb.post("/dashboard/onboarding/dismiss", &[]).await;
    r.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM onboarding_dismissals").await,
        0
    );
    assert!(
        memb.get("/dashboard")
            .await
            .body
            .contains("Getting started")
    );

    let page = owner.get("/dashboard").await;
    assert!(page.body.contains("Hide this checklist"));
    let r = owner.post("/dashboard/onboarding/dismiss", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/dashboard"));
    let page = owner.get("/dashboard").await;
    assert!(!page.body.contains("Getting started"));
    assert!(
        page.body.contains("hidden for everyone"),
        "the flash says so"
    );
    // Dismissed for the organization: the member no longer sees it either; twice is fine.
    assert!(
        !memb
            .get("/dashboard")
            .await
            .body
            .contains("Getting started")
    );
    owner.get("/dashboard").await;
    let r = owner.post("/dashboard/onboarding/dismiss", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM onboarding_dismissals").await,
        1
    );
    // Another organization still has its own checklist.
    let mut other = t.sign_up("x@example.com", "Other").await;
    assert!(
        other
            .get("/dashboard")
            .await
            .body
            .contains("Getting started")
    );
}
