//! Security probing: every route of the router, walked as each role of organization A, as an
//! anonymous visitor, and with organization B's ids while logged into A. B's data never shows,
//! B never changes, B's ids look like nothing exists (404), clients are read-only, every
//! state-changing route needs a POST with the right CSRF token, and security headers are on
//! every response, error pages included.

use std::collections::{BTreeMap, BTreeSet};

use adpilot::sandbox::SandboxConfig;
use axum::http::{Method, StatusCode};
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::connections::connect;
use crate::support::*;

/// Every route of the application router: (method, path pattern). `every_route_of_the_router_
/// is_in_the_probe_table` fails when a `.route(` in src/ is missing here, or listed but gone.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/static/{*path}"),
    // auth
    ("GET", "/signup"),
    ("POST", "/signup"),
    ("GET", "/signup/confirm/{token}"),
    ("POST", "/signup/confirm/{token}"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/account"),
    ("POST", "/account/password"),
    ("GET", "/orgs/new"),
    ("POST", "/orgs"),
    ("POST", "/orgs/switch"),
    ("GET", "/settings"),
    ("POST", "/settings/org"),
    ("POST", "/settings/invites"),
    ("POST", "/settings/invites/{id}/revoke"),
    ("POST", "/settings/members/{user_id}/role"),
    ("POST", "/settings/members/{user_id}/remove"),
    ("POST", "/settings/members/{user_id}/accounts"),
    ("GET", "/settings/audit"),
    ("GET", "/invites/{org_id}/{token}"),
    ("POST", "/invites/{org_id}/{token}"),
    // analytics
    ("GET", "/dashboard"),
    ("POST", "/dashboard/onboarding/dismiss"),
    ("GET", "/dashboard/table"),
    ("GET", "/dashboard/campaigns.csv"),
    ("GET", "/dashboard/insights"),
    // campaigns
    ("GET", "/campaigns"),
    ("POST", "/campaigns"),
    ("GET", "/campaigns/new"),
    ("POST", "/campaigns/new/copy"),
    ("POST", "/campaigns/new/targeting"),
    ("POST", "/campaigns/new/check"),
    ("GET", "/campaigns/pushes/{batch}"),
    ("POST", "/campaigns/pushes/{batch}/retry"),
    ("GET", "/campaigns/{id}"),
    ("GET", "/campaigns/{id}/ad-groups.csv"),
    ("GET", "/ad-groups/{id}"),
    ("GET", "/ad-groups/{id}/ads.csv"),
    ("GET", "/ads/{id}"),
    ("GET", "/ads/{id}/days.csv"),
    ("POST", "/campaigns/{id}/pause"),
    ("POST", "/campaigns/{id}/resume"),
    ("POST", "/campaigns/{id}/budget"),
    ("POST", "/ad-groups/{id}/pause"),
    ("POST", "/ad-groups/{id}/resume"),
    ("POST", "/ad-groups/{id}/budget"),
    ("POST", "/ad-groups/{id}/bid"),
    ("POST", "/ads/{id}/pause"),
    ("POST", "/ads/{id}/resume"),
    ("POST", "/ad-groups/{id}/changes/{change}/undo"),
    ("POST", "/ads/{id}/changes/{change}/undo"),
    ("POST", "/campaigns/bulk"),
    // connections
    ("GET", "/connections"),
    ("POST", "/connections/{platform}/start"),
    ("GET", "/connections/{platform}/callback"),
    ("GET", "/connections/{id}/accounts"),
    ("POST", "/connections/{id}/accounts"),
    ("POST", "/connections/{id}/reconnect"),
    ("POST", "/connections/{id}/disconnect"),
    ("GET", "/accounts/{id}/conversions"),
    ("POST", "/accounts/{id}/conversions"),
    // alerts and reports
    ("GET", "/alerts"),
    ("POST", "/alerts/check"),
    ("POST", "/alerts/channels"),
    ("POST", "/alerts/channels/{id}/delete"),
    ("POST", "/alerts/budgets"),
    ("POST", "/alerts/budgets/{id}/delete"),
    ("POST", "/alerts/{id}/acknowledge"),
    ("POST", "/alerts/{id}/snooze"),
    ("POST", "/alerts/{id}/mute"),
    ("POST", "/alerts/mutes/delete"),
    ("GET", "/reports"),
    ("POST", "/reports"),
    ("GET", "/reports/{id}/preview"),
    ("POST", "/reports/{id}/send"),
    ("POST", "/reports/{id}/delete"),
    ("GET", "/reports/unsubscribe"),
    ("POST", "/reports/unsubscribe"),
    // jobs
    ("GET", "/jobs"),
    ("POST", "/jobs/{id}/retry"),
    // ai
    ("GET", "/ai/copy"),
    ("POST", "/ai/copy"),
    ("POST", "/ai/copy/drafts"),
    ("GET", "/ai/copy/drafts/{id}"),
    ("POST", "/ai/copy/drafts/{id}/delete"),
    ("GET", "/ai/rule-draft"),
    ("POST", "/ai/rule-draft"),
    ("GET", "/ai/usage"),
    // billing
    ("GET", "/billing"),
    ("POST", "/billing/checkout"),
    ("POST", "/billing/portal"),
    ("POST", "/webhooks/stripe"),
    // rules
    ("GET", "/rules"),
    ("POST", "/rules"),
    ("GET", "/rules/new"),
    ("POST", "/rules/check"),
    ("POST", "/rules/insert"),
    ("POST", "/rules/describe"),
    ("POST", "/rules/preview"),
    ("GET", "/rules/example/{n}"),
    ("GET", "/rules/activity"),
    ("POST", "/rules/settings"),
    ("GET", "/rules/{id}"),
    ("POST", "/rules/{id}"),
    ("POST", "/rules/{id}/mode"),
    ("POST", "/rules/{id}/pause"),
    ("POST", "/rules/{id}/delete"),
    ("GET", "/rules/{id}/history"),
    ("GET", "/rules/{id}/backtest"),
    ("POST", "/rules/{id}/runs/{run}/undo"),
];

/// Routes anyone may use without logging in.
fn public(path: &str) -> bool {
    matches!(
        path,
        "/" | "/healthz"
            | "/metrics"
            | "/static/{*path}"
            | "/signup"
            | "/signup/confirm/{token}"
            | "/login"
            | "/invites/{org_id}/{token}"
            | "/reports/unsubscribe"
            | "/webhooks/stripe"
    )
}

/// Posts that need no CSRF token by design (signed by their sender).
fn csrf_exempt(path: &str) -> bool {
    matches!(path, "/webhooks/stripe" | "/reports/unsubscribe")
}

/// Posts a client-role member may make (their own session and account).
fn client_may_post(path: &str) -> bool {
    matches!(
        path,
        "/logout" | "/orgs/switch" | "/account/password" | "/orgs" | "/invites/{org_id}/{token}"
    )
}

/// Posts that change the session itself: probed on their own, not in the bulk walks.
fn session_changing(path: &str) -> bool {
    matches!(
        path,
        "/logout"
            | "/orgs"
            | "/orgs/switch"
            | "/signup"
            | "/signup/confirm/{token}"
            | "/login"
            | "/account/password"
    )
}

/// The `.route("path", get(..).post(..))` calls in `src`, as (method, path).
fn routes_in_source() -> BTreeSet<(String, String)> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("src dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                // The sandbox is a separate server standing in for the ad platforms.
                if p != root.join("sandbox") {
                    stack.push(p);
                }
                continue;
            }
            if p.extension().and_then(|x| x.to_str()) != Some("rs") {
                continue;
            }
            let src = std::fs::read_to_string(&p).expect("read source");
            for piece in src.split(".route(").skip(1) {
                let piece = piece.trim_start();
                let Some(rest) = piece.strip_prefix('"') else {
                    continue;
                };
                let Some(end) = rest.find('"') else { continue };
                let path = &rest[..end];
                // The call's arguments end at the parenthesis that closes `.route(`.
                let mut depth = 1;
                let mut args_end = rest.len();
                for (i, ch) in rest.char_indices() {
                    match ch {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                args_end = i;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let args = &rest[end + 1..args_end];
                for (m, name) in [("GET", "get("), ("POST", "post(")] {
                    let hit = args.match_indices(name).any(|(i, _)| {
                        i == 0
                            || matches!(args.as_bytes()[i - 1], b' ' | b'.' | b'(' | b':' | b'\n')
                    });
                    if hit {
                        out.insert((m.to_string(), path.to_string()));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_route_of_the_router_is_in_the_probe_table() {
    let in_source = routes_in_source();
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = in_source.difference(&table).collect();
    let stale: Vec<_> = table.difference(&in_source).collect();
    assert!(
        missing.is_empty(),
        "routes not probed (add them to ROUTES): {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "probed routes that no longer exist: {stale:?}"
    );
    assert!(in_source.len() > 60, "the source scan found the routes");
}

/// A snapshot of one organization's rows in every tenant table: a digest per table.
async fn snapshot(t: &TestApp, org: Uuid) -> BTreeMap<String, String> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        table_name: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Digest {
        #[diesel(sql_type = Text)]
        d: String,
    }
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name FROM information_schema.columns c \
         JOIN pg_class k ON k.relname = c.table_name AND NOT k.relispartition \
         WHERE c.table_schema = 'public' AND c.column_name = 'org_id' ORDER BY 1",
    )
    .load(&mut c)
    .await
    .expect("tables");
    let mut out = BTreeMap::new();
    for Name { table_name } in tables {
        // Sessions are touched by their own user's requests only; last_seen is not state.
        let row = if table_name == "sessions" {
            "(t.id, t.user_id, t.org_id, t.csrf_token)::text"
        } else {
            "t::text"
        };
        let d: Digest = diesel::sql_query(format!(
            "SELECT count(*) || ':' || md5(coalesce(string_agg({row}, '|' ORDER BY {row}), '')) \
             AS d FROM {table_name} t WHERE org_id = $1"
        ))
        .bind::<SqlUuid, _>(org)
        .get_result(&mut c)
        .await
        .expect("digest");
        out.insert(table_name, d.d);
    }
    let d: Digest = diesel::sql_query(
        "SELECT md5(o::text) || md5(coalesce((SELECT string_agg(u::text, '|' ORDER BY u.id) \
         FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.org_id = o.id), '')) AS d \
         FROM organizations o WHERE o.id = $1",
    )
    .bind::<SqlUuid, _>(org)
    .get_result(&mut c)
    .await
    .expect("org digest");
    out.insert("organizations+users".into(), d.d);
    out
}

/// Every uuid of an organization's rows, by table.
async fn ids_of(t: &TestApp, org: Uuid) -> BTreeMap<String, Vec<Uuid>> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        table_name: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT a.table_name::text AS table_name FROM information_schema.columns a \
         JOIN information_schema.columns b ON b.table_name = a.table_name \
         AND b.table_schema = 'public' AND b.column_name = 'org_id' \
         JOIN pg_class k ON k.relname = a.table_name AND NOT k.relispartition \
         WHERE a.table_schema = 'public' AND a.column_name = 'id' AND a.data_type = 'uuid'",
    )
    .load(&mut c)
    .await
    .expect("tables");
    let mut out = BTreeMap::new();
    for Name { table_name } in tables {
        let ids: Vec<Id> = diesel::sql_query(format!(
            "SELECT id FROM {table_name} WHERE org_id = $1 ORDER BY id"
        ))
        .bind::<SqlUuid, _>(org)
        .load(&mut c)
        .await
        .expect("ids");
        out.insert(table_name, ids.into_iter().map(|i| i.id).collect());
    }
    let users: Vec<Id> =
        diesel::sql_query("SELECT user_id AS id FROM memberships WHERE org_id = $1")
            .bind::<SqlUuid, _>(org)
            .load(&mut c)
            .await
            .expect("users");
    out.insert("users".into(), users.into_iter().map(|i| i.id).collect());
    out.insert("organizations".into(), vec![org]);
    out
}

async fn org_named(t: &TestApp, name: &str) -> Uuid {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let r: Id = diesel::sql_query("SELECT id FROM organizations WHERE name = $1")
        .bind::<Text, _>(name)
        .get_result(&mut c)
        .await
        .expect("org");
    r.id
}

async fn admin_exec(t: &TestApp, sql: &str, org: Uuid) {
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(org)
        .execute(&mut c)
        .await
        .expect("fixture");
}

/// Invites `email` with `role` into the owner's organization; returns the new member logged in.
async fn member(t: &TestApp, owner: &mut Client, email: &str, role: &str) -> Client {
    owner.get("/settings").await;
    let r = owner
        .post("/settings/invites", &[("email", email), ("role", role)])
        .await;
    assert!(
        r.status == StatusCode::SEE_OTHER || r.body.contains("Invitation sent"),
        "invite: {}",
        r.body
    );
    let path = t.last_email_link(&format!("{BASE}/invites/"));
    let mut c = t.client();
    c.get(&path).await.assert_status(StatusCode::OK);
    let r = c
        .post(
            &path,
            &[("name", "Member"), ("password", "a good long password")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "accept: {}", r.body);
    c.get("/dashboard").await.assert_status(StatusCode::OK);
    c
}

const B_ORG: &str = "Bravo Secret Org";
const B_EMAIL: &str = "bob@bravo-secret.test";
const B_INVITEE: &str = "friend@bravo-secret.test";
const B_RULE: &str = "Bravo secret rule";
const B_REPORT: &str = "Bravo secret report";
const B_CHANNEL: &str = "alerts@bravo-secret.test";

struct World {
    sb: adpilot::sandbox::SandboxHandle,
    t: TestApp,
    a_org: Uuid,
    b_org: Uuid,
    /// A's members by role, each logged in to A.
    roles: Vec<(&'static str, Client)>,
    /// Strings of B's that must never show in a response to A or to a visitor.
    b_markers: Vec<String>,
    b_ids: BTreeMap<String, Vec<Uuid>>,
    a_rule: Uuid,
    _plans: tempdir::TempDir,
}

/// Org B with data of every kind (sandbox connection and sync, a dry-run rule, a report
/// schedule, alert channel and budget, a pending invitation, a failed job, AI usage); org A
/// with an owner, an admin, a member and a client, and a rule of its own.
async fn world() -> World {
    let sb = sandbox(SandboxConfig::default()).await;
    // Billing on, so its routes are mounted and probed too (Stripe itself is never reached:
    // nothing on the discard port answers).
    let plans_dir = tempdir::TempDir::new();
    let plans = plans_dir.path().join("plans.json");
    std::fs::write(
        &plans,
        r#"{"free_plan": "open", "plans": [
            {"id": "open", "name": "Open", "stripe_price_id": null, "limits": {}},
            {"id": "paid", "name": "Paid", "stripe_price_id": "price_probe", "limits": {}}
        ]}"#,
    )
    .expect("plans file");
    let t = TestApp::build(
        &[
            "--stripe-secret-key",
            "sk_test_probe",
            "--stripe-webhook-secret",
            "whsec_probe",
            "--stripe-api-url",
            "http://127.0.0.1:9",
            "--plans-file",
            &plans.to_string_lossy(),
        ],
        Some(&sb),
    )
    .await;

    let mut b = t.sign_up(B_EMAIL, B_ORG).await;
    connect(&mut b, "google").await;
    let b_org = org_named(&t, B_ORG).await;
    for acc in adpilot::analytics::sync::accounts_to_sync(&t.app, b_org)
        .await
        .expect("accounts")
    {
        adpilot::analytics::sync::sync_account(&t.app, b_org, acc, sb.clock().now())
            .await
            .expect("sync");
    }
    b.get("/rules/new").await;
    let text = format!(
        "rule \"{B_RULE}\"\n  for campaigns on google\n  when spend in last 7 days > 1\n  then pause\n"
    );
    let r = b
        .post("/rules", &[("text", &text), ("mode", "dry_run")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "B's rule: {}", r.body);
    b.get("/reports").await;
    let r = b
        .post(
            "/reports",
            &[
                ("name", B_REPORT),
                ("frequency", "weekly"),
                ("weekday", "1"),
                ("send_time", "09:00"),
                ("period", "last_7_days"),
                ("platform", "all"),
                ("recipients", B_EMAIL),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "B's report: {}", r.body);
    b.get("/alerts").await;
    let r = b
        .post(
            "/alerts/channels",
            &[("kind", "email"), ("target", B_CHANNEL)],
        )
        .await;
    assert!(r.status.is_redirection(), "B's channel: {}", r.body);
    let b_account = {
        let ids = ids_of(&t, b_org).await;
        ids["ad_accounts"][0]
    };
    let r = b
        .post(
            "/alerts/budgets",
            &[
                ("account_id", &b_account.to_string()),
                ("budget", "100"),
                ("percent", "80"),
            ],
        )
        .await;
    assert!(r.status.is_redirection(), "B's budget: {}", r.body);
    b.get("/settings").await;
    let r = b
        .post(
            "/settings/invites",
            &[("email", B_INVITEE), ("role", "member")],
        )
        .await;
    assert!(r.body.contains("Invitation sent") || r.status == StatusCode::SEE_OTHER);
    admin_exec(
        &t,
        "INSERT INTO jobs (id, kind, org_id, state, last_error, attempts) \
         VALUES (gen_random_uuid(), 'sync_account', $1, 'failed', 'bravo failure', 5)",
        b_org,
    )
    .await;
    admin_exec(
        &t,
        "INSERT INTO ai_usage (id, org_id, task, provider, model, input_tokens, output_tokens, \
         cost_micros, cached, outcome) VALUES (gen_random_uuid(), $1, 'ad_copy', 'openai', \
         'bravo-secret-model', 10, 10, 5, false, 'ok')",
        b_org,
    )
    .await;
    let b_ids = ids_of(&t, b_org).await;
    for table in [
        "ad_accounts",
        "campaigns",
        "connections",
        "rules",
        "report_schedules",
        "alert_channels",
        "invitations",
        "jobs",
        "ai_usage",
    ] {
        assert!(
            b_ids.get(table).is_some_and(|v| !v.is_empty()),
            "B has {table}"
        );
    }
    let mut b_markers: Vec<String> = [
        B_ORG,
        B_EMAIL,
        B_INVITEE,
        B_RULE,
        B_REPORT,
        B_CHANNEL,
        "bravo-secret-model",
        "bravo failure",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    b_markers.extend(b_ids.values().flatten().map(Uuid::to_string));
    // Campaign names of B's synced account (A connects nothing, so none is A's).
    {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = Text)]
            name: String,
        }
        let mut c = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        let names: Vec<N> = diesel::sql_query("SELECT name FROM campaigns WHERE org_id = $1")
            .bind::<SqlUuid, _>(b_org)
            .load(&mut c)
            .await
            .expect("names");
        assert!(!names.is_empty());
        b_markers.extend(names.into_iter().map(|n| n.name));
    }

    let mut owner = t.sign_up("owner@alpha.test", "Alpha Org").await;
    let a_org = org_named(&t, "Alpha Org").await;
    let admin = member(&t, &mut owner, "admin@alpha.test", "admin").await;
    let memb = member(&t, &mut owner, "member@alpha.test", "member").await;
    let client = member(&t, &mut owner, "client@alpha.test", "client").await;
    owner.get("/rules/new").await;
    let r = owner
        .post(
            "/rules",
            &[
                (
                    "text",
                    "rule \"Alpha rule\"\n  for campaigns on google\n  when spend in last 7 days > 1\n  then pause\n",
                ),
                ("mode", "draft"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "A's rule: {}", r.body);
    let a_rule: Uuid = r
        .location()
        .and_then(|l| l.trim_start_matches("/rules/").parse().ok())
        .expect("rule id");
    World {
        sb,
        t,
        a_org,
        b_org,
        roles: vec![
            ("owner", owner),
            ("admin", admin),
            ("member", memb),
            ("client", client),
        ],
        b_markers,
        b_ids,
        a_rule,
        _plans: plans_dir,
    }
}

impl World {
    fn b_first(&self, table: &str) -> String {
        self.b_ids
            .get(table)
            .and_then(|v| v.iter().next())
            .map(Uuid::to_string)
            .unwrap_or_else(|| panic!("B has no {table}"))
    }

    /// The pattern with B's ids in its parameters; `None` when it has no id of an organization.
    fn with_b_ids(&self, pattern: &str) -> Option<String> {
        if !pattern.contains('{') {
            return None;
        }
        let (table, param) = match pattern {
            p if p.starts_with("/campaigns/pushes/") => ("campaign_pushes_or_any", "{batch}"),
            p if p.starts_with("/campaigns/") => ("campaigns", "{id}"),
            p if p.starts_with("/ad-groups/") => ("ad_groups", "{id}"),
            p if p.starts_with("/ads/") => ("ads", "{id}"),
            p if p.starts_with("/connections/{id}") => ("connections", "{id}"),
            p if p.starts_with("/accounts/{id}") => ("ad_accounts", "{id}"),
            p if p.starts_with("/alerts/channels/") => ("alert_channels", "{id}"),
            p if p.starts_with("/alerts/budgets/") => ("budget_targets", "{id}"),
            p if p.starts_with("/alerts/{id}") => ("alerts_or_any", "{id}"),
            p if p.starts_with("/reports/{id}") => ("report_schedules", "{id}"),
            p if p.starts_with("/jobs/") => ("jobs", "{id}"),
            p if p.starts_with("/rules/{id}") => ("rules", "{id}"),
            p if p.starts_with("/settings/invites/") => ("invitations", "{id}"),
            p if p.starts_with("/settings/members/") => ("users", "{user_id}"),
            p if p.starts_with("/invites/") => ("organizations", "{org_id}"),
            _ => return None,
        };
        let id = if let Some(t) = table.strip_suffix("_or_any") {
            // B may have none (no push, no alert yet); an id of B's would be a uuid all the same.
            self.b_ids
                .get(t)
                .and_then(|v| v.iter().next())
                .copied()
                .unwrap_or_else(Uuid::now_v7)
                .to_string()
        } else {
            self.b_first(table)
        };
        Some(
            pattern
                .replace(param, &id)
                .replace("{token}", "not-a-real-token")
                .replace("{change}", &Uuid::now_v7().to_string())
                .replace(
                    "{run}",
                    &self
                        .b_ids
                        .get("rule_runs")
                        .and_then(|v| v.iter().next())
                        .copied()
                        .unwrap_or_else(Uuid::now_v7)
                        .to_string(),
                ),
        )
    }

    /// The pattern with A's own ids (or ids of nothing) in its parameters.
    fn with_a_ids(&self, pattern: &str) -> String {
        let nothing = Uuid::now_v7().to_string();
        let rule = self.a_rule.to_string();
        let org = self.a_org.to_string();
        let id = if pattern.starts_with("/rules/{id}") {
            rule.as_str()
        } else {
            nothing.as_str()
        };
        pattern
            .replace("{*path}", "app.js")
            .replace("{platform}", "google")
            .replace("{n}", "1")
            .replace("{org_id}", &org)
            .replace("{token}", "not-a-real-token")
            .replace("{user_id}", &nothing)
            .replace("{batch}", &nothing)
            .replace("{run}", &nothing)
            .replace("{change}", &nothing)
            .replace("{id}", id)
    }

    /// Form fields for a probing post: plausible values, with B's ids wherever a form takes an
    /// id of something.
    fn b_fields(&self) -> Vec<(String, String)> {
        let account = self.b_first("ad_accounts");
        let campaign = self.b_first("campaigns");
        [
            ("name", "Probe"),
            ("time_zone", "UTC"),
            ("email", "probe@alpha.test"),
            ("role", "member"),
            ("kind", "email"),
            ("target", "probe@alpha.test"),
            ("budget", "5"),
            ("bid", "1.25"),
            ("percent", "80"),
            ("text", "rule \"Probe\"\n  for campaigns on google\n  when spend in last 7 days > 1\n  then pause\n"),
            ("mode", "live"),
            ("confirm", "yes"),
            ("frequency", "daily"),
            ("send_time", "09:00"),
            ("period", "last_7_days"),
            ("platform", "google"),
            ("recipients", "probe@alpha.test"),
            ("amount", "12.34"),
            ("product", "Tea"),
            ("paused", "true"),
            ("kill_switch", "on"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([
            ("account_id".to_string(), account.clone()),
            ("account".to_string(), account.clone()),
            ("accounts".to_string(), account),
            ("campaign_id".to_string(), campaign.clone()),
            ("campaign".to_string(), campaign),
            ("org_id".to_string(), self.b_org.to_string()),
            ("rule_id".to_string(), self.b_first("rules")),
        ])
        .collect()
    }

    fn assert_no_b_data(&self, who: &str, path: &str, r: &Resp) {
        for m in &self.b_markers {
            assert!(
                !r.body.contains(m.as_str()),
                "{who} {path}: B's \"{m}\" in the response ({})",
                r.status
            );
        }
        for v in r.headers.values() {
            let v = v.to_str().unwrap_or("");
            for m in &self.b_markers {
                assert!(!v.contains(m.as_str()), "{who} {path}: B's {m} in a header");
            }
        }
    }

    /// The ad platform's own state of every campaign, ad group and ad (budgets, bids,
    /// statuses).
    fn platform_state(&self) -> String {
        sandbox_settings(&self.sb)
    }
}

fn assert_security_headers(path: &str, r: &Resp) {
    let h = |k: &str| {
        r.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let csp = h("content-security-policy");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{path} ({}): CSP {csp:?}",
        r.status
    );
    assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
    assert_eq!(h("x-frame-options"), "DENY", "{path}");
    assert!(!h("referrer-policy").is_empty(), "{path}");
}

fn form(fields: &[(String, String)], token: Option<&str>) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    if let Some(t) = token {
        ser.append_pair("csrf_token", t);
    }
    for (k, v) in fields {
        ser.append_pair(k, v);
    }
    ser.finish()
}

#[tokio::test]
async fn every_route_as_every_role_and_with_b_ids_leaks_and_changes_nothing_of_b() {
    let mut w = world().await;
    let b_before = snapshot(&w.t, w.b_org).await;
    let platform_before = w.platform_state();
    let fields = w.b_fields();
    let mut roles = std::mem::take(&mut w.roles);
    let mut probed = 0usize;

    // 1. Every route as each role of A, with A's own ids or ids of nothing.
    for (role, c) in roles.iter_mut() {
        c.get("/dashboard").await.assert_status(StatusCode::OK);
        for (method, pattern) in ROUTES {
            if session_changing(pattern) {
                continue;
            }
            let path = w.with_a_ids(pattern);
            let r = if *method == "GET" {
                c.get(&path).await
            } else {
                let a_before = snapshot(&w.t, w.a_org).await;
                let token = c.csrf.clone();
                let r = c
                    .request(
                        Method::POST,
                        &path,
                        Some(form(&fields, token.as_deref())),
                        &[],
                    )
                    .await;
                if *role == "client" && !client_may_post(pattern) && !csrf_exempt(pattern) {
                    assert_eq!(
                        r.status,
                        StatusCode::FORBIDDEN,
                        "client POST {path} must be refused: {}",
                        r.body
                    );
                    assert_eq!(
                        snapshot(&w.t, w.a_org).await,
                        a_before,
                        "client POST {path} changed A"
                    );
                }
                r
            };
            probed += 1;
            assert!(
                !r.status.is_server_error(),
                "{role} {method} {path}: {} {}",
                r.status,
                r.body
            );
            w.assert_no_b_data(role, &path, &r);
            assert_security_headers(&path, &r);
        }
    }

    // 2. Every route with one of B's ids, as each role of A: nothing exists there.
    for (role, c) in roles.iter_mut() {
        for (method, pattern) in ROUTES {
            let Some(path) = w.with_b_ids(pattern) else {
                continue;
            };
            c.get("/dashboard").await;
            let r = if *method == "GET" {
                c.get(&path).await
            } else {
                c.post(
                    &path,
                    &fields
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect::<Vec<_>>(),
                )
                .await
            };
            probed += 1;
            w.assert_no_b_data(role, &path, &r);
            assert_security_headers(&path, &r);
            // The same request with an id of nothing: B's id must be indistinguishable from it.
            let nothing_path = path.replace(
                &path
                    .split('/')
                    .find(|seg| seg.parse::<Uuid>().is_ok())
                    .map(str::to_string)
                    .unwrap_or_default(),
                &Uuid::now_v7().to_string(),
            );
            c.get("/dashboard").await;
            let control = if *method == "GET" {
                c.get(&nothing_path).await
            } else {
                c.post(
                    &nothing_path,
                    &fields
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect::<Vec<_>>(),
                )
                .await
            };
            assert_eq!(
                r.status, control.status,
                "{role} {method} {path}: B's id answers differently from an id of nothing"
            );
            let expected: &[StatusCode] = if pattern.starts_with("/invites/") {
                // Public invitation links answer "no longer valid" for any unknown token.
                &[StatusCode::GONE]
            } else {
                // 403 only where this role is refused whatever the id.
                &[StatusCode::NOT_FOUND, StatusCode::FORBIDDEN]
            };
            assert!(
                expected.contains(&r.status),
                "{role} {method} {path} with B's id: {} (want {expected:?})\n{}",
                r.status,
                r.body
            );
            if *role == "owner" && !pattern.starts_with("/invites/") {
                assert_eq!(r.status, StatusCode::NOT_FOUND, "owner {method} {path}");
            }
        }
        // Switching into B is refused as if B did not exist.
        let r = c
            .post("/orgs/switch", &[("org_id", &w.b_org.to_string())])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{role} switching into B");
        c.get("/dashboard").await.assert_status(StatusCode::OK);
    }

    // 3. As an anonymous visitor.
    let mut anon = w.t.client();
    anon.get("/login").await.assert_status(StatusCode::OK);
    for (method, pattern) in ROUTES {
        if session_changing(pattern) && *method == "POST" {
            continue;
        }
        let path = w
            .with_b_ids(pattern)
            .unwrap_or_else(|| w.with_a_ids(pattern));
        let r = if *method == "GET" {
            anon.get(&path).await
        } else {
            let token = anon.csrf.clone();
            anon.request(
                Method::POST,
                &path,
                Some(form(&fields, token.as_deref())),
                &[],
            )
            .await
        };
        probed += 1;
        w.assert_no_b_data("anonymous", &path, &r);
        assert_security_headers(&path, &r);
        if public(pattern) {
            assert!(
                !r.status.is_server_error(),
                "anonymous {path}: {}",
                r.status
            );
            continue;
        }
        assert_eq!(r.status, StatusCode::SEE_OTHER, "anonymous {method} {path}");
        assert_eq!(r.location(), Some("/login"), "anonymous {method} {path}");
        if *method == "GET" {
            let h = anon
                .request(Method::GET, &path, None, &[("hx-request", "true")])
                .await;
            assert_eq!(
                h.status,
                StatusCode::UNAUTHORIZED,
                "anonymous htmx {path} gets a 401"
            );
            assert_eq!(
                h.headers.get("hx-redirect").and_then(|v| v.to_str().ok()),
                Some("/login")
            );
        }
    }

    assert!(probed > 400, "{probed} requests probed");
    assert_eq!(
        snapshot(&w.t, w.b_org).await,
        b_before,
        "organization B changed"
    );
    assert_eq!(
        w.platform_state(),
        platform_before,
        "B's campaigns changed on the ad platform"
    );
    // Nothing of A's now points at B (no row created in A from B's ids in a form).
    let b_ids: Vec<String> = w.b_ids.values().flatten().map(Uuid::to_string).collect();
    let mut c = adpilot::db::connect_one(&w.t.db.admin_url)
        .await
        .expect("admin");
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        r: String,
    }
    for table in snapshot(&w.t, w.a_org).await.keys() {
        if table.contains('+') {
            continue;
        }
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT t::text AS r FROM {table} t WHERE org_id = $1"
        ))
        .bind::<SqlUuid, _>(w.a_org)
        .load(&mut c)
        .await
        .expect("rows");
        for row in rows {
            for id in &b_ids {
                assert!(
                    !row.r.contains(id.as_str()),
                    "A's {table} row points at B: {}",
                    row.r
                );
            }
        }
    }
}

#[tokio::test]
async fn every_state_changing_route_refuses_get_and_a_missing_or_wrong_csrf_token() {
    let w = world().await;
    let fields = w.b_fields();
    let (_, owner) = &w.roles[0];
    let mut owner = owner.clone();
    owner.get("/settings").await;
    let a_before = snapshot(&w.t, w.a_org).await;
    let get_routes: BTreeSet<&str> = ROUTES
        .iter()
        .filter(|(m, _)| *m == "GET")
        .map(|(_, p)| *p)
        .collect();
    for (method, pattern) in ROUTES {
        if *method != "POST" {
            continue;
        }
        let path = w.with_a_ids(pattern);
        if !get_routes.contains(pattern) {
            let r = owner.get(&path).await;
            assert_eq!(
                r.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "GET {path} must not change state"
            );
            assert_security_headers(&path, &r);
        }
        if csrf_exempt(pattern) {
            continue;
        }
        for token in [None, Some("wrong-token-wrong-token-wrong-token-00")] {
            let r = owner
                .request(Method::POST, &path, Some(form(&fields, token)), &[])
                .await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "POST {path} token {token:?}"
            );
            assert!(r.body.contains("Form expired"), "{path}");
            assert_security_headers(&path, &r);
        }
        // The htmx header is checked the same way.
        let r = owner
            .request(
                Method::POST,
                &path,
                Some(form(&fields, None)),
                &[("x-csrf-token", "wrong")],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "POST {path} bad header token"
        );
    }
    assert_eq!(
        snapshot(&w.t, w.a_org).await,
        a_before,
        "a refused post changed something"
    );
}

#[tokio::test]
async fn over_https_every_cookie_is_secure_httponly_and_samesite() {
    let t = TestApp::with_args(&["--public-url", "https://ads.example.com"]).await;
    let mut c = t.client();
    c.origin = Some("https://ads.example.com".into());
    let page = c.get("/signup").await;
    let mut seen = page.set_cookies();
    let r = c
        .post(
            "/signup",
            &[
                ("name", "S"),
                ("email", "s@example.com"),
                ("password", "a good long password"),
                ("org_name", "S"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    seen.extend(r.set_cookies());
    // A flash message cookie (set by a helper that does not know the configuration).
    c.get("/settings").await;
    let r = c
        .post(
            "/settings/org",
            &[("name", "Renamed"), ("time_zone", "UTC")],
        )
        .await;
    seen.extend(r.set_cookies());
    let r = c.post("/logout", &[]).await;
    seen.extend(r.set_cookies());
    let names: BTreeSet<&str> = seen.iter().filter_map(|s| s.split('=').next()).collect();
    for name in ["adpilot_csrf", "adpilot_session", "adpilot_flash"] {
        assert!(names.contains(name), "{name} seen in {seen:?}");
    }
    for cookie in &seen {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(
            cookie.contains("SameSite=Lax") || cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        assert!(cookie.contains("Secure"), "{cookie}");
    }
    // Over plain http (local use) cookies cannot be Secure, or the browser would drop them.
    let t = TestApp::new().await;
    let mut c = t.client();
    let page = c.get("/login").await;
    assert!(
        page.set_cookies()
            .iter()
            .all(|s| !s.contains("Secure") && s.contains("HttpOnly"))
    );
}

#[tokio::test]
async fn error_pages_carry_the_security_headers() {
    let t = TestApp::new().await;
    let mut c = t.sign_up("a@example.com", "A").await;
    for (path, status) in [
        ("/no/such/page", StatusCode::NOT_FOUND),
        (
            &*format!("/rules/{}", Uuid::now_v7()),
            StatusCode::NOT_FOUND,
        ),
        ("/rules/not-a-uuid", StatusCode::BAD_REQUEST),
        ("/logout", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, status, "{path}");
        assert_security_headers(path, &r);
    }
    let r = c.post_raw("/settings/org", &[("name", "X")]).await;
    r.assert_status(StatusCode::FORBIDDEN);
    assert_security_headers("/settings/org", &r);
    let mut anon = t.client();
    let r = anon.get("/dashboard").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_security_headers("/dashboard", &r);
}

/// Rows of one organization's campaigns: (campaign id, account id, campaign name).
async fn campaigns_by_account(t: &TestApp, org: Uuid) -> Vec<(Uuid, Uuid, String)> {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        account_id: Uuid,
        #[diesel(sql_type = Text)]
        name: String,
    }
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    diesel::sql_query("SELECT id, account_id, name FROM campaigns WHERE org_id = $1 ORDER BY id")
        .bind::<SqlUuid, _>(org)
        .load::<R>(&mut c)
        .await
        .expect("campaigns")
        .into_iter()
        .map(|r| (r.id, r.account_id, r.name))
        .collect()
}

/// An agency with several ad accounts gives a customer (a client) one of them: on every GET
/// route of the router the client sees nothing of the other accounts (their campaigns,
/// accounts, alerts, report schedules, budgets, ids), and ids of them answer 404; the owner
/// still sees everything. The database does the filtering: the same holds for a query made
/// as the application role inside the client's account scope.
#[tokio::test]
async fn a_client_of_one_ad_account_sees_nothing_of_the_other_accounts_on_any_route() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut owner = t.sign_up("owner@agency.test", "Agency").await;
    connect(&mut owner, "google").await;
    let org = org_named(&t, "Agency").await;
    for acc in adpilot::analytics::sync::accounts_to_sync(&t.app, org)
        .await
        .expect("accounts")
    {
        adpilot::analytics::sync::sync_account(&t.app, org, acc, sb.clock().now())
            .await
            .expect("sync");
    }
    let campaigns = campaigns_by_account(&t, org).await;
    assert!(!campaigns.is_empty(), "the sync brought campaigns");
    let mine = campaigns[0].1;
    let others: BTreeSet<Uuid> = campaigns
        .iter()
        .map(|c| c.1)
        .filter(|a| *a != mine)
        .collect();
    assert!(
        !others.is_empty(),
        "the agency has more than one ad account"
    );
    let other = *others.iter().next().expect("another account");
    let other_campaign = campaigns
        .iter()
        .find(|c| c.1 == other)
        .expect("a campaign of another account")
        .0;
    let my_names: BTreeSet<&str> = campaigns
        .iter()
        .filter(|c| c.1 == mine)
        .map(|c| c.2.as_str())
        .collect();

    // Data about the other accounts of every kind a client could reach.
    let other_report = "Other customer weekly";
    owner.get("/reports").await;
    let r = owner
        .post(
            "/reports",
            &[
                ("name", other_report),
                ("frequency", "weekly"),
                ("weekday", "1"),
                ("send_time", "09:00"),
                ("period", "last_7_days"),
                ("platform", "all"),
                ("account", &other.to_string()),
                ("recipients", "boss@other-customer.test"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "report: {}", r.body);
    admin_exec(
        &t,
        &format!(
            "INSERT INTO alerts (id, org_id, kind, subject_key, title, details) VALUES \
             (gen_random_uuid(), $1, 'anomaly', '{other_campaign}:spend', \
             'Other customer spend anomaly', '{{\"campaign_id\": \"{other_campaign}\"}}')"
        ),
        org,
    )
    .await;
    owner.get("/alerts").await;
    let r = owner
        .post(
            "/alerts/budgets",
            &[
                ("account_id", &other.to_string()),
                ("budget", "100"),
                ("percent", "80"),
            ],
        )
        .await;
    assert!(r.status.is_redirection(), "budget: {}", r.body);

    // The client, granted one account.
    let mut client = member(&t, &mut owner, "customer@one.test", "client").await;
    let client_id = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
        }
        let mut c = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        diesel::sql_query("SELECT id FROM users WHERE email = 'customer@one.test'")
            .get_result::<Id>(&mut c)
            .await
            .expect("client")
            .id
    };
    // Before any grant a client sees no account at all.
    let page = client.get("/campaigns").await;
    page.assert_status(StatusCode::OK);
    for (_, _, name) in &campaigns {
        assert!(
            !page.body.contains(name.as_str()),
            "ungranted client sees {name}"
        );
    }
    owner.get("/settings").await;
    let r = owner
        .post(
            &format!("/settings/members/{client_id}/accounts"),
            &[("account", &mine.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "grant: {}", r.body);

    let mut markers: Vec<String> = vec![
        other_report.to_string(),
        "boss@other-customer.test".to_string(),
        "Other customer spend anomaly".to_string(),
    ];
    for (id, account, name) in &campaigns {
        if *account != mine {
            markers.push(id.to_string());
            if !my_names.contains(name.as_str()) {
                markers.push(name.clone());
            }
        }
    }
    markers.extend(others.iter().map(Uuid::to_string));
    {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = Text)]
            name: String,
            #[diesel(sql_type = Text)]
            external_id: String,
        }
        let mut c = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        let accounts: Vec<N> = diesel::sql_query(
            "SELECT name, external_id FROM ad_accounts WHERE org_id = $1 AND id <> $2",
        )
        .bind::<SqlUuid, _>(org)
        .bind::<SqlUuid, _>(mine)
        .load(&mut c)
        .await
        .expect("accounts");
        for a in accounts {
            markers.push(a.name);
            markers.push(a.external_id);
        }
    }

    // The owner sees the other accounts' data (the markers are real).
    let mut seen_by_owner = String::new();
    for path in ["/campaigns", "/alerts", "/reports", "/dashboard"] {
        seen_by_owner.push_str(&owner.get(path).await.body);
    }
    for m in [other_report, "Other customer spend anomaly"] {
        assert!(seen_by_owner.contains(m), "the owner sees {m}");
    }

    // The client sees their own account...
    let own = client.get("/campaigns?per=500").await;
    assert!(
        my_names.iter().any(|n| own.body.contains(n)),
        "the client sees the granted account's campaigns"
    );
    // ...and nothing of the others, on any GET route.
    let report_id = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
        }
        let mut c = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        diesel::sql_query("SELECT id FROM report_schedules WHERE name = $1")
            .bind::<Text, _>(other_report)
            .get_result::<Id>(&mut c)
            .await
            .expect("report")
            .id
    };
    let nothing = Uuid::now_v7().to_string();
    let mut walked = 0;
    for (method, pattern) in ROUTES {
        if *method != "GET" {
            continue;
        }
        let id = if pattern.starts_with("/campaigns/") && !pattern.starts_with("/campaigns/pushes")
        {
            other_campaign.to_string()
        } else if pattern.starts_with("/reports/{id}") {
            report_id.to_string()
        } else {
            nothing.clone()
        };
        let mut paths = vec![
            pattern
                .replace("{*path}", "app.js")
                .replace("{platform}", "google")
                .replace("{n}", "1")
                .replace("{org_id}", &org.to_string())
                .replace("{token}", "not-a-real-token")
                .replace("{user_id}", &nothing)
                .replace("{batch}", &nothing)
                .replace("{id}", &id),
        ];
        if !pattern.contains('{') {
            // Filters naming another account must not open it either.
            paths.push(format!(
                "{}?account={other}&account_id={other}&per=500",
                paths[0]
            ));
        }
        for path in paths {
            let r = client.get(&path).await;
            walked += 1;
            for m in &markers {
                // The page may echo the id the client typed into the query (its own links).
                if path.contains('?') && *m == other.to_string() {
                    continue;
                }
                assert!(
                    !r.body.contains(m.as_str()),
                    "client GET {path} ({}) shows {m:?} of another account",
                    r.status
                );
            }
            if pattern.contains("{id}")
                && (id == other_campaign.to_string() || id == report_id.to_string())
            {
                assert!(
                    matches!(r.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                    "client GET {path}: {} for another account's object",
                    r.status
                );
            }
        }
    }
    assert!(walked > 40, "the walk covered the GET routes ({walked})");

    // A report of the granted account, even previewed by the owner, carries only that
    // account's campaigns and alerts.
    owner.get("/reports").await;
    let r = owner
        .post(
            "/reports",
            &[
                ("name", "Customer one weekly"),
                ("frequency", "weekly"),
                ("weekday", "1"),
                ("send_time", "09:00"),
                ("period", "last_7_days"),
                ("platform", "all"),
                ("account", &mine.to_string()),
                ("recipients", "customer@one.test"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "report: {}", r.body);
    let mine_report = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
        }
        let mut c = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        diesel::sql_query("SELECT id FROM report_schedules WHERE name = 'Customer one weekly'")
            .get_result::<Id>(&mut c)
            .await
            .expect("report")
            .id
    };
    for viewer in [&mut owner, &mut client] {
        let preview = viewer
            .get(&format!("/reports/{mine_report}/preview?raw=1"))
            .await;
        preview.assert_status(StatusCode::OK);
        for m in &markers {
            assert!(
                !preview.body.contains(m.as_str()),
                "the one-account report shows {m:?}"
            );
        }
    }

    // A member limited the same way ("Only the accounts below") sees only that account too.
    let mut limited = member(&t, &mut owner, "member@one.test", "member").await;
    let member_id = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
        }
        let mut c = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        diesel::sql_query("SELECT id FROM users WHERE email = 'member@one.test'")
            .get_result::<Id>(&mut c)
            .await
            .expect("member")
            .id
    };
    let all = limited.get("/campaigns?per=500").await.body;
    assert!(
        markers.iter().any(|m| all.contains(m.as_str())),
        "an unlimited member sees the other accounts"
    );
    owner.get("/settings").await;
    let r = owner
        .post(
            &format!("/settings/members/{member_id}/accounts"),
            &[("restricted", "on"), ("account", &mine.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "limit: {}", r.body);
    for path in ["/campaigns?per=500", "/dashboard", "/alerts", "/reports"] {
        let body = limited.get(path).await.body;
        for m in &markers {
            assert!(
                !body.contains(m.as_str()),
                "limited member GET {path} shows {m:?}"
            );
        }
    }

    // The database itself: the application role inside the client's scope sees none of the
    // other accounts' rows; the owner's (unscoped) transaction sees them all.
    let scope = adpilot::auth::scope::account_scope(&t.app.db, org, client_id)
        .await
        .expect("scope");
    assert_eq!(scope, Some(vec![mine]));
    let count_others = |t: &TestApp, others: Vec<Uuid>| {
        let db = t.app.db.clone();
        async move {
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            db.tenant(org, async move |c| {
                let mut total = 0;
                for sql in [
                    "SELECT count(*) AS n FROM campaigns WHERE account_id = ANY($1)",
                    "SELECT count(*) AS n FROM ad_accounts WHERE id = ANY($1)",
                    "SELECT count(*) AS n FROM metrics_daily WHERE account_id = ANY($1)",
                    "SELECT count(*) AS n FROM alerts WHERE account_id = ANY($1)",
                    "SELECT count(*) AS n FROM budget_targets WHERE account_id = ANY($1)",
                    "SELECT count(*) AS n FROM report_schedules WHERE account_ids && $1",
                ] {
                    let n: N = diesel::sql_query(sql)
                        .bind::<diesel::sql_types::Array<SqlUuid>, _>(&others)
                        .get_result(c)
                        .await?;
                    total += n.n;
                }
                Ok::<_, adpilot::db::DbError>(total)
            })
            .await
            .expect("count")
        }
    };
    let others_v: Vec<Uuid> = others.iter().copied().collect();
    assert!(
        count_others(&t, others_v.clone()).await > 0,
        "unscoped sees them"
    );
    let scoped = adpilot::db::with_account_scope(scope, count_others(&t, others_v.clone())).await;
    assert_eq!(
        scoped, 0,
        "the client's scope sees none of the other accounts' rows"
    );
    // A scope can only narrow: an inner scope naming another account sees nothing of it.
    let narrowed = adpilot::db::with_account_scope(
        Some(vec![mine]),
        adpilot::db::with_account_scope(Some(others_v.clone()), count_others(&t, others_v)),
    )
    .await;
    assert_eq!(narrowed, 0);
}
