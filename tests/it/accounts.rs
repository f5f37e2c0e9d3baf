use axum::http::StatusCode;
use diesel_async::RunQueryDsl;

use crate::support::*;

async fn user_count(t: &TestApp) -> i64 {
    use adpilot::db::schema::users;
    use diesel::QueryDsl;
    let mut c = t.db().conn().await.expect("conn");
    users::table
        .count()
        .get_result(&mut c)
        .await
        .expect("count")
}

#[tokio::test]
async fn sign_up_creates_an_organization_and_logs_in() {
    let t = TestApp::new().await;
    let mut c = t.sign_up("ann@example.com", "Acme Marketing").await;
    let dash = c.get("/dashboard").await;
    assert!(dash.body.contains("Acme Marketing"));
    assert!(
        dash.body.contains("Connect an ad platform"),
        "the empty dashboard says what to do next"
    );
    let settings = c.get("/settings").await;
    settings.assert_status(StatusCode::OK);
    assert!(settings.body.contains("ann@example.com"));
    assert!(settings.body.contains("Owner"));
}

#[tokio::test]
async fn bad_sign_up_input_shows_the_field_error_and_saves_nothing() {
    let t = TestApp::new().await;
    t.sign_up("taken@example.com", "First").await;
    let before = user_count(&t).await;
    let cases: [(&str, &str, &str, &str); 3] = [
        (
            "not-an-email",
            "a good long password",
            "Org",
            "Enter an email address",
        ),
        ("new@example.com", "short", "Org", "at least 10 characters"),
        (
            "new2@example.com",
            "a good long password",
            "",
            "Enter a name for your organization",
        ),
    ];
    for (email, pw, org, expected) in cases {
        let mut c = t.client();
        c.get("/signup").await;
        let r = c
            .post(
                "/signup",
                &[
                    ("name", "N"),
                    ("email", email),
                    ("password", pw),
                    ("org_name", org),
                    ("time_zone", "UTC"),
                ],
            )
            .await;
        r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.body.contains(expected),
            "expected {expected:?} in the page for {email}"
        );
        assert!(
            r.body.contains("aria-invalid=\"true\""),
            "the field is marked"
        );
        assert!(
            !r.body.contains(pw) || pw.len() < 6,
            "the password is not echoed back"
        );
    }
    assert_eq!(user_count(&t).await, before, "nothing was saved");
}

/// Posts the sign-up form for `email` from a fresh browser.
async fn post_signup(t: &TestApp, email: &str) -> Resp {
    let mut c = t.client();
    c.get("/signup").await.assert_status(StatusCode::OK);
    c.post(
        "/signup",
        &[
            ("name", "N"),
            ("email", email),
            ("password", "a good long password"),
            ("org_name", "Org"),
            ("time_zone", "UTC"),
        ],
    )
    .await
}

/// Once an instance has users, the form answers the same for a registered and a new address;
/// only the mail differs, the account is made from the emailed link (once), and one address
/// gets at most three mails an hour.
#[tokio::test]
async fn sign_up_does_not_tell_whether_an_email_is_registered() {
    let t = TestApp::new().await;
    t.sign_up("taken@example.com", "First").await;
    let before = user_count(&t).await;
    let mails = t.outbox().len();

    let taken = post_signup(&t, "TAKEN@example.com").await;
    let fresh = post_signup(&t, "fresh@example.com").await;
    taken.assert_status(StatusCode::OK);
    fresh.assert_status(StatusCode::OK);
    let scrub = |body: &str, email: &str| {
        body.replace(email, "EMAIL")
            .lines()
            // Per-request values: the CSRF token and the request id.
            .filter(|l| !l.to_lowercase().contains("csrf") && !l.contains("request "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        scrub(&taken.body, "taken@example.com"),
        scrub(&fresh.body, "fresh@example.com"),
        "the two answers are the same page"
    );
    assert!(fresh.body.contains("Check your inbox"));
    assert_eq!(
        user_count(&t).await,
        before,
        "nothing is created before the link"
    );

    let outbox = t.outbox();
    assert_eq!(outbox.len(), mails + 2);
    let to_taken = outbox
        .iter()
        .find(|m| m.contains("To: taken@example.com"))
        .expect("a mail to the registered address");
    assert!(to_taken.contains("already has an account"), "{to_taken}");
    assert!(!to_taken.contains("/signup/confirm/"), "{to_taken}");

    let link = t.last_email_link(&format!("{BASE}/signup/confirm/"));
    let mut c = t.client();
    let page = c.get(&link).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Create my account"), "{}", page.body);
    assert_eq!(
        user_count(&t).await,
        before,
        "opening the link creates nothing"
    );
    let r = c.post(&link, &[]).await;
    r.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/dashboard"));
    let dash = c.get("/dashboard").await;
    dash.assert_status(StatusCode::OK);
    assert!(dash.body.contains("Org"));
    assert_eq!(user_count(&t).await, before + 1);

    let mut again = t.client();
    let used = again.get(&link).await;
    used.assert_status(StatusCode::OK);
    assert!(!used.body.contains("Create my account"), "{}", used.body);
    again.get("/signup").await.assert_status(StatusCode::OK);
    let r = again.post(&link, &[]).await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("expired or was already used"), "{}", r.body);
    assert_eq!(user_count(&t).await, before + 1, "the link works once");

    // Three mails an hour to one address; the fourth request gets the same page, no mail.
    for _ in 0..2 {
        post_signup(&t, "taken@example.com")
            .await
            .assert_status(StatusCode::OK);
    }
    let n = t.outbox().len();
    let fourth = post_signup(&t, "taken@example.com").await;
    fourth.assert_status(StatusCode::OK);
    assert!(fourth.body.contains("Check your inbox"));
    assert_eq!(t.outbox().len(), n, "no fourth mail within the hour");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_message() {
    let t = TestApp::new().await;
    t.sign_up("bob@example.com", "Bob Co").await;
    let mut a = t.client();
    a.get("/login").await;
    let wrong = a
        .post(
            "/login",
            &[
                ("email", "bob@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    let mut b = t.client();
    b.get("/login").await;
    let unknown = b
        .post(
            "/login",
            &[
                ("email", "nobody@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    wrong.assert_status(StatusCode::UNAUTHORIZED);
    unknown.assert_status(StatusCode::UNAUTHORIZED);
    let msg = "The email or password is not right.";
    assert!(wrong.body.contains(msg) && unknown.body.contains(msg));
    let mut ok = t.client();
    ok.get("/login").await;
    let r = ok
        .post(
            "/login",
            &[
                ("email", "BOB@example.com"),
                ("password", "a good long password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/dashboard"));
}

#[tokio::test]
async fn login_is_rate_limited_with_a_retry_time() {
    let t = TestApp::with_args(&["--login-per-minute", "5"]).await;
    let mut c = t.client();
    c.get("/login").await;
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            c.post(
                "/login",
                &[("email", "x@example.com"), ("password", "wrong password")],
            )
            .await,
        );
    }
    let r = last.expect("response");
    r.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.body.contains("Too many attempts. Try again in"),
        "{}",
        r.body
    );
    assert!(r.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let t = TestApp::new().await;
    let mut first = t.sign_up("carol@example.com", "Carol Co").await;
    let mut second = t.client();
    second.get("/login").await;
    second
        .post(
            "/login",
            &[
                ("email", "carol@example.com"),
                ("password", "a good long password"),
            ],
        )
        .await;
    second.get("/dashboard").await.assert_status(StatusCode::OK);

    first.get("/account").await;
    let bad = first
        .post(
            "/account/password",
            &[
                ("current_password", "wrong one!!"),
                ("new_password", "another long password"),
            ],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("not your current password"));
    second.get("/dashboard").await.assert_status(StatusCode::OK);

    let r = first
        .post(
            "/account/password",
            &[
                ("current_password", "a good long password"),
                ("new_password", "another long password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let gone = second.get("/dashboard").await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(gone.location(), Some("/login"));
    let page = first.get("/account").await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("You were logged out everywhere else"));
}

#[tokio::test]
async fn invitation_by_email_lets_a_new_person_join_once() {
    let t = TestApp::new().await;
    let mut owner = t.sign_up("owner@example.com", "Agency").await;
    owner.get("/settings").await;
    let r = owner
        .post(
            "/settings/invites",
            &[("email", "client@example.com"), ("role", "client")],
        )
        .await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("Invitation sent to client@example.com"));
    let mails = t.outbox();
    let mail = mails.last().expect("an invitation email in the outbox");
    assert!(mail.contains("To: client@example.com"));
    assert!(mail.contains("invited you to Agency"));
    let path = t.last_email_link(&format!("{BASE}/invites/"));

    let mut newcomer = t.client();
    let page = newcomer.get(&path).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Join Agency"));
    let weak = newcomer
        .post(&path, &[("name", "Cli Ent"), ("password", "short")])
        .await;
    weak.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("at least 10 characters"));
    let ok = newcomer
        .post(
            &path,
            &[("name", "Cli Ent"), ("password", "a good long password")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let dash = newcomer.get("/dashboard").await;
    assert!(dash.body.contains("Agency"));
    assert!(dash.body.contains("client"));

    let mut someone = t.client();
    let used = someone.get(&path).await;
    used.assert_status(StatusCode::GONE);
    assert!(used.body.contains("not valid any more"));
}

#[tokio::test]
async fn an_expired_invitation_is_refused() {
    let t = TestApp::new().await;
    let mut owner = t.sign_up("o2@example.com", "Org Two").await;
    owner.get("/settings").await;
    owner
        .post(
            "/settings/invites",
            &[("email", "late@example.com"), ("role", "member")],
        )
        .await;
    let path = t.last_email_link(&format!("{BASE}/invites/"));
    {
        let mut c = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        diesel::sql_query("UPDATE invitations SET expires_at = now() - interval '1 minute'")
            .execute(&mut c)
            .await
            .expect("expire");
    }
    let mut c = t.client();
    c.get(&path).await.assert_status(StatusCode::GONE);
    c.get("/login").await;
    let r = c
        .post(
            &path,
            &[("name", "Late"), ("password", "a good long password")],
        )
        .await;
    r.assert_status(StatusCode::GONE);
    assert!(r.body.contains("expired, was used or was revoked"));
}

#[tokio::test]
async fn roles_change_and_the_last_owner_stays() {
    let t = TestApp::new().await;
    let mut owner = t.sign_up("boss@example.com", "Shop").await;
    let mut member = t.sign_up("m@example.com", "Elsewhere").await;
    owner.get("/settings").await;
    owner
        .post(
            "/settings/invites",
            &[("email", "m@example.com"), ("role", "member")],
        )
        .await;
    let path = t.last_email_link(&format!("{BASE}/invites/"));
    member.get(&path).await;
    member.post(&path, &[]).await;
    let settings = owner.get("/settings").await;
    assert!(settings.body.contains("m@example.com"));
    let owner_id = {
        use adpilot::db::schema::users;
        use diesel::QueryDsl;
        let mut c = t.db().conn().await.expect("conn");
        let ids: Vec<(uuid::Uuid, String)> = users::table
            .select((users::id, users::email))
            .load(&mut c)
            .await
            .expect("users");
        ids
    };
    let m_id = owner_id
        .iter()
        .find(|(_, e)| e == "m@example.com")
        .map(|(i, _)| *i)
        .expect("member");
    let r = owner
        .post(
            &format!("/settings/members/{m_id}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = owner.get("/settings").await;
    assert!(page.body.contains("Role changed."));
    let me = owner_id
        .iter()
        .find(|(_, e)| e == "boss@example.com")
        .map(|(i, _)| *i)
        .expect("owner");
    // The member (now admin) cannot demote the only owner.
    member.get("/settings").await;
    let r = member
        .post(
            &format!("/settings/members/{me}/role"),
            &[("role", "member")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = member.get("/settings").await;
    assert!(
        page.body
            .contains("Only owners can change admins and owners."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn sign_up_is_rate_limited_per_address_with_a_retry_time() {
    let t = TestApp::new().await;
    // Ten sign-ups from one address go through (the burst); the eleventh is refused.
    for i in 0..10 {
        t.sign_up(&format!("user{i}@example.com"), &format!("Org {i}"))
            .await;
    }
    let mut c = t.client();
    c.get("/signup").await.assert_status(StatusCode::OK);
    let r = c
        .post(
            "/signup",
            &[
                ("name", "Eleven"),
                ("email", "eleven@example.com"),
                ("password", "a good long password"),
                ("org_name", "Eleven"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    r.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.body.contains("Too many attempts. Try again in"),
        "{}",
        r.body
    );
    assert!(r.headers.get("retry-after").is_some());
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM users WHERE email = 'eleven@example.com'"
        )
        .await,
        0,
        "no account made"
    );
}

/// The session clock is the stored times: a session unused for longer than the idle timeout
/// (12 hours by default) or older than its absolute lifetime (30 days) ends; use within the
/// idle timeout keeps it going.
#[tokio::test]
async fn sessions_end_after_the_idle_and_the_absolute_timeouts() {
    let t = TestApp::new().await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    let sessions = "SELECT count(*) AS n FROM sessions";
    assert_eq!(count(&t, sessions).await, 1);
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM sessions WHERE expires_at BETWEEN now() + interval '29 days 23 hours' AND now() + interval '30 days'"
        )
        .await,
        1,
        "the absolute lifetime is set at login"
    );
    // Just inside the idle timeout: still logged in, and the use moves the idle clock on.
    admin_exec(
        &t,
        "UPDATE sessions SET last_seen_at = now() - interval '11 hours 50 minutes'",
    )
    .await;
    c.get("/dashboard").await.assert_status(StatusCode::OK);
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM sessions WHERE last_seen_at > now() - interval '1 minute'"
        )
        .await,
        1
    );
    // Idle for longer than 12 hours: logged out, the session deleted.
    admin_exec(
        &t,
        "UPDATE sessions SET last_seen_at = now() - interval '12 hours 1 minute'",
    )
    .await;
    let r = c.get("/dashboard").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/login"));
    assert_eq!(count(&t, sessions).await, 0);

    // Active all along but past the absolute lifetime: logged out too.
    let mut c = t.client();
    c.get("/login").await;
    c.post(
        "/login",
        &[
            ("email", "ann@example.com"),
            ("password", "a good long password"),
        ],
    )
    .await;
    c.get("/dashboard").await.assert_status(StatusCode::OK);
    admin_exec(
        &t,
        "UPDATE sessions SET expires_at = now() - interval '1 second', last_seen_at = now()",
    )
    .await;
    let r = c.get("/dashboard").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/login"));
    assert_eq!(count(&t, sessions).await, 0);
}

/// The outbox is read back in the order the emails were sent, however close together: tests
/// that follow "the newest email's link" (invitations, resets) rely on it.
#[tokio::test]
async fn the_outbox_keeps_emails_in_the_order_they_were_sent() {
    let t = TestApp::new().await;
    for i in 0..30 {
        t.app
            .mailer
            .send(&adpilot::mailer::Email {
                to: "ann@example.com".into(),
                subject: format!("number {i:02}"),
                text: format!("body {i:02}"),
                html: None,
                headers: Vec::new(),
            })
            .await
            .expect("send");
    }
    let subjects: Vec<String> = t
        .outbox()
        .iter()
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .map(str::to_string)
        })
        .collect();
    let sent: Vec<String> = (0..30).map(|i| format!("number {i:02}")).collect();
    assert_eq!(subjects, sent);
}
