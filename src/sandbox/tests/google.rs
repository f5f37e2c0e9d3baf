//! Google.

use super::*;

#[tokio::test]
async fn google_search_pages_with_tokens_and_sends_int64_as_strings() {
    let h = start(|c| c.google_page_size = 7).await;
    let t = h.issue_token(Platform::Google, None);
    let acc = first_account(&h, Platform::Google, "USD");
    let to = fixed_now().date_naive() - Duration::days(1);
    let from = to - Duration::days(9);
    let q = metrics_query(from, to);

    let r = client()
        .get(format!(
            "{}/v21/customers:listAccessibleCustomers",
            h.base_url()
        ))
        .bearer_auth(&t.access_token)
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(r).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["resourceNames"].as_array().map(Vec::len), Some(3));

    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut req = json!({ "query": q });
        if let Some(t) = &token {
            req["pageToken"] = json!(t);
        }
        let (st, headers, v) = google_search(&h, &t.access_token, &acc.id, req).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert!(headers.contains_key("request-id"));
        pages += 1;
        let page = v["results"].as_array().cloned().unwrap_or_default();
        assert!(page.len() <= 7);
        rows.extend(page);
        match v["nextPageToken"].as_str() {
            Some(n) => token = Some(n.to_string()),
            None => break,
        }
    }
    assert!(pages > 2, "several pages expected, got {pages}");
    let truth = h.daily_metrics(&TruthQuery {
        platform: Some(Platform::Google),
        account_id: Some(acc.id.clone()),
        from: Some(from),
        to: Some(to),
        ..TruthQuery::default()
    });
    assert_eq!(rows.len(), truth.len());
    let row = &rows[0];
    assert!(row["campaign"]["id"].is_string());
    assert!(row["metrics"]["costMicros"].is_string());
    assert!(row["metrics"]["impressions"].is_string());
    assert!(row["metrics"]["conversions"].is_number());
    assert!(
        row["campaign"]["resourceName"]
            .as_str()
            .is_some_and(|r| r.starts_with("customers/"))
    );
    let api_cost: i64 = rows
        .iter()
        .map(|r| {
            r["metrics"]["costMicros"]
                .as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .expect("cost")
        })
        .sum();
    let truth_cost: i64 = truth.iter().map(|m| m.spend_micros).sum();
    assert_eq!(api_cost, truth_cost);

    let (st, _, v) = google_search(
        &h,
        &t.access_token,
        &acc.id,
        json!({"query": q, "pageSize": 100}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["error"]["details"][0]["errors"][0]["errorCode"]["requestError"],
        "PAGE_SIZE_NOT_SUPPORTED"
    );
}

#[tokio::test]
async fn google_errors_use_status_and_google_ads_failure() {
    let h = start(|_| {}).await;
    let t = h.issue_token(Platform::Google, None);
    let acc = first_account(&h, Platform::Google, "EUR");
    let q = json!({"query": "SELECT campaign.id FROM campaign"});

    let (st, _, v) = google_search(&h, "not-a-token", &acc.id, q.clone()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED");

    let (st, _, v) = google_search(&h, &t.access_token, "1234567890", q.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(
        v["error"]["details"][0]["errors"][0]["errorCode"]["authorizationError"],
        "USER_PERMISSION_DENIED"
    );

    let (st, _, v) = google_search(
        &h,
        &t.access_token,
        &acc.id,
        json!({"query": "SELECT campaign.bogus FROM campaign"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        v["error"]["details"][0]["errors"][0]["errorCode"]["queryError"],
        "UNRECOGNIZED_FIELD"
    );

    let (st, _, v) = google_search(&h, &t.access_token, &acc.id, json!({"query": "SELECT customer.id, customer.currency_code, customer.time_zone FROM customer"})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["results"][0]["customer"]["currencyCode"], "EUR");
    assert_eq!(v["results"][0]["customer"]["id"], json!(acc.id));
}
