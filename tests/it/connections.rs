//! Connecting ad platforms through the sandbox over real HTTP: the full OAuth flow for all three
//! platforms, every bad input, the encrypted vault, key rotation and token refresh.

use std::time::Duration;

use adpilot::connections::service;
use adpilot::sandbox::{SandboxConfig, TokenLifetimes};
use adpilot::types::Platform;
use axum::http::StatusCode;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::support::*;

pub async fn start(c: &mut Client, platform: &str) -> String {
    c.get("/connections").await.assert_status(StatusCode::OK);
    let r = c.post(&format!("/connections/{platform}/start"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.location().expect("to the platform").to_string()
}

/// Connects `platform` for the logged-in client and keeps every account offered.
pub async fn connect(c: &mut Client, platform: &str) -> Uuid {
    let authorize = start(c, platform).await;
    let back = consent(&authorize, "approve").await;
    let r = c.get(&back).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "callback: {}", r.body);
    let picker = r.location().expect("to the account picker").to_string();
    let page = c.get(&picker).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Time zone") && page.body.contains("Currency"));
    let ids: Vec<String> = page
        .body
        .split("name=\"account\" value=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap_or(0)].to_string())
        .collect();
    assert!(!ids.is_empty(), "accounts offered");
    let fields: Vec<(&str, &str)> = ids.iter().map(|i| ("account", i.as_str())).collect();
    let r = c.post(&picker, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    picker
        .trim_start_matches("/connections/")
        .trim_end_matches("/accounts")
        .parse()
        .expect("connection id")
}

#[tokio::test]
async fn all_three_platforms_connect_through_consent_and_account_choice() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    for p in ["google", "meta", "tiktok"] {
        connect(&mut c, p).await;
    }
    let page = c.get("/connections").await;
    assert!(page.body.contains("Connected. adpilot manages"));
    for label in ["Google Ads", "Meta Ads", "TikTok Ads"] {
        assert!(page.body.contains(label));
    }
    assert_eq!(
        page.body.matches("badge ok").count(),
        3,
        "three healthy connections"
    );
    assert!(page.body.contains("JPY") && page.body.contains("EUR") && page.body.contains("USD"));
    let managed = count(&t, "SELECT count(*) AS n FROM ad_accounts WHERE managed").await;
    assert_eq!(managed as usize, sb.accounts(None).len());
    let audit = c.get("/settings/audit").await;
    assert!(
        audit.body.contains("connection.connected")
            && audit.body.contains("connection.accounts_selected")
    );
}

#[tokio::test]
async fn tokens_are_encrypted_at_rest_and_bound_to_their_row() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    let g = connect(&mut c, "google").await;
    let m = connect(&mut c, "meta").await;
    let org = org_of(&t).await;
    let (_, tokens) = service::tokens(&t.app, org, g).await.expect("decrypt");
    assert!(tokens.refresh_token.is_some());
    #[derive(diesel::QueryableByName)]
    struct Raw {
        #[diesel(sql_type = Text)]
        raw: String,
    }
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let raws: Vec<Raw> = diesel::sql_query("SELECT coalesce(access_token_enc, '') || ' ' || coalesce(refresh_token_enc, '') AS raw FROM connections")
        .load(&mut admin)
        .await
        .expect("raw");
    for r in &raws {
        assert!(
            !r.raw.contains(&tokens.access_token),
            "no plaintext access token"
        );
        assert!(
            !r.raw
                .contains(tokens.refresh_token.as_deref().unwrap_or("none")),
            "no plaintext refresh token"
        );
        assert!(r.raw.starts_with('v'), "key version prefix");
    }
    // Moving Google's ciphertext onto Meta's row makes it unreadable.
    diesel::sql_query("UPDATE connections SET access_token_enc = (SELECT access_token_enc FROM connections WHERE id = $1) WHERE id = $2")
        .bind::<diesel::sql_types::Uuid, _>(g)
        .bind::<diesel::sql_types::Uuid, _>(m)
        .execute(&mut admin)
        .await
        .expect("move");
    assert!(
        service::tokens(&t.app, org, m).await.is_err(),
        "a moved ciphertext must not decrypt"
    );
    assert!(service::tokens(&t.app, org, g).await.is_ok());
}

/// `adpilot keys rotate` adds a key and queues the rotation job; the job (run by the real
/// workers) re-encrypts every token and the PKCE verifier of a connect still under way, then
/// retires the old key. Everything keeps working, the connect in progress included.
#[tokio::test]
async fn rotating_keys_reencrypts_every_token_and_all_keep_working() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    for p in ["meta", "tiktok"] {
        connect(&mut c, p).await;
    }
    // A Google connect under way: its PKCE verifier is stored encrypted with key 1.
    let authorize = start(&mut c, "google").await;
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM oauth_states WHERE pkce_verifier_enc LIKE 'v1:%' AND used_at IS NULL"
        )
        .await,
        1
    );
    let org = org_of(&t).await;

    let data = tempdir::TempDir::new();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_adpilot"))
        .args(["keys", "rotate"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &t.db.admin_url)
        .env("ADPILOT_APP_DATABASE_URL", t.db.app_url())
        .env("ADPILOT_DB_APP_PASSWORD", APP_PASSWORD)
        .env(
            "ADPILOT_SECRET_KEY",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, TEST_SECRET_KEY),
        )
        .env("ADPILOT_DATA_DIR", data.path())
        .output()
        .await
        .expect("run adpilot keys rotate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("added key version 2"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let workers = job_workers(&t);
    eventually(
        "the rotation job succeeded",
        Duration::from_secs(60),
        || async {
            count(
                &t,
                "SELECT count(*) AS n FROM jobs WHERE kind = 'connections.rotate_keys' AND state = 'succeeded'",
            )
            .await
                == 1
        },
    )
    .await;
    workers.shutdown().await;
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM vault_keys WHERE version = 1 AND retired_at IS NOT NULL"
        )
        .await,
        1,
        "the old key is retired"
    );
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM connections WHERE access_token_enc NOT LIKE 'v2:%' \
             OR (refresh_token_enc IS NOT NULL AND refresh_token_enc NOT LIKE 'v2:%')"
        )
        .await,
        0,
        "both tokens of every connection are on the new key"
    );
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM oauth_states WHERE pkce_verifier_enc NOT LIKE 'v2:%' AND used_at IS NULL"
        )
        .await,
        0,
        "the connect under way is on the new key"
    );
    assert!(
        c.get("/settings/audit")
            .await
            .body
            .contains("vault.key_rotated")
    );
    // The connect started before the rotation finishes.
    let back = consent(&authorize, "approve").await;
    let r = c.get(&back).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "callback: {}", r.body);
    assert!(
        r.location().is_some_and(|l| l.ends_with("/accounts")),
        "{:?}",
        r.location()
    );
    let views = service::list(&t.app, org).await.expect("list");
    assert_eq!(views.len(), 3);
    for view in views {
        let (platform, tokens) = service::tokens(&t.app, org, view.id)
            .await
            .expect("decrypt with the new key");
        let adapter = t.app.platforms.adapter(platform);
        let accounts = adapter
            .list_accounts(&adpilot::platforms::Credentials::new(tokens.access_token))
            .await;
        assert!(
            accounts.is_ok_and(|a| !a.is_empty()),
            "{platform} token still works"
        );
    }
}

#[tokio::test]
async fn bad_callbacks_show_a_clear_message_and_store_nothing() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;

    // Denied consent.
    let authorize = start(&mut c, "google").await;
    let back = consent(&authorize, "deny").await;
    let r = c.get(&back).await;
    r.assert_status(StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("You declined access at Google Ads"),
        "{}",
        r.body
    );

    // Tampered state.
    let authorize = start(&mut c, "google").await;
    let back = consent(&authorize, "approve").await;
    let tampered = back.replace("state=", "state=x");
    let r = c.get(&tampered).await;
    r.assert_status(StatusCode::BAD_REQUEST);
    assert!(r.body.contains("unknown or was altered"));

    // Another browser session holding the same link.
    let mut other = t.client();
    other.get("/login").await;
    other
        .post(
            "/login",
            &[
                ("email", "ann@example.com"),
                ("password", "a good long password"),
            ],
        )
        .await;
    let r = other.get(&back).await;
    r.assert_status(StatusCode::BAD_REQUEST);
    assert!(r.body.contains("another browser session"), "{}", r.body);
    // ...which also used it up: replaying it in the right session fails too.
    let r = c.get(&back).await;
    assert!(r.body.contains("already used"), "{}", r.body);

    // A Google state carried to Meta's callback.
    let authorize = start(&mut c, "google").await;
    let back = consent(&authorize, "approve").await;
    let r = c
        .get(&back.replace("/connections/google/", "/connections/meta/"))
        .await;
    r.assert_status(StatusCode::BAD_REQUEST);
    assert!(r.body.contains("different platform"));

    // An expired state.
    let authorize = start(&mut c, "meta").await;
    let back = consent(&authorize, "approve").await;
    {
        let mut admin = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        diesel::sql_query("UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL").execute(&mut admin).await.expect("expire");
    }
    let r = c.get(&back).await;
    assert!(r.body.contains("expired"), "{}", r.body);

    // A code the platform rejects.
    let authorize = start(&mut c, "tiktok").await;
    let back = consent(&authorize, "approve").await;
    let bad_code = back.replace("auth_code=", "auth_code=bogus");
    let r = c.get(&bad_code).await;
    r.assert_status(StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("TikTok Ads did not accept the sign-in"),
        "{}",
        r.body
    );

    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM connections").await,
        0,
        "nothing stored"
    );
    assert_eq!(count(&t, "SELECT count(*) AS n FROM ad_accounts").await, 0);
    // Choosing no account is refused with a message.
    let authorize = start(&mut c, "google").await;
    let back = consent(&authorize, "approve").await;
    let r = c.get(&back).await;
    let picker = r.location().expect("picker").to_string();
    c.get(&picker).await;
    let r = c.post(&picker, &[]).await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Choose at least one ad account"));
}

#[tokio::test]
async fn refresh_keeps_google_working_across_expiries_and_a_revoked_token_asks_for_reconnecting_once()
 {
    let sb = sandbox(SandboxConfig {
        // Short enough that adpilot renews at every check (ten minutes ahead); the sandbox
        // expires the tokens when the test says so.
        tokens: TokenLifetimes {
            google_access: Duration::from_secs(5 * 60),
            ..TokenLifetimes::default()
        },
        ..SandboxConfig::default()
    })
    .await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    let g = connect(&mut c, "google").await;
    let org = org_of(&t).await;
    let mut last = String::new();
    for _ in 0..3 {
        assert!(sb.expire_tokens(Platform::Google) > 0);
        let (_, before) = service::tokens(&t.app, org, g).await.expect("tokens");
        let expired = t
            .app
            .platforms
            .adapter(Platform::Google)
            .list_accounts(&adpilot::platforms::Credentials::new(
                before.access_token.clone(),
            ))
            .await;
        assert!(expired.is_err(), "the sandbox expired the access token");
        let outcomes = adpilot::connections::jobs::refresh_org_now(&t.app, org)
            .await
            .expect("refresh job");
        assert_eq!(outcomes, vec![service::RefreshOutcome::Renewed]);
        let (_, after) = service::tokens(&t.app, org, g).await.expect("tokens");
        assert_ne!(after.access_token, last);
        last = after.access_token.clone();
        let ok = t
            .app
            .platforms
            .adapter(Platform::Google)
            .list_accounts(&adpilot::platforms::Credentials::new(after.access_token))
            .await;
        assert!(ok.is_ok(), "the renewed token works");
    }
    sb.revoke_tokens(Platform::Google);
    sb.expire_tokens(Platform::Google);
    let before = t.outbox().len();
    let outcomes = adpilot::connections::jobs::refresh_org_now(&t.app, org)
        .await
        .expect("refresh job");
    assert_eq!(outcomes, vec![service::RefreshOutcome::NeedsReconnect]);
    assert_eq!(t.outbox().len(), before + 1, "owners were emailed");
    // Later runs skip it (paused until reconnected) and send nothing more.
    let later = adpilot::connections::jobs::refresh_org_now(&t.app, org)
        .await
        .expect("refresh job");
    assert!(later.is_empty());
    assert_eq!(
        service::notify_needs_reconnect(&t.app, org, g)
            .await
            .expect("notify"),
        0,
        "one email per incident"
    );
    assert_eq!(t.outbox().len(), before + 1);
    assert!(
        t.outbox()
            .last()
            .is_some_and(|m| m.contains("Google Ads needs reconnecting"))
    );
    let page = c.get("/dashboard").await;
    assert!(
        page.body.contains("Google Ads needs reconnecting."),
        "banner for every member"
    );
    // Reconnecting clears it.
    let r = c.post(&format!("/connections/{g}/reconnect"), &[]).await;
    let back = consent(r.location().expect("authorize"), "approve").await;
    let r = c.get(&back).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get("/connections").await;
    assert!(page.body.contains("Google Ads is reconnected."));
    assert!(!page.body.contains("needs reconnecting."));
}

#[tokio::test]
async fn disconnect_revokes_and_keeps_history_unless_asked() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    let g = connect(&mut c, "google").await;
    let m = connect(&mut c, "meta").await;
    let org = org_of(&t).await;
    let (_, google_tokens) = service::tokens(&t.app, org, g).await.expect("tokens");
    let (_, meta_tokens) = service::tokens(&t.app, org, m).await.expect("tokens");
    let works = |platform: Platform, token: String| {
        let adapter = t.app.platforms.adapter(platform);
        async move {
            adapter
                .list_accounts(&adpilot::platforms::Credentials::new(token))
                .await
                .is_ok()
        }
    };
    assert!(works(Platform::Google, google_tokens.access_token.clone()).await);
    c.get("/connections").await;
    let r = c.post(&format!("/connections/{g}/disconnect"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        !works(Platform::Google, google_tokens.access_token.clone()).await,
        "the platform no longer accepts the disconnected token (revoked)"
    );
    assert!(
        works(Platform::Meta, meta_tokens.access_token.clone()).await,
        "the other connection's token still works"
    );
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM connections WHERE access_token_enc IS NOT NULL"
        )
        .await,
        1
    );
    assert!(count(&t, "SELECT count(*) AS n FROM ad_accounts WHERE platform = 'google' AND connection_removed_at IS NOT NULL").await > 0);
    c.get("/connections").await;
    c.post(
        &format!("/connections/{m}/disconnect"),
        &[("delete_history", "on")],
    )
    .await;
    assert!(
        !works(Platform::Meta, meta_tokens.access_token).await,
        "Meta's token revoked too"
    );
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM ad_accounts WHERE platform = 'meta'"
        )
        .await,
        0
    );
    let audit = c.get("/settings/audit").await;
    assert!(audit.body.contains("connection.disconnected"));
}
