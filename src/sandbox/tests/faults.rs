//! faults.

use super::*;

#[tokio::test]
async fn injected_rate_limits_speak_each_platforms_format_then_clear() {
    let h = start(|_| {}).await;
    let admin = client()
        .post(format!("{}/_sandbox/faults", h.base_url()))
        .json(
            &json!({"kind": "rate_limit", "platform": "google", "count": 2, "retry_after_secs": 3}),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(admin.status(), StatusCode::CREATED);
    let g = h.issue_token(Platform::Google, None);
    let acc = first_account(&h, Platform::Google, "USD");
    let q = json!({"query": "SELECT customer.id FROM customer"});
    for _ in 0..2 {
        let (st, _, v) = google_search(&h, &g.access_token, &acc.id, q.clone()).await;
        assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(
            v["error"]["details"][0]["errors"][0]["details"]["quotaErrorDetails"]["retryDelay"],
            "3s"
        );
    }
    assert_eq!(
        google_search(&h, &g.access_token, &acc.id, q).await.0,
        StatusCode::OK
    );

    h.inject_fault(
        FaultSpec::new(FaultKind::RateLimit)
            .platform(Platform::Meta)
            .count(1)
            .retry_after_secs(120),
    )
    .expect("fault");
    let m = h.issue_token(Platform::Meta, None);
    let macc = first_account(&h, Platform::Meta, "USD");
    let r = client()
        .get(format!(
            "{}/v25.0/act_{}/campaigns?access_token={}",
            h.base_url(),
            macc.id,
            m.access_token
        ))
        .send()
        .await
        .expect("send");
    let (st, headers, v) = body(r).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], 80004);
    let buc: Value = serde_json::from_str(
        headers["x-business-use-case-usage"]
            .to_str()
            .expect("header"),
    )
    .expect("json");
    assert_eq!(buc[&macc.id][0]["estimated_time_to_regain_access"], 2);

    h.inject_fault(
        FaultSpec::new(FaultKind::RateLimit)
            .platform(Platform::Tiktok)
            .count(1),
    )
    .expect("fault");
    let tt = h.issue_token(Platform::Tiktok, None);
    let tacc = first_account(&h, Platform::Tiktok, "USD");
    let v = tiktok_get(
        &h,
        Some(&tt.access_token),
        "campaign/get/",
        &[("advertiser_id", tacc.id.clone())],
    )
    .await;
    assert_eq!(v["code"], 40100);
    let v = tiktok_get(
        &h,
        Some(&tt.access_token),
        "campaign/get/",
        &[("advertiser_id", tacc.id.clone())],
    )
    .await;
    assert_eq!(v["code"], 0);

    let calls = h.calls();
    let statuses: Vec<u16> = calls
        .iter()
        .filter(|c| c.platform == Some(Platform::Google))
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![429, 429, 200]);
    assert!(
        calls
            .iter()
            .any(|c| c.platform_code == Some(40100) && c.fault == Some(FaultKind::RateLimit))
    );
    assert!(calls.windows(2).all(|w| w[0].elapsed_ms <= w[1].elapsed_ms));
}

#[tokio::test]
async fn server_errors_timeouts_and_dead_tokens_can_be_injected() {
    let h = start(|_| {}).await;
    let g = h.issue_token(Platform::Google, None);
    let acc = first_account(&h, Platform::Google, "USD");
    let q = json!({"query": "SELECT customer.id FROM customer"});

    h.inject_fault(
        FaultSpec::new(FaultKind::ServerError)
            .platform(Platform::Google)
            .count(1),
    )
    .expect("fault");
    assert_eq!(
        google_search(&h, &g.access_token, &acc.id, q.clone())
            .await
            .0,
        StatusCode::SERVICE_UNAVAILABLE
    );

    h.inject_fault(
        FaultSpec::new(FaultKind::Timeout)
            .platform(Platform::Google)
            .count(1)
            .delay_ms(1500),
    )
    .expect("fault");
    let slow = reqwest::Client::builder()
        .timeout(StdDuration::from_millis(200))
        .build()
        .expect("client");
    let r = slow
        .post(format!(
            "{}/v21/customers/{}/googleAds:search",
            h.base_url(),
            acc.id
        ))
        .bearer_auth(&g.access_token)
        .json(&q)
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    assert_eq!(
        google_search(&h, &g.access_token, &acc.id, q.clone())
            .await
            .0,
        StatusCode::OK
    );

    h.inject_fault(FaultSpec::new(FaultKind::ExpiredToken).count(3))
        .expect("fault");
    let (st, _, _) = google_search(&h, &g.access_token, &acc.id, q).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let m = h.issue_token(Platform::Meta, None);
    let r = client()
        .get(format!(
            "{}/v25.0/me?access_token={}",
            h.base_url(),
            m.access_token
        ))
        .send()
        .await
        .expect("send");
    let v = body(r).await.2;
    assert_eq!(
        (
            v["error"]["code"].clone(),
            v["error"]["error_subcode"].clone()
        ),
        (json!(190), json!(463))
    );
    let t = h.issue_token(Platform::Tiktok, None);
    let v = tiktok_get(
        &h,
        Some(&t.access_token),
        "oauth2/advertiser/get/",
        &[("app_id", "a".into()), ("secret", "s".into())],
    )
    .await;
    assert_eq!(v["code"], 40102);

    h.inject_fault(
        FaultSpec::new(FaultKind::ServerError)
            .platform(Platform::Tiktok)
            .fraction(1.0),
    )
    .expect("fault");
    let v = tiktok_get(
        &h,
        Some(&t.access_token),
        "oauth2/advertiser/get/",
        &[("app_id", "a".into()), ("secret", "s".into())],
    )
    .await;
    assert_eq!(v["code"], 50000);
    h.clear_faults();
    let v = tiktok_get(
        &h,
        Some(&t.access_token),
        "oauth2/advertiser/get/",
        &[("app_id", "a".into()), ("secret", "s".into())],
    )
    .await;
    assert_eq!(v["code"], 0);
}

#[tokio::test]
async fn configured_platform_limits_are_enforced_in_each_platforms_format() {
    let h = start(|c| {
        c.meta_calls_per_hour = 3;
        c.meta_enforce_usage = true;
        c.google_operations_per_day = Some(2);
        c.tiktok_calls_per_minute = Some(2);
    })
    .await;

    let m = h.issue_token(Platform::Meta, None);
    let macc = first_account(&h, Platform::Meta, "EUR");
    let url = format!(
        "{}/v25.0/act_{}/campaigns?access_token={}",
        h.base_url(),
        macc.id,
        m.access_token
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (st, headers, _) = body(client().get(&url).send().await.expect("send")).await;
        assert_eq!(st, StatusCode::OK);
        let usage: Value =
            serde_json::from_str(headers["x-ad-account-usage"].to_str().expect("header"))
                .expect("json");
        seen.push(usage["acc_id_util_pct"].as_u64().expect("pct"));
    }
    assert_eq!(seen, vec![33, 66, 100]);
    let (st, headers, v) = body(client().get(&url).send().await.expect("send")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], 80004);
    let usage: Value =
        serde_json::from_str(headers["x-ad-account-usage"].to_str().expect("header"))
            .expect("json");
    assert!(
        usage["reset_time_duration"]
            .as_u64()
            .is_some_and(|s| s > 3500)
    );

    let g = h.issue_token(Platform::Google, None);
    let gacc = first_account(&h, Platform::Google, "USD");
    let q = json!({"query": "SELECT customer.id FROM customer"});
    for _ in 0..2 {
        assert_eq!(
            google_search(&h, &g.access_token, &gacc.id, q.clone())
                .await
                .0,
            StatusCode::OK
        );
    }
    let (st, _, v) = google_search(&h, &g.access_token, &gacc.id, q).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        v["error"]["details"][0]["errors"][0]["errorCode"]["quotaError"],
        "RESOURCE_EXHAUSTED"
    );

    let t = h.issue_token(Platform::Tiktok, None);
    let p = [("app_id", "a".to_string()), ("secret", "s".to_string())];
    for _ in 0..2 {
        let v = tiktok_get(&h, Some(&t.access_token), "oauth2/advertiser/get/", &p).await;
        assert_eq!(v["code"], 0);
    }
    let v = tiktok_get(&h, Some(&t.access_token), "oauth2/advertiser/get/", &p).await;
    assert_eq!(v["code"], 40100);
}
