//! OAuth.

use super::*;

async fn approve(
    h: &SandboxHandle,
    path: &str,
    fields: &[(&str, &str)],
    accounts: &[String],
) -> reqwest::Response {
    let mut form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for a in accounts {
        form.push(("account".into(), a.clone()));
    }
    form.push(("decision".into(), "approve".into()));
    client()
        .post(format!("{}{path}", h.base_url()))
        .form(&form)
        .send()
        .await
        .expect("send")
}

#[tokio::test]
async fn google_oauth_approve_pkce_refresh_expiry_and_revoke() {
    let h = start(|c| c.tokens.google_access = StdDuration::from_secs(60)).await;
    let acc = first_account(&h, Platform::Google, "USD");
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let fields = [
        ("client_id", "cid"),
        ("redirect_uri", "http://127.0.0.1:9/callback"),
        ("response_type", "code"),
        ("scope", oauth::GOOGLE_SCOPE),
        ("state", "st-1"),
        ("access_type", "offline"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    let page = client()
        .get(format!("{}/o/oauth2/v2/auth", h.base_url()))
        .query(&fields)
        .send()
        .await
        .expect("send");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("Approve") && html.contains("Deny") && html.contains(&acc.name));

    let r = approve(
        &h,
        "/o/oauth2/v2/auth",
        &fields,
        std::slice::from_ref(&acc.id),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let q = query_of(&location(&r));
    assert_eq!(q.get("state").map(String::as_str), Some("st-1"));
    let code = q.get("code").expect("code").clone();

    let exchange = |verifier: &'static str| {
        let code = code.clone();
        let base = h.base_url();
        async move {
            client()
                .post(format!("{base}/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("client_id", "cid"),
                    ("client_secret", "secret"),
                    ("redirect_uri", "http://127.0.0.1:9/callback"),
                    ("code_verifier", verifier),
                ])
                .send()
                .await
                .expect("send")
        }
    };
    let (st, _, bad) = body(exchange("wrong-verifier").await).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"], "invalid_grant");
    let (st, _, tok) = body(exchange(verifier).await).await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    assert_eq!(tok["expires_in"], 60);
    assert_eq!(tok["token_type"], "Bearer");
    let access = tok["access_token"].as_str().expect("access").to_string();
    let refresh = tok["refresh_token"].as_str().expect("refresh").to_string();
    let (st, _, again) = body(exchange(verifier).await).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "codes are single use");
    assert_eq!(again["error"], "invalid_grant");

    let q = json!({"query": "SELECT customer.id FROM customer"});
    assert_eq!(
        google_search(&h, &access, &acc.id, q.clone()).await.0,
        StatusCode::OK
    );
    h.clock().advance(Duration::seconds(61));
    let (st, _, v) = google_search(&h, &access, &acc.id, q.clone()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(
        v["error"]["details"][0]["errors"][0]["errorCode"]["authenticationError"],
        "OAUTH_TOKEN_EXPIRED"
    );

    // Refresh with HTTP Basic client authentication, as the oauth2 crate sends it.
    let r = client()
        .post(format!("{}/token", h.base_url()))
        .basic_auth("cid", Some("secret"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .expect("send");
    let (st, _, fresh) = body(r).await;
    assert_eq!(st, StatusCode::OK, "{fresh}");
    assert!(fresh.get("refresh_token").is_none());
    let access2 = fresh["access_token"].as_str().expect("access").to_string();
    assert_eq!(
        google_search(&h, &access2, &acc.id, q.clone()).await.0,
        StatusCode::OK
    );

    let r = client()
        .post(format!("{}/revoke", h.base_url()))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        google_search(&h, &access2, &acc.id, q).await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = client()
        .post(format!("{}/token", h.base_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", "cid"),
        ])
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(r).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], "invalid_grant");
}

#[tokio::test]
async fn deny_redirects_with_access_denied_on_every_platform() {
    let h = start(|_| {}).await;
    for (path, client_key) in [
        ("/o/oauth2/v2/auth", "client_id"),
        ("/v25.0/dialog/oauth", "client_id"),
        ("/portal/auth", "app_id"),
    ] {
        let r = client()
            .post(format!("{}{path}", h.base_url()))
            .form(&[
                (client_key, "app"),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("response_type", "code"),
                ("state", "s9"),
                ("decision", "deny"),
            ])
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        let q = query_of(&location(&r));
        assert_eq!(
            q.get("error").map(String::as_str),
            Some("access_denied"),
            "{path}"
        );
        assert_eq!(q.get("state").map(String::as_str), Some("s9"));
        assert!(!q.contains_key("code") && !q.contains_key("auth_code"));
    }
    let bad = client()
        .get(format!(
            "{}/o/oauth2/v2/auth?client_id=x&response_type=code",
            h.base_url()
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(
        bad.status(),
        StatusCode::BAD_REQUEST,
        "no redirect without a redirect_uri"
    );
}

#[tokio::test]
async fn meta_oauth_code_then_long_lived_exchange() {
    let h = start(|c| c.tokens.meta_short = StdDuration::from_secs(3600)).await;
    let acc = first_account(&h, Platform::Meta, "EUR");
    let fields = [
        ("client_id", "app1"),
        ("redirect_uri", "http://127.0.0.1:9/meta"),
        ("state", "m1"),
        ("response_type", "code"),
    ];
    let r = approve(
        &h,
        "/v25.0/dialog/oauth",
        &fields,
        std::slice::from_ref(&acc.id),
    )
    .await;
    let code = query_of(&location(&r)).get("code").expect("code").clone();
    let token_url = |extra: &str| {
        format!(
            "{}/v25.0/oauth/access_token?client_id=app1&client_secret=s&{extra}",
            h.base_url()
        )
    };
    let with_code = token_url(&format!(
        "redirect_uri={}&code={code}",
        urlencode("http://127.0.0.1:9/meta")
    ));
    let (st, _, short) = body(client().get(&with_code).send().await.expect("send")).await;
    assert_eq!(st, StatusCode::OK, "{short}");
    assert_eq!(short["expires_in"], 3600);
    let (st, _, used) = body(client().get(&with_code).send().await.expect("send")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(used["error"]["error_subcode"], 36009);

    let short_token = short["access_token"].as_str().expect("token").to_string();
    let exchange = token_url(&format!(
        "grant_type=fb_exchange_token&fb_exchange_token={short_token}"
    ));
    let (st, _, long) = body(client().get(&exchange).send().await.expect("send")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(long["expires_in"], 5_184_000);
    assert!(long.get("refresh_token").is_none());
    let long_token = long["access_token"].as_str().expect("token").to_string();

    h.clock().advance(Duration::hours(2));
    let (st, _, expired) = body(client().get(&exchange).send().await.expect("send")).await;
    assert_eq!(
        st,
        StatusCode::BAD_REQUEST,
        "an expired token cannot be exchanged"
    );
    assert_eq!(expired["error"]["code"], 190);
    let r = client()
        .get(format!(
            "{}/v25.0/me/adaccounts?fields=id,currency&access_token={long_token}",
            h.base_url()
        ))
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(r).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        v["data"].as_array().map(Vec::len),
        Some(1),
        "only the chosen account"
    );
    assert_eq!(v["data"][0]["currency"], "EUR");

    let r = client()
        .delete(format!(
            "{}/v25.0/me/permissions?access_token={long_token}",
            h.base_url()
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(body(r).await.2["success"], true);
    let r = client()
        .get(format!(
            "{}/v25.0/me/adaccounts?access_token={long_token}",
            h.base_url()
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(body(r).await.2["error"]["code"], 190);
}

#[tokio::test]
async fn tiktok_oauth_auth_code_long_term_token_and_revoke() {
    let h = start(|_| {}).await;
    let accs: Vec<String> = h
        .accounts(Some(Platform::Tiktok))
        .into_iter()
        .map(|a| a.id)
        .take(2)
        .collect();
    let fields = [
        ("app_id", "tt-app"),
        ("redirect_uri", "http://127.0.0.1:9/tt"),
        ("state", "t1"),
    ];
    let r = approve(&h, "/portal/auth", &fields, &accs).await;
    let q = query_of(&location(&r));
    let code = q.get("auth_code").expect("auth_code").clone();
    let exchange = json!({"app_id": "tt-app", "secret": "s", "auth_code": code});
    let resp = client()
        .post(format!(
            "{}/open_api/v1.3/oauth2/access_token/",
            h.base_url()
        ))
        .json(&exchange)
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(resp).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["advertiser_ids"], json!(accs));
    let token = v["data"]["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let resp = client()
        .post(format!(
            "{}/open_api/v1.3/oauth2/access_token/",
            h.base_url()
        ))
        .json(&exchange)
        .send()
        .await
        .expect("send");
    assert_eq!(
        body(resp).await.2["code"],
        40110,
        "auth codes are single use"
    );

    // Long-term: still valid a year later.
    h.clock().advance(Duration::days(365));
    let adv = tiktok_get(
        &h,
        Some(&token),
        "oauth2/advertiser/get/",
        &[("app_id", "tt-app".into()), ("secret", "s".into())],
    )
    .await;
    assert_eq!(adv["code"], 0);
    assert_eq!(adv["data"]["list"].as_array().map(Vec::len), Some(2));

    let resp = client()
        .post(format!(
            "{}/open_api/v1.3/oauth2/revoke_token/",
            h.base_url()
        ))
        .json(&json!({"app_id": "tt-app", "secret": "s", "access_token": token}))
        .send()
        .await
        .expect("send");
    assert_eq!(body(resp).await.2["code"], 0);
    let adv = tiktok_get(
        &h,
        Some(&token),
        "oauth2/advertiser/get/",
        &[("app_id", "tt-app".into()), ("secret", "s".into())],
    )
    .await;
    assert_eq!(adv["code"], 40105);
}

#[tokio::test]
async fn approving_without_an_account_shows_the_page_again() {
    let h = start(|_| {}).await;
    let fields = [
        ("client_id", "app1"),
        ("redirect_uri", "http://127.0.0.1:9/meta"),
        ("state", "m1"),
    ];
    let r = approve(&h, "/v25.0/dialog/oauth", &fields, &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.expect("html");
    assert!(html.contains("Choose at least one account"));
    assert!(html.contains(r#"name="state" value="m1""#));
}

#[tokio::test]
async fn shortened_tiktok_lifetime_expires_tokens_with_40102() {
    let h = start(|c| c.tokens.tiktok_access = Some(StdDuration::from_secs(10))).await;
    let t = h.issue_token(Platform::Tiktok, None);
    assert_eq!(t.expires_in, Some(10));
    let q = [("app_id", "a".to_string()), ("secret", "s".to_string())];
    let v = tiktok_get(&h, Some(&t.access_token), "oauth2/advertiser/get/", &q).await;
    assert_eq!(v["code"], 0);
    h.clock().advance(Duration::seconds(11));
    let v = tiktok_get(&h, Some(&t.access_token), "oauth2/advertiser/get/", &q).await;
    assert_eq!(v["code"], 40102);
}

#[tokio::test]
async fn meta_code_exchange_accepts_a_form_post_with_basic_client_auth() {
    let h = start(|_| {}).await;
    let acc = first_account(&h, Platform::Meta, "USD");
    let fields = [
        ("client_id", "app1"),
        ("redirect_uri", "http://127.0.0.1:9"),
    ];
    let r = approve(
        &h,
        "/v25.0/dialog/oauth",
        &fields,
        std::slice::from_ref(&acc.id),
    )
    .await;
    let code = query_of(&location(&r)).get("code").expect("code").clone();
    let r = client()
        .post(format!("{}/v25.0/oauth/access_token", h.base_url()))
        .basic_auth("app1", Some("secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9"),
        ])
        .send()
        .await
        .expect("send");
    let (st, _, v) = body(r).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["token_type"], "bearer");
}
