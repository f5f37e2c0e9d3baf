//! TikTok.

use super::*;

fn report_params(
    adv: &str,
    from: NaiveDate,
    to: NaiveDate,
    page: usize,
) -> Vec<(&'static str, String)> {
    vec![
        ("advertiser_id", adv.to_string()),
        ("service_type", "AUCTION".into()),
        ("report_type", "BASIC".into()),
        ("data_level", "AUCTION_CAMPAIGN".into()),
        ("dimensions", r#"["campaign_id","stat_time_day"]"#.into()),
        ("metrics", r#"["campaign_name","spend","impressions","clicks","conversion","total_complete_payment_rate"]"#.into()),
        ("start_date", from.to_string()),
        ("end_date", to.to_string()),
        ("page", page.to_string()),
        ("page_size", "1000".into()),
    ]
}

#[tokio::test]
async fn tiktok_reports_page_and_errors_come_as_http_200_with_codes() {
    let h = start(|c| c.tiktok_max_page_size = 10).await;
    let t = h.issue_token(Platform::Tiktok, None);
    let acc = first_account(&h, Platform::Tiktok, "JPY");
    let to = fixed_now().date_naive() - Duration::days(1);
    let from = to - Duration::days(5);

    let first = tiktok_get(
        &h,
        Some(&t.access_token),
        "report/integrated/get/",
        &report_params(&acc.id, from, to, 1),
    )
    .await;
    assert_eq!(first["code"], 0, "{first}");
    let info = &first["data"]["page_info"];
    assert_eq!(info["page_size"], 10);
    let total_pages = info["total_page"].as_u64().expect("total_page");
    assert!(total_pages > 1);
    let mut rows = first["data"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for page in 2..=total_pages as usize {
        let v = tiktok_get(
            &h,
            Some(&t.access_token),
            "report/integrated/get/",
            &report_params(&acc.id, from, to, page),
        )
        .await;
        rows.extend(v["data"]["list"].as_array().cloned().unwrap_or_default());
    }
    let truth = h.daily_metrics(&TruthQuery {
        platform: Some(Platform::Tiktok),
        account_id: Some(acc.id.clone()),
        from: Some(from),
        to: Some(to),
        ..TruthQuery::default()
    });
    assert_eq!(rows.len(), truth.len());
    assert_eq!(info["total_number"], json!(truth.len()));
    let r = &rows[0];
    assert!(
        r["dimensions"]["stat_time_day"]
            .as_str()
            .is_some_and(|d| d.ends_with(" 00:00:00"))
    );
    assert!(r["metrics"]["spend"].is_string());
    // JPY has no minor unit.
    assert!(!r["metrics"]["spend"].as_str().unwrap_or(".").contains('.'));

    let too_long = tiktok_get(
        &h,
        Some(&t.access_token),
        "report/integrated/get/",
        &report_params(&acc.id, to - Duration::days(30), to, 1),
    )
    .await;
    assert_eq!(too_long["code"], 40002);
    let no_token = tiktok_get(
        &h,
        None,
        "advertiser/info/",
        &[("advertiser_ids", format!(r#"["{}"]"#, acc.id))],
    )
    .await;
    assert_eq!(no_token["code"], 40104);
    let bad_token = tiktok_get(
        &h,
        Some("bogus"),
        "advertiser/info/",
        &[("advertiser_ids", format!(r#"["{}"]"#, acc.id))],
    )
    .await;
    assert_eq!(bad_token["code"], 40105);
    let info = tiktok_get(
        &h,
        Some(&t.access_token),
        "advertiser/info/",
        &[("advertiser_ids", format!(r#"["{}"]"#, acc.id))],
    )
    .await;
    assert_eq!(info["data"]["list"][0]["currency"], "JPY");
    assert_eq!(info["data"]["list"][0]["timezone"], "Asia/Tokyo");

    let camps = tiktok_get(
        &h,
        Some(&t.access_token),
        "campaign/get/",
        &[("advertiser_id", acc.id.clone()), ("page_size", "3".into())],
    )
    .await;
    assert_eq!(camps["data"]["list"].as_array().map(Vec::len), Some(3));
    assert!(
        camps["data"]["page_info"]["total_page"]
            .as_u64()
            .is_some_and(|p| p >= 2)
    );
}
