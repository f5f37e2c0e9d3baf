//! Issue 25 ("agencies can trust it"), items 2-13: invitations, redirects, limits, CSV and
//! Slack escaping, webhook addresses, what clients see of webhooks, NUL bytes, slow
//! connections, expensive requests, secrets in logs and at rest, /metrics and the 413.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use diesel_async::RunQueryDsl;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::*;

const PASSWORD: &str = "a good long password";

async fn one_text(t: &TestApp, sql: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let r: R = diesel::sql_query(sql)
        .get_result(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.v
}

// ---------- 2. invitations ----------

#[tokio::test]
async fn an_invitation_is_accepted_only_by_the_address_it_was_sent_to() {
    let t = TestApp::new().await;
    let mut owner = t.sign_up("owner@example.com", "Agency").await;
    owner.get("/settings").await;
    owner
        .post(
            "/settings/invites",
            &[("email", "admin@example.com"), ("role", "admin")],
        )
        .await
        .assert_status(StatusCode::OK);
    let link = t.last_email_link(&format!("{BASE}/invites/"));

    // Someone else who got hold of the link, logged in with their own account.
    let mut other = t.sign_up("mallory@example.com", "Mallory Inc").await;
    let page = other.get(&link).await;
    assert!(
        page.body.contains("admin@example.com") && !page.body.contains("Join Agency</button>"),
        "{}",
        page.body
    );
    let r = other.post(&link, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE u.email = 'mallory@example.com'"
        )
        .await,
        1,
        "Mallory is still only in her own organization"
    );

    // The invited address itself, with an existing account, joins.
    let mut admin = t.sign_up("admin@example.com", "Own Org").await;
    admin.get(&link).await.assert_status(StatusCode::OK);
    let r = admin.post(&link, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        one_text(
            &t,
            "SELECT m.role AS v FROM memberships m JOIN users u ON u.id = m.user_id \
             JOIN organizations o ON o.id = m.org_id \
             WHERE u.email = 'admin@example.com' AND o.name = 'Agency'"
        )
        .await,
        "admin"
    );
}

#[tokio::test]
async fn outbox_emails_are_readable_by_adpilot_alone() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestApp::new().await;
    let mut owner = t.sign_up("owner@example.com", "Agency").await;
    owner.get("/settings").await;
    owner
        .post(
            "/settings/invites",
            &[("email", "c@example.com"), ("role", "client")],
        )
        .await;
    let dir = t.data_dir.path().join("outbox");
    let files: Vec<_> = std::fs::read_dir(&dir).expect("outbox").flatten().collect();
    assert!(!files.is_empty());
    for f in files {
        let mode = f.metadata().expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{:?} is {:o}", f.path(), mode);
    }
    let mode = std::fs::metadata(&dir).expect("dir").permissions().mode();
    assert_eq!(mode & 0o077, 0, "the outbox is {mode:o}");
}

// ---------- 3. redirects ----------

#[tokio::test]
async fn after_login_next_only_ever_leads_to_this_site() {
    let t = TestApp::new().await;
    let mut c = t.sign_up("a@example.com", "A").await;
    for (next, expected) in [
        ("%2F%09%2Fevil.example", "/dashboard"),
        ("%2F%0A%2Fevil.example", "/dashboard"),
        ("%2F%0D%0ASet-Cookie:x=1", "/dashboard"),
        ("%2F%5Cevil.example", "/dashboard"),
        ("%2F%2Fevil.example", "/dashboard"),
        ("https%3A%2F%2Fevil.example%2F", "/dashboard"),
        ("%2F%20%2Fevil.example", "/%20/evil.example"),
        ("%2Fsettings%3Ftab%3D1", "/settings?tab=1"),
    ] {
        let r = c.get(&format!("/login?next={next}")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(r.location(), Some(expected), "{next}");
    }
    // A newline in the login form's next: a redirect home, not a 500.
    c.post("/logout", &[]).await;
    c.get("/login").await;
    let r = c
        .post(
            "/login",
            &[
                ("email", "a@example.com"),
                ("password", PASSWORD),
                ("next", "/x\n/evil.example"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/dashboard"));
}

// ---------- 4. login limits ----------

/// Posts the login form as if it came over TCP from `peer`, with an X-Forwarded-For header.
async fn login_from(
    t: &TestApp,
    peer: &str,
    forwarded_for: Option<&str>,
    email: &str,
    password: &str,
) -> StatusCode {
    let mut anon = t.client();
    anon.get("/login").await;
    let csrf = anon.csrf.clone().expect("token");
    let cookie = anon
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf_token", &csrf)
        .append_pair("email", email)
        .append_pair("password", password)
        .finish();
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::COOKIE, cookie)
        .header(header::ORIGIN, BASE)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    let mut req = req.body(Body::from(body)).expect("request");
    let peer: SocketAddr = peer.parse().expect("peer");
    req.extensions_mut().insert(ConnectInfo(peer));
    router(&t.app)
        .oneshot(req)
        .await
        .expect("response")
        .status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_every_client_has_its_own_login_limit_and_audit_address() {
    let t = TestApp::with_args(&["--trusted-proxies", "127.0.0.1/32, 10.0.0.0/8"]).await;
    // 12 people behind the proxy each mistype their password once: nobody is locked out.
    for i in 0..12 {
        let s = login_from(
            &t,
            "127.0.0.1:5000",
            Some(&format!("203.0.113.{i}, 10.1.1.1")),
            &format!("user{i}@example.com"),
            "wrong password here",
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "client {i}");
    }
    // One client trying many addresses is limited (10 a minute by default)...
    let mut limited = false;
    for i in 0..12 {
        let s = login_from(
            &t,
            "127.0.0.1:5000",
            Some("198.51.100.7"),
            &format!("guess{i}@example.com"),
            "wrong password here",
        )
        .await;
        limited |= s == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "one client behind the proxy is still limited");
    // ...and an untrusted peer cannot pick its own address with the header.
    let mut limited = false;
    for i in 0..12 {
        let s = login_from(
            &t,
            "192.0.2.9:5000",
            Some(&format!("203.0.113.{}", 100 + i)),
            &format!("spoof{i}@example.com"),
            "wrong password here",
        )
        .await;
        limited |= s == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "X-Forwarded-For from an untrusted peer is ignored");

    // The audit log keeps the client's address.
    let mut owner = t.sign_up("owner@example.com", "Agency").await;
    owner.get("/settings").await;
    let csrf = owner.csrf.clone().expect("token");
    let cookie = owner
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let body = format!("csrf_token={csrf}&name=Renamed&time_zone=UTC");
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/settings/org")
        .header(header::COOKIE, cookie)
        .header(header::ORIGIN, BASE)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-for", "203.0.113.77")
        .body(Body::from(body))
        .expect("request");
    req.extensions_mut().insert(ConnectInfo(
        "127.0.0.1:6000".parse::<SocketAddr>().expect("a"),
    ));
    let resp = router(&t.app).oneshot(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        one_text(
            &t,
            "SELECT coalesce(client_ip, '') AS v FROM audit_log ORDER BY created_at DESC LIMIT 1"
        )
        .await,
        "203.0.113.77"
    );
}

#[tokio::test]
async fn successful_logins_never_use_up_the_accounts_limit_and_failures_do() {
    let t = TestApp::with_args(&["--login-per-minute", "1000"]).await;
    t.sign_up("a@example.com", "A").await;
    for i in 0..15 {
        let s = login_from(&t, "192.0.2.1:1", None, "a@example.com", PASSWORD).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "login {i}");
    }
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses
            .push(login_from(&t, "192.0.2.2:1", None, "a@example.com", "wrong password!").await);
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn rate_limiters_forget_keys_that_have_refilled() {
    let limits = adpilot::auth::limits::RateLimits::new(600_000);
    for i in 0..500 {
        let _ = limits.login(&format!("10.0.{}.{}", i / 256, i % 256), "x@example.com");
    }
    assert!(limits.tracked_keys() >= 500);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    limits.prune();
    assert_eq!(limits.tracked_keys(), 0);
}

// ---------- 5. CSV ----------

#[tokio::test]
async fn csv_cells_that_would_start_a_formula_are_written_as_text() {
    use adpilot::analytics::queries::{CampaignRow, Metrics};
    let row = CampaignRow {
        campaign_id: uuid::Uuid::nil(),
        name: "=HYPERLINK(\"https://evil.example\",\"Click\")".into(),
        platform: adpilot::types::Platform::Google,
        status: "@SUM(A1)".into(),
        account_id: uuid::Uuid::nil(),
        account_name: "+1-2".into(),
        currency: "EUR".parse().expect("currency"),
        metrics: Metrics::default(),
    };
    let csv = adpilot::analytics::routes::campaigns_csv(&[row]).expect("csv");
    let mut r = csv::Reader::from_reader(csv.as_slice());
    let rec = r.records().next().expect("a row").expect("record");
    for cell in rec.iter().skip(1) {
        assert!(!cell.starts_with(['=', '+', '@']), "a formula cell: {cell}");
    }
    assert_eq!(&rec[1], "'=HYPERLINK(\"https://evil.example\",\"Click\")");
}

// ---------- 6. Slack escaping ----------

#[test]
fn slack_messages_carry_names_as_text_not_as_mentions_or_links() {
    let body = adpilot::reports::webhooks::slack_body(
        "adpilot alert: <!channel> spend of <https://evil.example|Reset password> & co",
    );
    let text = body["text"].as_str().expect("text");
    assert!(!text.contains('<') && !text.contains('>'), "{text}");
    assert_eq!(
        text,
        "adpilot alert: &lt;!channel&gt; spend of &lt;https://evil.example|Reset password&gt; &amp; co"
    );
}

// ---------- 7. webhook addresses ----------

#[test]
fn ipv6_forms_of_internal_addresses_are_refused() {
    use adpilot::reports::webhooks::is_internal;
    for a in [
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a00:1",
        "64:ff9b:1::1",
        "2002:7f00:1::",
        "2002:c0a8:101::1",
        "::ffff:0:7f00:1",
        "fec0::1",
        "100::1",
        "2001:db8::1",
        "2001::1",
        "::",
        "ff02::1",
    ] {
        assert!(is_internal(a.parse().expect("ip")), "{a} is internal");
    }
    for a in [
        "2606:4700::1111",
        "2a00:1450:4001:80b::200e",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "::ffff:8.8.8.8",
    ] {
        assert!(!is_internal(a.parse().expect("ip")), "{a} is public");
    }
}

#[tokio::test]
async fn webhook_urls_with_ipv6_internal_hosts_are_refused() {
    for url in [
        "http://[::127.0.0.1]/x",
        "http://[64:ff9b::7f00:1]/x",
        "http://[2002:7f00:1::]/x",
        "http://[::ffff:0:7f00:1]/x",
        "http://[fec0::1]/x",
        "http://[100::1]/x",
        "http://[2001:db8::1]/x",
    ] {
        assert!(
            adpilot::reports::webhooks::check_url(url, false)
                .await
                .is_err(),
            "{url}"
        );
    }
}

// ---------- 8. clients and webhook URLs ----------

#[tokio::test]
async fn a_client_sees_neither_channel_webhook_urls_nor_those_in_rules() {
    let t = TestApp::with_args(&["--webhooks-allow-private"]).await;
    let mut owner = t.sign_up("owner@example.com", "Agency").await;
    owner.get("/alerts").await;
    owner
        .post(
            "/alerts/channels",
            &[
                ("kind", "slack"),
                ("target", "http://127.0.0.1:9/services/T0/B0/CHANNELSECRET"),
            ],
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
    owner.get("/rules/new").await;
    let r = owner
        .post(
            "/rules",
            &[
                (
                    "text",
                    "rule \"Tell\"\n  for campaigns on google\n  when impressions in last 7 days >= 0\n  then pause\n  notify webhook \"https://hooks.example.com/services/RULESECRET\"\n",
                ),
                ("mode", "draft"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let rule = r.location().expect("rule").to_string();
    assert!(owner.get(&rule).await.body.contains("RULESECRET"));
    assert!(owner.get("/alerts").await.body.contains("CHANNELSECRET"));

    let mut client = t
        .invite_and_join(&mut owner, "c@example.com", "client")
        .await;
    let alerts = client.get("/alerts").await;
    alerts.assert_status(StatusCode::OK);
    assert!(
        !alerts.body.contains("CHANNELSECRET") && alerts.body.contains("127.0.0.1"),
        "{}",
        alerts.body
    );
    let page = client.get(&rule).await;
    page.assert_status(StatusCode::OK);
    assert!(
        !page.body.contains("RULESECRET") && page.body.contains("hooks.example.com"),
        "{}",
        page.body
    );
}

// ---------- 9. NUL bytes ----------

#[tokio::test]
async fn a_nul_byte_in_a_form_field_comes_back_as_that_fields_error_with_what_was_typed() {
    let t = TestApp::new().await;
    let mut anon = t.client();
    anon.get("/login").await;
    let r = anon
        .post("/login", &[("email", "a\0@example.com"), ("password", "x")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"email-error\""), "{}", r.body);
    assert!(r.body.contains("control characters"), "{}", r.body);
    assert!(
        r.body.contains("value=\"a@example.com\""),
        "the address stays, without the NUL: {}",
        r.body
    );
    anon.get("/signup").await;
    let r = anon
        .post(
            "/signup",
            &[
                ("name", "Nul\0"),
                ("email", "n@example.com"),
                ("password", PASSWORD),
                ("org_name", "N\0Org"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("control characters"), "{}", r.body);
    assert!(r.body.contains("value=\"NOrg\""), "{}", r.body);
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM organizations").await,
        0,
        "nothing is created"
    );

    let mut c = t.sign_up("a@example.com", "A").await;
    // A NUL in the address is still a clear 400: no page has a field there.
    for path in [
        "/campaigns?q=%00",
        "/dashboard?platform=%00",
        "/login?next=/%00",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
    }
    c.get("/settings").await;
    let r = c
        .post("/settings/org", &[("name", "X\0Y"), ("time_zone", "UTC")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("control characters"), "{}", r.body);
    assert!(r.body.contains("value=\"XY\""), "{}", r.body);
    assert_eq!(
        one_text(&t, "SELECT name AS v FROM organizations").await,
        "A",
        "the organization keeps its name"
    );

    // The rule editor: the error at its place, the text without the NUL, nothing saved.
    c.get("/rules/new").await;
    let text = "rule \"Nul\u{0}Rule\"\n  when spend today > 10\n  then pause\n";
    let r = c.post("/rules", &[("text", text), ("mode", "draft")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("line 1, column 10") && r.body.contains("control character"),
        "{}",
        r.body
    );
    assert!(r.body.contains("NulRule"), "{}", r.body);
    assert!(!r.body.contains('\0'), "the page carries no NUL");
    assert_eq!(count(&t, "SELECT count(*) AS n FROM rules").await, 0);
    let r = c.post("/rules/check", &[("text", text)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("control character"), "{}", r.body);

    // (The new-campaign form, which needs a connected account, is driven with a NUL in the
    // browser test of tests/it/first_hour.rs.)

    // A form whose handler does not check control characters itself (here one with no
    // field a person types into) is still refused whole, before the handler could pass the
    // NUL to PostgreSQL. (The report schedule form used to be the example; it now shows the
    // field's error, see tests/it/control_chars.rs.)
    c.get("/settings").await;
    let r = c.post("/orgs/switch", &[("org_id", "x\0")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("NUL"));
}

// ---------- 10. slow connections ----------

#[tokio::test]
async fn connections_that_trickle_or_idle_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestApp::with_args(&["--header-timeout-secs", "1"]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = t.app.clone();
    tokio::spawn(async move {
        let _ = adpilot::server::serve(app, listener).await;
    });
    let mut conns = Vec::new();
    for i in 0..40 {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        if i % 2 == 0 {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .expect("write");
        }
        conns.push(s);
    }
    // Trickle one header byte every 200 ms on the even ones; the odd ones stay silent.
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(2500) {
        for (i, s) in conns.iter_mut().enumerate() {
            if i % 2 == 0 {
                let _ = s.write_all(b"X").await;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    for (i, s) in conns.iter_mut().enumerate() {
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut buf)).await;
        let closed = match n {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            // hyper may answer 408 before closing.
            Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).contains("408"),
            Err(_) => false,
        };
        assert!(closed, "connection {i} is still open");
    }
    // A normal request still works.
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
}

// ---------- 11. expensive requests ----------

#[tokio::test]
async fn backtests_and_send_now_are_rate_limited() {
    let t = TestApp::new().await;
    let mut owner = t.sign_up("owner@example.com", "Agency").await;
    owner.get("/rules/new").await;
    let r = owner
        .post(
            "/rules",
            &[
                (
                    "text",
                    "rule \"Any\"\n  for campaigns on google\n  when impressions in last 7 days >= 0\n  then pause\n",
                ),
                ("mode", "draft"),
            ],
        )
        .await;
    let rule = r.location().expect("rule").to_string();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(owner.get(&format!("{rule}/backtest?days=365")).await.status);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );

    owner.get("/reports").await;
    owner
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
    let id = one_text(&t, "SELECT id::text AS v FROM report_schedules LIMIT 1").await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        owner.get("/reports").await;
        statuses.push(owner.post(&format!("/reports/{id}/send"), &[]).await.status);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

// ---------- 12. secrets in logs and at rest ----------

#[tokio::test]
async fn webhook_signing_secrets_are_stored_encrypted() {
    let t = TestApp::with_args(&["--webhooks-allow-private"]).await;
    let mut owner = t.sign_up("owner@example.com", "Agency").await;
    owner.get("/alerts").await;
    owner
        .post(
            "/alerts/channels",
            &[("kind", "webhook"), ("target", "http://127.0.0.1:9/hook")],
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let stored = one_text(&t, "SELECT signing_secret AS v FROM alert_channels").await;
    let page = owner.get("/alerts").await;
    let marker = "class=\"copyable\" id=\"secret-";
    let at = page
        .body
        .find(marker)
        .expect("the secret is shown to the owner");
    let shown: String = page.body[at..]
        .split('>')
        .nth(1)
        .unwrap_or("")
        .chars()
        .take_while(|c| *c != '<')
        .collect();
    assert!(shown.len() >= 32, "{shown}");
    assert!(
        !stored.contains(&shown) && stored.starts_with('v') && stored.contains(':'),
        "stored {stored}, shown {shown}"
    );

    // A secret an older version stored in clear is sealed by the job every start enqueues,
    // and still signs with the same value.
    admin_exec(
        &t,
        &format!("UPDATE alert_channels SET signing_secret = '{shown}'"),
    )
    .await;
    adpilot::jobs::catalog::enqueue_at_start(t.db())
        .await
        .expect("enqueue");
    let workers = job_workers(&t);
    eventually(
        "the plaintext secret sealed",
        std::time::Duration::from_secs(120),
        || {
            let t = &t;
            async move {
                let v = one_text(t, "SELECT signing_secret AS v FROM alert_channels").await;
                v.starts_with('v') && v.contains(':')
            }
        },
    )
    .await;
    workers.shutdown().await;
    let page = owner.get("/alerts").await;
    assert!(page.body.contains(&shown), "the same secret after sealing");
}

#[test]
fn debug_logging_leaves_out_the_database_drivers_bound_parameters() {
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<String>>>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Seen {
        fn on_event(&self, e: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            if let Ok(mut v) = self.0.lock() {
                v.push(e.metadata().target().to_string());
            }
        }
    }
    for spec in ["debug", "trace", "adpilot=debug,debug"] {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry()
            .with(adpilot::config::log_filter(Some(spec)))
            .with(seen.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "tokio_postgres::query", "executing statement s0 with parameters: [\"csrf\"]");
            tracing::debug!(target: "adpilot::jobs", "our own debug line");
        });
        let targets = seen.0.lock().expect("lock").clone();
        assert_eq!(targets, vec!["adpilot::jobs".to_string()], "{spec}");
    }
}

// ---------- 13. /metrics, 413, sign-up ----------

#[tokio::test]
async fn metrics_need_the_bearer_token_and_are_off_without_one() {
    let t = TestApp::new().await;
    let mut c = t.client();
    c.get("/metrics").await.assert_status(StatusCode::NOT_FOUND);
    let t = TestApp::with_args(&["--metrics-token", "metrics-token-0123456789"]).await;
    let mut c = t.client();
    c.get("/healthz").await;
    c.get("/metrics")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    let r = c
        .request(
            Method::GET,
            "/metrics",
            None,
            &[("authorization", "Bearer wrong-token-0123456789")],
        )
        .await;
    r.assert_status(StatusCode::UNAUTHORIZED);
    let r = c
        .request(
            Method::GET,
            "/metrics",
            None,
            &[("authorization", "Bearer metrics-token-0123456789")],
        )
        .await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("http_requests_total"));
}

#[tokio::test]
async fn a_body_over_the_limit_gets_a_413_with_the_security_headers() {
    let t = TestApp::new().await;
    let body = vec![b'a'; 5 * 1024 * 1024];
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .expect("request");
    let resp = router(&t.app).oneshot(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    for h in [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(resp.headers().contains_key(h), "{h} missing");
    }
    let _ = resp.into_body().collect().await;
}

/// Grants the client (or member) `email` every ad account of the owner's organization, the
/// way an agency owner does on Settings → Members (a client sees no account until then).
pub async fn grant_all_accounts(t: &TestApp, owner: &mut Client, email: &str) {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let user: Id = diesel::sql_query("SELECT id FROM users WHERE email = $1")
        .bind::<diesel::sql_types::Text, _>(email)
        .get_result(&mut c)
        .await
        .expect("user");
    let accounts: Vec<Id> = diesel::sql_query(
        "SELECT a.id FROM ad_accounts a JOIN memberships m ON m.org_id = a.org_id \
         WHERE m.user_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(user.id)
    .load(&mut c)
    .await
    .expect("accounts");
    let ids: Vec<String> = accounts.iter().map(|a| a.id.to_string()).collect();
    let fields: Vec<(&str, &str)> = ids.iter().map(|id| ("account", id.as_str())).collect();
    owner.get("/settings").await;
    let r = owner
        .post(&format!("/settings/members/{}/accounts", user.id), &fields)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "grant: {}", r.body);
}
