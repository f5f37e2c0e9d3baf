//! Contract tests against recorded Google Ads REST bodies (shapes from the reference §1).

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;

use crate::platforms::testkit::{Recorded, Reply, cur, day, platforms, platforms_with, serve};
use crate::platforms::{
    AccountRef, AuthorizationRequest, CampaignStatus, Credentials, NewCampaign, PlatformError,
    RetryPolicy, TokenSet,
};
use crate::types::{Money, Platform};

fn row(id: &str, date: &str, metrics: serde_json::Value) -> serde_json::Value {
    json!({
        "campaign": {"resourceName": format!("customers/1234567890/campaigns/{id}"), "id": id,
                     "name": format!("Campaign {id}"), "status": "ENABLED"},
        "metrics": metrics,
        "segments": {"date": date}
    })
}

fn usd_account() -> AccountRef {
    AccountRef::new("123-456-7890", cur("USD"))
}

#[tokio::test]
async fn metrics_follow_page_tokens_and_read_int64_strings() {
    let server = serve(|req, _| {
        let body = req.json();
        assert!(
            body.get("pageSize").is_none(),
            "pageSize must never be sent"
        );
        if body["query"]
            .as_str()
            .unwrap_or_default()
            .contains("segments.conversion_action_name")
        {
            // The per-action query: a primary purchase and a secondary sign-up.
            return Reply::json(json!({"results": [
                {"campaign": {"resourceName": "customers/1234567890/campaigns/111", "id": "111"},
                 "segments": {"date": "2025-01-01", "conversionActionName": "Purchase",
                              "conversionActionCategory": "PURCHASE"},
                 "metrics": {"allConversions": 3.0, "allConversionsValue": 120.5}},
                {"campaign": {"resourceName": "customers/1234567890/campaigns/111", "id": "111"},
                 "segments": {"date": "2025-01-01", "conversionActionName": "Newsletter",
                              "conversionActionCategory": "SIGNUP"},
                 "metrics": {"allConversions": 4.0}}]}));
        }
        match body.get("pageToken").and_then(|t| t.as_str()) {
            None => Reply::json(json!({
                "results": [row("111", "2025-01-01", json!({"impressions":"4696","clicks":"51",
                    "costMicros":"20000000","conversions":3.0,"conversionsValue":120.5}))],
                "nextPageToken": "CPii1",
                "fieldMask": "campaign.id", "queryResourceConsumption": "123"
            })),
            Some("CPii1") => Reply::json(json!({
                "results": [row("111", "2025-01-02", json!({"impressions":"10","clicks":"0",
                    "costMicros":"1234567"}))],
                "nextPageToken": "CPii2"
            })),
            Some("CPii2") => Reply::json(json!({
                // No metrics object at all: every metric reads as 0.
                "results": [{"campaign": {"id": "222", "name": "Quiet", "status": "PAUSED"},
                             "segments": {"date": "2025-01-02"}}]
            })),
            Some(other) => panic!("unexpected token {other}"),
        }
    })
    .await;
    let p = platforms(&server.origin);
    let rows = p
        .adapter(Platform::Google)
        .daily_metrics(
            &Credentials::new("ya29.tok"),
            &usd_account(),
            day("2025-01-01"),
            day("2025-01-02"),
        )
        .await
        .expect("metrics");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].campaign_id, "111");
    assert_eq!(rows[0].impressions, 4696);
    assert_eq!(rows[0].clicks, 51);
    assert_eq!(rows[0].spend, Money::new(20_000_000, cur("USD")));
    assert_eq!(rows[0].conversions, Decimal::new(3, 0));
    assert_eq!(rows[0].revenue, Money::new(120_500_000, cur("USD")));
    assert_eq!(rows[1].spend.micros, 1_234_567);
    assert_eq!(rows[1].conversions, Decimal::ZERO);
    assert_eq!(rows[2].campaign_name, "Quiet");
    assert_eq!(
        (rows[2].impressions, rows[2].clicks, rows[2].spend.micros),
        (0, 0, 0)
    );

    let types = &rows[0].conversion_types;
    assert_eq!(types["Purchase"].count, Decimal::new(3, 0));
    assert_eq!(types["Purchase"].category.as_deref(), Some("PURCHASE"));
    assert_eq!(types["Newsletter"].count, Decimal::new(4, 0));
    assert_eq!(
        types[crate::platforms::model::DEFAULT_TYPE].value,
        Decimal::new(1205, 1)
    );
    // An action seen in the range is a known zero on a row Google left it out of.
    assert_eq!(rows[1].conversion_types["Purchase"].count, Decimal::ZERO);
    assert_eq!(
        rows[1].conversion_types["Purchase"].category.as_deref(),
        Some("PURCHASE")
    );

    let reqs = server.requests();
    assert_eq!(reqs.len(), 4);
    assert_eq!(reqs[0].path, "/v26/customers/1234567890/googleAds:search");
    assert_eq!(
        reqs[0].header("authorization").as_deref(),
        Some("Bearer ya29.tok")
    );
    assert_eq!(reqs[0].header("developer-token"), None);
    assert_eq!(reqs[0].header("login-customer-id"), None);
    let q = reqs[0].json()["query"].as_str().unwrap_or("").to_string();
    assert!(q.contains("BETWEEN '2025-01-01' AND '2025-01-02'"), "{q}");
    assert!(q.contains("metrics.cost_micros"));
}

#[tokio::test]
async fn developer_token_and_login_customer_id_are_sent_when_configured() {
    let server = serve(|_, _| Reply::json(json!({"results": []}))).await;
    let p = platforms_with(&server.origin, |s| {
        s.google.developer_token = Some("DEVTOKEN".into());
        s.google.login_customer_id = Some("111-222-3333".into());
        s.google.api_version = "21".into();
    });
    let a = p.adapter(Platform::Google);
    a.daily_metrics(
        &Credentials::new("t"),
        &usd_account(),
        day("2025-01-01"),
        day("2025-01-01"),
    )
    .await
    .expect("metrics");
    let mut creds = Credentials::new("t");
    creds.login_customer_id = Some("9998887777".into());
    a.daily_metrics(&creds, &usd_account(), day("2025-01-01"), day("2025-01-01"))
        .await
        .expect("metrics");
    let reqs = server.requests();
    assert_eq!(reqs[0].path, "/v21/customers/1234567890/googleAds:search");
    assert_eq!(
        reqs[0].header("developer-token").as_deref(),
        Some("DEVTOKEN")
    );
    assert_eq!(
        reqs[0].header("login-customer-id").as_deref(),
        Some("1112223333")
    );
    // A connection's own manager account wins over the configured one.
    assert_eq!(
        reqs[2].header("login-customer-id").as_deref(),
        Some("9998887777")
    );
}

fn no_retry(origin: &str) -> crate::platforms::Platforms {
    platforms_with(origin, |s| s.retry = RetryPolicy::none())
}

async fn error_for(status: u16, body: serde_json::Value) -> PlatformError {
    let server = serve(move |_, _| Reply::status(status, body.clone())).await;
    no_retry(&server.origin)
        .adapter(Platform::Google)
        .list_campaigns(&Credentials::new("t"), &usd_account())
        .await
        .expect_err("error")
}

#[tokio::test]
async fn every_error_class_is_mapped() {
    let quota = json!({"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).",
        "status":"RESOURCE_EXHAUSTED",
        "details":[{"@type":"type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
          "errors":[{"errorCode":{"quotaError":"RESOURCE_EXHAUSTED"},
            "message":"Too many requests. Retry in 40591 seconds.",
            "details":{"quotaErrorDetails":{"rateScope":"DEVELOPER",
              "rateName":"Number of operations for basic access","retryDelay":"40591s"}}}],
          "requestId":"xN_KaZRHZuU6Rlgt3cM2uQ"}]}});
    assert_eq!(
        error_for(429, quota).await,
        PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(40591)),
            message: "Too many requests. Retry in 40591 seconds.".into()
        }
    );
    let expired = json!({"error":{"code":401,"message":"Request had invalid authentication credentials.",
        "status":"UNAUTHENTICATED","details":[{"errors":[{"errorCode":{"authenticationError":"OAUTH_TOKEN_EXPIRED"},
        "message":"OAuth token expired"}]}]}});
    assert_eq!(
        error_for(401, expired).await,
        PlatformError::Auth {
            needs_reconnect: false,
            message: "OAuth token expired".into()
        }
    );
    let denied = json!({"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED",
        "details":[{"errors":[{"errorCode":{"authorizationError":"USER_PERMISSION_DENIED"},
        "message":"User doesn't have permission to access customer."}]}]}});
    assert_eq!(error_for(403, denied).await.kind(), "auth");
    let invalid = json!({"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT",
        "details":[{"errors":[{"errorCode":{"fieldError":"REQUIRED"},"message":"The required field was not present.",
        "location":{"fieldPathElements":[{"fieldName":"operations","index":0}]}}]}]}});
    assert_eq!(
        error_for(400, invalid).await,
        PlatformError::Invalid {
            message: "The required field was not present.".into()
        }
    );
    let internal =
        json!({"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}});
    assert_eq!(error_for(500, internal).await.kind(), "temporary");
    let aborted = json!({"error":{"code":409,"message":"aborted","status":"ABORTED"}});
    assert_eq!(error_for(409, aborted).await.kind(), "temporary");
    let exists = json!({"error":{"code":409,"message":"exists","status":"ALREADY_EXISTS"}});
    assert_eq!(error_for(409, exists).await.kind(), "invalid");
    let unavailable = json!({"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}});
    assert_eq!(error_for(503, unavailable).await.kind(), "temporary");
    // A proxy's HTML page carries no error object: the status decides.
    let server = serve(|_, _| Reply {
        status: 502,
        headers: vec![],
        body: "<html>Bad Gateway</html>".into(),
    })
    .await;
    let e = no_retry(&server.origin)
        .adapter(Platform::Google)
        .list_campaigns(&Credentials::new("t"), &usd_account())
        .await
        .expect_err("502");
    assert_eq!(e.kind(), "temporary");
    assert!(e.message().contains("Bad Gateway"));
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_hinted_delay() {
    let limited = |delay: &str| {
        json!({"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).",
            "status":"RESOURCE_EXHAUSTED","details":[{"errors":[{"errorCode":{"quotaError":"RESOURCE_TEMPORARILY_EXHAUSTED"},
            "message":"Too many requests.","details":{"quotaErrorDetails":{"retryDelay": delay}}}]}]}})
    };
    let server = serve(move |req, i| match i {
        0 => Reply::status(429, limited("1s")),
        1 => Reply::status(429, limited("0.200s")),
        _ if req.body.contains("conversion_action") => Reply::json(json!({})),
        _ => Reply::json(
            json!({"results":[row("111","2025-01-01",json!({"costMicros":"5000000"}))]}),
        ),
    })
    .await;
    let rows = platforms(&server.origin)
        .adapter(Platform::Google)
        .daily_metrics(
            &Credentials::new("t"),
            &usd_account(),
            day("2025-01-01"),
            day("2025-01-01"),
        )
        .await
        .expect("data after the rate limits");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].spend.micros, 5_000_000);
    let gaps = server.gaps();
    assert_eq!(gaps.len(), 3, "two retries, then the per-action query");
    // At least each hint; that the wait is the hint (plus jitter) and not more is decided by
    // `retry::tests::hints_are_minimums_and_backoff_grows`, without a clock.
    assert!(gaps[0] >= Duration::from_secs(1), "waited {:?}", gaps[0]);
    assert!(
        gaps[1] >= Duration::from_millis(200),
        "waited {:?}",
        gaps[1]
    );
}

#[tokio::test]
async fn the_daily_operation_quota_is_counted_before_calling() {
    let server = serve(|_, _| Reply::json(json!({"results": []}))).await;
    let p = platforms_with(&server.origin, |s| {
        s.limits.google_operations_per_window = 2;
        s.retry = RetryPolicy::none();
    });
    let a = p.adapter(Platform::Google);
    let c = Credentials::new("t");
    a.list_campaigns(&c, &usd_account()).await.expect("1");
    a.list_campaigns(&c, &usd_account()).await.expect("2");
    let e = a
        .list_campaigns(&c, &usd_account())
        .await
        .expect_err("over quota");
    assert!(
        matches!(
            e,
            PlatformError::RateLimited {
                retry_after: Some(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn create_makes_a_budget_then_a_paused_campaign_with_jpy_micros() {
    let server = serve(|req, _| {
        if req.path.ends_with("campaignBudgets:mutate") {
            Reply::json(
                json!({"results":[{"resourceName":"customers/1234567890/campaignBudgets/555"}]}),
            )
        } else {
            Reply::json(json!({"results":[{"resourceName":"customers/1234567890/campaigns/777"}]}))
        }
    })
    .await;
    let jpy = cur("JPY");
    let account = AccountRef::new("1234567890", jpy);
    let created = platforms(&server.origin)
        .adapter(Platform::Google)
        .create_campaign(
            &Credentials::new("t"),
            &account,
            &NewCampaign {
                name: "Spring".into(),
                // 5000.4 yen: JPY has no minor unit, so 5000.
                daily_budget: Money::new(5_000_400_000, jpy),
                status: CampaignStatus::Paused,
            },
        )
        .await
        .expect("created");
    assert_eq!(created.id, "777");
    assert_eq!(created.daily_budget, Some(Money::new(5_000_000_000, jpy)));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let budget = &reqs[0].json()["operations"][0]["create"];
    assert_eq!(budget["amountMicros"], json!("5000000000"));
    assert_eq!(budget["deliveryMethod"], json!("STANDARD"));
    assert_eq!(budget["explicitlyShared"], json!(false));
    let campaign = &reqs[1].json()["operations"][0]["create"];
    assert_eq!(campaign["status"], json!("PAUSED"));
    assert_eq!(
        campaign["campaignBudget"],
        json!("customers/1234567890/campaignBudgets/555")
    );
    assert_eq!(
        campaign["containsEuPoliticalAdvertising"],
        json!("DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING")
    );
}

/// Creates a campaign on a server that takes the budget and answers the campaign create with
/// `status` and `body`; returns the error and the paths called.
async fn failed_create(status: u16, body: serde_json::Value) -> (PlatformError, Vec<Recorded>) {
    let server = serve(move |req, _| {
        if req.path.ends_with("campaignBudgets:mutate") {
            Reply::json(json!({"results":[{"resourceName":"customers/1/campaignBudgets/555"}]}))
        } else {
            Reply::status(status, body.clone())
        }
    })
    .await;
    let e = platforms(&server.origin)
        .adapter(Platform::Google)
        .create_campaign(
            &Credentials::new("t"),
            &AccountRef::new("1", cur("USD")),
            &NewCampaign {
                name: "X".into(),
                daily_budget: Money::new(10_000_000, cur("USD")),
                status: CampaignStatus::Active,
            },
        )
        .await
        .expect_err("create fails");
    (e, server.requests())
}

#[tokio::test]
async fn a_campaign_create_that_may_have_landed_is_not_retried_and_keeps_its_budget() {
    let (e, reqs) = failed_create(
        500,
        json!({"error":{"code":500,"message":"Internal error","status":"INTERNAL"}}),
    )
    .await;
    assert_eq!(e.kind(), "temporary");
    // Budget create and one campaign create: a 5xx may hide a success, so no second create,
    // and the budget stays (the campaign may be using it; the caller looks for it).
    assert_eq!(
        reqs.len(),
        2,
        "{:?}",
        reqs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert_eq!(
        reqs[1].json()["operations"][0]["create"]["status"],
        json!("ENABLED")
    );
}

#[tokio::test]
async fn a_refused_campaign_create_removes_its_budget() {
    let (e, reqs) = failed_create(
        400,
        json!({"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT",
            "details":[{"errors":[{"errorCode":{"campaignError":"DUPLICATE_CAMPAIGN_NAME"},
            "message":"A campaign with this name already exists."}]}]}}),
    )
    .await;
    assert_eq!(e.kind(), "invalid");
    assert_eq!(reqs.len(), 3, "budget, campaign, budget removal");
    assert_eq!(
        reqs[2].json()["operations"][0]["remove"],
        json!("customers/1/campaignBudgets/555")
    );
}

fn budget_row(shared: bool) -> serde_json::Value {
    json!({"results":[{"campaign":{"id":"777"},
        "campaignBudget":{"resourceName":"customers/1234567890/campaignBudgets/555",
                          "amountMicros":"50000000","explicitlyShared":shared}}]})
}

#[tokio::test]
async fn budgets_are_read_and_changed_through_the_campaign_budget() {
    let server = serve(|req, _| {
        if req.path.ends_with("googleAds:search") {
            Reply::json(budget_row(false))
        } else {
            Reply::json(
                json!({"results":[{"resourceName":"customers/1234567890/campaignBudgets/555"}]}),
            )
        }
    })
    .await;
    let a = platforms(&server.origin).adapter(Platform::Google);
    let c = Credentials::new("t");
    let budget = a
        .daily_budget(&c, &usd_account(), "777")
        .await
        .expect("budget");
    assert_eq!(budget, Some(Money::new(50_000_000, cur("USD"))));
    a.set_daily_budget(
        &c,
        &usd_account(),
        "777",
        Money::new(70_000_000, cur("USD")),
    )
    .await
    .expect("set");
    a.pause(&c, &usd_account(), "777").await.expect("pause");
    let reqs = server.requests();
    assert!(
        reqs[0].json()["query"]
            .as_str()
            .unwrap_or("")
            .contains("campaign.id = 777")
    );
    let op = &reqs[2].json()["operations"][0];
    assert_eq!(
        reqs[2].path,
        "/v26/customers/1234567890/campaignBudgets:mutate"
    );
    assert_eq!(op["updateMask"], json!("amountMicros"));
    assert_eq!(op["update"]["amountMicros"], json!("70000000"));
    assert_eq!(
        op["update"]["resourceName"],
        json!("customers/1234567890/campaignBudgets/555")
    );
    let op = &reqs[3].json()["operations"][0];
    assert_eq!(reqs[3].path, "/v26/customers/1234567890/campaigns:mutate");
    assert_eq!(op["updateMask"], json!("status"));
    assert_eq!(op["update"]["status"], json!("PAUSED"));
    assert_eq!(
        op["update"]["resourceName"],
        json!("customers/1234567890/campaigns/777")
    );
}

#[tokio::test]
async fn a_shared_budget_is_not_changed() {
    let server = serve(|_, _| Reply::json(budget_row(true))).await;
    let e = platforms(&server.origin)
        .adapter(Platform::Google)
        .set_daily_budget(
            &Credentials::new("t"),
            &usd_account(),
            "777",
            Money::new(1_000_000, cur("USD")),
        )
        .await
        .expect_err("shared");
    assert_eq!(e.kind(), "invalid");
    assert_eq!(server.requests().len(), 1, "no mutate was sent");
}

#[tokio::test]
async fn accounts_list_skips_customers_without_permission() {
    let server = serve(|req, _| {
        if req.path.ends_with("customers:listAccessibleCustomers") {
            return Reply::json(json!({"resourceNames":["customers/1234567890","customers/9876543210"]}));
        }
        if req.path.contains("9876543210") {
            return Reply::status(403, json!({"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED",
                "details":[{"errors":[{"errorCode":{"authorizationError":"CUSTOMER_NOT_ENABLED"},"message":"The customer account can't be accessed because it is not yet enabled or has been deactivated."}]}]}}));
        }
        Reply::json(json!({"results":[{"customer":{"resourceName":"customers/1234567890","id":"1234567890",
            "descriptiveName":"Acme","currencyCode":"EUR","timeZone":"Europe/Berlin","manager":false,"status":"ENABLED"}}]}))
    })
    .await;
    let accounts = platforms(&server.origin)
        .adapter(Platform::Google)
        .list_accounts(&Credentials::new("t"))
        .await
        .expect("accounts");
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, "1234567890");
    assert_eq!(accounts[0].name, "Acme");
    assert_eq!(accounts[0].currency, cur("EUR"));
    assert_eq!(accounts[0].time_zone, "Europe/Berlin");
    assert_eq!(server.requests()[0].method, "GET");
}

#[tokio::test]
async fn oauth_uses_offline_consent_pkce_and_keeps_the_refresh_token() {
    let server = serve(|req, _| match req.form("grant_type").as_deref() {
        Some("authorization_code") => Reply::json(json!({"access_token":"ya29.a","expires_in":3599,
            "token_type":"Bearer","scope":"https://www.googleapis.com/auth/adwords","refresh_token":"1//0g"})),
        Some("refresh_token") if req.form("refresh_token").as_deref() == Some("1//0g") => {
            Reply::json(json!({"access_token":"ya29.b","expires_in":3599,"token_type":"Bearer"}))
        }
        _ => Reply::status(400, json!({"error":"invalid_grant","error_description":"Token has been expired or revoked."})),
    })
    .await;
    let a = platforms(&server.origin).adapter(Platform::Google);
    let url = a
        .authorization_url(&AuthorizationRequest {
            state: "st4te",
            redirect_uri: "https://app.example/cb",
            pkce_challenge: Some("chal"),
        })
        .expect("url");
    let parsed = url::Url::parse(&url).expect("valid url");
    let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert!(url.starts_with("https://accounts.google.com/o/oauth2/v2/auth?"));
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["state"], "st4te");
    assert_eq!(q["code_challenge"], "chal");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["scope"], "https://www.googleapis.com/auth/adwords");

    let t = a
        .exchange_code("4/abc", "https://app.example/cb", Some("verifier"))
        .await
        .expect("tokens");
    assert_eq!(t.refresh_token.as_deref(), Some("1//0g"));
    assert!(t.expires_at.is_some());
    let exchange = &server.requests()[0];
    assert_eq!(exchange.form("code_verifier").as_deref(), Some("verifier"));
    assert_eq!(exchange.form("client_secret").as_deref(), Some("gsecret"));

    let renewed = a.renew_token(&t).await.expect("refresh").expect("a token");
    assert_eq!(renewed.access_token, "ya29.b");
    assert_eq!(renewed.refresh_token.as_deref(), Some("1//0g"));

    let gone = TokenSet {
        refresh_token: Some("revoked".into()),
        ..t
    };
    assert_eq!(
        a.renew_token(&gone).await,
        Err(PlatformError::Auth {
            needs_reconnect: true,
            message: "Token has been expired or revoked.".into()
        })
    );
}

#[tokio::test]
async fn revoke_ends_the_grant_with_the_refresh_token() {
    let server = serve(|_, i| {
        if i == 0 {
            Reply::status(200, json!({}))
        } else {
            Reply::status(
                400,
                json!({"error":"invalid_token","error_description":"Token expired or revoked"}),
            )
        }
    })
    .await;
    let a = platforms(&server.origin).adapter(Platform::Google);
    let t = TokenSet {
        access_token: "ya29.a".into(),
        refresh_token: Some("1//0g".into()),
        expires_at: None,
        scope: None,
        advertiser_ids: vec![],
    };
    a.revoke(&t).await.expect("revoked");
    // Revoking again: already gone counts as done.
    a.revoke(&t).await.expect("already revoked");
    let reqs = server.requests();
    assert_eq!(reqs[0].path, "/revoke");
    assert_eq!(reqs[0].q("token").as_deref(), Some("1//0g"));
}

#[test]
fn retry_info_details_and_durations_are_read() {
    let body = json!({"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED",
        "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2.5s"}]}});
    let e = super::errors::classify(
        reqwest::StatusCode::TOO_MANY_REQUESTS,
        &reqwest::header::HeaderMap::new(),
        &body.to_string(),
    );
    assert_eq!(
        e,
        PlatformError::RateLimited {
            retry_after: Some(Duration::from_millis(2500)),
            message: "Quota exceeded".into()
        }
    );
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("retry-after", "3".parse().expect("header"));
    let e = super::errors::classify(reqwest::StatusCode::TOO_MANY_REQUESTS, &headers, "{}");
    assert_eq!(
        e,
        PlatformError::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
            message: "{}".into()
        }
    );
}

/// A searchStream answer (a JSON array of batches) where a search page was expected, and a
/// page whose `results` is not a list: both are errors naming the shape, not zero rows.
#[tokio::test]
async fn an_answer_of_another_shape_is_an_error_not_zero_spend() {
    let stream = json!([{"results":[row("111", "2025-01-01",
        json!({"impressions":"10","clicks":"1","costMicros":"20000000"}))],
        "fieldMask":"campaign.id,segments.date,metrics.costMicros","requestId":"r1"}]);
    let server = serve(move |_, _| Reply::json(stream.clone())).await;
    let e = platforms(&server.origin)
        .adapter(Platform::Google)
        .daily_metrics(
            &Credentials::new("t"),
            &usd_account(),
            day("2025-01-01"),
            day("2025-01-01"),
        )
        .await
        .expect_err("not a search page");
    assert_eq!(e.kind(), "unexpected");
    assert!(
        e.message().contains("Google Ads") && e.message().contains("JSON array"),
        "{e}"
    );

    let odd = json!({"results": {"campaign": {"id": "1"}}});
    let server = serve(move |_, _| Reply::json(odd.clone())).await;
    let e = platforms(&server.origin)
        .adapter(Platform::Google)
        .list_campaigns(&Credentials::new("t"), &usd_account())
        .await
        .expect_err("results is not a list");
    assert!(e.message().contains("\"results\""), "{e}");

    // No rows at all is a page without `results`, and stays valid.
    let server = serve(|_, _| {
        Reply::json(json!({"fieldMask":"campaign.id","queryResourceConsumption":"12"}))
    })
    .await;
    let none = platforms(&server.origin)
        .adapter(Platform::Google)
        .list_campaigns(&Credentials::new("t"), &usd_account())
        .await
        .expect("empty page");
    assert!(none.is_empty());
}

/// Listing asks Google to leave removed campaigns out, and a campaign on a shared budget
/// has no daily budget of its own.
#[tokio::test]
async fn removed_campaigns_are_not_listed_and_shared_budgets_are_not_a_campaigns_own() {
    let server = serve(|_, _| {
        Reply::json(json!({"results":[
            {"campaign":{"resourceName":"customers/1234567890/campaigns/1","id":"1","name":"Own","status":"ENABLED"},
             "campaignBudget":{"resourceName":"customers/1234567890/campaignBudgets/10","amountMicros":"50000000","explicitlyShared":false}},
            {"campaign":{"resourceName":"customers/1234567890/campaigns/2","id":"2","name":"Pooled","status":"ENABLED"},
             "campaignBudget":{"resourceName":"customers/1234567890/campaignBudgets/20","amountMicros":"900000000","explicitlyShared":true}}],
            "fieldMask":"campaign.id,campaign.name,campaign.status,campaignBudget.amountMicros,campaignBudget.explicitlyShared"}))
    })
    .await;
    let a = platforms(&server.origin).adapter(Platform::Google);
    let c = Credentials::new("t");
    let list = a.list_campaigns(&c, &usd_account()).await.expect("list");
    assert_eq!(
        list[0].daily_budget,
        Some(Money::new(50_000_000, cur("USD")))
    );
    assert_eq!(list[1].daily_budget, None, "a shared budget is not its own");
    let q = server.requests()[0].json()["query"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(q.contains("campaign.status != 'REMOVED'"), "{q}");

    let server = serve(|_, _| Reply::json(budget_row(true))).await;
    let own = platforms(&server.origin)
        .adapter(Platform::Google)
        .daily_budget(&c, &usd_account(), "777")
        .await
        .expect("budget");
    assert_eq!(own, None);
}
