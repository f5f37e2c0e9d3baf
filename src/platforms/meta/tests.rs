//! Contract tests against recorded Graph API bodies (shapes from the reference §2).

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;

use crate::platforms::testkit::{Reply, cur, day, platforms, platforms_with, serve};
use crate::platforms::{
    AccountRef, AccountStatus, CampaignStatus, Credentials, NewCampaign, PlatformError, RetryPolicy,
};
use crate::types::{Money, Platform};

fn insights_row(id: &str, date: &str) -> serde_json::Value {
    json!({"campaign_id": id, "campaign_name": "Prospecting", "impressions": "185", "clicks": "13",
           "inline_link_clicks": "9", "spend": "14.35",
           "actions": [{"action_type": "link_click", "value": "9"},
                       {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "2"}],
           "action_values": [{"action_type": "offsite_conversion.fb_pixel_purchase", "value": "89.90"}],
           "date_start": date, "date_stop": date})
}

#[tokio::test]
async fn insights_follow_next_links_and_cursors_without_leaking_the_token() {
    let server = serve(|req, i| {
        let origin = format!(
            "http://{}",
            req.header("host").unwrap_or_default()
        );
        match i {
            // Same origin: followed as given.
            0 => Reply::json(json!({"data": [insights_row("2385", "2025-01-01")],
                "paging": {"cursors": {"before": "MAZDZD", "after": "c1"},
                           "next": format!("{origin}/v25.0/act_798/insights?access_token=OLD&level=campaign&after=c1&limit=500")}})),
            // A real Meta URL while we talk to another host: the cursor is used on our URL.
            1 => Reply::json(json!({"data": [insights_row("2385", "2025-01-02")],
                "paging": {"cursors": {"before": "c1", "after": "c2"},
                           "next": "https://graph.facebook.com/v22.0/act_798/insights?access_token=X&after=c2"}})),
            _ => Reply::json(json!({"data": [{"campaign_id": "2386", "campaign_name": "Empty",
                "date_start": "2025-01-02", "date_stop": "2025-01-02"}],
                "paging": {"cursors": {"before": "c2", "after": "c3"}}})),
        }
    })
    .await;
    let rows = platforms(&server.origin)
        .adapter(Platform::Meta)
        .daily_metrics(
            &Credentials::new("EAAB"),
            &AccountRef::new("act_798", cur("USD")),
            day("2025-01-01"),
            day("2025-01-02"),
        )
        .await
        .expect("insights");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].spend, Money::new(14_350_000, cur("USD")));
    assert_eq!(rows[0].conversions, Decimal::new(2, 0));
    assert_eq!(rows[0].revenue, Money::new(89_900_000, cur("USD")));
    assert_eq!(rows[0].impressions, 185);
    assert_eq!(rows[0].clicks, 9, "link clicks, not clicks (all)");
    let fields = server.requests()[0].q("fields").unwrap_or_default();
    assert!(fields.contains("inline_link_clicks"), "{fields}");
    assert_eq!(rows[1].date, day("2025-01-02"));
    // Missing metric keys read as 0.
    assert_eq!(
        (
            rows[2].impressions,
            rows[2].clicks,
            rows[2].spend.micros,
            rows[2].revenue.micros
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(rows[2].conversions, Decimal::ZERO);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    let first = reqs[0].query_map();
    assert_eq!(reqs[0].path, "/v25.0/act_798/insights");
    assert_eq!(first["level"], "campaign");
    assert_eq!(first["time_increment"], "1");
    assert_eq!(
        first["time_range"],
        r#"{"since":"2025-01-01","until":"2025-01-02"}"#
    );
    assert_eq!(first["access_token"], "EAAB");
    assert!(first.contains_key("appsecret_proof"));
    // The next link's stale token is replaced by ours, once.
    let second: Vec<_> = url::form_urlencoded::parse(reqs[1].query.as_bytes())
        .into_owned()
        .filter(|(k, _)| k == "access_token")
        .collect();
    assert_eq!(
        second,
        vec![("access_token".to_string(), "EAAB".to_string())]
    );
    assert_eq!(reqs[1].q("after").as_deref(), Some("c1"));
    assert_eq!(reqs[2].path, "/v25.0/act_798/insights");
    assert_eq!(reqs[2].q("after").as_deref(), Some("c2"));
    assert_eq!(reqs[2].q("level").as_deref(), Some("campaign"));
}

#[tokio::test]
async fn conversions_use_the_first_action_type_present_and_never_add_them_up() {
    let server = serve(|_, _| {
        Reply::json(json!({"data": [
            {"campaign_id": "1", "date_start": "2025-01-01", "spend": "10",
             "actions": [{"action_type": "omni_purchase", "value": "3"},
                         {"action_type": "purchase", "value": "3"},
                         {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "3"},
                         {"action_type": "lead", "value": "7"}],
             "action_values": [{"action_type": "omni_purchase", "value": "150.00"},
                               {"action_type": "purchase", "value": "150.00"},
                               {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "150.00"}]},
            {"campaign_id": "2", "date_start": "2025-01-01",
             "actions": [{"action_type": "purchase", "value": "1", "7d_click": "1"}],
             "action_values": [{"action_type": "purchase", "value": "20.5"}]}
        ]}))
    })
    .await;
    let p = platforms(&server.origin);
    let a = p.adapter(Platform::Meta);
    let acct = AccountRef::new("123", cur("EUR"));
    let rows = a
        .daily_metrics(
            &Credentials::new("t"),
            &acct,
            day("2025-01-01"),
            day("2025-01-01"),
        )
        .await
        .expect("rows");
    assert_eq!(rows[0].conversions, Decimal::new(3, 0), "not 9");
    assert_eq!(
        rows[0].revenue,
        Money::new(150_000_000, cur("EUR")),
        "not 450"
    );
    assert_eq!(rows[1].conversions, Decimal::new(1, 0));
    assert_eq!(rows[1].revenue, Money::new(20_500_000, cur("EUR")));
    assert_eq!(server.requests()[0].path, "/v25.0/act_123/insights");

    // A connection that counts leads.
    let mut creds = Credentials::new("t");
    creds.conversion_action_types = Some(vec!["lead".into()]);
    let rows = a
        .daily_metrics(&creds, &acct, day("2025-01-01"), day("2025-01-01"))
        .await
        .expect("rows");
    assert_eq!(rows[0].conversions, Decimal::new(7, 0));
    assert_eq!(rows[0].revenue.micros, 0);
    assert_eq!(rows[1].conversions, Decimal::ZERO);
}

#[tokio::test]
async fn jpy_budgets_have_no_minor_unit() {
    let server = serve(|req, _| {
        if req.method == "POST" && req.path.ends_with("/campaigns") {
            Reply::json(json!({"id": "120210000000000001"}))
        } else if req.method == "POST" {
            Reply::json(json!({"success": true}))
        } else if req.path.ends_with("/campaigns") {
            Reply::json(json!({"data": [
                {"id": "1202", "name": "Tokyo", "status": "ACTIVE", "daily_budget": "5000"},
                {"id": "1203", "name": "Adset budgets", "status": "PAUSED"},
                {"id": "1204", "name": "Old", "status": "ARCHIVED", "daily_budget": "100"}]}))
        } else {
            Reply::json(json!({"id": "1202", "daily_budget": "7000"}))
        }
    })
    .await;
    let jpy = cur("JPY");
    let acct = AccountRef::new("act_55", jpy);
    let a = platforms(&server.origin).adapter(Platform::Meta);
    let c = Credentials::new("t");
    let campaigns = a.list_campaigns(&c, &acct).await.expect("campaigns");
    assert_eq!(
        campaigns[0].daily_budget,
        Some(Money::new(5_000_000_000, jpy))
    );
    assert_eq!(campaigns[0].status, CampaignStatus::Active);
    assert_eq!(campaigns[1].daily_budget, None);
    assert_eq!(campaigns[1].status, CampaignStatus::Paused);
    assert_eq!(campaigns[2].status, CampaignStatus::Removed);

    let created = a
        .create_campaign(
            &c,
            &acct,
            &NewCampaign {
                name: "Spring Sale".into(),
                daily_budget: Money::new(5_000_000_000, jpy),
                status: CampaignStatus::Paused,
            },
        )
        .await
        .expect("created");
    assert_eq!(created.id, "120210000000000001");
    assert_eq!(
        a.daily_budget(&c, &acct, "1202").await.expect("budget"),
        Some(Money::new(7_000_000_000, jpy))
    );
    a.set_daily_budget(&c, &acct, "1202", Money::new(8_000_000_000, jpy))
        .await
        .expect("set");
    a.resume(&c, &acct, "1202").await.expect("resume");

    let reqs = server.requests();
    let create = &reqs[1];
    assert_eq!(create.path, "/v25.0/act_55/campaigns");
    assert_eq!(create.form("daily_budget").as_deref(), Some("5000"));
    assert_eq!(create.form("status").as_deref(), Some("PAUSED"));
    assert_eq!(create.form("special_ad_categories").as_deref(), Some("[]"));
    assert_eq!(create.form("objective").as_deref(), Some("OUTCOME_TRAFFIC"));
    assert_eq!(create.form("access_token").as_deref(), Some("t"));
    assert_eq!(reqs[3].path, "/v25.0/1202");
    assert_eq!(reqs[3].form("daily_budget").as_deref(), Some("8000"));
    assert_eq!(reqs[4].form("status").as_deref(), Some("ACTIVE"));

    // USD: cents.
    let usd = AccountRef::new("55", cur("USD"));
    a.set_daily_budget(&c, &usd, "1202", Money::new(50_000_000, cur("USD")))
        .await
        .expect("set usd");
    assert_eq!(
        server.requests()[5].form("daily_budget").as_deref(),
        Some("5000")
    );
}

async fn error_for(
    status: u16,
    body: serde_json::Value,
    headers: Vec<(String, String)>,
) -> PlatformError {
    let server = serve(move |_, _| Reply {
        status,
        headers: headers.clone(),
        body: body.to_string(),
    })
    .await;
    platforms_with(&server.origin, |s| s.retry = RetryPolicy::none())
        .adapter(Platform::Meta)
        .list_campaigns(&Credentials::new("t"), &AccountRef::new("1", cur("USD")))
        .await
        .expect_err("error")
}

#[tokio::test]
async fn every_error_class_is_mapped() {
    let expired = json!({"error":{"message":"Error validating access token: Session has expired on Tuesday.",
        "type":"OAuthException","code":190,"error_subcode":463,"is_transient":false,"fbtrace_id":"EJplcsCHuLu"}});
    assert_eq!(
        error_for(400, expired, vec![]).await,
        PlatformError::Auth {
            needs_reconnect: true,
            message: "Error validating access token: Session has expired on Tuesday.".into()
        }
    );
    let permission = json!({"error":{"message":"(#294) Managing advertisements requires ads_management",
        "type":"OAuthException","code":294}});
    match error_for(403, permission, vec![]).await {
        PlatformError::Auth {
            needs_reconnect: false,
            message,
        } => assert!(
            message.contains("\"ads_management\" permission") && message.contains("Reconnect"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    let invalid = json!({"error":{"message":"Invalid parameter","type":"OAuthException","code":100,
        "error_subcode":1885621,"error_user_title":"Budget","error_user_msg":"The daily budget is too low."}});
    assert_eq!(
        error_for(400, invalid, vec![]).await,
        PlatformError::Invalid {
            message: "Budget: The daily budget is too low.".into()
        }
    );
    let buc = vec![(
        "X-Business-Use-Case-Usage".to_string(),
        r#"{"1":[{"type":"ads_management","call_count":100,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":5}]}"#
            .to_string(),
    )];
    let limited = json!({"error":{"message":"(#80004) There have been too many calls to this ad-account.",
        "type":"OAuthException","code":80004,"error_subcode":2446079}});
    assert_eq!(
        error_for(400, limited, buc).await,
        PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(300)),
            message: "(#80004) There have been too many calls to this ad-account.".into()
        }
    );
    let too_many = json!({"error":{"message":"(#17) User request limit reached","type":"OAuthException","code":17}});
    assert_eq!(
        error_for(400, too_many, vec![]).await.kind(),
        "rate_limited"
    );
    let unavailable = json!({"error":{"message":"Service temporarily unavailable","type":"OAuthException",
        "code":2,"is_transient":true}});
    assert_eq!(
        error_for(500, unavailable, vec![]).await.kind(),
        "temporary"
    );
    let timeout = json!({"error":{"message":"Please reduce the amount of data","code":100,"error_subcode":1504018}});
    assert_eq!(error_for(400, timeout, vec![]).await.kind(), "temporary");
    let unknown =
        json!({"error":{"message":"Something odd","type":"GraphMethodException","code":33}});
    assert_eq!(error_for(400, unknown, vec![]).await.kind(), "unexpected");
}

#[tokio::test]
async fn rate_limit_codes_are_retried_until_the_data_arrives() {
    let limited = json!({"error":{"message":"(#613) Calls to this api have exceeded the rate limit.",
        "type":"OAuthException","code":613,"error_subcode":1487742}});
    let server = serve(move |_, i| {
        if i < 2 {
            Reply::status(400, limited.clone())
                // No time to regain access yet known: the backoff decides.
                .header("X-Business-Use-Case-Usage", r#"{"1":[{"type":"ads_management","call_count":100,"estimated_time_to_regain_access":0}]}"#)
        } else if i == 2 {
            Reply::status(400, json!({"error":{"message":"(#4) Application request limit reached","code":4}}))
                .header("Retry-After", "1")
        } else {
            Reply::json(json!({"data":[{"id":"9","name":"Back","status":"ACTIVE","daily_budget":"100"}]}))
        }
    })
    .await;
    let p = platforms_with(&server.origin, |s| {
        s.retry.base_delay = Duration::from_millis(100);
        // Usage of 100% would slow every call; keep this test about retries.
        s.limits.meta_max_slowdown = Duration::ZERO;
    });
    let campaigns = p
        .adapter(Platform::Meta)
        .list_campaigns(&Credentials::new("t"), &AccountRef::new("1", cur("USD")))
        .await
        .expect("data after the limits");
    assert_eq!(campaigns[0].name, "Back");
    let gaps = server.gaps();
    assert_eq!(gaps.len(), 3);
    assert!(gaps[0] >= Duration::from_millis(50), "{gaps:?}");
    assert!(
        gaps[1] >= Duration::from_millis(100),
        "backoff grows: {gaps:?}"
    );
    assert!(
        gaps[2] >= Duration::from_secs(1),
        "Retry-After honoured: {gaps:?}"
    );
}

#[tokio::test]
async fn high_usage_headers_slow_the_next_call_down() {
    let server = serve(|_, _| {
        Reply::json(json!({"data": []})).header(
            "X-Ad-Account-Usage",
            r#"{"acc_id_util_pct":95,"reset_time_duration":0}"#,
        )
    })
    .await;
    let p = platforms_with(&server.origin, |s| {
        s.limits.meta_max_slowdown = Duration::from_millis(500);
    });
    let a = p.adapter(Platform::Meta);
    let acct = AccountRef::new("1", cur("USD"));
    a.list_campaigns(&Credentials::new("t"), &acct)
        .await
        .expect("1");
    a.list_campaigns(&Credentials::new("t"), &acct)
        .await
        .expect("2");
    let gaps = server.gaps();
    // 95% is 80% of the way from 75% to 100%: 400 ms of the 500 ms maximum.
    assert!(gaps[0] >= Duration::from_millis(390), "{gaps:?}");
    // Another account is not slowed: the limiter's wait for it is nothing.
    assert!(p.shared.limits.meta_delay("1") > Duration::ZERO);
    assert_eq!(p.shared.limits.meta_delay("2"), Duration::ZERO);
    a.list_campaigns(&Credentials::new("t"), &AccountRef::new("2", cur("USD")))
        .await
        .expect("3");
}

#[tokio::test]
async fn accounts_accept_act_prefixes_and_map_statuses() {
    let server = serve(|req, _| {
        if req.path.ends_with("me/adaccounts") {
            Reply::json(json!({"data":[
                {"id":"act_798085168510957","account_id":"798085168510957","name":"Acme",
                 "currency":"USD","timezone_name":"America/Los_Angeles","account_status":1},
                {"id":"act_2","account_id":"2","name":"Off","currency":"JPY","timezone_name":"Asia/Tokyo","account_status":2}]}))
        } else {
            Reply::json(json!({"id":"act_798","account_id":"798","name":"One","currency":"EUR",
                "timezone_name":"Europe/Paris","account_status":1}))
        }
    })
    .await;
    let a = platforms(&server.origin).adapter(Platform::Meta);
    let list = a
        .list_accounts(&Credentials::new("t"))
        .await
        .expect("accounts");
    assert_eq!(list[0].id, "798085168510957");
    assert_eq!(list[0].time_zone, "America/Los_Angeles");
    assert_eq!(list[1].status, AccountStatus::Disabled);
    assert_eq!(list[1].currency, cur("JPY"));
    let one = a
        .account(&Credentials::new("t"), "act_798")
        .await
        .expect("one");
    assert_eq!(one.currency, cur("EUR"));
    a.account(&Credentials::new("t"), "798")
        .await
        .expect("bare id");
    let reqs = server.requests();
    assert_eq!(reqs[1].path, "/v25.0/act_798");
    assert_eq!(reqs[2].path, "/v25.0/act_798");
    let e = a
        .account(&Credentials::new("t"), "act_x1")
        .await
        .expect_err("bad id");
    assert_eq!(e.kind(), "invalid");
}

#[tokio::test]
async fn login_exchanges_the_code_then_for_a_long_lived_token() {
    let server = serve(|req, _| {
        if req.q("grant_type").as_deref() == Some("fb_exchange_token") {
            assert_eq!(req.q("fb_exchange_token").as_deref(), Some("short"));
            Reply::json(json!({"access_token":"long","token_type":"bearer","expires_in":5183944}))
        } else {
            assert_eq!(req.q("code").as_deref(), Some("the-code"));
            Reply::json(json!({"access_token":"short","token_type":"bearer","expires_in":3600}))
        }
    })
    .await;
    let a = platforms(&server.origin).adapter(Platform::Meta);
    let t = a
        .exchange_code("the-code", "https://app.example/cb", None)
        .await
        .expect("tokens");
    assert_eq!(t.access_token, "long");
    let days = (t.expires_at.expect("expiry") - chrono::Utc::now()).num_days();
    assert!((59..=60).contains(&days), "{days}");
    let reqs = server.requests();
    assert_eq!(reqs[0].path, "/v25.0/oauth/access_token");
    assert_eq!(reqs[0].q("client_secret").as_deref(), Some("msecret"));
    assert_eq!(reqs[0].q("access_token"), None);
    let url = a
        .authorization_url(&crate::platforms::AuthorizationRequest {
            state: "s1",
            redirect_uri: "https://app.example/cb",
            pkce_challenge: None,
        })
        .expect("url");
    assert!(
        url.starts_with("https://www.facebook.com/v25.0/dialog/oauth?"),
        "{url}"
    );
    assert!(
        url.contains("scope=ads_management%2Cads_read%2Cbusiness_management"),
        "{url}"
    );
}

#[tokio::test]
async fn revoke_deletes_permissions_and_tolerates_a_dead_token() {
    let server = serve(|_, i| {
        if i == 0 {
            Reply::json(json!({"success": true}))
        } else {
            Reply::status(400, json!({"error":{"message":"Error validating access token","type":"OAuthException","code":190}}))
        }
    })
    .await;
    let a = platforms(&server.origin).adapter(Platform::Meta);
    let t = crate::platforms::TokenSet {
        access_token: "long".into(),
        refresh_token: None,
        expires_at: None,
        scope: None,
        advertiser_ids: vec![],
    };
    a.revoke(&t).await.expect("revoked");
    a.revoke(&t).await.expect("already invalid");
    let reqs = server.requests();
    assert_eq!(reqs[0].method, "DELETE");
    assert_eq!(reqs[0].path, "/v25.0/me/permissions");
    assert_eq!(reqs[0].q("access_token").as_deref(), Some("long"));
}

#[tokio::test]
async fn the_ad_account_reset_time_is_honoured_as_a_hint() {
    let server = serve(|_, i| {
        if i == 0 {
            Reply::status(
                400,
                json!({"error":{"message":"There have been too many calls to this ad-account.","code":80004,"error_subcode":2446079}}),
            )
            .header("X-Business-Use-Case-Usage", r#"{"1":[{"type":"ads_management","call_count":100,"estimated_time_to_regain_access":0}]}"#)
            .header("X-Ad-Account-Usage", r#"{"acc_id_util_pct":100,"reset_time_duration":1}"#)
        } else {
            Reply::json(json!({"data": []}))
        }
    })
    .await;
    let p = platforms_with(&server.origin, |s| {
        s.limits.meta_max_slowdown = Duration::ZERO
    });
    p.adapter(Platform::Meta)
        .list_campaigns(&Credentials::new("t"), &AccountRef::new("1", cur("USD")))
        .await
        .expect("data after the reset");
    let gaps = server.gaps();
    // At least the reset time; the wait computed from a hint is checked without a clock in
    // `retry::tests::hints_are_minimums_and_backoff_grows`.
    assert!(gaps[0] >= Duration::from_secs(1), "{gaps:?}");
}

/// Meta's answer to a call it will not carry out, whatever the retry: code 1 with a subcode,
/// `is_transient: false` and words for the user. It is shown, and it is not retried.
#[tokio::test]
async fn a_non_transient_error_is_not_retried_and_shows_metas_words() {
    let body = json!({"error":{"message":"An unknown error occurred","type":"OAuthException",
        "code":1,"error_subcode":1815166,"is_transient":false,
        "error_user_title":"Ad account has no payment method",
        "error_user_msg":"Add a payment method in Billing & payments before running ads.",
        "fbtrace_id":"AbC123"}});
    let server = serve(move |_, _| Reply::status(500, body.clone())).await;
    let p = platforms_with(&server.origin, |s| {
        s.retry.base_delay = Duration::from_millis(1);
    });
    let err = p
        .adapter(Platform::Meta)
        .list_campaigns(&Credentials::new("t"), &AccountRef::new("1", cur("USD")))
        .await
        .expect_err("refused");
    assert_eq!(
        err,
        PlatformError::Invalid {
            message: "Ad account has no payment method: Add a payment method in Billing & \
                      payments before running ads."
                .into()
        }
    );
    assert_eq!(server.requests().len(), 1, "not retried");
}

/// Missing permissions, in the shapes Meta uses for them: the message names the permission
/// and says what to do, instead of only "reconnect".
#[tokio::test]
async fn missing_permissions_name_the_permission_and_the_fix() {
    let cases = [
        (
            json!({"error":{"message":"(#200) Requires ads_read permission to manage the object",
            "type":"OAuthException","code":200,"fbtrace_id":"A1"}}),
            false,
            Some("ads_read"),
        ),
        (
            json!({"error":{"message":"(#10) Application does not have permission for this action",
            "type":"OAuthException","code":10,"fbtrace_id":"A2"}}),
            false,
            None,
        ),
        (
            json!({"error":{"message":"(#100) Missing permissions","type":"OAuthException",
            "code":100,"fbtrace_id":"A3"}}),
            false,
            None,
        ),
        (
            json!({"error":{"message":"Error validating access token: The user has not authorized application 1234.",
            "type":"OAuthException","code":190,"fbtrace_id":"A4"}}),
            true,
            None,
        ),
    ];
    for (body, reconnect, named) in cases {
        match error_for(400, body.clone(), vec![]).await {
            PlatformError::Auth {
                needs_reconnect,
                message,
            } => {
                assert_eq!(needs_reconnect, reconnect, "{body}");
                assert!(message.contains("permission"), "{message}");
                assert!(message.contains("Business Settings"), "{message}");
                if let Some(p) = named {
                    assert!(message.contains(&format!("\"{p}\"")), "{message}");
                }
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    // "Invalid parameter" is not a permission problem.
    let plain = json!({"error":{"message":"(#100) Invalid parameter","code":100}});
    assert_eq!(error_for(400, plain, vec![]).await.kind(), "invalid");
}

/// `effective_status` holds back an ACTIVE campaign whose account or parent does not deliver.
#[tokio::test]
async fn effective_status_keeps_an_active_campaign_in_a_stopped_account_from_looking_active() {
    let server = serve(|_, _| {
        Reply::json(json!({"data": [
            {"id": "1", "name": "Live", "status": "ACTIVE", "effective_status": "ACTIVE"},
            {"id": "2", "name": "Unpaid", "status": "ACTIVE", "effective_status": "PENDING_BILLING_INFO"},
            {"id": "3", "name": "Account off", "status": "ACTIVE", "effective_status": "ACCOUNT_DISABLED"},
            {"id": "4", "name": "Learning", "status": "ACTIVE", "effective_status": "IN_PROCESS"},
            {"id": "5", "name": "Off", "status": "PAUSED", "effective_status": "PAUSED"},
            {"id": "6", "name": "Old", "status": "ARCHIVED", "effective_status": "ARCHIVED"}]}))
    })
    .await;
    let list = platforms(&server.origin)
        .adapter(Platform::Meta)
        .list_campaigns(&Credentials::new("t"), &AccountRef::new("1", cur("USD")))
        .await
        .expect("list");
    let statuses: Vec<CampaignStatus> = list.iter().map(|c| c.status).collect();
    use CampaignStatus::{Active, Paused, Removed};
    assert_eq!(
        statuses,
        vec![Active, Paused, Paused, Active, Paused, Removed]
    );
    let fields = server.requests()[0].q("fields").unwrap_or_default();
    assert!(fields.contains("effective_status"), "{fields}");
}

/// Account statuses beyond 1 and 2 come out named, and budgets of currencies whose Meta offset
/// is 1 (HUF has cents in ISO 4217, not at Meta) are whole units.
#[tokio::test]
async fn account_statuses_are_named_and_budgets_follow_metas_offsets() {
    let server = serve(|req, _| {
        if req.path.ends_with("adaccounts") {
            Reply::json(json!({"data": [
                {"id":"act_3","account_id":"3","name":"Unsettled","currency":"USD","timezone_name":"UTC","account_status":3},
                {"id":"act_9","account_id":"9","name":"Grace","currency":"USD","timezone_name":"UTC","account_status":9},
                {"id":"act_100","account_id":"100","name":"Closing","currency":"USD","timezone_name":"UTC","account_status":100},
                {"id":"act_5","account_id":"5","name":"New","currency":"USD","timezone_name":"UTC","account_status":55}]}))
        } else if req.method == "POST" {
            Reply::json(json!({"id": "77"}))
        } else {
            Reply::json(json!({"data": [{"id": "77", "name": "Forint", "status": "ACTIVE", "daily_budget": "5000"}]}))
        }
    })
    .await;
    let a = platforms(&server.origin).adapter(Platform::Meta);
    let c = Credentials::new("t");
    let accounts = a.list_accounts(&c).await.expect("accounts");
    let statuses: Vec<&str> = accounts.iter().map(|a| a.status.as_str()).collect();
    assert_eq!(
        statuses,
        vec![
            "unsettled (payment due)",
            "in grace period",
            "pending closure",
            "status 55"
        ]
    );
    let huf = cur("HUF");
    let acct = AccountRef::new("5", huf);
    let list = a.list_campaigns(&c, &acct).await.expect("list");
    assert_eq!(list[0].daily_budget, Some(Money::new(5_000_000_000, huf)));
    a.create_campaign(
        &c,
        &acct,
        &NewCampaign {
            name: "Forint".into(),
            daily_budget: Money::new(7_000_000_000, huf),
            status: CampaignStatus::Paused,
        },
    )
    .await
    .expect("created");
    let create = server
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("create");
    assert_eq!(create.form("daily_budget").as_deref(), Some("7000"));
}

/// A Graph answer without `data` where a list was asked for is an error, not an empty list.
#[tokio::test]
async fn a_list_answer_without_data_is_an_error() {
    let server = serve(|_, _| Reply::json(json!({"campaign_id": "1", "spend": "10.00"}))).await;
    let e = platforms(&server.origin)
        .adapter(Platform::Meta)
        .daily_metrics(
            &Credentials::new("t"),
            &AccountRef::new("1", cur("USD")),
            day("2025-01-01"),
            day("2025-01-01"),
        )
        .await
        .expect_err("no data");
    assert!(
        e.message().contains("Meta") && e.message().contains("\"data\""),
        "{e}"
    );
}
