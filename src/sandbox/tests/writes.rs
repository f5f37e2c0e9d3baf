//! writes and time.

use super::*;

#[tokio::test]
async fn google_writes_create_pause_and_rebudget_and_change_later_metrics() {
    let h = start(|c| c.tokens.google_access = StdDuration::from_secs(30 * 86_400)).await;
    let t = h.issue_token(Platform::Google, None);
    let acc = first_account(&h, Platform::Google, "USD");
    let base = format!("{}/v21/customers/{}", h.base_url(), acc.id);
    let post = |path: &str, b: Value| {
        client()
            .post(format!("{base}/{path}"))
            .bearer_auth(&t.access_token)
            .json(&b)
            .send()
    };

    let (st, _, v) = body(post("campaignBudgets:mutate", json!({"operations": [{"create": {"name": "New budget", "amountMicros": "50000000", "deliveryMethod": "STANDARD"}}]})).await.expect("send")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let budget_rn = v["results"][0]["resourceName"]
        .as_str()
        .expect("rn")
        .to_string();
    let create = json!({"operations": [{"create": {"name": "Sandbox Search 1", "advertisingChannelType": "SEARCH", "status": "ENABLED", "campaignBudget": budget_rn, "manualCpc": {}}}]});
    let (st, _, v) = body(
        post("campaigns:mutate", create.clone())
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::BAD_REQUEST,
        "EU political advertising field is required"
    );
    assert_eq!(
        v["error"]["details"][0]["errors"][0]["errorCode"]["fieldError"],
        "REQUIRED"
    );
    let mut create = create;
    create["operations"][0]["create"]["containsEuPoliticalAdvertising"] =
        json!("DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING");
    let (st, _, v) = body(post("campaigns:mutate", create).await.expect("send")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let rn = v["results"][0]["resourceName"]
        .as_str()
        .expect("rn")
        .to_string();
    let new_id = rn.rsplit('/').next().expect("id").to_string();
    let created = h.campaigns(&TruthQuery {
        campaign_id: Some(new_id.clone()),
        ..TruthQuery::default()
    });
    assert_eq!(created[0].daily_budget_micros, 50_000_000);
    assert_eq!(created[0].status, CampaignStatus::Enabled);

    // A running seeded campaign: pause it now, and from tomorrow on it spends nothing.
    let running = h
        .campaigns(&TruthQuery {
            platform: Some(Platform::Google),
            account_id: Some(acc.id.clone()),
            ..TruthQuery::default()
        })
        .into_iter()
        .find(|c| c.status == CampaignStatus::Enabled && c.campaign_id != new_id)
        .expect("enabled campaign");
    let tz: chrono_tz::Tz = acc.time_zone.parse().expect("tz");
    let today = fixed_now().with_timezone(&tz).date_naive();
    let before_today = spend_on(&h, Platform::Google, &running.campaign_id, today);
    let pause = json!({"operations": [{"update": {"resourceName": format!("customers/{}/campaigns/{}", acc.id, running.campaign_id), "status": "PAUSED"}, "updateMask": "status"}]});
    assert_eq!(
        post("campaigns:mutate", pause)
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    h.clock().advance(Duration::days(2));
    let after_today = spend_on(&h, Platform::Google, &running.campaign_id, today);
    assert_eq!(after_today, before_today, "no spend after the pause");
    assert_eq!(
        spend_on(
            &h,
            Platform::Google,
            &running.campaign_id,
            today + Duration::days(1)
        ),
        0
    );
    assert!(
        spend_on(&h, Platform::Google, &new_id, today + Duration::days(1)) > 0,
        "the new campaign spends"
    );

    // Doubling a budget roughly doubles the next days' spend.
    let other = h
        .campaigns(&TruthQuery {
            platform: Some(Platform::Google),
            account_id: Some(acc.id.clone()),
            ..TruthQuery::default()
        })
        .into_iter()
        .find(|c| c.status == CampaignStatus::Enabled && c.campaign_id != new_id)
        .expect("another enabled campaign");
    let day = today + Duration::days(3);
    let forecast_single = {
        h.clock().advance(Duration::days(3));
        spend_on(&h, Platform::Google, &other.campaign_id, day)
    };
    h.clock().set(fixed_now() + Duration::days(2));
    let bid = other.budget_id.clone().expect("budget");
    let rebudget = json!({"operations": [{"update": {"resourceName": format!("customers/{}/campaignBudgets/{bid}", acc.id), "amountMicros": (other.daily_budget_micros * 2).to_string()}, "updateMask": "amountMicros"}]});
    assert_eq!(
        post("campaignBudgets:mutate", rebudget)
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    h.clock().advance(Duration::days(3));
    let doubled = spend_on(&h, Platform::Google, &other.campaign_id, day);
    assert!(
        doubled > forecast_single * 19 / 10,
        "{forecast_single} -> {doubled}"
    );
}

#[tokio::test]
async fn meta_and_tiktok_writes_persist_and_show_in_truth() {
    let h = start(|_| {}).await;
    let mt = h.issue_token(Platform::Meta, None);
    let macc = first_account(&h, Platform::Meta, "JPY");
    let r = client()
        .post(format!("{}/v25.0/act_{}/campaigns", h.base_url(), macc.id))
        .form(&[
            ("name", "Spring Sale"),
            ("objective", "OUTCOME_TRAFFIC"),
            ("status", "PAUSED"),
            ("special_ad_categories", "[]"),
            ("daily_budget", "5000"),
            ("access_token", mt.access_token.as_str()),
        ])
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(r).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let c = &h.campaigns(&TruthQuery {
        campaign_id: Some(id.clone()),
        ..TruthQuery::default()
    })[0];
    assert_eq!(
        c.daily_budget_micros, 5_000_000_000,
        "JPY budgets are whole yen"
    );
    assert_eq!(c.status, CampaignStatus::Paused);
    let r = client()
        .post(format!("{}/v25.0/{id}", h.base_url()))
        .bearer_auth(&mt.access_token)
        .form(&[("status", "ACTIVE"), ("daily_budget", "7000")])
        .send()
        .await
        .expect("send");
    assert_eq!(body(r).await.2["success"], true);
    let c = &h.campaigns(&TruthQuery {
        campaign_id: Some(id.clone()),
        ..TruthQuery::default()
    })[0];
    assert_eq!(
        (c.status, c.daily_budget_micros),
        (CampaignStatus::Enabled, 7_000_000_000)
    );
    let r = client()
        .post(format!("{}/v25.0/act_{}/campaigns", h.base_url(), macc.id))
        .form(&[
            ("name", "No budget"),
            ("objective", "OUTCOME_SALES"),
            ("special_ad_categories", "[]"),
            ("access_token", mt.access_token.as_str()),
        ])
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(r).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["error_user_msg"]
            .as_str()
            .is_some_and(|m| m.contains("is_adset_budget_sharing_enabled"))
    );

    let tt = h.issue_token(Platform::Tiktok, None);
    let tacc = first_account(&h, Platform::Tiktok, "USD");
    let v = tiktok_post(&h, &tt.access_token, "campaign/create/", json!({"advertiser_id": tacc.id, "campaign_name": "Spring", "objective_type": "TRAFFIC", "budget_mode": "BUDGET_MODE_DAY", "budget": 50.0, "operation_status": "DISABLE"})).await;
    assert_eq!(v["code"], 0, "{v}");
    let tid = v["data"]["campaign_id"].as_str().expect("id").to_string();
    let v = tiktok_post(
        &h,
        &tt.access_token,
        "campaign/status/update/",
        json!({"advertiser_id": tacc.id, "campaign_ids": [tid], "operation_status": "ENABLE"}),
    )
    .await;
    assert_eq!(v["data"]["status"], "ENABLE");
    let v = tiktok_post(
        &h,
        &tt.access_token,
        "campaign/update/",
        json!({"advertiser_id": tacc.id, "campaign_id": tid, "budget": "70.50"}),
    )
    .await;
    assert_eq!(v["code"], 0, "{v}");
    let c = &h.campaigns(&TruthQuery {
        campaign_id: Some(tid.clone()),
        ..TruthQuery::default()
    })[0];
    assert_eq!(
        (c.status, c.daily_budget_micros),
        (CampaignStatus::Enabled, 70_500_000)
    );
    let v = tiktok_post(
        &h,
        &tt.access_token,
        "campaign/update/",
        json!({"advertiser_id": tacc.id, "campaign_id": tid, "budget": 70.505}),
    )
    .await;
    assert_eq!(v["code"], 40002, "more decimals than USD has");
    let dup = tiktok_post(&h, &tt.access_token, "campaign/create/", json!({"advertiser_id": tacc.id, "campaign_name": "Spring", "objective_type": "TRAFFIC", "budget_mode": "BUDGET_MODE_DAY", "budget": 50})).await;
    assert_eq!(dup["code"], 40002);
}

#[tokio::test]
async fn late_conversions_rise_on_a_later_read_and_today_grows() {
    let h = start(|c| c.tokens.google_access = StdDuration::from_secs(30 * 86_400)).await;
    let t = h.issue_token(Platform::Google, None);
    let acc = first_account(&h, Platform::Google, "USD");
    let tz: chrono_tz::Tz = acc.time_zone.parse().expect("tz");
    let today = fixed_now().with_timezone(&tz).date_naive();
    let yesterday = today - Duration::days(1);
    let convs = |v: &Value| -> f64 {
        v["results"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r["metrics"]["conversions"].as_f64())
                    .sum()
            })
            .unwrap_or(0.0)
    };
    let cost = |v: &Value| -> i64 {
        v["results"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r["metrics"]["costMicros"].as_str()?.parse::<i64>().ok())
                    .sum()
            })
            .unwrap_or(0)
    };
    let q = json!({"query": metrics_query(yesterday, yesterday)});
    let (_, _, first) = google_search(&h, &t.access_token, &acc.id, q.clone()).await;
    h.clock().advance(Duration::days(3));
    let (_, _, later) = google_search(&h, &t.access_token, &acc.id, q).await;
    assert!(
        convs(&later) > convs(&first),
        "{} -> {}",
        convs(&first),
        convs(&later)
    );
    assert_eq!(
        cost(&later),
        cost(&first),
        "spend of a finished day does not change"
    );

    h.clock().set(fixed_now());
    let qt = json!({"query": metrics_query(today, today)});
    let (_, _, morning) = google_search(&h, &t.access_token, &acc.id, qt.clone()).await;
    h.clock().advance(Duration::hours(4));
    let (_, _, afternoon) = google_search(&h, &t.access_token, &acc.id, qt).await;
    assert!(cost(&afternoon) > cost(&morning));
}
