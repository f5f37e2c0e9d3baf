//! Scheduled reports received by a real SMTP server started by the test: both MIME parts with
//! the same numbers, the unsubscribe link and headers, and one-click unsubscribing.

use std::sync::{Arc, Mutex};

use adpilot::sandbox::SandboxConfig;
use axum::http::StatusCode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::connections::connect;
use crate::support::*;

/// A minimal SMTP server that accepts everything and keeps each message's DATA.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buf) = data.as_mut() {
                        if line == "." {
                            if let Ok(mut v) = sink.lock() {
                                v.push(std::mem::take(buf));
                            }
                            data = None;
                            let _ = w.write_all(b"250 queued\r\n").await;
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
    (port, got)
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
