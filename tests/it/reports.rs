//! Scheduled reports received by a real SMTP server started by the test: both MIME parts with
//! the same numbers, the unsubscribe link and headers, and one-click unsubscribing.

use std::sync::{Arc, Mutex};

use adpilot::jobs::Job;
use adpilot::sandbox::SandboxConfig;
use axum::http::StatusCode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::connections::connect;
use crate::support::*;

/// A minimal SMTP server that accepts everything and keeps each message's DATA.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    smtp_sink_answering(Vec::new()).await
}

/// Like [`smtp_sink`], but answers the end of the first messages' DATA with `answers` in turn
/// (e.g. "451 try later", "550 no such user", or "accept" to take that one); later messages are
/// accepted.
async fn smtp_sink_answering(answers: Vec<&'static str>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let (port, got, _) = smtp_sink_scripted(answers).await;
    (port, got)
}

type Answers = Arc<Mutex<std::collections::VecDeque<&'static str>>>;

/// Like [`smtp_sink_answering`], with the queue of answers kept for the test to add to.
async fn smtp_sink_scripted(answers: Vec<&'static str>) -> (u16, Arc<Mutex<Vec<String>>>, Answers) {
    let answers: Answers = Arc::new(Mutex::new(answers.into_iter().collect()));
    let script = answers.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sink = sink.clone();
            let answers = answers.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buf) = data.as_mut() {
                        if line == "." {
                            let answer = answers.lock().ok().and_then(|mut a| a.pop_front());
                            let message = std::mem::take(buf);
                            data = None;
                            match answer.filter(|a| *a != "accept") {
                                Some(code) => {
                                    let _ = w.write_all(format!("{code}\r\n").as_bytes()).await;
                                }
                                None => {
                                    if let Ok(mut v) = sink.lock() {
                                        v.push(message);
                                    }
                                    let _ = w.write_all(b"250 queued\r\n").await;
                                }
                            }
                        } else {
                            buf.push_str(line.strip_prefix('.').unwrap_or(&line));
                            buf.push('\n');
                        }
                        continue;
                    }
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if cmd.starts_with("DATA") {
                        data = Some(String::new());
                        b"354 go ahead\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    (port, got, script)
}

#[tokio::test]
async fn a_report_arrives_over_smtp_with_both_parts_and_a_working_unsubscribe() {
    let (port, mails) = smtp_sink().await;
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    })
    .await;
    let smtp = format!("smtp://127.0.0.1:{port}");
    let t = TestApp::build(&["--smtp-url", &smtp], Some(&sb)).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    connect(&mut c, "meta").await;
    let org = org_of(&t).await;
    for a in adpilot::analytics::sync::accounts_to_sync(&t.app, org)
        .await
        .expect("accounts")
    {
        adpilot::analytics::sync::sync_account(&t.app, org, a, sb.clock().now())
            .await
            .expect("sync");
    }
    // A change made from a campaign page is among the report's actions, in plain words.
    #[derive(diesel::QueryableByName)]
    struct Camp {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let camp: Camp = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT id, name FROM campaigns WHERE status = 'active' \
             AND daily_budget_micros IS NOT NULL ORDER BY name LIMIT 1",
        ),
        &mut admin,
    )
    .await
    .expect("an active campaign");
    c.get(&format!("/campaigns/{}", camp.id)).await;
    let r = c
        .post(
            &format!("/campaigns/{}/budget", camp.id),
            &[("budget", "77.50")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Reports cover whole days up to yesterday: the change is made a day old.
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE platform_actions SET created_at = created_at - interval '1 day'"),
        &mut admin,
    )
    .await
    .expect("backdate");
    c.get("/reports").await;
    let bad = c
        .post(
            "/reports",
            &[
                ("name", "Weekly"),
                ("frequency", "weekly"),
                ("weekday", "1"),
                ("send_time", "25:99"),
                ("period", "last_7_days"),
                ("platform", "all"),
                ("recipients", "ann@example.com"),
            ],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Enter a time as HH:MM"));
    let bad = c
        .post(
            "/reports",
            &[
                ("name", "Weekly"),
                ("frequency", "daily"),
                ("weekday", ""),
                ("send_time", "09:00"),
                ("period", "last_7_days"),
                ("platform", "all"),
                ("recipients", "ann@example.com, nope"),
            ],
        )
        .await;
    assert!(bad.body.contains("nope") && bad.body.contains("is not an email address"));
    let ok = c
        .post(
            "/reports",
            &[
                ("name", "Weekly"),
                ("frequency", "weekly"),
                ("weekday", "1"),
                ("send_time", "09:00"),
                ("period", "last_7_days"),
                ("platform", "all"),
                ("recipients", "ann@example.com, client@agency-client.test"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let page = c.get("/reports").await;
    let id = page
        .body
        .split("/reports/")
        .find_map(|s| s.strip_suffix_owned_preview())
        .expect("schedule id");
    let preview = c.get(&format!("/reports/{id}/preview?raw=1")).await;
    preview.assert_status(StatusCode::OK);
    assert!(
        preview.body.contains("Rule and manual actions")
            && preview
                .body
                .contains(&format!("{}: set budget (", camp.name)),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("Totals in USD")
            || preview.body.contains("Totals in EUR")
            || preview.body.contains("Totals in JPY")
    );
    c.get("/reports").await;
    let r = c.post(&format!("/reports/{id}/send"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let got = mails.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(got.len(), 2, "one email per recipient");
    let raw = got
        .iter()
        .find(|m| m.contains("To: client@agency-client.test"))
        .expect("the client's copy")
        .clone();
    let mail = decode_qp(&raw);
    assert!(
        mail.contains("Content-Type: text/plain") && mail.contains("Content-Type: text/html"),
        "both MIME parts"
    );
    assert!(
        raw.contains("List-Unsubscribe: <")
            && raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    );
    // The same spend figure in the text and the HTML part.
    let text_part = &mail[mail.find("Content-Type: text/plain").expect("text")
        ..mail.find("Content-Type: text/html").expect("html")];
    let spend_line = text_part
        .lines()
        .find(|l| l.trim_start().starts_with("Spend"))
        .expect("spend line")
        .to_string();
    let figure = spend_line
        .split_whitespace()
        .nth(1)
        .expect("spend figure")
        .to_string();
    let html_part = &mail[mail.find("Content-Type: text/html").expect("html")..];
    assert!(html_part.contains(&figure), "{figure} in the HTML too");
    render_in_chromium(html_part, "report-email").await;
    let start = text_part
        .find(&format!("{BASE}/reports/unsubscribe?"))
        .expect("unsubscribe link");
    let link: String = text_part[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '>')
        .collect();
    let path = link.trim_start_matches(BASE).replace("&amp;", "&");
    assert!(path.chars().all(|c| c.is_ascii_graphic()), "{path:?}");
    // One click: a mail client posts without any session or token.
    let mut mail_client = t.client();
    mail_client.origin = None;
    let r = mail_client
        .request(axum::http::Method::POST, &path, Some(String::new()), &[])
        .await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("will not receive this report any more"));
    // A tampered link does nothing.
    let mut other = t.client();
    other
        .get(&path.replace("client%40agency-client.test", "ann%40example.com"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    c.get("/reports").await;
    c.post(&format!("/reports/{id}/send"), &[]).await;
    let got = mails.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(got.len(), 3, "only ann@ gets the second send");
    let page = c.get("/reports").await;
    assert!(page.body.contains("unsubscribed") && page.body.contains("sent"));

    // A report scoped to one ad account shows only that account's currency.
    let usd_account = page
        .body
        .split("name=\"account\" value=\"")
        .skip(1)
        .find(|s| s.contains("USD)"))
        .map(|s| s[..36].to_string())
        .expect("the USD account is offered");
    let r = c
        .post(
            "/reports",
            &[
                ("name", "US only"),
                ("frequency", "daily"),
                ("weekday", ""),
                ("send_time", "08:00"),
                ("period", "last_7_days"),
                ("platform", "all"),
                ("account", &usd_account),
                ("recipients", "ann@example.com"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get("/reports").await;
    assert!(page.body.contains("1 account(s)"));
    let scoped = page
        .body
        .split("/reports/")
        .find_map(|s| s.strip_suffix_owned_preview())
        .expect("the scoped schedule (first by name)");
    let preview = c.get(&format!("/reports/{scoped}/preview?raw=1")).await;
    assert!(
        preview.body.contains("Totals in USD")
            && !preview.body.contains("Totals in EUR")
            && !preview.body.contains("Totals in JPY"),
        "{}",
        preview.body
    );
}

trait PreviewId {
    fn strip_suffix_owned_preview(&self) -> Option<String>;
}

impl PreviewId for str {
    fn strip_suffix_owned_preview(&self) -> Option<String> {
        let (id, rest) = self.split_at(self.len().min(36));
        (rest.starts_with("/preview") && uuid::Uuid::parse_str(id).is_ok()).then(|| id.to_string())
    }
}

/// The send job run by the real workers: a temporary refusal for one of two recipients fails
/// the attempt, the jobs system retries it, and the retry mails only the one not yet served.
/// A permanent refusal is recorded, shown, and not retried.
#[tokio::test]
async fn a_temporary_smtp_failure_is_retried_and_a_permanent_one_is_shown() {
    let (port, mails, answers) =
        smtp_sink_scripted(vec!["accept", "451 4.3.0 try again later"]).await;
    let smtp = format!("smtp://127.0.0.1:{port}");
    let t = TestApp::build(&["--smtp-url", &smtp], None).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    c.get("/reports").await;
    let r = c
        .post(
            "/reports",
            &[
                ("name", "Daily"),
                ("frequency", "daily"),
                ("weekday", ""),
                ("send_time", "07:30"),
                ("period", "yesterday"),
                ("platform", "all"),
                ("recipients", "ann@example.com, bob@example.com"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let org = org_of(&t).await;
    let id: uuid::Uuid = {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        use diesel_async::RunQueryDsl;
        let mut admin = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        let r: Row = diesel::sql_query("SELECT id FROM report_schedules")
            .get_result(&mut admin)
            .await
            .expect("schedule");
        r.id
    };
    let send_slot = |slot: chrono::DateTime<chrono::Utc>| {
        let job = adpilot::reports::send::SendSlot {
            schedule_id: id,
            slot,
        };
        assert_eq!(job.dedupe_key(), Some(format!("{id}:{}", slot.timestamp())));
        t.app.db.tenant(org, async move |c| {
            Ok::<_, adpilot::db::DbError>(adpilot::jobs::enqueue(c, Some(org), &job).await?)
        })
    };
    let settled = |attempts: i64| {
        let t = &t;
        async move {
            eventually(
                "the send job succeeded",
                std::time::Duration::from_secs(60),
                || async {
                    count(
                        t,
                        &format!(
                            "SELECT count(*) AS n FROM jobs WHERE kind = 'reports.send' \
                         AND state = 'succeeded' AND attempts = {attempts}"
                        ),
                    )
                    .await
                        == 1
                },
            )
            .await;
        }
    };
    let workers = job_workers(&t);
    let slot = chrono::Utc::now();
    send_slot(slot).await.expect("enqueue");
    // Ann's message is taken, Bob's refused for now; the second attempt mails Bob only.
    settled(2).await;
    let got = mails.lock().map(|v| v.clone()).unwrap_or_default();
    let to = |who: &str| {
        got.iter()
            .filter(|m| m.contains(&format!("To: {who}")))
            .count()
    };
    assert_eq!(
        (to("ann@example.com"), to("bob@example.com"), got.len()),
        (1, 1, 2),
        "each recipient mailed once"
    );
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM report_sends WHERE status = 'sent'"
        )
        .await,
        2
    );
    // Next slot: Ann's address is refused for good. The job ends (not retried), Bob still gets
    // his, and the failure is on the page.
    admin_exec(&t, "DELETE FROM jobs").await;
    if let Ok(mut a) = answers.lock() {
        a.push_back("550 5.1.1 no such user");
    }
    let next = slot + chrono::Duration::days(1);
    send_slot(next).await.expect("enqueue");
    settled(1).await;
    workers.shutdown().await;
    let page = c.get("/reports").await;
    assert!(
        page.body.contains("failed") && page.body.contains("no such user"),
        "{}",
        page.body
    );
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM report_sends WHERE status = 'failed' AND recipient = 'ann@example.com'"
        )
        .await,
        1
    );
    // The slot is done for both: sending it again mails nobody.
    let before = mails.lock().map(|v| v.len()).unwrap_or(0);
    assert_eq!(before, 3);
    let again = adpilot::reports::send::send(&t.app, org, id, next)
        .await
        .expect("send");
    assert_eq!(again.sent, 0, "{again:?}");
    assert_eq!(mails.lock().map(|v| v.len()).unwrap_or(0), before);
}

/// Renders the email's HTML in headless Chromium to target/screenshots/NAME.png, as a mail
/// client would show it. CI installs Chromium; without it the rendering is reported skipped.
async fn render_in_chromium(html_part: &str, name: &str) {
    let start = html_part
        .find("<!doctype html>")
        .or_else(|| html_part.find("<!DOCTYPE html>"))
        .expect("an HTML document");
    let end = html_part
        .find("</html>")
        .map(|e| e + "</html>".len())
        .expect("the end of the document");
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let html = dir.join(format!("{name}.html"));
    std::fs::write(&html, &html_part[start..end]).expect("write html");
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new("which")
                .arg(c)
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        skip_for_missing_tool(&format!(
            "no Chromium on this machine, {name}.png not rendered"
        ));
        return;
    };
    let png = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    let profile = tempdir::TempDir::new();
    let out = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=800,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .await
        .expect("run chromium");
    let bytes = std::fs::read(&png).unwrap_or_default();
    assert!(
        bytes.len() > 10_000 && bytes.starts_with(b"\x89PNG"),
        "Chromium rendered the report email ({} bytes): {}",
        bytes.len(),
        String::from_utf8_lossy(&out.stderr)
    );
}
