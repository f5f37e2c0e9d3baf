//! The main pages, with synced data in them, are valid HTML by the Nu HTML Checker (vnu, the
//! W3C validator, from npm's `vnu-jar`): no errors. `.ci/run` installs it under `target/vnu`;
//! elsewhere set `ADPILOT_VNU_JAR` or run `npm install --prefix target/vnu vnu-jar`.

use std::path::PathBuf;

use adpilot::sandbox::SandboxConfig;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

use crate::connections::connect;
use crate::support::*;

fn vnu_jar() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ADPILOT_VNU_JAR") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/vnu/node_modules/vnu-jar/build/dist/vnu.jar");
    p.is_file().then_some(p)
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

async fn first_id(admin_url: &str, sql: &str) -> String {
    let mut c = adpilot::db::connect_one(admin_url).await.expect("admin");
    let r: Id = diesel::sql_query(sql)
        .get_result(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.id
}

#[tokio::test]
async fn the_main_pages_are_valid_html() {
    let Some(jar) = vnu_jar() else {
        skip_for_missing_tool("the Nu HTML Checker (vnu.jar) is not installed");
        return;
    };
    if std::process::Command::new("java")
        .arg("-version")
        .output()
        .is_err()
    {
        skip_for_missing_tool("java (to run vnu.jar) is not installed");
        return;
    }
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    })
    .await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut anon = t.client();
    let mut pages: Vec<(String, String)> = Vec::new();
    for path in ["/login", "/signup"] {
        let r = anon.get(path).await;
        pages.push((path.to_string(), r.body.clone()));
    }
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    for p in ["google", "meta", "tiktok"] {
        connect(&mut c, p).await;
    }
    let org = org_of(&t).await;
    for account in adpilot::analytics::sync::accounts_to_sync(&t.app, org)
        .await
        .expect("accounts")
    {
        adpilot::analytics::sync::sync_account(&t.app, org, account, sb.clock().now())
            .await
            .expect("sync");
    }
    let url = t.db.admin_url.clone();
    let campaign = first_id(
        &url,
        "SELECT c.id::text AS id FROM campaigns c JOIN ad_groups g ON g.campaign_id = c.id \
         WHERE c.platform = 'meta' ORDER BY c.name LIMIT 1",
    )
    .await;
    let group = first_id(
        &url,
        "SELECT id::text AS id FROM ad_groups WHERE platform = 'meta' ORDER BY name LIMIT 1",
    )
    .await;
    let ad = first_id(
        &url,
        "SELECT id::text AS id FROM ads WHERE platform = 'google' ORDER BY name LIMIT 1",
    )
    .await;
    let account = first_id(
        &url,
        "SELECT id::text AS id FROM ad_accounts WHERE platform = 'meta' LIMIT 1",
    )
    .await;
    let paths = [
        "/dashboard".to_string(),
        "/dashboard?preset=last_7_days".to_string(),
        "/campaigns".to_string(),
        format!("/campaigns/{campaign}"),
        format!("/ad-groups/{group}"),
        format!("/ads/{ad}"),
        "/campaigns/new".to_string(),
        "/rules".to_string(),
        "/rules/new".to_string(),
        "/alerts".to_string(),
        "/reports".to_string(),
        "/connections".to_string(),
        format!("/accounts/{account}/conversions"),
        "/settings".to_string(),
        "/ai/copy".to_string(),
    ];
    for path in &paths {
        let r = c.get(path).await;
        assert!(
            r.status.is_success(),
            "{path} answered {}: {}",
            r.status,
            r.body
        );
        pages.push((path.clone(), r.body.clone()));
    }

    let dir = tempfile_dir();
    let mut files = Vec::new();
    for (i, (path, body)) in pages.iter().enumerate() {
        let f = dir.join(format!("page{i:02}.html"));
        std::fs::write(&f, body).expect("write page");
        files.push((f, path.clone()));
    }
    let out = std::process::Command::new("java")
        .arg("-Xss8m")
        .arg("-jar")
        .arg(&jar)
        .args(["--errors-only", "--format", "gnu", "--exit-zero-always"])
        .args(files.iter().map(|(f, _)| f.as_os_str()))
        .output()
        .expect("run vnu");
    let report =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let mut errors: Vec<String> = Vec::new();
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        let named = files.iter().fold(line.to_string(), |l, (f, path)| {
            l.replace(&f.display().to_string(), path)
        });
        errors.push(named);
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        errors.is_empty(),
        "{} HTML errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("adpilot-vnu-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}
