//! Migrations apply, revert and apply again; the binary's operator commands work.

use adpilot::db::connect_one;
use diesel_async::RunQueryDsl;
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

/// Tables with an `org_id` that still belong to no single tenant: a login session may have no
/// organization chosen yet, and the job queue also carries the system's own jobs. Both keep
/// `org_id` nullable; a distributed PostgreSQL would keep them on the coordinator.
const GLOBAL_WITH_ORG_ID: &[&str] = &["sessions", "jobs"];

/// Issue 24: every tenant table (an `org_id NOT NULL` column) is distributable by `org_id`:
/// each primary key, unique constraint and unique index includes `org_id`, and each foreign key
/// to another tenant table carries `org_id` on both sides. Global tables (users,
/// organizations, ...) may be referred to by id alone.
#[tokio::test]
async fn every_key_of_a_tenant_table_includes_org_id() {
    #[derive(diesel::QueryableByName, Debug)]
    struct Bad {
        #[diesel(sql_type = diesel::sql_types::Text)]
        tbl: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        def: String,
    }
    let db = TestDb::new().await;
    let mut c = connect_one(&db.admin_url).await.expect("admin");
    let tenant = "SELECT c.oid FROM pg_class c
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id'
                              AND a.attnotnull AND NOT a.attisdropped
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
           AND NOT c.relispartition AND NOT (c.relname = ANY($1))";
    let org_col = "(SELECT attnum FROM pg_attribute WHERE attrelid = %REL% AND attname = 'org_id')";
    let sql = format!(
        "SELECT con.conrelid::regclass::text AS tbl, pg_get_constraintdef(con.oid) AS def
           FROM pg_constraint con
          WHERE con.conrelid IN ({tenant})
            AND ((con.contype IN ('p', 'u')
                  AND NOT con.conkey @> ARRAY[{own}]::int2[])
              OR (con.contype = 'f' AND con.confrelid IN ({tenant})
                  AND NOT (con.conkey @> ARRAY[{own}]::int2[]
                           AND con.confkey @> ARRAY[{theirs}]::int2[])))
         UNION ALL
         SELECT i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i
          WHERE i.indisunique AND i.indrelid IN ({tenant})
            AND NOT i.indkey::int2[] @> ARRAY[{idx}]::int2[]
          ORDER BY 1, 2",
        own = org_col.replace("%REL%", "con.conrelid"),
        theirs = org_col.replace("%REL%", "con.confrelid"),
        idx = org_col.replace("%REL%", "i.indrelid"),
    );
    let globals: Vec<String> = GLOBAL_WITH_ORG_ID.iter().map(|s| s.to_string()).collect();
    let bad: Vec<Bad> = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&globals)
        .load(&mut c)
        .await
        .expect("catalog");
    let listed: Vec<String> = bad
        .iter()
        .map(|b| format!("{}: {}", b.tbl, b.def))
        .collect();
    assert!(
        listed.is_empty(),
        "keys of tenant tables without org_id:\n{}",
        listed.join("\n")
    );

    // The check sees the tables it is about (a typo in the catalog query would pass vacuously).
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM ({tenant}) t"))
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&globals)
        .get_result(&mut c)
        .await
        .expect("tenant tables");
    assert!(n.n >= 30, "only {} tenant tables found", n.n);
}

#[tokio::test]
async fn the_servers_pool_runs_without_jit_and_the_summaries_leave_room_for_updates() {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        jit: String,
    }
    let t = TestApp::new().await;
    let mut c = t.app.db.conn().await.expect("pool connection");
    let s: Setting = diesel::sql_query("SELECT current_setting('jit') AS jit")
        .get_result(&mut *c)
        .await
        .expect("jit setting");
    assert_eq!(
        s.jit, "off",
        "the server's role compiles no JIT code (2026-12-05-000016)"
    );

    #[derive(diesel::QueryableByName)]
    struct Options {
        #[diesel(sql_type = diesel::sql_types::Text)]
        relname: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        options: String,
    }
    let mut admin = connect_one(&t.db.admin_url).await.expect("admin");
    let rows: Vec<Options> = diesel::sql_query(
        "SELECT relname::text, coalesce(array_to_string(reloptions, ','), '') AS options
         FROM pg_class WHERE relname LIKE '%metric_summaries' AND relkind = 'r' ORDER BY 1",
    )
    .load(&mut admin)
    .await
    .expect("summary tables");
    assert_eq!(rows.len(), 4, "four summary tables");
    for r in rows {
        assert_eq!(r.options, "fillfactor=85", "{}", r.relname);
    }
}
