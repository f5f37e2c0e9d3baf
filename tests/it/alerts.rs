//! Alerts with sandbox data: pacing and anomalies fire once and resolve; webhooks refuse private
//! addresses and carry a signature the receiver can verify.

use adpilot::reports::alerts;
use adpilot::sandbox::SandboxConfig;
use axum::http::StatusCode;
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::connections::connect;
use crate::support::*;

async fn synced(extra: &[&str]) -> (adpilot::sandbox::SandboxHandle, TestApp, Client, uuid::Uuid) {
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    })
    .await;
    let mut t = TestApp::build(extra, Some(&sb)).await;
    let _ = &mut t;
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

#[tokio::test]
async fn budget_pacing_fires_once_and_resolves_when_the_budget_is_raised() {
    let (_sb, t, mut c, org) = synced(&[]).await;
    let page = c.get("/alerts").await;
    let account = page
        .body
        .split("name=\"account_id\"><option value=\"")
        .nth(1)
        .map(|s| s[..36].to_string())
        .expect("an account to pick");
    let bad = c
        .post(
            "/alerts/budgets",
            &[
                ("account_id", &account),
                ("budget", "-5"),
                ("percent", "80"),
            ],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("above zero"));
    c.post(
        "/alerts/budgets",
        &[("account_id", &account), ("budget", "1"), ("percent", "80")],
    )
    .await;
    let first = alerts::evaluate(&t.app, org).await.expect("evaluate");
    let pacing = count(
        &t,
        "SELECT count(*) AS n FROM alerts WHERE kind = 'budget_pacing' AND state = 'open'",
    )
    .await;
    assert_eq!(pacing, 1);
    assert!(!first.raised.is_empty());
    let second = alerts::evaluate(&t.app, org).await.expect("evaluate again");
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM alerts WHERE kind = 'budget_pacing'"
        )
        .await,
        1,
        "raised once per incident"
    );
    assert!(
        second.raised.is_empty(),
        "a second check raises nothing: {:?}",
        second.raised
    );
    let page = c.get("/alerts").await;
    assert!(
        page.body.contains("of its monthly budget of 1.00 USD")
            || page.body.contains("of its monthly budget of 1.00 EUR")
            || page.body.contains("monthly budget of 1 JPY"),
        "{}",
        page.body
    );
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    diesel::sql_query("UPDATE budget_targets SET monthly_budget_micros = 1000000000000000")
        .execute(&mut admin)
        .await
        .expect("raise");
    alerts::evaluate(&t.app, org).await.expect("evaluate");
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM alerts WHERE kind = 'budget_pacing' AND state = 'resolved'"
        )
        .await,
        1,
        "resolved when the condition cleared"
    );
}

#[tokio::test]
async fn a_spend_spike_against_the_same_weekday_history_raises_an_anomaly_that_resolves() {
    let (_sb, t, _c, org) = synced(&[]).await;
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        campaign_id: uuid::Uuid,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        spend_micros: i64,
    }
    let row: Row = diesel::sql_query(
        "SELECT m.campaign_id, m.spend_micros FROM metrics_daily m JOIN ad_accounts a ON a.id = m.account_id
         WHERE m.date = (now() AT TIME ZONE a.time_zone)::date AND m.spend_micros > 0 ORDER BY m.spend_micros DESC LIMIT 1",
    )
    .get_result(&mut admin)
    .await
    .expect("a campaign that spent today");
    diesel::sql_query("UPDATE metrics_daily SET spend_micros = spend_micros * 50 + 500000000 WHERE campaign_id = $1 AND date = (SELECT (now() AT TIME ZONE a.time_zone)::date FROM ad_accounts a JOIN campaigns c ON c.account_id = a.id WHERE c.id = $1)")
        .bind::<diesel::sql_types::Uuid, _>(row.campaign_id)
        .execute(&mut admin)
        .await
        .expect("spike");
    // Right after the first sync the baseline is not real yet: nothing is raised.
    alerts::evaluate(&t.app, org).await.expect("evaluate");
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM alerts WHERE kind = 'anomaly'"
        )
        .await,
        0,
        "the first sync raises no anomaly"
    );
    // A week of syncing later it is.
    diesel::sql_query("UPDATE account_sync SET first_success_at = now() - interval '8 days'")
        .execute(&mut admin)
        .await
        .expect("observed for eight days");
    alerts::evaluate(&t.app, org).await.expect("evaluate");
    let key = format!("{}:spend", row.campaign_id);
    let open = format!(
        "SELECT count(*) AS n FROM alerts WHERE kind = 'anomaly' AND subject_key = '{key}' AND state = 'open'"
    );
    assert_eq!(count(&t, &open).await, 1, "the spike raised an anomaly");
    alerts::evaluate(&t.app, org).await.expect("evaluate");
    assert_eq!(
        count(
            &t,
            &format!("SELECT count(*) AS n FROM alerts WHERE subject_key = '{key}'")
        )
        .await,
        1,
        "once per incident"
    );
    diesel::sql_query("UPDATE metrics_daily SET spend_micros = $2 WHERE campaign_id = $1 AND date = (SELECT (now() AT TIME ZONE a.time_zone)::date FROM ad_accounts a JOIN campaigns c ON c.account_id = a.id WHERE c.id = $1)")
        .bind::<diesel::sql_types::Uuid, _>(row.campaign_id)
        .bind::<diesel::sql_types::BigInt, _>(row.spend_micros)
        .execute(&mut admin)
        .await
        .expect("restore");
    alerts::evaluate(&t.app, org).await.expect("evaluate");
    assert_eq!(
        count(&t, &open).await,
        0,
        "resolved once spend is back to normal"
    );
}

#[tokio::test]
async fn webhooks_to_private_addresses_are_refused_with_a_clear_message() {
    let (_sb, _t, mut c, _org) = synced(&[]).await;
    c.get("/alerts").await;
    let r = c
        .post(
            "/alerts/channels",
            &[("kind", "slack"), ("target", "http://127.0.0.1:9/hook")],
        )
        .await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("private or internal address"), "{}", r.body);
    let r = c
        .post(
            "/alerts/channels",
            &[("kind", "webhook"), ("target", "ftp://example.com/x")],
        )
        .await;
    assert!(r.body.contains("http or https"));
    let r = c
        .post(
            "/alerts/channels",
            &[("kind", "email"), ("target", "not an email")],
        )
        .await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn alerts_are_delivered_by_email_and_signed_webhooks() {
    let receiver = HookReceiver::start().await;
    let addr = receiver.address();
    let (_sb, t, mut c, org) = synced(&["--webhooks-allow-private"]).await;
    c.get("/alerts").await;
    let url = format!("http://{addr}/hook");
    c.post("/alerts/channels", &[("kind", "webhook"), ("target", &url)])
        .await;
    c.post(
        "/alerts/channels",
        &[("kind", "email"), ("target", "ops@example.com")],
    )
    .await;
    let page = c.get("/alerts").await;
    let account = page
        .body
        .split("name=\"account_id\"><option value=\"")
        .nth(1)
        .map(|s| s[..36].to_string())
        .expect("account");
    c.post(
        "/alerts/budgets",
        &[("account_id", &account), ("budget", "1"), ("percent", "50")],
    )
    .await;
    let report = alerts::evaluate(&t.app, org).await.expect("evaluate");
    for id in &report.raised {
        alerts::deliver(&t.app, org, *id).await.expect("deliver");
    }
    let got = receiver.signed_calls().await;
    assert!(!got.is_empty(), "the webhook received the alert");
    let secret = page_secret(&c.get("/alerts").await.body);
    let (sig, body) = &got[0];
    let (t_part, v1) = sig.split_once(",v1=").expect("signature format");
    let ts = t_part.trim_start_matches("t=");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{ts}.{body}").as_bytes());
    assert_eq!(
        hex::encode(mac.finalize().into_bytes()),
        v1,
        "the receiver can verify the signature"
    );
    assert!(body.contains("\"type\":\"alert\""));
    assert!(
        t.outbox()
            .iter()
            .any(|m| m.contains("To: ops@example.com") && m.contains("adpilot alert"))
    );
}

/// Each call to `/hook` as (its path, its Host header).
async fn hook_calls(server: &MockServer) -> Vec<(String, String)> {
    calls_with_header(server, "/hook", "host")
        .await
        .into_iter()
        .map(|(host, _)| ("/hook".to_string(), host))
        .collect()
}

fn page_secret(html: &str) -> String {
    let start = html.find("id=\"secret-").expect("secret shown to admins");
    let rest = &html[start..];
    let open = rest.find('>').expect(">") + 1;
    let close = rest[open..].find('<').expect("<") + open;
    rest[open..close].to_string()
}

/// A webhook call goes to the address that was checked, whatever the name resolves to at call
/// time (here a name that resolves to nothing), and a redirect is an error, not followed.
#[tokio::test]
async fn webhook_calls_are_pinned_to_the_checked_address_and_never_follow_redirects() {
    use adpilot::reports::webhooks::{self, CheckedUrl, WebhookError};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/moved"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", "/hook"))
        .mount(&server)
        .await;
    let addr = *server.address();
    let body = serde_json::json!({"type": "test"});
    // `.invalid` never resolves (RFC 2606): only the pinned address can be reached.
    let name = format!("hooks.adpilot.invalid:{}", addr.port());
    assert!(
        webhooks::check_url(&format!("http://{name}/hook"), true)
            .await
            .is_err(),
        "the name does not resolve"
    );
    let pinned = CheckedUrl {
        url: url::Url::parse(&format!("http://{name}/hook")).expect("url"),
        addr,
    };
    webhooks::send(&pinned, "secret", &body)
        .await
        .expect("delivered to the pinned address");
    assert_eq!(
        hook_calls(&server).await,
        vec![("/hook".to_string(), name.clone())],
        "one call, with the URL's host name"
    );
    let moved = CheckedUrl {
        url: url::Url::parse(&format!("http://{name}/moved")).expect("url"),
        addr,
    };
    let refused = webhooks::send(&moved, "secret", &body).await;
    assert!(
        matches!(refused, Err(WebhookError::Redirect)),
        "{refused:?}"
    );
    assert_eq!(
        hook_calls(&server).await.len(),
        1,
        "the redirect was not followed"
    );
    // And a name resolving to a private address is refused at the check.
    let private =
        webhooks::check_url(&format!("http://localhost:{}/hook", addr.port()), false).await;
    assert!(
        matches!(private, Err(WebhookError::Private { .. })),
        "{private:?}"
    );
}

/// The other three kinds: a connection needing reconnecting (a revoked grant found by the
/// token refresh), a sync failing for more than an hour, and a failed platform change. Each is
/// raised once however often the check runs, and resolved when its condition clears.
#[tokio::test]
async fn reconnect_sync_and_failed_change_alerts_are_raised_once_and_resolve() {
    let (sb, t, _c, org) = synced(&[]).await;
    sb.revoke_tokens(adpilot::types::Platform::Google);
    sb.expire_tokens(adpilot::types::Platform::Google);
    admin_exec(&t, "UPDATE connections SET token_expires_at = now()").await;
    let outcomes = adpilot::connections::jobs::refresh_org_now(&t.app, org)
        .await
        .expect("refresh");
    assert_eq!(
        outcomes,
        vec![adpilot::connections::service::RefreshOutcome::NeedsReconnect]
    );
    // A sync failing since two hours ago, and one failing for only a minute (not yet alerted).
    admin_exec(
        &t,
        "UPDATE account_sync SET failing_since = now() - interval '2 hours', last_error = 'the platform said no' \
         WHERE account_id = (SELECT account_id FROM account_sync ORDER BY account_id LIMIT 1)",
    )
    .await;
    admin_exec(
        &t,
        "UPDATE account_sync SET failing_since = now() - interval '1 minute', last_error = 'a blip' \
         WHERE account_id = (SELECT account_id FROM account_sync ORDER BY account_id DESC LIMIT 1)",
    )
    .await;
    admin_exec(
        &t,
        "INSERT INTO platform_actions (id, org_id, campaign_id, kind, source, intent_key, state, message, attempts) \
         SELECT gen_random_uuid(), org_id, id, 'pause', 'user', 'test-failed-pause', 'failed', 'the platform refused', 1 \
         FROM campaigns ORDER BY name LIMIT 1",
    )
    .await;
    let kinds = "SELECT count(*) AS n FROM alerts WHERE kind IN ('needs_reconnect', 'sync_failing', 'action_failed')";
    alerts::evaluate(&t.app, org).await.expect("evaluate");
    for kind in ["needs_reconnect", "sync_failing", "action_failed"] {
        assert_eq!(
            count(
                &t,
                &format!(
                    "SELECT count(*) AS n FROM alerts WHERE kind = '{kind}' AND state = 'open'"
                )
            )
            .await,
            1,
            "{kind} raised"
        );
    }
    let second = alerts::evaluate(&t.app, org).await.expect("evaluate again");
    assert!(second.raised.is_empty(), "{second:?}");
    assert_eq!(count(&t, kinds).await, 3, "once per incident");

    // The conditions clear: reconnected, syncing again, the change succeeded on a retry.
    admin_exec(&t, "UPDATE connections SET status = 'healthy'").await;
    admin_exec(
        &t,
        "UPDATE account_sync SET failing_since = NULL, last_error = NULL",
    )
    .await;
    admin_exec(
        &t,
        "INSERT INTO platform_actions (id, org_id, campaign_id, kind, source, intent_key, state, attempts, created_at) \
         SELECT gen_random_uuid(), org_id, campaign_id, 'pause', 'user', 'test-retried-pause', 'succeeded', 1, now() + interval '1 second' \
         FROM platform_actions WHERE intent_key = 'test-failed-pause'",
    )
    .await;
    let third = alerts::evaluate(&t.app, org).await.expect("evaluate");
    assert!(third.raised.is_empty(), "{third:?}");
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM alerts WHERE kind IN ('needs_reconnect', 'sync_failing', 'action_failed') AND state = 'resolved'"
        )
        .await,
        3,
        "each resolved"
    );
}
