//! The main pages, with synced data in them, are valid HTML by the Nu HTML Checker (vnu, the
//! W3C validator, from npm's `vnu-jar`): no errors; and axe-core (Deque's accessibility
//! engine, from npm) finds no serious or critical violation in them in Chromium. `.ci/run`
//! installs both under `target/vnu`; elsewhere set `ADPILOT_VNU_JAR` / `ADPILOT_AXE_JS` or run
//! `npm install --prefix target/vnu vnu-jar axe-core`.

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

fn axe_js() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ADPILOT_AXE_JS") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/vnu/node_modules/axe-core/axe.min.js");
    p.is_file().then_some(p)
}

/// Runs axe on the page the browser shows; returns its serious and critical violations.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then(r => done(r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
      v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
  .catch(e => done(['axe failed: ' + e]));
"#;

/// axe-core's serious and critical findings on each page, signed in with `cookies` (the
/// anonymous pages after forgetting them).
async fn axe_findings(
    t: &TestApp,
    cookies: &[(String, String)],
    anonymous: &[&str],
    paths: &[String],
) -> Vec<String> {
    let Some(axe) = axe_js() else {
        skip_for_missing_tool("axe-core is not installed");
        return Vec::new();
    };
    let Some(b) = crate::webdriver::Browser::start("axe").await else {
        return Vec::new();
    };
    let source = std::fs::read_to_string(&axe).expect("read axe.min.js");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = t.app.clone();
    let server = tokio::spawn(async move {
        let _ = adpilot::server::serve(app, listener).await;
    });
    let mut found = Vec::new();
    let mut check = async |path: &str| {
        // A panel opened by its #fragment is the phone's layout.
        let narrow = path.contains('#');
        if narrow {
            b.set_width(390).await;
        }
        b.goto(&format!("{url}{path}")).await;
        if narrow {
            b.shot("axe-rule-helper-open").await;
        }
        b.script(&source, vec![]).await;
        let v = b.script_async(AXE_RUN, vec![]).await;
        for f in v.as_array().into_iter().flatten() {
            found.push(format!("{path}: {}", f.as_str().unwrap_or_default()));
        }
        if narrow {
            b.set_width(1280).await;
        }
    };
    for path in anonymous {
        check(path).await;
    }
    b.goto(&format!("{url}/login")).await;
    for (k, v) in cookies {
        b.add_cookie(k, v).await;
    }
    for path in paths {
        check(path).await;
    }
    b.quit().await;
    server.abort();
    found
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
async fn the_main_pages_are_valid_html_and_accessible() {
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
    // An ad set a rule's check paused: its page offers the Undo.
    let undone = first_id(
        &url,
        "SELECT id::text AS id FROM ad_groups WHERE platform = 'meta' AND status = 'active' \
         AND budget_micros IS NOT NULL ORDER BY name LIMIT 1",
    )
    .await;
    c.get("/rules/new").await;
    let r = c
        .post(
            "/rules",
            &[
                (
                    "text",
                    "rule \"Sets\"\n  for ad sets on meta\n  when clicks in last 7 days > 0\n  then pause\n",
                ),
                ("mode", "draft"),
            ],
        )
        .await;
    let rule_id: uuid::Uuid = r
        .location()
        .and_then(|l| l.trim_start_matches("/rules/").parse().ok())
        .unwrap_or_else(|| panic!("a rule: {}", r.body));
    let paused = adpilot::campaigns::actions::request(
        &t.app,
        org,
        adpilot::campaigns::actions::ActionRequest {
            target: adpilot::campaigns::actions::Target::AdGroup(
                undone.parse().expect("an ad set id"),
            ),
            kind: adpilot::campaigns::actions::ActionKind::Pause,
            source: adpilot::campaigns::actions::Source::Rule {
                rule_id,
                run_id: Some(uuid::Uuid::now_v7()),
            },
            intent_key: "rule:html-valid:pause".into(),
            budget: None,
            bid: None,
        },
    )
    .await
    .expect("a rule's pause");
    assert_eq!(
        paused.state,
        adpilot::campaigns::actions::ActionState::Succeeded,
        "{:?}",
        paused.message
    );
    let paths = [
        "/dashboard".to_string(),
        "/dashboard?preset=last_7_days".to_string(),
        "/campaigns".to_string(),
        format!("/campaigns/{campaign}"),
        format!("/ad-groups/{group}"),
        format!("/ad-groups/{undone}"),
        format!("/ads/{ad}"),
        "/campaigns/new".to_string(),
        "/rules".to_string(),
        "/rules/new".to_string(),
        // The helper panel, opened as a phone opens it (axe looks at it at 390 px).
        "/rules/new#rule-helper".to_string(),
        "/alerts".to_string(),
        "/reports".to_string(),
        "/connections".to_string(),
        format!("/accounts/{account}/conversions"),
        "/settings".to_string(),
        "/ai/copy".to_string(),
    ];
    for path in &paths {
        let r = c.get(path.split('#').next().unwrap_or(path)).await;
        assert!(
            r.status.is_success(),
            "{path} answered {}: {}",
            r.status,
            r.body
        );
        pages.push((path.clone(), r.body.clone()));
        if path.starts_with(&format!("/ad-groups/{undone}")) {
            assert!(
                r.body.contains("/undo\""),
                "the ad set's page offers the Undo: {}",
                r.body
            );
        }
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
    let cookies: Vec<(String, String)> = c
        .cookies
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let axe = axe_findings(&t, &cookies, &["/login", "/signup"], &paths).await;
    assert!(
        errors.is_empty() && axe.is_empty(),
        "{} HTML errors:\n{}\n{} serious or critical accessibility violations:\n{}",
        errors.len(),
        errors.join("\n"),
        axe.len(),
        axe.join("\n")
    );
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("adpilot-vnu-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}
