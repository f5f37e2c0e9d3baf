//! Test harness: a real PostgreSQL (DATABASE_URL, or an embedded cluster under target/), one
//! template database migrated once per set of migrations, and a fresh database cloned from it
//! for every test, dropped afterwards. Requests go through the real router.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use adpilot::app::AppState;
use adpilot::config::{Config, Settings};
use adpilot::db::{Db, connect_one, url_with_role};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use clap::Parser;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::scratch_db::{ScratchDb, drop_database_blocking, password_of, user_of};

pub const BASE: &str = "http://adpilot.test";

static ADMIN_URL: OnceLock<String> = OnceLock::new();

/// The application role's password in tests: the template build sets it (see `template`), and
/// every process a test starts is given it (`ADPILOT_DB_APP_PASSWORD`) so that none sets another.
pub const APP_PASSWORD: &str = "adpilotTestsAppRole1";
static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

fn admin_url() -> String {
    ADMIN_URL
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-pg");
                let pg = adpilot::db::embedded::EmbeddedPostgres::start(&dir)
                    .expect("start embedded PostgreSQL for tests (or set DATABASE_URL)");
                // Left running for later test runs; `pg_ctl -D target/test-pg/data stop` stops it.
                pg.url()
            }
        })
        .clone()
}

fn migrations_hash() -> String {
    let mut h = Sha256::new();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<PathBuf> = walk(&dir);
    files.sort();
    for f in files {
        h.update(f.to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    hex::encode(&h.finalize()[..6])
}

fn walk(dir: &PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

async fn template() -> String {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("adpilot_tmpl_{}", migrations_hash());
            let admin = admin_url();
            let mut c = connect_one(&admin).await.expect("connect as admin");
            // Several test processes may race to build the template.
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<BigInt, _>(0x7465_7374_746d_706c_i64)
                .execute(&mut c)
                .await
                .expect("lock");
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = BigInt)]
                n: i64,
            }
            let exists: N =
                diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
                    .bind::<diesel::sql_types::Text, _>(&name)
                    .get_result(&mut c)
                    .await
                    .expect("query");
            if exists.n == 0 {
                let building = format!("{name}_building");
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                diesel::sql_query(format!("CREATE DATABASE {building}"))
                    .execute(&mut c)
                    .await
                    .expect("create template");
                let url = url_with_role(
                    &admin,
                    &user_of(&admin),
                    password_of(&admin).as_deref(),
                    Some(&building),
                )
                .expect("url");
                adpilot::db::migrate::run(&url, Some(APP_PASSWORD))
                    .await
                    .expect("migrate template");
                diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .execute(&mut c)
                    .await
                    .expect("rename template");
                // Templates of earlier migration sets would otherwise pile up on a machine that
                // keeps its PostgreSQL between runs. Another checkout (a branch, a worktree, CI
                // beside a developer) may still be using its own, so only templates built more
                // than three days ago go; the build time is kept in the database's comment.
                diesel::sql_query(format!(
                    "COMMENT ON DATABASE {name} IS 'adpilot test template built {}'",
                    chrono::Utc::now().timestamp()
                ))
                .execute(&mut c)
                .await
                .expect("mark template");
                #[derive(diesel::QueryableByName)]
                struct Db {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    datname: String,
                    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
                    note: Option<String>,
                }
                let old: Vec<Db> = diesel::sql_query(
                    "SELECT datname, shobj_description(oid, 'pg_database') AS note \
                     FROM pg_database WHERE datname LIKE 'adpilot\\_tmpl\\_%' \
                     AND datname NOT LIKE '%\\_building' AND datname <> $1",
                )
                .bind::<diesel::sql_types::Text, _>(&name)
                .load(&mut c)
                .await
                .unwrap_or_default();
                let cutoff = chrono::Utc::now().timestamp() - 3 * 24 * 3600;
                for db in old {
                    let built = db
                        .note
                        .as_deref()
                        .and_then(|n| n.strip_prefix("adpilot test template built "))
                        .and_then(|t| t.parse::<i64>().ok())
                        .unwrap_or(0);
                    if built < cutoff {
                        let _ = diesel::sql_query(format!(
                            "DROP DATABASE IF EXISTS \"{}\"",
                            db.datname
                        ))
                        .execute(&mut c)
                        .await;
                    }
                }
            }
            // The application role is one per cluster and outlives the template that made it;
            // another program on this PostgreSQL (a developer's `adpilot serve`) may have set its
            // own password. Setting the tests' password once per test process makes the app
            // role's URLs work under password authentication as well as under trust.
            diesel::sql_query(format!(
                "ALTER ROLE {} PASSWORD '{APP_PASSWORD}'",
                adpilot::db::APP_ROLE
            ))
            .execute(&mut c)
            .await
            .expect("set the application role's password");
            diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<BigInt, _>(0x7465_7374_746d_706c_i64)
                .execute(&mut c)
                .await
                .expect("unlock");
            name
        })
        .await
        .clone()
}

/// A database of one test's own.
pub struct TestDb {
    pub name: String,
    pub admin_url: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let tmpl = template().await;
        let db = ScratchDb::create(&admin_url(), "adpilot_test", Some(&tmpl))
            .await
            .expect("create test database");
        TestDb {
            name: db.name,
            admin_url: db.owner_url,
        }
    }

    /// A URL for the unprivileged application role on this database.
    pub fn app_url(&self) -> String {
        url_with_role(
            &self.admin_url,
            adpilot::db::APP_ROLE,
            Some(APP_PASSWORD),
            None,
        )
        .expect("url")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop_database_blocking(&admin_url(), &self.name);
    }
}

#[derive(Parser)]
struct SettingsOnly {
    #[command(flatten)]
    s: Settings,
}

pub fn test_config(db: &TestDb, data_dir: &std::path::Path, extra: &[&str]) -> Config {
    let data = data_dir.to_string_lossy().to_string();
    let app_url = db.app_url();
    let mut args = vec![
        "adpilot",
        "--database-url",
        &db.admin_url,
        "--app-database-url",
        &app_url,
    ];
    if !extra.contains(&"--public-url") {
        args.extend_from_slice(&["--public-url", BASE]);
    }
    args.extend_from_slice(&["--data-dir", &data, "--db-pool-size", "4"]);
    args.extend_from_slice(extra);
    let settings = SettingsOnly::try_parse_from(args).expect("settings").s;
    let mut config = Config::from_settings(&settings).expect("valid config");
    config.secret_key = Some(TEST_SECRET_KEY);
    config
}

/// A configuration from command-line style arguments (after the program name), with the
/// tests' fixed secret key.
pub fn config_from_args(args: &[&str]) -> Config {
    let mut all = vec!["adpilot"];
    all.extend_from_slice(args);
    let settings = SettingsOnly::try_parse_from(all).expect("settings").s;
    let mut config = Config::from_settings(&settings).expect("valid config");
    config.secret_key = Some(TEST_SECRET_KEY);
    config
}

/// The secret key every test app uses (so a second process can read the first one's tokens).
pub const TEST_SECRET_KEY: [u8; 32] = [7u8; 32];

/// A running application on a test database, driven through the real router.
pub struct TestApp {
    pub app: AppState,
    pub db: TestDb,
    pub data_dir: tempdir::TempDir,
}

pub mod tempdir {
    /// A directory removed when dropped.
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new() -> TempDir {
            let p = std::env::temp_dir()
                .join(format!("adpilot-test-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&p).expect("temp dir");
            TempDir(p)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_args(&[]).await
    }

    pub async fn with_args(extra: &[&str]) -> TestApp {
        Self::build(extra, None).await
    }

    /// An app whose three platforms are served by `sandbox`.
    pub async fn with_sandbox(sandbox: &adpilot::sandbox::SandboxHandle) -> TestApp {
        Self::build(&[], Some(sandbox)).await
    }

    pub async fn build(
        extra: &[&str],
        sandbox: Option<&adpilot::sandbox::SandboxHandle>,
    ) -> TestApp {
        Self::build_with(extra, sandbox, |_| {}).await
    }

    /// Like `build`, with a last change to the configuration (a setting no flag reaches).
    pub async fn build_with(
        extra: &[&str],
        sandbox: Option<&adpilot::sandbox::SandboxHandle>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = TestDb::new().await;
        let data_dir = tempdir::TempDir::new();
        let mut config = test_config(&db, data_dir.path(), extra);
        if let Some(sb) = sandbox {
            adpilot::server::use_sandbox(&mut config.platforms, sb);
            config.platforms.retry.base_delay = std::time::Duration::from_millis(20);
            config.platforms.retry.max_delay = std::time::Duration::from_millis(200);
            config.platforms.retry.max_total_wait = std::time::Duration::from_secs(5);
        }
        tweak(&mut config);
        let database = adpilot::server::Database {
            admin_url: db.admin_url.clone(),
            app_url: db.app_url(),
            app_password: APP_PASSWORD.into(),
            embedded: None,
        };
        let app = adpilot::server::build_app(config, &database)
            .await
            .expect("build app");
        TestApp { app, db, data_dir }
    }

    pub fn client(&self) -> Client {
        Client {
            app: self.app.clone(),
            cookies: HashMap::new(),
            csrf: None,
            origin: Some(BASE.to_string()),
        }
    }

    pub fn db(&self) -> &Db {
        &self.app.db
    }

    /// The first link under `prefix` in the newest email of the outbox, as a path.
    pub fn last_email_link(&self, prefix: &str) -> String {
        let mail = self.outbox().pop().expect("an email in the outbox");
        let start = mail
            .find(prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in:\n{mail}"));
        let link: String = mail[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        link.trim_start_matches(BASE).to_string()
    }

    /// Emails written to the outbox so far, as raw messages with quoted-printable undone.
    pub fn outbox(&self) -> Vec<String> {
        let dir = self.data_dir.path().join("outbox");
        // The mailer names each message by a time-ordered id; file times can tie.
        let mut out: Vec<(std::ffi::OsString, String)> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| Some((e.file_name(), std::fs::read_to_string(e.path()).ok()?)))
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.into_iter().map(|(_, s)| decode_qp(&s)).collect()
    }

    /// Invites `email` with `role` from `owner`'s organization and has them join through the
    /// emailed link; returns the new member's logged-in client.
    pub async fn invite_and_join(&self, owner: &mut Client, email: &str, role: &str) -> Client {
        owner.get("/settings").await;
        owner
            .post("/settings/invites", &[("email", email), ("role", role)])
            .await;
        let path = self.last_email_link(&format!("{BASE}/invites/"));
        let mut member = self.client();
        member.get(&path).await;
        member
            .post(
                &path,
                &[("name", "Client"), ("password", "a good long password")],
            )
            .await;
        member
    }

    /// Signs up a new account with its own organization; returns a logged-in client.
    pub async fn sign_up(&self, email: &str, org: &str) -> Client {
        let mut c = self.client();
        c.get("/signup").await.assert_status(StatusCode::OK);
        let r = c
            .post(
                "/signup",
                &[
                    ("name", "Test User"),
                    ("email", email),
                    ("password", "a good long password"),
                    ("org_name", org),
                    ("time_zone", "UTC"),
                ],
            )
            .await;
        // The instance's first sign-up is created at once; later ones by the emailed link.
        if r.status == StatusCode::OK && r.body.contains("Check your inbox") {
            let link = self.last_email_link(&format!("{BASE}/signup/confirm/"));
            c.get(&link).await.assert_status(StatusCode::OK);
            let r = c.post(&link, &[]).await;
            assert_eq!(
                r.status,
                StatusCode::SEE_OTHER,
                "confirming the sign-up failed: {}",
                r.body
            );
        } else {
            assert_eq!(
                r.status,
                StatusCode::SEE_OTHER,
                "sign-up failed: {}",
                r.body
            );
        }
        c.get("/dashboard").await.assert_status(StatusCode::OK);
        c
    }
}

#[derive(Clone)]
pub struct Client {
    pub app: AppState,
    pub cookies: HashMap<String, String>,
    /// The CSRF token of the last page seen.
    pub csrf: Option<String>,
    pub origin: Option<String>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn assert_status(&self, s: StatusCode) -> &Resp {
        assert_eq!(self.status, s, "unexpected status; body:\n{}", self.body);
        self
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

impl Client {
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let ctype = body
            .is_some()
            .then_some("application/x-www-form-urlencoded");
        self.send(method, path, body.map(String::into_bytes), ctype, extra)
            .await
    }

    /// Posts a `multipart/form-data` form (fields, then files as (field, file name, content
    /// type, bytes)) with the CSRF token of the last page seen, as a browser sends a form
    /// with a file input.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> Resp {
        let boundary = "----adpilotTestBoundary7MA4YWxkTrZu0gW";
        let mut body: Vec<u8> = Vec::new();
        let mut part = |headers: String, value: &[u8]| {
            body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        };
        if let Some(t) = self.csrf.clone() {
            part(
                "Content-Disposition: form-data; name=\"csrf_token\"".into(),
                t.as_bytes(),
            );
        }
        for (k, v) in fields {
            part(
                format!("Content-Disposition: form-data; name=\"{k}\""),
                v.as_bytes(),
            );
        }
        for (field, name, ctype, bytes) in files {
            part(
                format!(
                    "Content-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {ctype}"
                ),
                bytes,
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let ctype = format!("multipart/form-data; boundary={boundary}");
        self.send(Method::POST, path, Some(body), Some(&ctype), &[])
            .await
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder().method(method.clone()).uri(path);
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie.is_empty() {
            req = req.header(header::COOKIE, cookie);
        }
        if method != Method::GET {
            if let Some(o) = &self.origin {
                req = req.header(header::ORIGIN, o);
            }
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request");
        let resp = crate::support::router(&self.app)
            .oneshot(req)
            .await
            .expect("response");
        let status = resp.status();
        let headers = resp.headers().clone();
        for sc in headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let first = sc.split(';').next().unwrap_or("");
            if let Some((k, v)) = first.split_once('=') {
                if v.is_empty() || sc.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(t) = extract_csrf(&body) {
            self.csrf = Some(t);
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.request(Method::GET, path, None, &[]).await
    }

    /// Posts a form with the CSRF token of the last page seen.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        if let Some(t) = &self.csrf {
            ser.append_pair("csrf_token", t);
        }
        for (k, v) in fields {
            ser.append_pair(k, v);
        }
        self.request(Method::POST, path, Some(ser.finish()), &[])
            .await
    }

    /// Posts a form exactly as given (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            ser.append_pair(k, v);
        }
        self.request(Method::POST, path, Some(ser.finish()), &[])
            .await
    }
}

pub fn router(app: &AppState) -> axum::Router {
    adpilot::router::router(app.clone())
}

/// Undoes quoted-printable soft line breaks and escapes, enough to read links and numbers.
pub fn decode_qp(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::with_capacity(joined.len());
    let b = joined.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Starts a sandbox for a test (fixed seed, real clock unless the test changes it).
pub async fn sandbox(config: adpilot::sandbox::SandboxConfig) -> adpilot::sandbox::SandboxHandle {
    let _ = rustls::crypto::ring::default_provider().install_default();
    adpilot::sandbox::spawn(config).await.expect("sandbox")
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("{name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// Plays the user at the platform's consent page: reads the form, keeps the hidden fields and
/// the checked accounts, submits `decision`, and returns where the platform redirects back to
/// (as a path on our server).
pub async fn consent(authorize_url: &str, decision: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http");
    let page = http
        .get(authorize_url)
        .send()
        .await
        .expect("consent page")
        .text()
        .await
        .expect("html");
    let form_start = page.find("<form").expect("a form on the consent page");
    let form = &page[form_start..];
    let action = html_unescape(attr(form, "action").expect("action"));
    let mut fields: Vec<(String, String)> = Vec::new();
    for piece in form.split("<input").skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        let kind = attr(tag, "type").unwrap_or("text");
        let (Some(name), Some(value)) = (attr(tag, "name"), attr(tag, "value")) else {
            continue;
        };
        if kind == "hidden" || (kind == "checkbox" && tag.contains("checked")) {
            fields.push((name.to_string(), html_unescape(value)));
        }
    }
    fields.push(("decision".into(), decision.into()));
    let origin = url::Url::parse(authorize_url).expect("url");
    let post_url = origin.join(&action).expect("action url");
    let resp = http
        .post(post_url)
        .form(&fields)
        .send()
        .await
        .expect("consent submit");
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("redirect back")
        .to_string();
    let back = url::Url::parse(&location).expect("callback url");
    match back.query() {
        Some(q) => format!("{}?{}", back.path(), q),
        None => back.path().to_string(),
    }
}

/// The first organization created in a test's database (read as the migrating role).
pub async fn org_of(t: &TestApp) -> uuid::Uuid {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let mut c = connect_one(&t.db.admin_url).await.expect("admin");
    let r: Row = diesel::sql_query("SELECT id FROM organizations ORDER BY created_at, id LIMIT 1")
        .get_result(&mut c)
        .await
        .expect("an organization");
    r.id
}

/// A `count(*) AS n` query run as the migrating role (sees every tenant's rows).
pub async fn count(t: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut c = connect_one(&t.db.admin_url).await.expect("admin");
    let r: N = diesel::sql_query(sql)
        .get_result(&mut c)
        .await
        .expect("count");
    r.n
}

/// Polls `check` until it holds. The bound is generous (a loaded 2-core machine is slow): it
/// fails only when the thing never happens, and how long it took is never asserted.
pub async fn eventually<F, Fut>(what: &str, bound: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {bound:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Workers running the application's real job registry, polling often.
pub fn job_workers(t: &TestApp) -> adpilot::jobs::worker::RunnerHandle {
    adpilot::jobs::worker::Runner::new(
        t.app.clone(),
        adpilot::jobs::catalog::registry(),
        adpilot::jobs::worker::WorkerOptions {
            workers: 1,
            poll_interval: std::time::Duration::from_millis(25),
            lease: std::time::Duration::from_secs(10),
            backoff_base: std::time::Duration::from_millis(50),
            backoff_max: std::time::Duration::from_millis(200),
            ..adpilot::jobs::worker::WorkerOptions::default()
        },
    )
    .start()
}

/// Whether a table (or partition) of this name exists, asked as the migrating role.
pub async fn table_exists(t: &TestApp, name: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut c = connect_one(&t.db.admin_url).await.expect("admin");
    let r: N = diesel::sql_query("SELECT count(*) AS n FROM pg_class WHERE relname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result(&mut c)
        .await
        .expect("pg_class");
    r.n == 1
}

/// Runs one SQL statement as the migrating role.
pub async fn admin_exec(t: &TestApp, sql: &str) -> usize {
    let mut c = connect_one(&t.db.admin_url).await.expect("admin");
    diesel::sql_query(sql)
        .execute(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Whether this run must have every tool a test uses (PostgreSQL's server programs,
/// pg_dump/pg_restore, Chromium and ChromeDriver): in CI (`CI` set, as CI services do) or when
/// `ADPILOT_REQUIRE_BROWSER=1`.
pub fn tools_required() -> bool {
    let set = |v: &str| std::env::var(v).is_ok_and(|x| !x.is_empty() && x != "0" && x != "false");
    set("CI") || std::env::var("ADPILOT_REQUIRE_BROWSER").as_deref() == Ok("1")
}

/// A tool the test needs is missing. Where tools are required that fails the test; elsewhere
/// (a developer's machine) the test says what it skipped and the caller returns.
pub fn skip_for_missing_tool(why: &str) {
    assert!(
        !tools_required(),
        "{why}, and this run requires it (CI or ADPILOT_REQUIRE_BROWSER=1)"
    );
    eprintln!("SKIPPED: {why}");
}

/// Every campaign, ad group and ad of the sandbox as its settings stand, to compare before and
/// after requests that must change nothing on the platform. A lifetime campaign's remaining
/// budget is left out: it falls as the day's spend accrues, whatever adpilot does.
pub fn sandbox_settings(sb: &adpilot::sandbox::SandboxHandle) -> String {
    let all = adpilot::sandbox::TruthQuery::default();
    let campaigns: Vec<_> = sb
        .campaigns(&all)
        .into_iter()
        .map(|mut c| {
            c.budget_remaining_micros = None;
            c
        })
        .collect();
    format!("{campaigns:?} {:?} {:?}", sb.ad_groups(&all), sb.ads(&all))
}

/// A webhook receiver on the loopback: answers "ok" to `POST /hook` and keeps every call.
pub struct HookReceiver(wiremock::MockServer);

impl HookReceiver {
    pub async fn start() -> HookReceiver {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path("/hook"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("ok"))
            .mount(&server)
            .await;
        HookReceiver(server)
    }

    /// The receiver's `host:port`.
    pub fn address(&self) -> std::net::SocketAddr {
        *self.0.address()
    }

    /// Each call to `/hook` as (its `x-adpilot-signature` header, its body), oldest first.
    pub async fn signed_calls(&self) -> Vec<(String, String)> {
        calls_with_header(&self.0, "/hook", "x-adpilot-signature").await
    }
}

/// Each call `server` received at `path`, as (its `header`, "" when absent; its body), oldest
/// first.
pub async fn calls_with_header(
    server: &wiremock::MockServer,
    path: &str,
    header: &str,
) -> Vec<(String, String)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == path)
        .map(|r| {
            let value = r
                .headers
                .get(header)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            (value, String::from_utf8_lossy(&r.body).into_owned())
        })
        .collect()
}
