//! The first hour's helpers (issue 27, items 5 and 6, and field errors for control
//! characters): the rule helper beside the editor, the offline copywriter in the brief's
//! language, and ad copy drafts kept from the Ad copy page. HTTP through the real router, and
//! the same pages driven in Chromium at desktop and phone width (screenshots under
//! `target/screenshots/ux-*.png`).

use std::time::Duration;

use adpilot::automation::language::ast::Metric;
use adpilot::sandbox::SandboxConfig;
use axum::http::StatusCode;

use crate::support::*;
use crate::webdriver::Browser;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn the_rule_helper_lists_the_languages_words_and_inserts_them_without_javascript() {
    let t = TestApp::new().await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    let page = c.get("/rules/new").await;
    page.assert_status(StatusCode::OK);
    // A new rule starts from the template, which checks: no error on an empty editor.
    assert!(page.body.contains("My new rule"), "{}", page.body);
    assert!(page.body.contains("The rule checks"), "{}", page.body);
    assert!(!page.body.contains("diag-error"), "{}", page.body);
    // Every metric of the language is offered, and each kind of action, level and window.
    for m in Metric::ALL {
        assert!(
            page.body.contains(&format!(">{}</button>", m.as_str())),
            "the helper lists {m}"
        );
    }
    for word in [
        "for ad sets",
        "for ads",
        "in last 7 days",
        "in previous 7 days",
        "lifetime",
        "increase bid by 10% up to 3",
        "notify webhook",
        "check daily at 09:00",
        "day of week is weekend",
        "purchases",
        "cost_per_lead",
    ] {
        assert!(page.body.contains(word), "the helper lists {word}");
    }

    // Without JavaScript a word goes at the end of the text; nothing is saved.
    let text = "rule \"Guard\"\n  when";
    let r = c
        .post(
            "/rules/insert",
            &[
                ("text", text),
                ("rule_id", ""),
                ("mode", "draft"),
                ("insert", "spend in last 7 days"),
            ],
        )
        .await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body
            .contains("Guard&#34;\n  when spend in last 7 days\n</textarea>"),
        "{}",
        r.body
    );
    // A line goes on a line of its own.
    let r = c
        .post(
            "/rules/insert",
            &[
                ("text", "rule \"Guard\"\n  when spend > 10\n  then pause"),
                ("rule_id", ""),
                ("insert", "  check every 15 minutes\n"),
            ],
        )
        .await;
    assert!(
        r.body.contains("then pause\n  check every 15 minutes\n"),
        "{}",
        r.body
    );
    assert!(r.body.contains("The rule checks"), "{}", r.body);
    // An example replaces the text; the template is one of them.
    let r = c
        .post(
            "/rules/insert",
            &[("text", "anything"), ("rule_id", ""), ("example", "1")],
        )
        .await;
    assert!(r.body.contains("Scale winners"), "{}", r.body);
    let r = c.get("/rules/example/template").await;
    assert!(r.body.contains("My new rule"), "{}", r.body);
    // Only the helper's own snippets.
    let r = c
        .post(
            "/rules/insert",
            &[
                ("text", ""),
                ("rule_id", ""),
                ("insert", "DROP TABLE rules"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(count(&t, "SELECT count(*) AS n FROM rules").await, 0);
}

fn german_brief(variations: &str) -> Vec<(&'static str, String)> {
    vec![
        ("product", "Laufschuhe für Trails".into()),
        (
            "description",
            "Leichte Laufschuhe mit griffiger Sohle für nasse Wege".into(),
        ),
        ("audience", "Läufer in den Bergen".into()),
        ("tone", "friendly".into()),
        (
            "benefits",
            "Griffige Sohle, kostenloser Rückversand, 300 g leicht".into(),
        ),
        ("keyword", "laufschuhe trail".into()),
        ("avoid", String::new()),
        ("variations", variations.into()),
        ("google", "on".into()),
        ("meta", "on".into()),
        ("tiktok", "on".into()),
    ]
}

/// The text of every drafted line on a copy page.
fn drafted_lines(body: &str) -> Vec<String> {
    body.split("<span id=\"copy-")
        .skip(1)
        .filter_map(|s| s.split_once('>').map(|(_, rest)| rest))
        .filter_map(|s| s.split_once("</span>").map(|(t, _)| t.to_string()))
        .collect()
}

#[tokio::test]
async fn offline_copy_speaks_the_briefs_language_and_drafts_are_kept_per_organization() {
    let t = TestApp::new().await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    c.get("/ai/copy").await.assert_status(StatusCode::OK);
    let fields = german_brief("3");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c.post("/ai/copy", &pairs).await;
    r.assert_status(StatusCode::OK);
    let lines = drafted_lines(&r.body);
    assert!(lines.len() >= 3 * (3 + 2) + 3 * 3 + 3, "{lines:?}");
    for l in &lines {
        for english in ["Shop", "Order", "Learn More", "Try It", " and ", "Best "] {
            assert!(!l.contains(english), "English \"{english}\" in \"{l}\"");
        }
    }
    assert!(
        lines.iter().any(|l| l.contains("Griffige Sohle")),
        "the brief's own benefits: {lines:?}"
    );
    assert!(
        !r.body.contains("flagged</span>"),
        "every variation is within its limits"
    );

    // Keep them: the page sends back the brief and the lines it shows.
    let field = |name: &str| -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = r.body.find(&marker).expect(name) + marker.len();
        let raw = &r.body[at..];
        let end = raw.find('"').expect("end of value");
        raw[..end]
            .replace("&quot;", "\"")
            .replace("&#34;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let (brief, drafts) = (field("brief"), field("drafts"));
    let keep = c
        .post(
            "/ai/copy/drafts",
            &[
                ("name", "Trail shoes DE"),
                ("brief", &brief),
                ("drafts", &drafts),
            ],
        )
        .await;
    assert_eq!(keep.status, StatusCode::SEE_OTHER, "{}", keep.body);
    let at = keep.location().expect("to the kept drafts").to_string();
    let page = c.get(&at).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Kept drafts: Trail shoes DE"));
    assert_eq!(drafted_lines(&page.body), lines, "the same lines come back");
    assert!(
        page.body.contains("value=\"Laufschuhe für Trails\""),
        "the brief is back"
    );
    let list = c.get("/ai/copy").await;
    assert!(list.body.contains(&format!("href=\"{at}\"")));

    // Damaged or foreign input is refused and keeps nothing.
    let r = c
        .post(
            "/ai/copy/drafts",
            &[
                ("name", "x"),
                ("brief", &brief),
                ("drafts", "[{\"platform\":\"meta\"}]"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(count(&t, "SELECT count(*) AS n FROM copy_drafts").await, 1);

    // Another organization sees nothing of them.
    let mut other = t.sign_up("bob@example.com", "Other").await;
    other.get(&at).await.assert_status(StatusCode::NOT_FOUND);
    assert!(!other.get("/ai/copy").await.body.contains("Trail shoes DE"));
    let id = at.rsplit('/').next().expect("id");
    other.get("/ai/copy").await;
    let r = other
        .post(&format!("/ai/copy/drafts/{id}/delete"), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(count(&t, "SELECT count(*) AS n FROM copy_drafts").await, 1);

    // Deleted by its organization.
    c.get(&at).await;
    let r = c.post(&format!("/ai/copy/drafts/{id}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(count(&t, "SELECT count(*) AS n FROM copy_drafts").await, 0);
    c.get(&at).await.assert_status(StatusCode::NOT_FOUND);
}

/// A server on a real port (no job workers: these pages need none).
struct Live {
    t: TestApp,
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Live {
    async fn start() -> Live {
        let sb = sandbox(SandboxConfig::default()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let t = TestApp::build(&["--public-url", &url], Some(&sb)).await;
        let app = t.app.clone();
        let task = tokio::spawn(async move {
            let _ = adpilot::server::serve(app, listener).await;
        });
        Live { t, url, task }
    }

    fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }
}

/// What sticks out of a phone-wide page, to name it when a test fails.
async fn overflowing(b: &Browser) -> String {
    b.set_width(390).await;
    let v = b
        .script(
            "const w = window.innerWidth, out = [];
             for (const e of document.querySelectorAll('body *')) {
               const r = e.getBoundingClientRect();
               if (r.right > w + 1 && !e.closest('.table-wrap')) out.push(e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(r.right));
             }
             return out.slice(0, 12).join('; ');",
            vec![],
        )
        .await;
    b.set_width(1280).await;
    v.as_str().unwrap_or_default().to_string()
}

async fn sign_up(b: &Browser, s: &Live) {
    b.goto(&s.at("/signup")).await;
    b.fill("input[name=name]", "Ann Marketer").await;
    b.fill("input[name=email]", "ann@example.com").await;
    b.fill("input[name=password]", PASSWORD).await;
    b.fill("input[name=org_name]", "Acme Marketing").await;
    b.click("form button[type=submit]").await;
    b.wait_for_text("Log out", Duration::from_secs(10), None)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rule_helper_inserts_at_the_cursor_and_a_nul_comes_back_as_a_field_error() {
    let Some(b) = Browser::start("ux-rule-helper").await else {
        return;
    };
    let s = Live::start().await;
    sign_up(&b, &s).await;

    b.goto(&s.at("/rules/new")).await;
    b.wait_for_text("The rule checks", Duration::from_secs(10), None)
        .await;
    b.find("#rule-helper").await;
    let wide = b.shots_both("ux-rule-new").await;
    assert!(
        !wide,
        "the new-rule page fits a phone: {}",
        overflowing(&b).await
    );
    b.set_width(1280).await;
    // The helper sits beside the editor on a wide screen.
    let beside = b
        .script(
            "const e = document.querySelector('#rule-text').getBoundingClientRect();
             const h = document.querySelector('#rule-helper').getBoundingClientRect();
             return h.left >= e.right;",
            vec![],
        )
        .await;
    assert_eq!(
        beside.as_bool(),
        Some(true),
        "the helper is beside the editor"
    );

    // A word goes in at the cursor, and the live check runs on the new text.
    b.fill(
        "#rule-text",
        "rule \"Guard\"\n  when  > 100\n  then pause\n",
    )
    .await;
    b.script(
        "const t = document.querySelector('#rule-text');
         const at = t.value.indexOf('when ') + 5; t.focus(); t.setSelectionRange(at, at);",
        vec![],
    )
    .await;
    b.click("#helper-delivery button[value='spend in last 7 days']")
        .await;
    let text = b
        .script("return document.querySelector('#rule-text').value", vec![])
        .await;
    assert_eq!(
        text.as_str(),
        Some("rule \"Guard\"\n  when spend in last 7 days > 100\n  then pause\n"),
        "inserted at the cursor"
    );
    // The live check reads the new text (its highlighted copy shows it).
    b.wait_for_text(
        "when spend in last 7 days > 100",
        Duration::from_secs(10),
        None,
    )
    .await;
    assert!(b.text("#check-result").await.contains("The rule checks"));
    // A line goes after the cursor's line.
    b.script(
        "document.querySelector('#helper-lines').open = true;
         const t = document.querySelector('#rule-text');
         const at = t.value.indexOf('then'); t.focus(); t.setSelectionRange(at, at + 2);",
        vec![],
    )
    .await;
    b.click("#helper-lines button[value^='  at most once per 24 hours']")
        .await;
    let text = b
        .script("return document.querySelector('#rule-text').value", vec![])
        .await;
    assert_eq!(
        text.as_str(),
        Some(
            "rule \"Guard\"\n  when spend in last 7 days > 100\n  then pause\n  at most once per 24 hours\n"
        )
    );
    b.wait_for_text(
        "then pause\n  at most once per 24 hours",
        Duration::from_secs(10),
        None,
    )
    .await;
    b.shots_both("ux-rule-helper-inserted").await;
    b.set_width(390).await;
    assert!(
        !b.page_overflows().await,
        "the editor and helper fit a phone"
    );
    b.set_width(1280).await;

    // A NUL pasted into the rule: the form comes back with the error at its place and the
    // text without it; nothing is saved.
    b.script(
        "document.querySelector('#rule-text').value = 'rule \"Nul\\u0000Guard\"\\n  when spend > 1\\n  then pause\\n';",
        vec![],
    )
    .await;
    b.click_text("Save rule").await;
    b.wait_for_text("control character", Duration::from_secs(10), None)
        .await;
    let kept = b
        .script("return document.querySelector('#rule-text').value", vec![])
        .await;
    assert_eq!(
        kept.as_str(),
        Some("rule \"NulGuard\"\n  when spend > 1\n  then pause\n")
    );
    assert_eq!(count(&s.t, "SELECT count(*) AS n FROM rules").await, 0);
    b.shots_both("ux-rule-nul").await;

    // The same on the organization form.
    b.goto(&s.at("/settings")).await;
    b.script(
        "document.querySelector('input[name=name]').value = 'Acme\\u0000 Marketing';",
        vec![],
    )
    .await;
    b.click("form[action='/settings/org'] button[type=submit]")
        .await;
    b.wait_for_text("control characters", Duration::from_secs(10), None)
        .await;
    let kept = b
        .script(
            "return document.querySelector('input[name=name]').value",
            vec![],
        )
        .await;
    assert_eq!(kept.as_str(), Some("Acme Marketing"));
    b.shots_both("ux-settings-nul").await;

    b.quit().await;
    s.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_copy_drafts_are_kept_and_reopened_in_the_browser() {
    let Some(b) = Browser::start("ux-copy").await else {
        return;
    };
    let s = Live::start().await;
    sign_up(&b, &s).await;

    b.goto(&s.at("/ai/copy")).await;
    b.fill("input[name=product]", "Chaussures de trail").await;
    b.fill(
        "textarea[name=benefits]",
        "Semelle adhérente, retours gratuits, légères",
    )
    .await;
    b.fill("input[name=audience]", "les coureurs des montagnes")
        .await;
    b.fill("input[name=keyword]", "chaussures trail").await;
    b.click_text("Draft copy").await;
    b.find("#copy-google .variation, #copy-google h3").await;
    b.find("#keep-drafts").await;
    let drafted = b.text("#copy-results").await;
    assert!(
        drafted.contains("Découvrez")
            || drafted.contains("Commandez")
            || drafted.contains("Semelle"),
        "French drafts:\n{drafted}"
    );
    let wide = b.shots_both("ux-copy-drafted").await;
    assert!(
        !wide,
        "the copy page fits a phone: {}",
        overflowing(&b).await
    );
    b.set_width(1280).await;
    b.click("#keep-drafts button[type=submit]").await;
    b.wait_for_text(
        "Kept drafts: Chaussures de trail",
        Duration::from_secs(10),
        None,
    )
    .await;
    let reopened = b.text("#copy-results").await;
    assert!(reopened.contains("Semelle"), "{reopened}");
    let wide = b.shots_both("ux-copy-kept").await;
    assert!(
        !wide,
        "the kept drafts fit a phone: {}",
        overflowing(&b).await
    );
    b.set_width(1280).await;

    b.goto(&s.at("/ai/copy")).await;
    b.click("#kept-drafts a").await;
    b.wait_for_text(
        "Kept drafts: Chaussures de trail",
        Duration::from_secs(10),
        None,
    )
    .await;
    b.click("#opened-drafts button[type=submit]").await;
    b.wait_for_text("Deleted the kept drafts", Duration::from_secs(10), None)
        .await;
    assert_eq!(
        count(&s.t, "SELECT count(*) AS n FROM copy_drafts").await,
        0
    );
    b.shots_both("ux-copy-deleted").await;

    b.quit().await;
    s.task.abort();
}

/// Where the helper and the editor sit: [helper's position, helper top, helper left, editor
/// top, editor bottom, editor right, toggle shown, toggle top, window height].
async fn helper_geometry(b: &Browser) -> Vec<serde_json::Value> {
    b.script(
        "const h = document.querySelector('#rule-helper'), e = document.querySelector('#rule-text');
         const t = document.querySelector('.helper-toggle');
         const hr = h.getBoundingClientRect(), er = e.getBoundingClientRect(), tr = t.getBoundingClientRect();
         return [getComputedStyle(h).position, hr.top, hr.left, er.top, er.bottom, er.right,
                 getComputedStyle(t).display !== 'none', tr.top, window.innerHeight];",
        vec![],
    )
    .await
    .as_array()
    .cloned()
    .unwrap_or_default()
}

/// Issue 27, item 5 on a phone: the rule helper is one press away beside the editor's label
/// and opens as a panel over the lower part of the screen with the editor in view above it
/// (a link to `#rule-helper`: no JavaScript needed); a word pressed there goes into the
/// editor; Close puts it back. On a wide screen nothing changes: no toggle, the helper beside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_rule_helper_opens_as_a_panel_beside_the_editor() {
    let Some(b) = Browser::start("ux-helper-phone").await else {
        return;
    };
    let s = Live::start().await;
    sign_up(&b, &s).await;
    b.set_window(390, 844).await;
    b.goto(&s.at("/rules/new")).await;
    b.wait_for_text("The rule checks", Duration::from_secs(10), None)
        .await;
    b.script(
        "document.querySelector('#rule-text').value = 'rule \"Guard\"\\n  when  > 100\\n  then pause\\n';
         const t = document.querySelector('#rule-text'); const at = t.value.indexOf('when ') + 5;
         t.focus(); t.setSelectionRange(at, at);
         window.scrollTo(0, document.querySelector('#rule-form').getBoundingClientRect().top + window.scrollY - 8);",
        vec![],
    )
    .await;
    let g = helper_geometry(&b).await;
    assert_eq!(
        g[6].as_bool(),
        Some(true),
        "the toggle shows on a phone: {g:?}"
    );
    let (toggle_top, editor_top) = (g[7].as_f64().unwrap_or(-1.0), g[3].as_f64().unwrap_or(0.0));
    assert!(
        toggle_top >= 0.0 && toggle_top < editor_top,
        "the toggle sits above the editor, in view: {g:?}"
    );
    b.shot("closed-390").await;

    b.click(".helper-toggle").await;
    let g = helper_geometry(&b).await;
    let num = |i: usize| g[i].as_f64().unwrap_or(-1.0);
    assert_eq!(
        g[0].as_str(),
        Some("fixed"),
        "the helper opens as a panel: {g:?}"
    );
    let height = num(8);
    assert!(
        num(1) > height * 0.3 && num(1) < height * 0.7,
        "the panel covers the lower part of the screen: {g:?}"
    );
    assert!(
        num(3) >= 0.0 && num(3) < num(1),
        "the editor's top stays in view above the panel: {g:?}"
    );
    assert!(!b.page_overflows().await, "the open panel fits the phone");
    b.shot("open-390").await;

    // A word pressed in the panel goes in at the editor's cursor.
    b.click("#helper-delivery button[value='spend in last 7 days']")
        .await;
    let text = b
        .script("return document.querySelector('#rule-text').value", vec![])
        .await;
    assert_eq!(
        text.as_str(),
        Some("rule \"Guard\"\n  when spend in last 7 days > 100\n  then pause\n"),
        "inserted from the panel"
    );
    b.shot("inserted-390").await;
    b.click(".helper-close").await;
    let g = helper_geometry(&b).await;
    assert_ne!(
        g[0].as_str(),
        Some("fixed"),
        "Close puts the panel away: {g:?}"
    );

    // Desktop as it was: no toggle, the helper beside the editor, even with #rule-helper in
    // the address.
    b.set_window(1280, 1000).await;
    b.goto(&s.at("/rules/new#rule-helper")).await;
    b.wait_for_text("The rule checks", Duration::from_secs(10), None)
        .await;
    let g = helper_geometry(&b).await;
    assert_eq!(
        g[6].as_bool(),
        Some(false),
        "no toggle on a wide screen: {g:?}"
    );
    assert_ne!(g[0].as_str(), Some("fixed"), "{g:?}");
    assert!(
        g[2].as_f64().unwrap_or(0.0) >= g[5].as_f64().unwrap_or(1.0),
        "the helper is beside the editor: {g:?}"
    );
    b.shot("desktop-1280").await;

    b.quit().await;
    s.task.abort();
}

/// Issue 27: a NUL pasted into the report schedule, the alert channel and the Ad copy brief in
/// the browser comes back as the field's error with what was typed (htmx on the Ad copy page
/// shows it with the results); nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_the_report_alert_and_ad_copy_forms_is_a_field_error_in_the_browser() {
    let Some(b) = Browser::start("ux-nul-forms").await else {
        return;
    };
    let s = Live::start().await;
    sign_up(&b, &s).await;
    let value = |css: &'static str| {
        let b = &b;
        async move {
            b.script(
                "return document.querySelector(arguments[0]).value",
                vec![serde_json::json!(css)],
            )
            .await
            .as_str()
            .map(str::to_string)
        }
    };

    b.goto(&s.at("/reports")).await;
    b.script(
        "document.querySelector('input[name=name]').value = 'Weekly\\u0000 numbers';",
        vec![],
    )
    .await;
    b.fill("textarea[name=recipients]", "boss@example.com")
        .await;
    b.click_text("Schedule report").await;
    b.wait_for_text("control characters", Duration::from_secs(10), None)
        .await;
    assert_eq!(
        value("input[name=name]").await.as_deref(),
        Some("Weekly numbers")
    );
    assert_eq!(
        value("textarea[name=recipients]").await.as_deref(),
        Some("boss@example.com")
    );
    assert_eq!(
        count(&s.t, "SELECT count(*) AS n FROM report_schedules").await,
        0
    );
    b.shots_both("reports").await;

    b.goto(&s.at("/alerts")).await;
    b.script(
        "document.querySelector('input[name=target]').value = 'ops\\u0000@example.com';",
        vec![],
    )
    .await;
    b.click_text("Add channel").await;
    b.wait_for_text("control characters", Duration::from_secs(10), None)
        .await;
    assert_eq!(
        value("input[name=target]").await.as_deref(),
        Some("ops@example.com")
    );
    assert_eq!(
        count(&s.t, "SELECT count(*) AS n FROM alert_channels").await,
        0
    );
    b.shots_both("alert-channel").await;

    b.goto(&s.at("/ai/copy")).await;
    b.script(
        "document.querySelector('input[name=product]').value = 'Trail\\u0000 shoes';",
        vec![],
    )
    .await;
    b.click_text("Draft copy").await;
    b.wait_for_text(
        "Product or service: This had invisible control characters",
        Duration::from_secs(10),
        None,
    )
    .await;
    assert_eq!(
        count(&s.t, "SELECT count(*) AS n FROM ai_cache").await
            + count(&s.t, "SELECT count(*) AS n FROM copy_drafts").await,
        0
    );
    assert!(
        !b.exists(".platform-copy").await,
        "nothing is drafted from it"
    );
    assert_eq!(
        value("input[name=product]").await.as_deref(),
        Some("Trail shoes"),
        "the form holds what was typed, without the NUL"
    );
    assert!(
        b.text("#product-error")
            .await
            .contains("control characters")
    );
    b.shots_both("ad-copy").await;

    b.quit().await;
    s.task.abort();
}
