//! Contract tests against recorded TikTok v1.3 bodies (shapes from the reference §3).

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;

use super::{body_with_number, day_chunks};
use crate::platforms::testkit::{Reply, cur, day, platforms, platforms_with, serve};
use crate::platforms::{
    AccountRef, AccountStatus, CampaignStatus, Credentials, NewCampaign, PlatformError, RetryPolicy,
};
use crate::types::{Money, Platform};

fn ok(data: serde_json::Value) -> Reply {
    Reply::json(json!({"code": 0, "message": "OK", "request_id": "2025", "data": data}))
}

fn fail(code: i64, message: &str) -> Reply {
    Reply::json(json!({"code": code, "message": message, "request_id": "2025", "data": {}}))
}

fn report_row(campaign: &str, date: &str, metrics: serde_json::Value) -> serde_json::Value {
    json!({"dimensions": {"campaign_id": campaign, "stat_time_day": format!("{date} 00:00:00")},
           "metrics": metrics})
}

#[test]
fn long_ranges_split_into_30_day_pieces() {
    let chunks = day_chunks(day("2025-01-01"), day("2025-03-15"), 30);
    assert_eq!(
        chunks,
        vec![
            (day("2025-01-01"), day("2025-01-30")),
            (day("2025-01-31"), day("2025-03-01")),
            (day("2025-03-02"), day("2025-03-15")),
        ]
    );
    assert_eq!(
        day_chunks(day("2025-01-01"), day("2025-01-01"), 30),
        vec![(day("2025-01-01"), day("2025-01-01"))]
    );
}

#[test]
fn budgets_are_written_as_exact_json_numbers() {
    let mut m = serde_json::Map::new();
    m.insert("advertiser_id".into(), json!("701"));
    let body = body_with_number(m, "budget", Decimal::new(5025, 2));
    assert_eq!(body, r#"{"advertiser_id":"701","budget":50.25}"#);
    let v: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
    assert!(v["budget"].is_number());
    assert_eq!(
        body_with_number(serde_json::Map::new(), "budget", Decimal::new(5000, 0)),
        r#"{"budget":5000}"#
    );
}

#[tokio::test]
async fn reports_split_ranges_page_through_and_read_strings_and_numbers() {
    let server = serve(|req, _| {
        let start = req.q("start_date").unwrap_or_default();
        let page: i64 = req.q("page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let list = match (start.as_str(), page) {
            ("2025-01-01", 1) => vec![report_row("1790000000000001", "2025-01-01",
                json!({"campaign_name":"Traffic 1","spend":"20.00","impressions":"4696","clicks":"51",
                       "conversion":"3","total_complete_payment_rate":"120.50"}))],
            // Bare numbers, as some fixtures show.
            ("2025-01-01", 2) => vec![report_row("1790000000000001", "2025-01-02",
                json!({"campaign_name":"Traffic 1","spend":7.5,"impressions":100,"clicks":2,
                       "conversion":1,"total_complete_payment_rate":9.99}))],
            // Missing keys read as 0.
            ("2025-01-31", 1) => vec![report_row("1790000000000002", "2025-02-10",
                json!({"campaign_name":"Quiet"}))],
            _ => vec![],
        };
        let total_page = if start == "2025-01-01" { 2 } else { 1 };
        ok(json!({"list": list,
                  "page_info": {"page": page, "page_size": 1000, "total_number": 3, "total_page": total_page}}))
    })
    .await;
    let rows = platforms(&server.origin)
        .adapter(Platform::Tiktok)
        .daily_metrics(
            &Credentials::new("tt-token"),
            &AccountRef::new("701", cur("USD")),
            day("2025-01-01"),
            day("2025-03-15"),
        )
        .await
        .expect("report");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].date, day("2025-01-01"));
    assert_eq!(rows[0].spend, Money::new(20_000_000, cur("USD")));
    assert_eq!(rows[0].impressions, 4696);
    assert_eq!(rows[0].conversions, Decimal::new(3, 0));
    assert_eq!(rows[0].revenue, Money::new(120_500_000, cur("USD")));
    assert_eq!(rows[1].spend.micros, 7_500_000);
    assert_eq!(rows[1].clicks, 2);
    assert_eq!(rows[1].revenue.micros, 9_990_000);
    assert_eq!(rows[2].campaign_name, "Quiet");
    assert_eq!(
        (
            rows[2].impressions,
            rows[2].spend.micros,
            rows[2].revenue.micros
        ),
        (0, 0, 0)
    );

    let reqs = server.requests();
    let calls: Vec<(String, String, String)> = reqs
        .iter()
        .map(|r| {
            (
                r.q("start_date").unwrap_or_default(),
                r.q("end_date").unwrap_or_default(),
                r.q("page").unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        vec![
            ("2025-01-01".into(), "2025-01-30".into(), "1".into()),
            ("2025-01-01".into(), "2025-01-30".into(), "2".into()),
            ("2025-01-31".into(), "2025-03-01".into(), "1".into()),
            ("2025-03-02".into(), "2025-03-15".into(), "1".into()),
        ]
    );
    let r = &reqs[0];
    assert_eq!(r.path, "/open_api/v1.3/report/integrated/get/");
    assert_eq!(r.header("access-token").as_deref(), Some("tt-token"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.q("dimensions").as_deref(),
        Some(r#"["campaign_id","stat_time_day"]"#)
    );
    let metrics: Vec<String> =
        serde_json::from_str(&r.q("metrics").unwrap_or_default()).expect("JSON array");
    assert!(metrics.contains(&"conversion".to_string()));
    assert!(metrics.contains(&"total_complete_payment_rate".to_string()));
    assert_eq!(r.q("data_level").as_deref(), Some("AUCTION_CAMPAIGN"));
    assert_eq!(r.q("page_size").as_deref(), Some("1000"));
}

async fn error_for(reply: impl Fn() -> Reply + Send + Sync + 'static) -> PlatformError {
    let server = serve(move |_, _| reply()).await;
    platforms_with(&server.origin, |s| s.retry = RetryPolicy::none())
        .adapter(Platform::Tiktok)
        .list_campaigns(&Credentials::new("t"), &AccountRef::new("701", cur("USD")))
        .await
        .expect_err("error")
}

#[tokio::test]
async fn http_200_error_codes_are_mapped() {
    assert_eq!(
        error_for(|| fail(40105, "Access token is incorrect or has been revoked.")).await,
        PlatformError::Auth {
            needs_reconnect: true,
            message: "Access token is incorrect or has been revoked.".into()
        }
    );
    assert_eq!(
        error_for(|| fail(40002, "budget: Budget too low.")).await,
        PlatformError::Invalid {
            message: "budget: Budget too low.".into()
        }
    );
    assert_eq!(
        error_for(|| fail(50000, "System error.")).await.kind(),
        "temporary"
    );
    assert_eq!(
        error_for(|| fail(40100, "Too many requests.")).await,
        PlatformError::RateLimited {
            retry_after: None,
            message: "Too many requests.".into()
        }
    );
    assert_eq!(
        error_for(|| fail(40001, "No permission")).await.kind(),
        "auth"
    );
    let e = error_for(|| Reply {
        status: 504,
        headers: vec![],
        body: "upstream timed out".into(),
    })
    .await;
    assert_eq!(e.kind(), "temporary");
    let e = error_for(|| Reply::json(json!({"unexpected": true}))).await;
    assert_eq!(e.kind(), "unexpected");
}

#[tokio::test]
async fn rate_limit_codes_are_retried_with_backoff_until_data_arrives() {
    let server = serve(|_, i| {
        if i < 3 {
            fail(40100, "Too many requests.")
        } else {
            ok(json!({"list": [{"campaign_id": "17", "campaign_name": "C", "operation_status": "ENABLE",
                                "budget_mode": "BUDGET_MODE_DAY", "budget": 50.0}],
                      "page_info": {"page": 1, "total_page": 1}}))
        }
    })
    .await;
    let p = platforms_with(&server.origin, |s| {
        s.retry.base_delay = Duration::from_millis(100)
    });
    let campaigns = p
        .adapter(Platform::Tiktok)
        .list_campaigns(&Credentials::new("t"), &AccountRef::new("701", cur("USD")))
        .await
        .expect("data after the limits");
    assert_eq!(
        campaigns[0].daily_budget,
        Some(Money::new(50_000_000, cur("USD")))
    );
    let gaps = server.gaps();
    assert_eq!(gaps.len(), 3);
    // Equal-jitter backoff: at least 50, 100, 100 ms (capped at 200 ms by the test policy).
    assert!(gaps[0] >= Duration::from_millis(50), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(100), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(100), "{gaps:?}");
}

#[tokio::test]
async fn campaigns_are_created_paused_with_jpy_budgets_and_managed() {
    let server = serve(|req, _| match req.path.as_str() {
        "/open_api/v1.3/campaign/create/" => ok(json!({"campaign_id": "1790000000000001"})),
        "/open_api/v1.3/campaign/get/" => ok(json!({"list": [
                {"campaign_id": "1790000000000002", "campaign_name": "Other", "budget": 1, "budget_mode": "BUDGET_MODE_DAY", "operation_status": "ENABLE"},
                {"campaign_id": "1790000000000001", "campaign_name": "Spring", "budget": "7000", "budget_mode": "BUDGET_MODE_DAY",
                 "operation_status": "DISABLE", "secondary_status": "CAMPAIGN_STATUS_DISABLE"},
                {"campaign_id": "1790000000000003", "campaign_name": "Total", "budget": "9000", "budget_mode": "BUDGET_MODE_TOTAL",
                 "operation_status": "ENABLE", "secondary_status": "CAMPAIGN_STATUS_DELETE"}],
            "page_info": {"page": 1, "total_page": 1}})),
        _ => ok(json!({})),
    })
    .await;
    let jpy = cur("JPY");
    let acct = AccountRef::new("701", jpy);
    let a = platforms(&server.origin).adapter(Platform::Tiktok);
    let c = Credentials::new("t");
    let created = a
        .create_campaign(
            &c,
            &acct,
            &NewCampaign {
                name: "Spring".into(),
                daily_budget: Money::new(5_000_000_000, jpy),
                status: CampaignStatus::Paused,
            },
        )
        .await
        .expect("created");
    assert_eq!(created.id, "1790000000000001");
    let reqs = server.requests();
    let body = reqs[0].json();
    assert_eq!(body["budget"], json!(5000));
    assert_eq!(body["budget_mode"], json!("BUDGET_MODE_DAY"));
    assert_eq!(body["operation_status"], json!("DISABLE"));
    assert_eq!(body["advertiser_id"], json!("701"));
    assert_eq!(
        reqs[0].header("content-type").as_deref(),
        Some("application/json")
    );

    assert_eq!(
        a.daily_budget(&c, &acct, "1790000000000001")
            .await
            .expect("budget"),
        Some(Money::new(7_000_000_000, jpy))
    );
    let all = a.list_campaigns(&c, &acct).await.expect("list");
    assert_eq!(all[1].status, CampaignStatus::Paused);
    assert_eq!(all[2].status, CampaignStatus::Removed);
    assert_eq!(
        all[2].daily_budget, None,
        "a total budget is not a daily one"
    );

    a.set_daily_budget(
        &c,
        &acct,
        "1790000000000001",
        Money::new(8_000_000_000, jpy),
    )
    .await
    .expect("set");
    a.resume(&c, &acct, "1790000000000001")
        .await
        .expect("resume");
    let reqs = server.requests();
    let update = reqs
        .iter()
        .find(|r| r.path.ends_with("campaign/update/"))
        .expect("update");
    assert_eq!(update.json()["budget"], json!(8000));
    assert_eq!(update.json()["campaign_id"], json!("1790000000000001"));
    let status = reqs
        .iter()
        .find(|r| r.path.ends_with("campaign/status/update/"))
        .expect("status");
    assert_eq!(status.json()["campaign_ids"], json!(["1790000000000001"]));
    assert_eq!(status.json()["operation_status"], json!("ENABLE"));
}

#[tokio::test]
async fn advertisers_are_listed_with_currency_and_time_zone() {
    let server = serve(|req, _| match req.path.as_str() {
        "/open_api/v1.3/oauth2/advertiser/get/" => {
            assert_eq!(req.q("app_id").as_deref(), Some("tid"));
            assert_eq!(req.q("secret").as_deref(), Some("tsecret"));
            ok(
                json!({"list": [{"advertiser_id": "7012345678901234567", "advertiser_name": "Acme"},
                               {"advertiser_id": "702", "advertiser_name": "Yen"}]}),
            )
        }
        "/open_api/v1.3/advertiser/info/" => {
            let ids: Vec<String> =
                serde_json::from_str(&req.q("advertiser_ids").unwrap_or_default())
                    .expect("JSON array");
            assert_eq!(ids, vec!["7012345678901234567", "702"]);
            ok(json!({"list": [
                {"advertiser_id": "7012345678901234567", "name": "Acme", "currency": "USD",
                 "timezone": "America/New_York", "status": "STATUS_ENABLE"},
                {"advertiser_id": "702", "name": "", "currency": "JPY", "timezone": "Asia/Tokyo",
                 "status": "STATUS_DISABLE"}]}))
        }
        _ => fail(40000, "unexpected path"),
    })
    .await;
    let accounts = platforms(&server.origin)
        .adapter(Platform::Tiktok)
        .list_accounts(&Credentials::new("t"))
        .await
        .expect("accounts");
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0].currency, cur("USD"));
    assert_eq!(accounts[0].time_zone, "America/New_York");
    assert_eq!(
        accounts[1].name, "Yen",
        "name from the advertiser list when info has none"
    );
    assert_eq!(accounts[1].status, AccountStatus::Disabled);
}

#[tokio::test]
async fn auth_code_gives_a_long_term_token() {
    let server = serve(|req, _| {
        assert_eq!(req.path, "/open_api/v1.3/oauth2/access_token/");
        let b = req.json();
        assert_eq!(b["auth_code"], json!("ac"));
        assert_eq!(b["app_id"], json!("tid"));
        ok(json!({"access_token": "tt", "advertiser_ids": ["7012345678901234567"], "scope": [4, 5, 6]}))
    })
    .await;
    let a = platforms(&server.origin).adapter(Platform::Tiktok);
    let t = a
        .exchange_code("ac", "https://app.example/cb", None)
        .await
        .expect("token");
    assert_eq!(t.access_token, "tt");
    assert_eq!(t.expires_at, None);
    assert_eq!(t.advertiser_ids, vec!["7012345678901234567"]);
    assert_eq!(a.renew_token(&t).await, Ok(None));
}

#[tokio::test]
async fn revoke_posts_the_token_with_the_app_credentials() {
    let server = serve(|_, _| ok(json!({"app_id": "tid", "advertiser_ids": ["701"]}))).await;
    let a = platforms(&server.origin).adapter(Platform::Tiktok);
    let t = crate::platforms::TokenSet {
        access_token: "tt".into(),
        refresh_token: None,
        expires_at: None,
        scope: None,
        advertiser_ids: vec![],
    };
    a.revoke(&t).await.expect("revoked");
    let r = &server.requests()[0];
    assert_eq!(r.path, "/open_api/v1.3/oauth2/revoke_token/");
    assert_eq!(
        r.json(),
        json!({"app_id": "tid", "secret": "tsecret", "access_token": "tt"})
    );
}

#[tokio::test]
async fn campaign_lists_page_through_every_page() {
    let server = serve(|req, _| {
        let page: i64 = req.q("page").and_then(|p| p.parse().ok()).unwrap_or(0);
        ok(json!({"list": [{"campaign_id": format!("{page}"), "campaign_name": "C", "operation_status": "ENABLE",
                            "budget_mode": "BUDGET_MODE_INFINITE", "budget": 0}],
                  "page_info": {"page": page, "page_size": 1000, "total_number": 3, "total_page": "3"}}))
    })
    .await;
    let campaigns = platforms(&server.origin)
        .adapter(Platform::Tiktok)
        .list_campaigns(&Credentials::new("t"), &AccountRef::new("701", cur("USD")))
        .await
        .expect("campaigns");
    let ids: Vec<&str> = campaigns.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec!["1", "2", "3"]);
    assert_eq!(campaigns[0].daily_budget, None);
}

/// `campaign/get` answers whose rows carry only `secondary_status` (as some field selections
/// and older answers do): a running campaign is active, not paused.
#[tokio::test]
async fn a_campaign_with_only_a_secondary_status_keeps_its_state() {
    let server = serve(|_, _| {
        ok(json!({"list": [
            {"campaign_id": "1", "campaign_name": "Running", "secondary_status": "CAMPAIGN_STATUS_ENABLE",
             "budget_mode": "BUDGET_MODE_DAY", "budget": "50.00"},
            {"campaign_id": "2", "campaign_name": "Budget spent", "secondary_status": "CAMPAIGN_STATUS_BUDGET_EXCEED",
             "budget_mode": "BUDGET_MODE_DAY", "budget": "10.00"},
            {"campaign_id": "3", "campaign_name": "Off", "secondary_status": "CAMPAIGN_STATUS_DISABLE",
             "budget_mode": "BUDGET_MODE_DAY", "budget": "10.00"},
            {"campaign_id": "4", "campaign_name": "Gone", "secondary_status": "CAMPAIGN_STATUS_DELETE",
             "budget_mode": "BUDGET_MODE_INFINITE", "budget": 0}],
            "page_info": {"page": 1, "page_size": 1000, "total_number": 4, "total_page": 1}}))
    })
    .await;
    let campaigns = platforms(&server.origin)
        .adapter(Platform::Tiktok)
        .list_campaigns(&Credentials::new("t"), &AccountRef::new("701", cur("USD")))
        .await
        .expect("campaigns");
    let statuses: Vec<CampaignStatus> = campaigns.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        vec![
            CampaignStatus::Active,
            CampaignStatus::Active,
            CampaignStatus::Paused,
            CampaignStatus::Removed
        ]
    );
}

/// `advertiser/info` as TikTok documents it: `timezone` may be a fixed offset while
/// `display_timezone` names the region; adpilot asks for the fields it reads, and one
/// advertiser without a currency does not hide the others.
#[tokio::test]
async fn advertiser_info_asks_for_its_fields_and_uses_the_display_time_zone() {
    let server = serve(|req, _| match req.path.as_str() {
        "/open_api/v1.3/oauth2/advertiser/get/" => ok(json!({"list": [
            {"advertiser_id": "701", "advertiser_name": "LA"},
            {"advertiser_id": "702", "advertiser_name": "Odd"}]})),
        "/open_api/v1.3/advertiser/info/" => ok(json!({"list": [
            {"advertiser_id": "701", "name": "LA", "currency": "USD", "timezone": "Etc/GMT+8",
             "display_timezone": "America/Los_Angeles", "status": "STATUS_ENABLE"},
            {"advertiser_id": "702", "name": "Odd", "timezone": "Etc/GMT+8",
             "display_timezone": "America/Los_Angeles", "status": "STATUS_ENABLE"}]})),
        _ => fail(40000, "unexpected path"),
    })
    .await;
    let a = platforms(&server.origin).adapter(Platform::Tiktok);
    let accounts = a
        .list_accounts(&Credentials::new("t"))
        .await
        .expect("accounts");
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0].time_zone, "America/Los_Angeles");
    let info = server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("advertiser/info/"))
        .expect("info call");
    let fields: Vec<String> =
        serde_json::from_str(&info.q("fields").unwrap_or_default()).expect("fields list");
    assert!(fields.iter().any(|f| f == "currency"), "{fields:?}");
    assert!(fields.iter().any(|f| f == "display_timezone"), "{fields:?}");

    let err = a
        .account(&Credentials::new("t"), "702")
        .await
        .expect_err("no currency");
    assert!(
        err.message().contains("advertiser/info") && err.message().contains("currency"),
        "{err}"
    );
}
