//! AI assistance wired into the screens: ad copy in the campaign create flow, "Describe the
//! rule" in the rule editor, the dashboard's summary and recommendations. Against the offline
//! generator and the local fake provider of tests/it/ai.rs.

use std::time::Duration;

use adpilot::jobs::worker::{Runner, RunnerHandle, WorkerOptions};
use adpilot::sandbox::SandboxConfig;
use axum::http::StatusCode;
use serde_json::json;

use crate::ai::{anthropic_ok, mock, openai_ok};
use crate::connections::connect;
use crate::support::*;

/// An AI config file: the fake provider at `base` as "openai" and "anthropic", or, with no
/// base, both providers without keys (so nothing is usable, whatever the environment holds).
fn ai_config(dir: &tempdir::TempDir, base: Option<&str>) -> String {
    let path = dir.path().join("ai.toml");
    let text = match base {
        Some(base) => format!(
            "[providers.openai]\nkind = \"openai\"\nbase_url = \"{base}/v1\"\napi_key = \"sk-test\"\n\
             [providers.anthropic]\nkind = \"anthropic\"\nbase_url = \"{base}\"\napi_key = \"sk-ant-test\"\n"
        ),
        None => "[providers.openai]\nkind = \"openai\"\nbase_url = \"https://api.openai.com/v1\"\n\
                 [providers.anthropic]\nkind = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\n"
            .to_string(),
    };
    std::fs::write(&path, text).expect("ai config");
    path.to_string_lossy().to_string()
}

/// An app on the sandbox with Google connected, and its owner signed in.
async fn app(
    base: Option<&str>,
    extra: &[&str],
) -> (
    adpilot::sandbox::SandboxHandle,
    TestApp,
    Client,
    tempdir::TempDir,
) {
    let sb = sandbox(SandboxConfig::default()).await;
    let dir = tempdir::TempDir::new();
    let cfg = ai_config(&dir, base);
    let mut args = vec!["--ai-config", cfg.as_str(), "--ai-timeout-secs", "5"];
    args.extend_from_slice(extra);
    let t = TestApp::build(&args, Some(&sb)).await;
    let mut c = t.sign_up("ann@example.com", "Tea Co").await;
    connect(&mut c, "google").await;
    (sb, t, c, dir)
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

/// The value of the first input whose markup contains `marker`.
fn first_value_after(html: &str, marker: &str) -> String {
    let at = html.find(marker).expect(marker);
    let rest = &html[at..];
    let v = rest.find("value=\"").expect("value") + 7;
    let end = rest[v..].find('"').expect("end of value");
    html_unescape(&rest[v..v + end])
}

/// Every drafted line on the form, as (field name, text), in order.
fn drafted_lines(html: &str) -> Vec<(String, String)> {
    html.split("name=\"line:")
        .skip(1)
        .map(|s| {
            let name_end = s.find('"').expect("name");
            let v = s.find("value=\"").expect("value") + 7;
            let end = s[v..].find('"').expect("end");
            (
                format!("line:{}", &s[..name_end]),
                html_unescape(&s[v..v + end]),
            )
        })
        .collect()
}

fn brief(account: &str) -> Vec<(&str, &str)> {
    vec![
        ("name", "Tea Launch"),
        ("account", account),
        ("objective", "traffic"),
        ("daily_budget", "25"),
        ("start", "paused"),
        ("product", "Green Leaf Tea"),
        (
            "description",
            "Organic loose-leaf green tea from small farms",
        ),
        ("audience", "busy professionals"),
        ("tone", "friendly"),
        ("benefits", "calm energy, antioxidants"),
        ("keyword", "green tea"),
        ("avoid", "cheap"),
        ("variations", "2"),
    ]
}

/// Runs the job workers until the push created its campaign; returns the campaign id.
async fn created_campaign(t: &TestApp) -> uuid::Uuid {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
        campaign_id: Option<uuid::Uuid>,
    }
    let runner = workers(t);
    let mut campaign = None;
    for _ in 0..200 {
        let mut admin = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        let row: Row = diesel::sql_query("SELECT campaign_id FROM campaign_pushes")
            .get_result(&mut admin)
            .await
            .expect("push");
        if let Some(id) = row.campaign_id {
            campaign = Some(id);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    runner.shutdown().await;
    campaign.expect("the campaign was created")
}

fn workers(t: &TestApp) -> RunnerHandle {
    Runner::new(
        t.app.clone(),
        adpilot::jobs::catalog::registry(),
        WorkerOptions {
            workers: 1,
            poll_interval: Duration::from_millis(25),
            lease: Duration::from_secs(5),
            ..WorkerOptions::default()
        },
    )
    .start()
}

#[tokio::test]
async fn offline_copy_is_drafted_in_the_create_form_and_picked_variations_show_on_the_campaign_page()
 {
    let (_sb, t, mut c, _dir) = app(None, &[]).await;
    let form = c.get("/campaigns/new").await;
    form.assert_status(StatusCode::OK);
    assert!(form.body.contains("offline drafts"), "the form says so");
    let account = first_value_after(&form.body, "name=\"account\"");

    // Drafting keeps every field and saves nothing.
    let mut fields = brief(&account);
    fields.push(("copy_action", "draft"));
    let r = c.post("/campaigns/new/copy", &fields).await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("id=\"campaign-copy\""));
    assert!(
        r.body
            .contains("Generator: <strong class=\"generator\">offline drafts"),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"Tea Launch\""), "name kept");
    assert!(r.body.contains("value=\"google:1\"") && r.body.contains("value=\"google:2\""));
    assert!(
        !r.body.contains("value=\"meta:1\""),
        "only chosen platforms"
    );
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_pushes").await,
        0
    );
    let lines = drafted_lines(&r.body);
    assert!(lines.len() >= 10, "{lines:?}");
    let generator = first_value_after(&r.body, "name=\"generator:google\"");

    // The user edits a headline of variation 1 past Google's limit: it is shown whole, flagged.
    let long = "Green Tea For Every Busy Morning At Work";
    let mut edited: Vec<(String, String)> = lines.clone();
    let first_v1 = edited
        .iter()
        .position(|(k, _)| k == "line:1:google_headline")
        .expect("a headline in variation 1");
    edited[first_v1].1 = long.to_string();
    let mut post: Vec<(&str, &str)> = brief(&account);
    post.push(("generator:google", &generator));
    for (k, v) in &edited {
        post.push((k, v));
    }
    let mut check = post.clone();
    check.push(("copy_action", "check"));
    let r = c.post("/campaigns/new/copy", &check).await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains(&format!("value=\"{long}\"")), "never cut");
    assert!(
        r.body.contains("40 characters; the limit is 30"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<tr class=\"flagged\">"));

    // Keeping the flagged variation is refused with a reason, and nothing is created.
    let mut create = post.clone();
    create.push(("pick", "google:1"));
    let r = c.post("/campaigns", &create).await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("Variation 1 of the Google Ads copy has 1 problem flagged"),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("value=\"{long}\"")), "edits kept");
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_pushes").await,
        0
    );

    // Keeping the clean variation 2 saves it with the campaign.
    // No provider: targeting says so and suggests nothing; notes are still kept.
    let r = c.post("/campaigns/new/targeting", &post).await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body
            .contains("No AI provider is configured, so adpilot cannot suggest targeting.")
    );
    assert!(!r.body.contains("name=\"target\""));
    let mut create = post.clone();
    create.push(("pick", "google:2"));
    create.push(("notes", "Exclude existing customers."));
    let r = c.post("/campaigns", &create).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let v2: Vec<&String> = lines
        .iter()
        .filter(|(k, _)| k.starts_with("line:2:"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_copy").await,
        v2.len() as i64
    );
    let id = created_campaign(&t).await;
    let page = c.get(&format!("/campaigns/{id}")).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Variation 2"), "{}", page.body);
    assert!(!page.body.contains("Variation 1"));
    for line in v2 {
        assert!(
            page.body.contains(&askama_escape(line)),
            "{line} on the page"
        );
    }
    assert!(page.body.contains("drafted by offline drafts"));
    assert!(
        page.body.contains("<h2>Targeting notes</h2>")
            && page.body.contains("Exclude existing customers.")
    );
    assert!(page.body.contains("data-copy=\"saved-copy-2-0\""));
    assert!(
        page.body.contains(&format!(
            "data-hx-get=\"/dashboard/insights?campaign={id}&amp;"
        )),
        "the campaign page loads its recommendations lazily"
    );
    assert!(!page.body.contains(long));
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test(flavor = "multi_thread")]
async fn model_copy_in_the_create_form_is_labelled_flagged_and_budget_refusals_are_shown() {
    let (m, base) = mock().await;
    let (_sb, t, mut c, _dir) = app(Some(&base), &["--ai-monthly-tokens", "100"]).await;
    let form = c.get("/campaigns/new").await;
    assert!(
        form.body
            .contains("Drafts are written by the configured AI model.")
    );
    let account = first_value_after(&form.body, "name=\"account\"");
    let too_long = "The Finest Organic Green Tea From Small Farms";
    m.openai(
        200,
        openai_ok(
            &json!({"variations": [
                {"headlines": [too_long, "Calm Energy", "Cheap Green Tea"],
                 "descriptions": ["Organic loose-leaf green tea.", "Calm energy for busy days."]},
                {"headlines": ["Green Tea Delivered", "Calm Energy", "Loose-Leaf Quality"],
                 "descriptions": ["Organic loose-leaf green tea.", "Order online today."]}
            ]})
            .to_string(),
            100,
            20,
        ),
    );
    let mut fields = brief(&account);
    fields.push(("copy_action", "draft"));
    let r = c.post("/campaigns/new/copy", &fields).await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("openai/gpt-4o-mini"), "{}", r.body);
    assert!(
        r.body.contains(&format!("value=\"{too_long}\"")),
        "never cut"
    );
    assert!(r.body.contains("45 characters; the limit is 30"));
    assert!(r.body.contains("uses the avoided word &#34;cheap&#34;"));
    assert!(r.body.contains("2 flagged") && r.body.contains("within limits"));
    assert_eq!(m.openai_seen().await.len(), 1);

    // 120 tokens used of 100: the next draft says why the model was not used.
    let r = c
        .post("/campaigns/new/copy", &{
            let mut f = fields.clone();
            f.retain(|(k, _)| *k != "product");
            f.push(("product", "Another Tea"));
            f
        })
        .await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body.contains("The AI model was not used: This organization has used 120 of its 100 AI tokens this month."),
        "{}",
        r.body
    );
    assert!(r.body.contains("offline drafts"));
    assert_eq!(m.openai_seen().await.len(), 1, "no call over budget");
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_copy").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_cannot_draft_copy() {
    let (m, base) = mock().await;
    let (_sb, t, mut owner, _dir) = app(Some(&base), &[]).await;
    let form = owner.get("/campaigns/new").await;
    let account = first_value_after(&form.body, "name=\"account\"");
    let mut client = t
        .invite_and_join(&mut owner, "client@example.com", "client")
        .await;
    client.get("/campaigns").await.assert_status(StatusCode::OK);
    let r = client
        .post("/campaigns/new/copy", &{
            let mut f = brief(&account);
            f.push(("copy_action", "draft"));
            f
        })
        .await;
    r.assert_status(StatusCode::FORBIDDEN);
    let r = client
        .post(
            "/rules/describe",
            &[
                ("text", ""),
                ("description", "pause losers"),
                ("describe_action", "draft"),
            ],
        )
        .await;
    r.assert_status(StatusCode::FORBIDDEN);
    let r = client
        .post("/campaigns/new/targeting", &brief(&account))
        .await;
    r.assert_status(StatusCode::FORBIDDEN);
    assert!(
        m.openai_seen().await.is_empty() && m.anthropic_seen().await.is_empty(),
        "no AI call"
    );
}

/// Posts a form as htmx does (the fragment comes back, not the page).
async fn post_hx(c: &mut Client, path: &str, fields: &[(&str, &str)]) -> Resp {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    if let Some(t) = &c.csrf {
        ser.append_pair("csrf_token", t);
    }
    for (k, v) in fields {
        ser.append_pair(k, v);
    }
    c.request(
        axum::http::Method::POST,
        path,
        Some(ser.finish()),
        &[("hx-request", "true")],
    )
    .await
}

async fn sync_all(t: &TestApp, sb: &adpilot::sandbox::SandboxHandle) {
    let org = org_of(t).await;
    for a in adpilot::analytics::sync::accounts_to_sync(&t.app, org)
        .await
        .expect("accounts")
    {
        for _ in 0..20 {
            let r = adpilot::analytics::sync::sync_account(&t.app, org, a, sb.clock().now())
                .await
                .expect("sync");
            if r.backfill_done {
                break;
            }
        }
    }
}

const GOOD_RULE: &str = "rule \"Stop losers\"\n  when cpa > 50 on each of last 3 days and clicks in last 7 days >= 100\n  then pause";

#[tokio::test(flavor = "multi_thread")]
async fn describe_the_rule_repairs_a_typo_once_shows_a_diff_and_backtest_and_saves_only_on_save() {
    let (m, base) = mock().await;
    let (sb, t, mut c, _dir) = app(Some(&base), &[]).await;
    sync_all(&t, &sb).await;
    let typo =
        json!({"rule": "rule \"Stop losers\"\n  when cpz > 50\n  then pause", "explanation": "x"});
    let good = json!({"rule": GOOD_RULE, "explanation": "Pauses campaigns whose CPA stayed above 50 for three days."});
    m.anthropic(200, anthropic_ok(&typo.to_string(), 300, 40));
    m.anthropic(200, anthropic_ok(&good.to_string(), 400, 50));

    let editor = c.get("/rules/new").await;
    editor.assert_status(StatusCode::OK);
    assert!(editor.body.contains("Describe the rule") && editor.body.contains("Draft the rule"));
    let current = "rule \"Stop losers\"\n  when cpa > 80\n  then pause";
    let r = post_hx(
        &mut c,
        "/rules/describe",
        &[
            ("text", current),
            ("rule_id", ""),
            ("mode", "draft"),
            (
                "description",
                "Pause campaigns whose CPA is over 50 for 3 days",
            ),
            ("describe_action", "draft"),
        ],
    )
    .await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body.starts_with("<div id=\"rule-describe\""),
        "a fragment"
    );
    let seen = m.anthropic_seen().await;
    assert_eq!(seen.len(), 2, "one repair");
    let second = seen[1].body["messages"][0]["content"]
        .as_str()
        .unwrap_or("");
    assert!(second.contains("cpz"), "{second}");
    assert!(r.body.contains("corrected once"), "{}", r.body);
    assert!(r.body.contains("passes every check"));
    // The diff against the editor's text: the old condition out, the drafted one in.
    assert!(
        r.body
            .contains("<span class=\"diff-del\">-   when cpa &#62; 80</span>"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("<span class=\"diff-add\">+   when cpa &#62; 50 on each of last 3 days")
    );
    assert!(
        r.body
            .contains("<span class=\"diff-same\">  rule &#34;Stop losers&#34;</span>")
    );
    assert!(r.body.contains("Backtest of the draft"));
    assert!(r.body.contains("over 14 days ("), "{}", r.body);
    assert!(
        !r.body.contains("(0 campaigns considered)"),
        "synced campaigns replayed"
    );
    assert!(r.body.contains("Nothing has been saved"));
    assert_eq!(count(&t, "SELECT count(*) AS n FROM rules").await, 0);

    // "Use this draft" without JavaScript: the editor gets the draft, still nothing saved.
    let r = c
        .post(
            "/rules/describe",
            &[
                ("text", current),
                ("rule_id", ""),
                ("mode", "draft"),
                ("describe_action", "use"),
                ("draft_text", GOOD_RULE),
            ],
        )
        .await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body.contains("when cpa &#62; 50 on each of last 3 days"),
        "{}",
        r.body
    );
    assert!(r.body.contains("The rule checks."));
    assert_eq!(count(&t, "SELECT count(*) AS n FROM rules").await, 0);
    assert_eq!(
        m.anthropic_seen().await.len(),
        2,
        "using a draft calls no model"
    );

    // Save is what saves it.
    let r = c
        .post("/rules", &[("text", GOOD_RULE), ("mode", "draft")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(count(&t, "SELECT count(*) AS n FROM rules").await, 1);
}

#[tokio::test]
async fn without_a_provider_describe_the_rule_says_what_works_and_drafts_nothing() {
    let (_sb, t, mut c, _dir) = app(None, &[]).await;
    let editor = c.get("/rules/new").await;
    assert!(editor.body.contains(
        "No AI provider is configured, so adpilot cannot turn a description into a rule."
    ));
    assert!(!editor.body.contains("Draft the rule</button>"));
    let r = post_hx(
        &mut c,
        "/rules/describe",
        &[
            ("text", ""),
            ("description", "pause losers"),
            ("describe_action", "draft"),
        ],
    )
    .await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body
            .contains("start from an example, preview what it matches now")
    );
    assert!(!r.body.contains("rule-draft-text"), "no draft at all");
    assert_eq!(count(&t, "SELECT count(*) AS n FROM ai_usage").await, 0);
    assert_eq!(count(&t, "SELECT count(*) AS n FROM rules").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spent_budget_is_said_in_the_describe_section() {
    let (m, base) = mock().await;
    let (_sb, _t, mut c, _dir) = app(Some(&base), &["--ai-monthly-tokens", "100"]).await;
    m.anthropic(
        200,
        anthropic_ok(
            &json!({"rule": GOOD_RULE, "explanation": "x"}).to_string(),
            100,
            50,
        ),
    );
    c.get("/rules/new").await;
    let fields = [
        ("text", ""),
        ("description", "stop losers"),
        ("describe_action", "draft"),
    ];
    let r = post_hx(&mut c, "/rules/describe", &fields).await;
    assert!(r.body.contains("Drafted by"), "{}", r.body);
    let r = post_hx(
        &mut c,
        "/rules/describe",
        &[
            ("text", ""),
            ("description", "stop other losers"),
            ("describe_action", "draft"),
        ],
    )
    .await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body.contains("used 150 of its 100 AI tokens this month"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("rule-draft-text"));
    assert_eq!(m.anthropic_seen().await.len(), 1);
}

/// The address the page loads its AI section from (htmx `load`), unescaped.
fn insights_url(html: &str) -> String {
    let at = html
        .find("data-hx-get=\"/dashboard/insights?")
        .expect("a lazy AI section");
    let start = at + "data-hx-get=\"".len();
    let end = html[start..].find('"').expect("end") + start;
    html_unescape(&html[start..end])
}

async fn get_hx(c: &mut Client, path: &str) -> Resp {
    c.request(
        axum::http::Method::GET,
        path,
        None,
        &[("hx-request", "true")],
    )
    .await
}

/// The Spend tile of the dashboard in `currency`.
fn spend_tile(html: &str, currency: &str) -> String {
    let marker = format!("data-kpi=\"Spend\" data-currency=\"{currency}\">");
    let at = html.find(&marker).expect("spend tile") + marker.len();
    html[at..at + html[at..].find('<').expect("end")].to_string()
}

#[tokio::test]
async fn the_dashboard_loads_a_template_summary_lazily_without_a_provider() {
    let (sb, t, mut c, _dir) = app(None, &[]).await;
    sync_all(&t, &sb).await;
    let page = c.get("/dashboard").await;
    page.assert_status(StatusCode::OK);
    assert!(
        !page.body.contains("ai-summary-text"),
        "not part of the page load"
    );
    let url = insights_url(&page.body);
    let r = get_hx(&mut c, &url).await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body.starts_with("<div id=\"insights-body\">"),
        "a fragment"
    );
    assert!(
        r.body.contains("adpilot's template (no AI model)"),
        "{}",
        r.body
    );
    let spend = spend_tile(&page.body, "USD");
    assert!(
        r.body.contains(&format!("USD: spend {spend} (")),
        "the summary quotes the dashboard's own total {spend}: {}",
        r.body
    );
    assert!(
        r.body
            .contains("No AI provider is configured, so there are no recommendations.")
    );
    // Without JavaScript the link opens it as a page.
    let full = c.get(&url).await;
    full.assert_status(StatusCode::OK);
    assert!(full.body.contains("<h1>Summary and recommendations</h1>"));
    assert_eq!(count(&t, "SELECT count(*) AS n FROM ai_usage").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invented_number_sends_the_summary_back_to_the_template_and_a_recommendation_becomes_a_rule_draft()
 {
    let (m, base) = mock().await;
    let (sb, t, mut c, _dir) = app(Some(&base), &[]).await;
    sync_all(&t, &sb).await;
    let invented = json!({"summary": "Spend rose 987654.321% this period."}).to_string();
    m.openai(200, openai_ok(&invented, 500, 30));
    m.openai(200, openai_ok(&invented, 600, 30));
    let recs = json!({"suggestions": [
        {"title": "Pause the costliest campaign", "detail": "Its CPA is far above the account median.", "rule": GOOD_RULE},
        {"title": "Review the budgets", "detail": "Some campaigns pace under their budget.", "rule": ""}
    ]})
    .to_string();
    m.openai(200, openai_ok(&recs, 700, 60));

    let page = c.get("/dashboard").await;
    assert!(
        m.openai_seen().await.is_empty(),
        "the dashboard itself calls no model"
    );
    let r = get_hx(&mut c, &insights_url(&page.body)).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(
        m.openai_seen().await.len(),
        3,
        "summary, its one repair, recommendations"
    );
    let text_at = r.body.find("id=\"ai-summary-text\"").expect("summary");
    let text = &r.body[text_at..text_at + r.body[text_at..].find("</p>").expect("end")];
    assert!(
        !text.contains("987654"),
        "the invented number is not shown as fact: {text}"
    );
    assert!(r.body.contains("adpilot's template (no AI model)"));
    assert!(
        r.body
            .contains("these numbers are not in the input: 987654.321"),
        "{}",
        r.body
    );
    // The recommendation numbers were the dashboard's own.
    let summary_prompt = m.openai_seen().await[0].body["messages"].to_string();
    let spend = spend_tile(&page.body, "USD");
    assert!(
        summary_prompt.contains(&spend),
        "the prompt has the dashboard's own total {spend}"
    );
    let prompt = m.openai_seen().await[2].body["messages"].to_string();
    assert!(prompt.contains("account_median_cpa") && prompt.contains("budget_pacing"));
    assert!(r.body.contains("Pause the costliest campaign"));
    assert!(
        r.body
            .contains("Suggested by <strong>openai/gpt-4o-mini</strong>")
    );
    assert_eq!(
        r.body.matches("Make this a rule").count(),
        1,
        "only the one with a rule"
    );
    let at = r.body.find("href=\"/rules/new?text=").expect("rule link") + "href=\"".len();
    let link = html_unescape(&r.body[at..at + r.body[at..].find('"').expect("end")]);
    let editor = c.get(&link).await;
    editor.assert_status(StatusCode::OK);
    assert!(
        editor
            .body
            .contains("when cpa &#62; 50 on each of last 3 days"),
        "{}",
        editor.body
    );
    assert!(editor.body.contains("The rule checks."));
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM rules").await,
        0,
        "not saved"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_sees_the_template_summary_and_spends_no_tokens() {
    let (m, base) = mock().await;
    let (sb, t, mut owner, _dir) = app(Some(&base), &[]).await;
    sync_all(&t, &sb).await;
    let mut client = t
        .invite_and_join(&mut owner, "client@example.com", "client")
        .await;
    crate::hardening::grant_all_accounts(&t, &mut owner, "client@example.com").await;
    let page = client.get("/dashboard").await;
    let r = get_hx(&mut client, &insights_url(&page.body)).await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("adpilot's template (no AI model)"));
    assert!(r.body.contains("Recommendations are available to members"));
    assert!(m.openai_seen().await.is_empty() && m.anthropic_seen().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn ticked_targeting_suggestions_are_saved_in_the_campaign_notes() {
    let (m, base) = mock().await;
    let (_sb, t, mut c, _dir) = app(Some(&base), &[]).await;
    let form = c.get("/campaigns/new").await;
    assert!(form.body.contains("Suggest targeting"));
    let account = first_value_after(&form.body, "name=\"account\"");
    m.openai(
        200,
        openai_ok(
            &json!({"suggestions": [
                {"kind": "keyword", "value": "organic green tea", "why": "Matches the product."},
                {"kind": "audience", "value": "yoga studios", "why": "Calm energy fits them."}
            ]})
            .to_string(),
            80,
            30,
        ),
    );
    let r = c.post("/campaigns/new/targeting", &brief(&account)).await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body
            .contains("Suggested by <strong class=\"generator\">openai/gpt-4o-mini"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<strong>organic green tea</strong>")
            && r.body.contains("Calm energy fits them.")
    );
    assert!(r.body.contains("value=\"Tea Launch\""), "the form is kept");
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_pushes").await,
        0
    );
    let hidden: Vec<String> = r
        .body
        .split("name=\"suggestion\" value=\"")
        .skip(1)
        .map(|s| html_unescape(&s[..s.find('"').expect("end")]))
        .collect();
    assert_eq!(hidden.len(), 2);
    let by = first_value_after(&r.body, "name=\"targeting_by\"");
    let mut create = brief(&account);
    for h in &hidden {
        create.push(("suggestion", h));
    }
    create.push(("targeting_by", &by));
    create.push(("target", "Google Ads: keyword organic green tea"));
    let r = c.post("/campaigns", &create).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = created_campaign(&t).await;
    let page = c.get(&format!("/campaigns/{id}")).await;
    assert!(
        page.body.contains("Google Ads: keyword organic green tea"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("yoga studios"), "not ticked, not saved");
    assert_eq!(m.openai_seen().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_summary_is_labelled_and_a_spent_budget_is_said_where_the_recommendations_go() {
    let (m, base) = mock().await;
    let (sb, t, mut c, _dir) = app(Some(&base), &["--ai-monthly-tokens", "100"]).await;
    sync_all(&t, &sb).await;
    m.openai(
        200,
        openai_ok(
            &json!({"summary": "Spend held steady while conversions dipped."}).to_string(),
            120,
            30,
        ),
    );
    let page = c.get("/dashboard").await;
    let r = get_hx(&mut c, &insights_url(&page.body)).await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.body
            .contains("Spend held steady while conversions dipped."),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("<strong class=\"generator\">openai/gpt-4o-mini</strong>")
    );
    assert!(
        r.body
            .contains("every number in it was checked against them")
    );
    assert!(
        r.body
            .contains("This organization has used 150 of its 100 AI tokens this month."),
        "{}",
        r.body
    );
    assert_eq!(m.openai_seen().await.len(), 1, "no call over budget");
}
