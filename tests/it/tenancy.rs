//! Tenant isolation: row-level security and the routes that sit on it.

use axum::http::StatusCode;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::support::*;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn org_ids(t: &TestApp) -> Vec<(Uuid, String)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        name: String,
    }
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let rows: Vec<Row> = diesel::sql_query("SELECT id, name FROM organizations ORDER BY name")
        .load(&mut c)
        .await
        .expect("orgs");
    rows.into_iter().map(|r| (r.id, r.name)).collect()
}

async fn user_id(t: &TestApp, email: &str) -> Uuid {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let r: Row = diesel::sql_query("SELECT id FROM users WHERE email = $1")
        .bind::<Text, _>(email)
        .get_result(&mut c)
        .await
        .expect("user");
    r.id
}

#[tokio::test]
async fn a_tenant_transaction_sees_only_its_own_rows_without_any_where() {
    let t = TestApp::new().await;
    t.sign_up("a@example.com", "A Org").await;
    t.sign_up("b@example.com", "B Org").await;
    let orgs = org_ids(&t).await;
    let (a, b) = (orgs[0].0, orgs[1].0);
    let seen: Vec<i64> = t
        .db()
        .tenant(a, async move |c| {
            let mut out = Vec::new();
            for table in ["organizations", "memberships", "audit_log", "invitations"] {
                let r: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
                    .get_result(c)
                    .await?;
                out.push(r.n);
            }
            let other: Count =
                diesel::sql_query("SELECT count(*) AS n FROM memberships WHERE org_id = $1")
                    .bind::<diesel::sql_types::Uuid, _>(b)
                    .get_result(c)
                    .await?;
            out.push(other.n);
            Ok::<_, adpilot::db::DbError>(out)
        })
        .await
        .expect("tenant query");
    assert_eq!(
        seen,
        vec![1, 1, 1, 0, 0],
        "org A sees one org, one membership, its audit row and nothing of B"
    );
}

#[tokio::test]
async fn outside_a_tenant_transaction_no_tenant_rows_are_visible() {
    let t = TestApp::new().await;
    t.sign_up("a@example.com", "A Org").await;
    let mut c = t.db().conn().await.expect("conn");
    for table in ["organizations", "memberships", "audit_log", "invitations"] {
        let r: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result(&mut c)
            .await
            .expect("count");
        assert_eq!(r.n, 0, "{table} leaked rows without a tenant context");
    }
    // Writing another organization's row is refused by the policy's check.
    let b = Uuid::now_v7();
    let err = t
        .db()
        .tenant(Uuid::now_v7(), async move |c| {
            diesel::sql_query("INSERT INTO organizations (id, name) VALUES ($1, 'Sneaky')")
                .bind::<diesel::sql_types::Uuid, _>(b)
                .execute(c)
                .await
                .map_err(adpilot::db::DbError::from)
        })
        .await;
    assert!(
        err.is_err(),
        "row-level security must refuse a row of another organization"
    );
}

#[tokio::test]
async fn the_server_role_cannot_turn_row_level_security_off() {
    let t = TestApp::new().await;
    t.sign_up("a@example.com", "A Org").await;
    let mut c = t.db().conn().await.expect("conn");
    let disable = diesel::sql_query("ALTER TABLE memberships DISABLE ROW LEVEL SECURITY")
        .execute(&mut c)
        .await;
    assert!(disable.is_err(), "the app role must not own tables");
    let noforce = diesel::sql_query("ALTER TABLE memberships NO FORCE ROW LEVEL SECURITY")
        .execute(&mut c)
        .await;
    assert!(noforce.is_err());
    let drop_policy = diesel::sql_query("DROP POLICY memberships_tenant ON memberships")
        .execute(&mut c)
        .await;
    assert!(drop_policy.is_err());
    // With row_security off, a query that RLS would filter fails instead of returning rows.
    diesel::sql_query("SET row_security = off")
        .execute(&mut c)
        .await
        .expect("set");
    let read = diesel::sql_query("SELECT count(*) AS n FROM memberships")
        .get_result::<Count>(&mut c)
        .await;
    assert!(
        read.is_err(),
        "reading with row_security off must fail for the app role"
    );
    diesel::sql_query("RESET row_security")
        .execute(&mut c)
        .await
        .expect("reset");
    #[derive(diesel::QueryableByName)]
    struct Flags {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        rolsuper: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        rolbypassrls: bool,
    }
    let f: Flags = diesel::sql_query(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .get_result(&mut c)
    .await
    .expect("flags");
    assert!(!f.rolsuper && !f.rolbypassrls);
}

#[tokio::test]
async fn a_member_of_org_a_cannot_reach_org_b_through_any_route() {
    let t = TestApp::new().await;
    let mut a = t.sign_up("a@example.com", "A Org").await;
    let mut b = t.sign_up("b@example.com", "B Org").await;
    b.get("/settings").await;
    b.post(
        "/settings/invites",
        &[("email", "friend@example.com"), ("role", "member")],
    )
    .await;
    let orgs = org_ids(&t).await;
    let b_org = orgs
        .iter()
        .find(|(_, n)| n == "B Org")
        .map(|(i, _)| *i)
        .expect("B");
    let b_user = user_id(&t, "b@example.com").await;
    let b_invite: Uuid = {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: Uuid,
        }
        let mut c = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        let r: Row = diesel::sql_query("SELECT id FROM invitations")
            .get_result(&mut c)
            .await
            .expect("inv");
        r.id
    };
    a.get("/settings").await;
    let b_org_s = b_org.to_string();
    let attempts: [(String, Vec<(&str, &str)>); 4] = [
        (
            format!("/settings/members/{b_user}/role"),
            vec![("role", "client")],
        ),
        (format!("/settings/members/{b_user}/remove"), vec![]),
        (format!("/settings/invites/{b_invite}/revoke"), vec![]),
        (
            "/orgs/switch".to_string(),
            vec![("org_id", b_org_s.as_str())],
        ),
    ];
    for (path, fields) in attempts {
        let r = a.post(&path, &fields).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{path} must look like nothing exists"
        );
    }
    let page = a.get(&format!("/invites/{b_org}/not-a-token")).await;
    page.assert_status(StatusCode::GONE);
    // B is unchanged: still owner, invitation still pending, and A sees nothing of B.
    let settings = b.get("/settings").await;
    assert!(settings.body.contains("friend@example.com"));
    assert!(settings.body.contains("Owner"));
    let a_settings = a.get("/settings").await;
    assert!(!a_settings.body.contains("b@example.com"));
    assert!(!a_settings.body.contains("friend@example.com"));
}

/// A policy that calls `app_current_org()` directly costs a `current_setting()` call per row
/// in every scan that filters (an organization that fills a table doubled its dashboard time);
/// as a scalar subquery it is read once per statement. A policy added later must keep that.
#[tokio::test]
async fn every_policy_reads_the_tenant_once_per_statement() {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let t = TestApp::new().await;
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let per_row: Vec<String> = diesel::sql_query(
        "WITH p AS (
           SELECT tablename || '.' || policyname AS name,
             replace(replace(coalesce(qual, '') || ' ' || coalesce(with_check, ''),
               '( SELECT app_current_org() AS app_current_org)', ''),
               '( SELECT app_current_user() AS app_current_user)', '') AS rest
           FROM pg_policies WHERE schemaname = 'public')
         SELECT name FROM p
         WHERE rest LIKE '%app_current_org()%' OR rest LIKE '%app_current_user()%'
         ORDER BY name",
    )
    .load::<Row>(&mut c)
    .await
    .expect("policies")
    .into_iter()
    .map(|r| r.name)
    .collect();
    assert!(
        per_row.is_empty(),
        "policies calling app_current_org()/app_current_user() per row (write `(SELECT app_current_org())`): {per_row:?}"
    );
    let n: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_policies WHERE schemaname = 'public' \
         AND qual LIKE '%SELECT app_current_org()%'",
    )
    .get_result(&mut c)
    .await
    .expect("count");
    assert!(n.n > 10, "the tenant policies are there to be checked");
}
