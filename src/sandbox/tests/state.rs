//! determinism, truth, state.

use super::*;

#[tokio::test]
async fn same_seed_same_data_and_truth_over_http_matches_in_process() {
    let a = start(|c| c.seed = 7).await;
    let b = start(|c| c.seed = 7).await;
    let c = start(|c| c.seed = 8).await;
    let q = TruthQuery {
        platform: Some(Platform::Meta),
        from: Some(fixed_now().date_naive() - Duration::days(60)),
        ..TruthQuery::default()
    };
    assert_eq!(a.accounts(None), b.accounts(None));
    assert_eq!(a.daily_metrics(&q), b.daily_metrics(&q));
    assert_ne!(a.accounts(None), c.accounts(None));

    let r = client()
        .get(format!(
            "{}/_sandbox/truth/metrics?platform=meta&from={}",
            a.base_url(),
            q.from.map(|d| d.to_string()).unwrap_or_default()
        ))
        .send()
        .await
        .expect("send");
    let over_http: Vec<TruthMetric> = r.json().await.expect("json");
    assert_eq!(over_http, a.daily_metrics(&q));
    let history_days = a
        .daily_metrics(&TruthQuery {
            platform: Some(Platform::Google),
            ..TruthQuery::default()
        })
        .iter()
        .map(|m| m.date)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert!(history_days >= 399, "{history_days} days of history");
}

#[tokio::test]
async fn state_file_keeps_writes_and_tokens_across_restarts() {
    let dir = std::env::temp_dir().join(format!("adpilot-sandbox-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("state.json");
    let h = start(|c| c.state_file = Some(file.clone())).await;
    let t = h.issue_token(Platform::Tiktok, None);
    let acc = first_account(&h, Platform::Tiktok, "EUR");
    let v = tiktok_post(&h, &t.access_token, "campaign/create/", json!({"advertiser_id": acc.id, "campaign_name": "Kept", "objective_type": "REACH", "budget_mode": "BUDGET_MODE_DAY", "budget": 12.5})).await;
    let id = v["data"]["campaign_id"].as_str().expect("id").to_string();
    h.shutdown().await.expect("shutdown");

    let again = start(|c| {
        c.state_file = Some(file.clone());
        c.seed = 999;
    })
    .await;
    let kept = again.campaigns(&TruthQuery {
        campaign_id: Some(id),
        ..TruthQuery::default()
    });
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].daily_budget_micros, 12_500_000);
    let v = tiktok_get(
        &again,
        Some(&t.access_token),
        "oauth2/advertiser/get/",
        &[("app_id", "a".into()), ("secret", "s".into())],
    )
    .await;
    assert_eq!(v["code"], 0, "tokens survive a restart");
    again.shutdown().await.expect("shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn admin_endpoints_issue_tokens_move_the_clock_and_list_calls() {
    let h = start(|_| {}).await;
    let r = client()
        .post(format!("{}/_sandbox/tokens", h.base_url()))
        .json(&json!({"platform": "google"}))
        .send()
        .await
        .expect("send");
    let (st, _, tok) = body(r).await;
    assert_eq!(st, StatusCode::OK);
    let access = tok["access_token"].as_str().expect("token").to_string();
    let r = client()
        .get(format!(
            "{}/v21/customers:listAccessibleCustomers",
            h.base_url()
        ))
        .bearer_auth(&access)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);

    let r = client()
        .post(format!("{}/_sandbox/clock", h.base_url()))
        .json(&json!({"advance_secs": 3600}))
        .send()
        .await
        .expect("send");
    let (_, _, clock) = body(r).await;
    assert_eq!(clock["now"], json!(fixed_now() + Duration::hours(1)));
    let r = client()
        .get(format!(
            "{}/v21/customers:listAccessibleCustomers",
            h.base_url()
        ))
        .bearer_auth(&access)
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "3599 s later the token is gone"
    );

    let r = client()
        .get(format!("{}/_sandbox/calls", h.base_url()))
        .send()
        .await
        .expect("send");
    let calls: Vec<CallRecord> = r.json().await.expect("json");
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![200, 401]
    );
    assert!(
        calls
            .iter()
            .all(|c| c.path.ends_with("customers:listAccessibleCustomers"))
    );

    let bad = client()
        .post(format!("{}/_sandbox/faults", h.base_url()))
        .json(&json!({"kind": "rate_limit", "fraction": 2.0}))
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}
