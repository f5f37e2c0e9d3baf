//! Meta.

use super::*;

#[tokio::test]
async fn meta_insights_are_strings_with_cursor_paging_and_usage_headers() {
    let h = start(|_| {}).await;
    let t = h.issue_token(Platform::Meta, None);
    let acc = first_account(&h, Platform::Meta, "USD");
    let to = fixed_now().date_naive() - Duration::days(1);
    let from = to - Duration::days(4);
    let mut url = format!(
        "{}/v25.0/act_{}/insights?level=campaign&time_increment=1&fields=campaign_id,campaign_name,impressions,clicks,spend,actions,action_values&limit=5&time_range={}",
        h.base_url(),
        acc.id,
        urlencode(&json!({"since": from.to_string(), "until": to.to_string()}).to_string()),
    );
    let mut rows = Vec::new();
    let mut pages = 0;
    loop {
        let r = client()
            .get(&url)
            .bearer_auth(&t.access_token)
            .send()
            .await
            .expect("send");
        let (st, headers, v) = body(r).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert!(headers.contains_key("x-business-use-case-usage"));
        assert!(headers.contains_key("x-ad-account-usage"));
        pages += 1;
        rows.extend(v["data"].as_array().cloned().unwrap_or_default());
        match v["paging"]["next"].as_str() {
            // The next link carries everything but the token, which we keep in the header.
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    assert!(pages > 2);
    let truth = h.daily_metrics(&TruthQuery {
        platform: Some(Platform::Meta),
        account_id: Some(format!("act_{}", acc.id)),
        from: Some(from),
        to: Some(to),
        ..TruthQuery::default()
    });
    assert_eq!(rows.len(), truth.len());
    for r in &rows {
        assert!(r["impressions"].is_string() && r["spend"].is_string() && r["clicks"].is_string());
        let m = truth
            .iter()
            .find(|m| {
                json!(m.campaign_id) == r["campaign_id"]
                    && json!(m.date.to_string()) == r["date_start"]
            })
            .expect("row in truth");
        assert_eq!(r["spend"], json!(m.spend));
        let purchases = r["actions"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["action_type"] == "omni_purchase"))
            .map(|x| x["value"].clone());
        if m.conversions > 0 {
            assert_eq!(purchases, Some(json!(m.conversions.to_string())));
        }
    }
}

#[tokio::test]
async fn meta_errors_are_error_objects_with_codes() {
    let h = start(|_| {}).await;
    let r = client()
        .get(format!(
            "{}/v25.0/me/adaccounts?access_token=nope",
            h.base_url()
        ))
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(r).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["code"], 190);
    assert_eq!(v["error"]["type"], "OAuthException");
    assert!(v["error"]["fbtrace_id"].is_string());

    let t = h.issue_token(Platform::Meta, None);
    let r = client()
        .get(format!(
            "{}/v25.0/me/adaccounts?fields=id,nonsense&access_token={}",
            h.base_url(),
            t.access_token
        ))
        .send()
        .await
        .expect("send");
    let (_, _, v) = body(r).await;
    assert_eq!(v["error"]["code"], 100);

    let r = client()
        .get(format!("{}/v25.0/me/adaccounts?fields=id,account_id,currency,timezone_name&limit=2&access_token={}", h.base_url(), t.access_token))
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(r).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    assert!(
        v["data"][0]["id"]
            .as_str()
            .is_some_and(|s| s.starts_with("act_"))
    );
    assert!(v["paging"]["next"].is_string());
}

/// A sales campaign's ad set needs a `promoted_object` naming a Pixel of the ad account and a
/// standard event, as Meta refuses it otherwise; the account's Pixel is listed at
/// `/act_{id}/adspixels`.
#[tokio::test]
async fn a_sales_ad_set_needs_a_promoted_object_with_the_account_s_pixel() {
    let h = start(|_| {}).await;
    let t = h.issue_token(Platform::Meta, None);
    let acc = first_account(&h, Platform::Meta, "USD");
    let r = client()
        .get(format!(
            "{}/v25.0/act_{}/adspixels?fields=id,name",
            h.base_url(),
            acc.id
        ))
        .bearer_auth(&t.access_token)
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(r).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let pixel = v["data"][0]["id"].as_str().expect("a pixel").to_string();
    assert!(pixel.chars().all(|c| c.is_ascii_digit()), "{pixel}");
    let r = client()
        .post(format!("{}/v25.0/act_{}/campaigns", h.base_url(), acc.id))
        .bearer_auth(&t.access_token)
        .form(&[
            ("name", "Sales"),
            ("objective", "OUTCOME_SALES"),
            ("status", "PAUSED"),
            ("special_ad_categories", "[]"),
            ("daily_budget", "2000"),
        ])
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(r).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let campaign = v["id"].as_str().expect("id").to_string();
    let ad_set = |promoted: Option<String>| {
        let mut f = vec![
            ("name".to_string(), "Buyers".to_string()),
            ("campaign_id".into(), campaign.clone()),
            ("status".into(), "PAUSED".into()),
            ("billing_event".into(), "IMPRESSIONS".into()),
            ("optimization_goal".into(), "OFFSITE_CONVERSIONS".into()),
            (
                "targeting".into(),
                json!({"geo_locations": {"countries": ["US"]},
                    "targeting_automation": {"advantage_audience": 0}})
                .to_string(),
            ),
        ];
        if let Some(p) = promoted {
            f.push(("promoted_object".into(), p));
        }
        client()
            .post(format!("{}/v25.0/act_{}/adsets", h.base_url(), acc.id))
            .bearer_auth(&t.access_token)
            .form(&f)
            .send()
    };
    let (st, _, v) = body(ad_set(None).await.expect("send")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["code"], 100);
    assert_eq!(v["error"]["error_user_title"], "Promoted object required");
    let other = json!({"pixel_id": "1234567890", "custom_event_type": "PURCHASE"});
    let (st, _, v) = body(ad_set(Some(other.to_string())).await.expect("send")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["error_user_title"], "Invalid Pixel");
    let ours = json!({"pixel_id": pixel, "custom_event_type": "PURCHASE"});
    let (st, _, v) = body(ad_set(Some(ours.to_string())).await.expect("send")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let made = h.created().meta_ad_sets;
    assert_eq!(made.len(), 1, "only the ad set with the Pixel was made");
    assert_eq!(made[0].promoted_object, Some(ours));
    assert_eq!(made[0].optimization_goal, "OFFSITE_CONVERSIONS");
}
