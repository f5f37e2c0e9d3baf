//! Billing: signed Stripe webhooks (valid, tampered, wrong secret, stale, duplicate, out of
//! order, both invoice shapes), Checkout and the customer portal against a local server that
//! speaks Stripe's shapes, plan limits as users meet them, and self-hosting without Stripe.

use axum::http::{Method, StatusCode};
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const SECRET: &str = "whsec_test_secret";

const PLANS: &str = r#"{
  "free_plan": "free",
  "plans": [
    {"id": "free", "name": "Free", "stripe_price_id": null,
     "limits": {"ad_accounts": 1, "live_rules": 1, "members": 1, "report_schedules": 1, "ai_tokens_per_month": 1000}},
    {"id": "starter", "name": "Starter", "stripe_price_id": "price_starter",
     "limits": {"ad_accounts": 5, "live_rules": 5, "members": 3, "report_schedules": 3, "ai_tokens_per_month": 100000}},
    {"id": "pro", "name": "Pro", "stripe_price_id": "price_pro",
     "limits": {"ad_accounts": null, "live_rules": null, "members": null, "report_schedules": null, "ai_tokens_per_month": null}}
  ]
}"#;

/// One request the fake Stripe received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    path: String,
    authorization: Option<String>,
    idempotency_key: Option<String>,
    form: Vec<(String, String)>,
}

impl Seen {
    fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A local server answering /v1/checkout/sessions and /v1/billing_portal/sessions as Stripe
/// does; it records every request.
pub(crate) struct FakeStripe(MockServer);

impl FakeStripe {
    async fn start() -> FakeStripe {
        let server = MockServer::start().await;
        let checkout = json!({
            "id": "cs_test_1", "object": "checkout.session",
            "url": "https://checkout.stripe.com/c/pay/cs_test_1",
            "mode": "subscription", "status": "open", "payment_status": "unpaid",
            "customer": null, "subscription": null
        });
        let portal = json!({
            "id": "bps_1", "object": "billing_portal.session",
            "url": "https://billing.stripe.com/p/session/test_1"
        });
        for (at, answer) in [
            ("/v1/checkout/sessions", checkout),
            ("/v1/billing_portal/sessions", portal),
        ] {
            Mock::given(method("POST"))
                .and(path(at))
                .respond_with(ResponseTemplate::new(200).set_body_json(answer))
                .mount(&server)
                .await;
        }
        FakeStripe(server)
    }

    fn url(&self) -> String {
        self.0.uri()
    }

    /// Every request received, oldest first.
    pub(crate) async fn seen(&self) -> Vec<Seen> {
        self.0
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let h = |n: &str| {
                    r.headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                Seen {
                    path: r.url.path().to_string(),
                    authorization: h("authorization"),
                    idempotency_key: h("idempotency-key"),
                    form: url::form_urlencoded::parse(&r.body).into_owned().collect(),
                }
            })
            .collect()
    }
}

pub(crate) struct Billed {
    pub(crate) t: TestApp,
    pub(crate) stripe: FakeStripe,
    _plans: tempdir::TempDir,
}

pub(crate) async fn billed_app(sandbox: Option<&adpilot::sandbox::SandboxHandle>) -> Billed {
    billed_app_with(sandbox, &[]).await
}

async fn billed_app_with(
    sandbox: Option<&adpilot::sandbox::SandboxHandle>,
    extra: &[&str],
) -> Billed {
    let stripe = FakeStripe::start().await;
    let url = stripe.url();
    let dir = tempdir::TempDir::new();
    let plans = dir.path().join("plans.json");
    std::fs::write(&plans, PLANS).expect("plans file");
    let plans = plans.to_string_lossy().to_string();
    let mut args = vec![
        "--stripe-secret-key",
        "sk_test_123",
        "--stripe-webhook-secret",
        SECRET,
        "--stripe-api-url",
        &url,
        "--plans-file",
        &plans,
    ];
    args.extend_from_slice(extra);
    let t = TestApp::build(&args, sandbox).await;
    Billed {
        t,
        stripe,
        _plans: dir,
    }
}

/// The Stripe-Signature header, computed as Stripe does: HMAC-SHA256 of "t.body" with the
/// endpoint secret, hex, as v1.
fn stripe_signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn event(id: &str, kind: &str, created: i64, object: Value) -> String {
    json!({
        "id": id, "object": "event", "api_version": "2025-03-31.basil",
        "created": created, "type": kind, "livemode": false,
        "data": {"object": object, "previous_attributes": {}}
    })
    .to_string()
}

async fn deliver(t: &TestApp, body: &str, signature: &str) -> Resp {
    let mut c = t.client();
    c.origin = None;
    c.request(
        Method::POST,
        "/webhooks/stripe",
        Some(body.to_string()),
        &[("stripe-signature", signature)],
    )
    .await
}

async fn deliver_signed(t: &TestApp, body: &str) -> Resp {
    deliver(t, body, &stripe_signature(SECRET, now(), body)).await
}

fn checkout_completed(org: Uuid, plan: &str) -> Value {
    json!({
        "id": "cs_test_1", "object": "checkout.session", "mode": "subscription",
        "payment_status": "paid", "status": "complete",
        "customer": "cus_1", "subscription": "sub_1",
        "client_reference_id": org.to_string(),
        "metadata": {"org_id": org.to_string(), "plan": plan}
    })
}

fn subscription(status: &str, price: &str) -> Value {
    json!({
        "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": status,
        "cancel_at_period_end": false, "metadata": {},
        "items": {"data": [{"price": {"id": price}, "current_period_end": 1_900_000_000}]}
    })
}

#[derive(Debug, diesel::QueryableByName, PartialEq)]
struct State {
    #[diesel(sql_type = Text)]
    plan: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    stripe_customer_id: Option<String>,
}

async fn state(t: &TestApp) -> Option<State> {
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    diesel::sql_query("SELECT plan, status, stripe_customer_id FROM billing_accounts")
        .get_result(&mut c)
        .await
        .ok()
}

async fn plan_status(t: &TestApp) -> (String, String) {
    let s = state(t).await.expect("a billing row");
    (s.plan, s.status)
}

#[tokio::test]
async fn a_signed_checkout_completion_activates_the_plan_and_stores_the_customer() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    let body = event(
        "evt_1",
        "checkout.session.completed",
        now(),
        checkout_completed(org, "starter"),
    );
    let r = deliver_signed(&b.t, &body).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(
        state(&b.t).await,
        Some(State {
            plan: "starter".into(),
            status: "active".into(),
            stripe_customer_id: Some("cus_1".into())
        })
    );
    let page = owner.get("/billing").await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Plan: Starter"), "{}", page.body);
    assert!(page.body.contains("Active"));
}

#[tokio::test]
async fn tampered_body_wrong_secret_and_stale_timestamp_are_refused() {
    let b = billed_app(None).await;
    b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    let body = event(
        "evt_1",
        "checkout.session.completed",
        now(),
        checkout_completed(org, "pro"),
    );
    let good = stripe_signature(SECRET, now(), &body);

    let tampered = body.replace("\"pro\"", "\"starter\"");
    let r = deliver(&b.t, &tampered, &good).await;
    r.assert_status(StatusCode::BAD_REQUEST);
    assert!(r.body.contains("no matching signature"), "{}", r.body);

    let wrong = stripe_signature("whsec_someone_else", now(), &body);
    deliver(&b.t, &body, &wrong)
        .await
        .assert_status(StatusCode::BAD_REQUEST);

    let stale = stripe_signature(SECRET, now() - 301, &body);
    let r = deliver(&b.t, &body, &stale).await;
    r.assert_status(StatusCode::BAD_REQUEST);
    assert!(r.body.contains("tolerance"), "{}", r.body);

    deliver(&b.t, &body, "garbage")
        .await
        .assert_status(StatusCode::BAD_REQUEST);

    assert_eq!(state(&b.t).await, None, "nothing applied");
    assert_eq!(
        count(&b.t, "SELECT count(*) AS n FROM stripe_events").await,
        0
    );

    // Another v1 next to the right one (as during a secret roll) still verifies.
    let t = now();
    let rolled = format!(
        "t={t},v1={},{}",
        "ab".repeat(32),
        &stripe_signature(SECRET, t, &body)[format!("t={t},").len()..]
    );
    deliver(&b.t, &body, &rolled)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(plan_status(&b.t).await.0, "pro");
}

#[tokio::test]
async fn a_duplicate_delivery_is_applied_once() {
    let b = billed_app(None).await;
    b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    let t0 = now() - 100;
    let activated = event(
        "evt_1",
        "checkout.session.completed",
        t0,
        checkout_completed(org, "starter"),
    );
    let r = deliver_signed(&b.t, &activated).await;
    assert!(r.body.contains("applied"), "{}", r.body);
    let failed = event(
        "evt_2",
        "customer.subscription.updated",
        t0 + 10,
        subscription("past_due", "price_starter"),
    );
    deliver_signed(&b.t, &failed)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(plan_status(&b.t).await.1, "past_due");

    // Stripe delivers evt_1 again: it must not undo the newer state, and is stored once.
    let again = deliver_signed(&b.t, &activated).await;
    again.assert_status(StatusCode::OK);
    assert!(again.body.contains("duplicate"), "{}", again.body);
    assert_eq!(plan_status(&b.t).await.1, "past_due");
    assert_eq!(
        count(
            &b.t,
            "SELECT count(*) AS n FROM stripe_events WHERE event_id = 'evt_1'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_older_event_arriving_late_does_not_override_a_newer_one() {
    let b = billed_app(None).await;
    b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    let t0 = now() - 1000;
    deliver_signed(
        &b.t,
        &event(
            "evt_1",
            "checkout.session.completed",
            t0,
            checkout_completed(org, "starter"),
        ),
    )
    .await
    .assert_status(StatusCode::OK);
    // Newer: upgraded to pro and canceled; older (sent later): still starter and active.
    deliver_signed(
        &b.t,
        &event(
            "evt_3",
            "customer.subscription.deleted",
            t0 + 300,
            subscription("canceled", "price_pro"),
        ),
    )
    .await
    .assert_status(StatusCode::OK);
    let late = deliver_signed(
        &b.t,
        &event(
            "evt_2",
            "customer.subscription.updated",
            t0 + 200,
            subscription("active", "price_starter"),
        ),
    )
    .await;
    late.assert_status(StatusCode::OK);
    assert!(late.body.contains("older"), "{}", late.body);
    assert_eq!(plan_status(&b.t).await, ("pro".into(), "canceled".into()));
    assert_eq!(
        count(&b.t, "SELECT count(*) AS n FROM stripe_events").await,
        3,
        "the late event is recorded, so a redelivery is a duplicate"
    );
}

#[tokio::test]
async fn failed_and_paid_invoices_of_both_shapes_drive_past_due_and_its_banner() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    let t0 = now() - 1000;
    deliver_signed(
        &b.t,
        &event(
            "evt_1",
            "checkout.session.completed",
            t0,
            checkout_completed(org, "starter"),
        ),
    )
    .await
    .assert_status(StatusCode::OK);
    let dash = owner.get("/dashboard").await;
    assert!(!dash.body.contains("A payment failed"));
    // A member (not an owner) joins, to see the banner too.
    owner.get("/settings").await;
    owner
        .post(
            "/settings/invites",
            &[("email", "member@example.com"), ("role", "member")],
        )
        .await
        .assert_status(StatusCode::OK);
    let path = b.t.last_email_link(&format!("{BASE}/invites/"));
    let mut member = b.t.client();
    member.get(&path).await.assert_status(StatusCode::OK);
    let joined = member
        .post(
            &path,
            &[("name", "Mem Ber"), ("password", "a good long password")],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);

    // basil shape: the subscription under parent.subscription_details.
    let failed = json!({
        "id": "in_1", "object": "invoice", "customer": "cus_1", "attempt_count": 1,
        "next_payment_attempt": 1_900_000_000,
        "parent": {"type": "subscription_details",
                   "subscription_details": {"subscription": "sub_1", "metadata": {}}}
    });
    deliver_signed(
        &b.t,
        &event("evt_2", "invoice.payment_failed", t0 + 10, failed),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(plan_status(&b.t).await.1, "past_due");
    let dash = owner.get("/dashboard").await;
    assert!(dash.body.contains("A payment failed"), "{}", dash.body);
    assert!(dash.body.contains("href=\"/billing\""));
    let seen_by_member = member.get("/dashboard").await;
    assert!(seen_by_member.body.contains("A payment failed"));
    assert!(seen_by_member.body.contains("An owner can update the card"));
    member
        .get("/billing")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let page = owner.get("/billing").await;
    assert!(page.body.contains("Payment overdue"));
    assert!(page.body.contains("Plan: Starter"), "grace keeps the plan");

    // Older shape: `subscription` on the invoice itself.
    let paid = json!({"id": "in_1", "object": "invoice", "customer": "cus_1",
                      "subscription": "sub_1", "status": "paid"});
    deliver_signed(&b.t, &event("evt_3", "invoice.paid", t0 + 20, paid))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(plan_status(&b.t).await.1, "active");
    let dash = owner.get("/dashboard").await;
    assert!(!dash.body.contains("A payment failed"));
}

#[tokio::test]
async fn overdue_past_the_grace_period_falls_back_to_free_limits() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    deliver_signed(
        &b.t,
        &event(
            "evt_1",
            "checkout.session.completed",
            now() - 100,
            checkout_completed(org, "starter"),
        ),
    )
    .await
    .assert_status(StatusCode::OK);
    let mut c = adpilot::db::connect_one(&b.t.db.admin_url)
        .await
        .expect("admin");
    diesel::sql_query(
        "UPDATE billing_accounts SET status = 'past_due', past_due_since = now() - interval '8 days'",
    )
    .execute(&mut c)
    .await
    .expect("age");
    let dash = owner.get("/dashboard").await;
    assert!(dash.body.contains("Payment is overdue"), "{}", dash.body);
    let page = owner.get("/billing").await;
    assert!(page.body.contains("Plan: Free"), "{}", page.body);
}

#[tokio::test]
async fn checkout_sends_stripe_the_subscription_form_with_an_idempotency_key() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    let page = owner.get("/billing").await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Plan: Free"));
    assert!(
        page.body.contains("aria-current=\"page\">Billing</a>"),
        "in the menu"
    );
    assert!(page.body.contains("Choose Starter"));
    let r = owner
        .post("/billing/checkout", &[("plan", "starter")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location(),
        Some("https://checkout.stripe.com/c/pay/cs_test_1")
    );
    let seen = b.stripe.seen().await;
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.path, "/v1/checkout/sessions");
    assert_eq!(s.authorization.as_deref(), Some("Bearer sk_test_123"));
    assert!(s.idempotency_key.as_deref().is_some_and(|k| k.len() >= 16));
    let org_s = org.to_string();
    assert_eq!(s.field("mode"), Some("subscription"));
    assert_eq!(s.field("line_items[0][price]"), Some("price_starter"));
    assert_eq!(s.field("line_items[0][quantity]"), Some("1"));
    assert_eq!(s.field("client_reference_id"), Some(org_s.as_str()));
    assert_eq!(s.field("metadata[org_id]"), Some(org_s.as_str()));
    assert_eq!(
        s.field("subscription_data[metadata][org_id]"),
        Some(org_s.as_str())
    );
    assert_eq!(s.field("customer_email"), Some("owner@example.com"));
    assert_eq!(
        s.field("success_url"),
        Some(
            format!("{BASE}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}").as_str()
        )
    );
    assert_eq!(
        s.field("cancel_url"),
        Some(format!("{BASE}/billing?checkout=canceled").as_str())
    );

    // A double click sends the same key, so Stripe returns the same session.
    owner.get("/billing").await;
    owner
        .post("/billing/checkout", &[("plan", "starter")])
        .await;
    let seen = b.stripe.seen().await;
    assert_eq!(seen[1].idempotency_key, seen[0].idempotency_key);

    // A plan that cannot be bought is refused without calling Stripe.
    owner.get("/billing").await;
    let r = owner.post("/billing/checkout", &[("plan", "free")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(b.stripe.seen().await.len(), 2);
}

#[tokio::test]
async fn the_portal_opens_for_an_organization_with_a_stripe_customer() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    owner.get("/billing").await;
    let r = owner.post("/billing/portal", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/billing"));
    assert!(
        owner
            .get("/billing")
            .await
            .body
            .contains("choose a plan first")
    );
    assert!(b.stripe.seen().await.is_empty());

    deliver_signed(
        &b.t,
        &event(
            "evt_1",
            "checkout.session.completed",
            now(),
            checkout_completed(org, "starter"),
        ),
    )
    .await
    .assert_status(StatusCode::OK);
    let page = owner.get("/billing").await;
    assert!(page.body.contains("Manage card and plan"));
    let r = owner.post("/billing/portal", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location(),
        Some("https://billing.stripe.com/p/session/test_1")
    );
    let seen = b.stripe.seen().await;
    assert_eq!(seen[0].path, "/v1/billing_portal/sessions");
    assert_eq!(seen[0].field("customer"), Some("cus_1"));
    assert_eq!(
        seen[0].field("return_url"),
        Some(format!("{BASE}/billing").as_str())
    );
    assert!(seen[0].idempotency_key.is_some());
}

#[tokio::test]
async fn the_member_limit_refuses_an_invitation_with_a_message_naming_it() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    owner.get("/settings").await;
    let r = owner
        .post(
            "/settings/invites",
            &[("email", "second@example.com"), ("role", "member")],
        )
        .await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("The Free plan allows 1 member (pending invitations included)"),
        "{}",
        r.body
    );
    assert!(r.body.contains("href=\"/billing\""), "owners get the link");
    assert_eq!(
        count(&b.t, "SELECT count(*) AS n FROM invitations").await,
        0
    );

    // Once subscribed to Starter (3 seats), inviting works until the seats are taken,
    // pending invitations included.
    deliver_signed(
        &b.t,
        &event(
            "evt_1",
            "checkout.session.completed",
            now(),
            checkout_completed(org, "starter"),
        ),
    )
    .await
    .assert_status(StatusCode::OK);
    for email in ["a@example.com", "b@example.com"] {
        owner.get("/settings").await;
        let r = owner
            .post("/settings/invites", &[("email", email), ("role", "member")])
            .await;
        r.assert_status(StatusCode::OK);
    }
    owner.get("/settings").await;
    let r = owner
        .post(
            "/settings/invites",
            &[("email", "c@example.com"), ("role", "member")],
        )
        .await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("The Starter plan allows 3 members"));
}

#[tokio::test]
async fn the_ad_account_limit_refuses_choosing_more_accounts_than_the_plan_allows() {
    let sb = sandbox(adpilot::sandbox::SandboxConfig::default()).await;
    let b = billed_app(Some(&sb)).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    owner.get("/connections").await;
    let r = owner.post("/connections/google/start", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let back = consent(r.location().expect("to Google"), "approve").await;
    let r = owner.get(&back).await;
    let picker = r.location().expect("to the picker").to_string();
    let page = owner.get(&picker).await;
    let ids: Vec<String> = page
        .body
        .split("name=\"account\" value=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap_or(0)].to_string())
        .collect();
    assert!(ids.len() >= 2, "the sandbox offers several accounts");
    let all: Vec<(&str, &str)> = ids.iter().map(|i| ("account", i.as_str())).collect();
    let r = owner.post(&picker, &all).await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("The Free plan allows 1 connected ad account;"),
        "{}",
        r.body
    );
    assert_eq!(
        count(&b.t, "SELECT count(*) AS n FROM ad_accounts WHERE managed").await,
        0,
        "nothing saved"
    );
    let r = owner.post(&picker, &all[..1]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        count(&b.t, "SELECT count(*) AS n FROM ad_accounts WHERE managed").await,
        1
    );
}

#[tokio::test]
async fn without_stripe_there_are_no_billing_routes_and_nothing_is_limited() {
    let t = TestApp::new().await;
    let mut owner = t.sign_up("owner@example.com", "Acme").await;
    let dash = owner.get("/dashboard").await;
    assert!(!dash.body.contains(">Billing</a>"), "no menu entry");
    owner
        .get("/billing")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let body = event("evt_1", "invoice.paid", now(), json!({}));
    let r = deliver(&t, &body, &stripe_signature(SECRET, now(), &body)).await;
    r.assert_status(StatusCode::NOT_FOUND);
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        owner.get("/settings").await;
        owner
            .post("/settings/invites", &[("email", email), ("role", "member")])
            .await
            .assert_status(StatusCode::OK);
    }
    let org = org_of(&t).await;
    for l in adpilot::billing::Limit::ALL {
        adpilot::billing::enforce::check_adding(&t.app, org, l, 1_000_000)
            .await
            .expect("self-hosted is not limited");
    }
}

#[tokio::test]
async fn only_owners_see_the_billing_page() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    owner.get("/billing").await.assert_status(StatusCode::OK);
    let org = org_of(&b.t).await;
    // Make the owner an admin: the page is refused.
    let mut c = adpilot::db::connect_one(&b.t.db.admin_url)
        .await
        .expect("admin");
    diesel::sql_query("UPDATE memberships SET role = 'admin' WHERE org_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(org)
        .execute(&mut c)
        .await
        .expect("demote");
    owner
        .get("/billing")
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_subscription_before_its_checkout_finds_the_organization_from_its_metadata() {
    let b = billed_app(None).await;
    b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    let t0 = now() - 100;
    // Stripe often sends the subscription first; only its metadata names the organization.
    let mut sub = subscription("trialing", "price_pro");
    sub["metadata"] = json!({"org_id": org.to_string()});
    let r = deliver_signed(
        &b.t,
        &event("evt_1", "customer.subscription.created", t0, sub),
    )
    .await;
    assert!(r.body.contains("applied"), "{}", r.body);
    assert_eq!(plan_status(&b.t).await, ("pro".into(), "trialing".into()));

    // An event for a customer and organization adpilot does not know is acknowledged.
    let stranger = json!({"id": "in_9", "object": "invoice", "customer": "cus_other",
                          "subscription": "sub_other"});
    let r = deliver_signed(&b.t, &event("evt_2", "invoice.paid", t0 + 1, stranger)).await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("ignored"), "{}", r.body);
    // So is a type adpilot does not act on.
    let r = deliver_signed(
        &b.t,
        &event("evt_3", "customer.created", t0 + 2, json!({"id": "cus_1"})),
    )
    .await;
    assert!(r.body.contains("ignored"), "{}", r.body);
    assert_eq!(plan_status(&b.t).await, ("pro".into(), "trialing".into()));
}

#[tokio::test]
async fn the_report_schedule_limit_refuses_a_second_schedule_with_a_message() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let form = |name: &'static str| {
        [
            ("name", name),
            ("frequency", "daily"),
            ("weekday", ""),
            ("send_time", "09:00"),
            ("period", "yesterday"),
            ("platform", "all"),
            ("recipients", "owner@example.com"),
        ]
    };
    owner.get("/reports").await;
    let r = owner.post("/reports", &form("First")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    owner.get("/reports").await;
    let r = owner.post("/reports", &form("Second")).await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Free plan allows 1 report schedule"),
        "{}",
        r.body
    );
    assert_eq!(
        count(&b.t, "SELECT count(*) AS n FROM report_schedules").await,
        1
    );
}

#[tokio::test]
async fn the_ai_token_limit_stops_model_calls_with_a_message() {
    // A model that would answer: only the limit keeps it from being called.
    let (mock, base) = crate::ai::mock().await;
    mock.openai(
        200,
        crate::ai::openai_ok(
            &crate::ai::google_copy(&["Green Tea Delivered"], &["Calm energy in every cup."]),
            10,
            10,
        ),
    );
    let dir = tempdir::TempDir::new();
    let ai = dir.path().join("ai.toml");
    std::fs::write(
        &ai,
        format!(
            "[providers.openai]\nkind = \"openai\"\nbase_url = \"{base}/v1\"\napi_key = \"sk-test\"\n"
        ),
    )
    .expect("ai config");
    let ai = ai.to_string_lossy().to_string();
    let b = billed_app_with(None, &["--ai-config", &ai, "--ai-timeout-secs", "5"]).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    // This month's usage already at the Free plan's 1,000 tokens.
    let mut admin = adpilot::db::connect_one(&b.t.db.admin_url)
        .await
        .expect("admin");
    diesel::sql_query(
        "INSERT INTO ai_usage (id, org_id, task, provider, model, input_tokens, output_tokens, cost_micros, cached, outcome, at)
         VALUES (gen_random_uuid(), $1, 'ad_copy', 'openai', 'm', 900, 100, 0, false, 'ok', now())",
    )
    .bind::<diesel::sql_types::Uuid, _>(org)
    .execute(&mut admin)
    .await
    .expect("usage");
    let allowed =
        adpilot::billing::enforce::check(&b.t.app, org, adpilot::billing::Limit::AiTokensPerMonth)
            .await;
    let message = allowed.expect_err("the limit is reached").to_string();
    assert!(message.contains("Free plan allows"), "{message}");
    // The path a person takes: asking for ad copy.
    owner.get("/ai/copy").await.assert_status(StatusCode::OK);
    let r = owner
        .post("/ai/copy", &crate::ai::google_brief("Green Leaf Tea"))
        .await;
    assert!(r.body.contains("Free plan allows"), "{}", r.body);
    assert!(!r.body.contains("Green Tea Delivered"), "{}", r.body);
    assert!(
        mock.openai_seen().await.is_empty() && mock.anthropic_seen().await.is_empty(),
        "no model was called"
    );
}

#[tokio::test]
async fn the_live_rule_limit_keeps_a_second_rule_from_going_live() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let mut ids = Vec::new();
    for name in ["One", "Two"] {
        owner.get("/rules/new").await;
        let text = format!(
            "rule \"{name}\"\n  when spend today > 100 and clicks today >= 50\n  then pause\n"
        );
        let r = owner
            .post("/rules", &[("text", text.as_str()), ("mode", "draft")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let id = r
            .location()
            .expect("rule page")
            .trim_start_matches("/rules/")
            .to_string();
        ids.push(id);
    }
    owner.get(&format!("/rules/{}", ids[0])).await;
    owner
        .post(
            &format!("/rules/{}/mode", ids[0]),
            &[("mode", "live"), ("confirm", "yes")],
        )
        .await;
    owner.get(&format!("/rules/{}", ids[1])).await;
    owner
        .post(
            &format!("/rules/{}/mode", ids[1]),
            &[("mode", "live"), ("confirm", "yes")],
        )
        .await;
    let page = owner.get(&format!("/rules/{}", ids[1])).await;
    assert!(
        page.body.contains("Free plan allows 1 live rule"),
        "{}",
        page.body
    );
    assert_eq!(
        count(&b.t, "SELECT count(*) AS n FROM rules WHERE mode = 'live'").await,
        1
    );
}

/// A Checkout paid by a delayed method completes with `payment_status: unpaid`: the plan waits
/// for `checkout.session.async_payment_succeeded`, and `_failed` leaves it on Free.
#[tokio::test]
async fn an_unpaid_checkout_waits_for_the_money_before_the_plan_applies() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    let mut session = checkout_completed(org, "starter");
    session["payment_status"] = json!("unpaid");
    let t0 = now() - 100;
    deliver_signed(
        &b.t,
        &event("evt_1", "checkout.session.completed", t0, session.clone()),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(plan_status(&b.t).await.1, "incomplete");
    let page = owner.get("/billing").await;
    assert!(page.body.contains("Plan: Free"), "{}", page.body);
    assert!(page.body.contains("first payment"), "{}", page.body);

    let mut paid = session.clone();
    paid["payment_status"] = json!("paid");
    deliver_signed(
        &b.t,
        &event(
            "evt_2",
            "checkout.session.async_payment_succeeded",
            t0 + 10,
            paid,
        ),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(plan_status(&b.t).await, ("starter".into(), "active".into()));

    deliver_signed(
        &b.t,
        &event(
            "evt_3",
            "checkout.session.async_payment_failed",
            t0 + 20,
            session,
        ),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(plan_status(&b.t).await.1, "incomplete");
    let page = owner.get("/billing").await;
    assert!(page.body.contains("Plan: Free"), "{}", page.body);
}

/// `paused` and `incomplete` subscriptions grant no paid plan; `cancel_at_period_end` and
/// `trial_end` are kept and shown.
#[tokio::test]
async fn paused_and_incomplete_subscriptions_fall_to_free_and_period_facts_are_shown() {
    let b = billed_app(None).await;
    let mut owner = b.t.sign_up("owner@example.com", "Acme").await;
    let org = org_of(&b.t).await;
    let t0 = now() - 100;
    deliver_signed(
        &b.t,
        &event(
            "evt_1",
            "checkout.session.completed",
            t0,
            checkout_completed(org, "starter"),
        ),
    )
    .await
    .assert_status(StatusCode::OK);
    let price = "price_starter".to_string();
    let mut trial = subscription("trialing", &price);
    trial["trial_end"] = json!(1_900_000_000);
    trial["cancel_at_period_end"] = json!(true);
    deliver_signed(
        &b.t,
        &event("evt_2", "customer.subscription.updated", t0 + 10, trial),
    )
    .await
    .assert_status(StatusCode::OK);
    let page = owner.get("/billing").await;
    assert!(page.body.contains("Trial ends 2030-03-17"), "{}", page.body);
    assert!(
        page.body
            .contains("canceled at the end of the current period"),
        "{}",
        page.body
    );

    let mut paused = subscription("paused", &price);
    paused["trial_end"] = json!(null);
    deliver_signed(
        &b.t,
        &event("evt_3", "customer.subscription.updated", t0 + 20, paused),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(plan_status(&b.t).await.1, "paused");
    let page = owner.get("/billing").await;
    assert!(page.body.contains("Plan: Free"), "{}", page.body);
    assert!(!page.body.contains("Trial ends"), "{}", page.body);
    assert!(!page.body.contains("canceled at the end"), "{}", page.body);

    deliver_signed(
        &b.t,
        &event(
            "evt_4",
            "customer.subscription.updated",
            t0 + 30,
            subscription("incomplete", &price),
        ),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(plan_status(&b.t).await.1, "incomplete");
    let page = owner.get("/billing").await;
    assert!(page.body.contains("Plan: Free"), "{}", page.body);
}
