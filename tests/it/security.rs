//! CSRF and Origin checks, read-only clients, cookies and headers, health and metrics.

use axum::http::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn state_changes_without_the_csrf_token_or_from_another_origin_are_refused() {
    let t = TestApp::new().await;
    let mut c = t.sign_up("a@example.com", "A Org").await;
    c.get("/settings").await;
    let missing = c
        .post_raw("/settings/org", &[("name", "Hacked"), ("time_zone", "UTC")])
        .await;
    missing.assert_status(StatusCode::FORBIDDEN);
    assert!(missing.body.contains("Form expired"));
    let wrong = c
        .post_raw(
            "/settings/org",
            &[
                ("csrf_token", "wrong"),
                ("name", "Hacked"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    wrong.assert_status(StatusCode::FORBIDDEN);
    let mut evil = c.clone();
    evil.origin = Some("https://evil.example".into());
    evil.post("/settings/org", &[("name", "Hacked"), ("time_zone", "UTC")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let mut no_origin = c.clone();
    no_origin.origin = None;
    no_origin
        .post("/settings/org", &[("name", "Hacked"), ("time_zone", "UTC")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    // The htmx header carries the token as well as the hidden field does.
    let token = c.csrf.clone().expect("token");
    let body = "name=Renamed&time_zone=UTC".to_string();
    let r = c
        .request(
            Method::POST,
            "/settings/org",
            Some(body),
            &[("x-csrf-token", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get("/settings").await;
    assert!(page.body.contains("Renamed") && !page.body.contains("Hacked"));
    // Login forms carry a token too (no login CSRF).
    let mut anon = t.client();
    anon.get("/login").await;
    anon.post_raw(
        "/login",
        &[
            ("email", "a@example.com"),
            ("password", "a good long password"),
        ],
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
}

/// The settings routes by hand; every route of the router, with the organization's real ids, is
/// probed for every role by `security_probe::every_route_as_every_role_and_with_b_ids_leaks_and_changes_nothing_of_b`.
#[tokio::test]
async fn a_client_member_is_refused_on_the_settings_routes_and_keeps_their_own_account() {
    let t = TestApp::new().await;
    let mut owner = t.sign_up("o@example.com", "Agency").await;
    owner.get("/settings").await;
    owner
        .post(
            "/settings/invites",
            &[("email", "c@example.com"), ("role", "client")],
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
    let page = client.get("/settings").await;
    page.assert_status(StatusCode::OK);
    assert!(
        !page.body.contains("Send invitation"),
        "no write controls for clients"
    );
    let id = uuid::Uuid::now_v7();
    for path in [
        "/settings/org".to_string(),
        "/settings/invites".to_string(),
        format!("/settings/members/{id}/role"),
        format!("/settings/members/{id}/remove"),
        format!("/settings/invites/{id}/revoke"),
    ] {
        let r = client
            .post(
                &path,
                &[
                    ("name", "X"),
                    ("time_zone", "UTC"),
                    ("email", "x@example.com"),
                    ("role", "member"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM organizations WHERE name = 'X'"
        )
        .await
            + count(
                &t,
                "SELECT count(*) AS n FROM invitations WHERE email = 'x@example.com'"
            )
            .await,
        0,
        "nothing changed"
    );
    client
        .get("/settings/audit")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    // Their own account still works.
    client.get("/account").await;
    let r = client
        .post(
            "/account/password",
            &[
                ("current_password", "a good long password"),
                ("new_password", "a different long password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn cookies_and_headers_carry_the_right_flags() {
    let t = TestApp::with_args(&["--public-url", "https://ads.example.com"]).await;
    let mut c = t.client();
    c.origin = Some("https://ads.example.com".into());
    let page = c.get("/signup").await;
    let csp = page
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
    );
    assert_eq!(
        page.headers
            .get("x-content-type-options")
            .map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );
    assert!(page.headers.get("referrer-policy").is_some());
    assert!(!page.body.contains("<script>"), "no inline scripts");
    let r = c
        .post(
            "/signup",
            &[
                ("name", "S"),
                ("email", "s@example.com"),
                ("password", "a good long password"),
                ("org_name", "S"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    let session = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("adpilot_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Secure"),
        "{session}"
    );
    assert!(
        session.len() > "adpilot_session=".len() + 40,
        "a 256-bit token"
    );
}

#[tokio::test]
async fn a_new_login_gets_a_new_session_token() {
    let t = TestApp::new().await;
    let mut c = t.sign_up("a@example.com", "A").await;
    let first = c.cookies.get("adpilot_session").cloned().expect("session");
    c.get("/login").await;
    // Already logged in: /login redirects; log out and in again.
    c.get("/dashboard").await;
    c.post("/logout", &[]).await;
    assert!(!c.cookies.contains_key("adpilot_session"));
    c.get("/login").await;
    c.post(
        "/login",
        &[
            ("email", "a@example.com"),
            ("password", "a good long password"),
        ],
    )
    .await;
    let second = c.cookies.get("adpilot_session").cloned().expect("session");
    assert_ne!(first, second);
    let mut old = t.client();
    old.cookies.insert("adpilot_session".into(), first);
    assert_eq!(
        old.get("/dashboard").await.status,
        StatusCode::SEE_OTHER,
        "the old token is dead"
    );
}

#[tokio::test]
async fn unknown_pages_show_a_404_page_without_internals_and_health_and_metrics_answer() {
    let t = TestApp::with_args(&["--metrics-token", "metrics-token-0123456789"]).await;
    let mut c = t.client();
    let r = c.get("/no/such/page").await;
    r.assert_status(StatusCode::NOT_FOUND);
    assert!(r.body.contains("Not found") && r.body.contains("Request id"));
    c.get("/healthz").await.assert_status(StatusCode::OK);
    let m = c
        .request(
            Method::GET,
            "/metrics",
            None,
            &[("authorization", "Bearer metrics-token-0123456789")],
        )
        .await;
    assert!(
        m.body
            .contains("http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"),
        "{}",
        m.body
    );
    assert!(m.body.contains("http_request_duration_seconds_bucket"));
    assert!(m.body.contains("db_pool_connections"));
    let js = c.get("/static/htmx.min.js").await;
    js.assert_status(StatusCode::OK);
    assert!(
        js.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("javascript"))
    );
}
