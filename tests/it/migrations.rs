//! Migrations apply, revert and apply again; the binary's operator commands work.

use std::process::Command;

use crate::support::*;

#[tokio::test]
async fn every_migration_reverts_and_applies_again() {
    let db = TestDb::new().await;
    let reverted = adpilot::db::migrate::revert_all(&db.admin_url)
        .await
        .expect("revert all");
    assert!(reverted >= 1);
    let applied = adpilot::db::migrate::run(&db.admin_url, None)
        .await
        .expect("apply again");
    assert_eq!(applied.len(), reverted);
    let again = adpilot::db::migrate::run(&db.admin_url, None)
        .await
        .expect("idempotent");
    assert!(again.is_empty(), "nothing left to apply");
}

#[tokio::test]
async fn user_create_command_makes_a_user_who_can_log_in() {
    let db = TestDb::new().await;
    let data = tempdir::TempDir::new();
    let out = Command::new(env!("CARGO_BIN_EXE_adpilot"))
        .args([
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "Ops",
            "--org",
            "Ops Org",
        ])
        .env("DATABASE_URL", &db.admin_url)
        .env("ADPILOT_APP_DATABASE_URL", db.app_url())
        .env("ADPILOT_DATA_DIR", data.path())
        .env("ADPILOT_NEW_PASSWORD", "a good long password")
        .output()
        .expect("run adpilot");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created ops@example.com"));
    let weak = Command::new(env!("CARGO_BIN_EXE_adpilot"))
        .args([
            "user",
            "create",
            "--email",
            "two@example.com",
            "--name",
            "Two",
            "--password",
            "short",
        ])
        .env("DATABASE_URL", &db.admin_url)
        .env("ADPILOT_APP_DATABASE_URL", db.app_url())
        .env("ADPILOT_DATA_DIR", data.path())
        .output()
        .expect("run adpilot");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10 characters"));
}

#[test]
fn bad_settings_are_reported_one_line_each_and_nothing_starts() {
    let out = Command::new(env!("CARGO_BIN_EXE_adpilot"))
        .args(["migrate"])
        .env("ADPILOT_BIND", "nowhere")
        .env("ADPILOT_SECRET_KEY", "tooshort")
        .env("DATABASE_URL", "mysql://x")
        .output()
        .expect("run adpilot");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ADPILOT_BIND")
            && err.contains("ADPILOT_SECRET_KEY")
            && err.contains("DATABASE_URL"),
        "{err}"
    );
}
