//! AI assistance against a local server that speaks the OpenAI and Anthropic formats: drafts,
//! repair, flags, failover, quota, budget, cache, usage, rule drafts and summaries.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{MockServer, ResponseTemplate};

use crate::support::*;

// ---------- the mock provider ----------

const OPENAI_PATH: &str = "/v1/chat/completions";
const ANTHROPIC_PATH: &str = "/v1/messages";

#[derive(Debug, Clone)]
pub(crate) struct Seen {
    headers: HeaderMap,
    pub(crate) body: Value,
}

/// One provider endpoint's answers, given in order; a call beyond them gets a 500.
#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<(u16, String)>>>,
    /// How long the endpoint waits before answering.
    delay: Arc<Mutex<Duration>>,
}

impl wiremock::Respond for Script {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let next = self.answers.lock().expect("mock").pop_front();
        let delay = *self.delay.lock().expect("mock");
        let (status, body) =
            next.unwrap_or((500, r#"{"error":{"message":"unexpected call"}}"#.into()));
        ResponseTemplate::new(status)
            .set_body_raw(body, "application/json")
            .set_delay(delay)
    }
}

#[derive(Clone)]
pub(crate) struct Mock {
    server: Arc<MockServer>,
    openai: Script,
    anthropic: Script,
}

impl Mock {
    pub(crate) fn openai(&self, status: u16, body: impl Into<String>) {
        self.openai
            .answers
            .lock()
            .expect("mock")
            .push_back((status, body.into()));
    }
    pub(crate) fn anthropic(&self, status: u16, body: impl Into<String>) {
        self.anthropic
            .answers
            .lock()
            .expect("mock")
            .push_back((status, body.into()));
    }
    /// Makes the OpenAI endpoint wait this long before each answer.
    pub(crate) fn delay_openai(&self, delay: Duration) {
        *self.openai.delay.lock().expect("mock") = delay;
    }
    pub(crate) async fn openai_seen(&self) -> Vec<Seen> {
        self.seen_at(OPENAI_PATH).await
    }
    pub(crate) async fn anthropic_seen(&self) -> Vec<Seen> {
        self.seen_at(ANTHROPIC_PATH).await
    }
    /// The calls to one endpoint whose body was JSON, oldest first.
    async fn seen_at(&self, endpoint: &str) -> Vec<Seen> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == endpoint)
            .filter_map(|r| {
                let body = serde_json::from_slice(&r.body).ok()?;
                Some(Seen {
                    headers: r.headers,
                    body,
                })
            })
            .collect()
    }
}

/// Starts the mock; returns it and its address.
pub(crate) async fn mock() -> (Mock, String) {
    let server = MockServer::start().await;
    let (openai, anthropic) = (Script::default(), Script::default());
    wiremock::Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .respond_with(openai.clone())
        .mount(&server)
        .await;
    wiremock::Mock::given(method("POST"))
        .and(path(ANTHROPIC_PATH))
        .respond_with(anthropic.clone())
        .mount(&server)
        .await;
    let base = server.uri();
    let m = Mock {
        server: Arc::new(server),
        openai,
        anthropic,
    };
    (m, base)
}

pub(crate) fn openai_ok(content: &str, input: u64, output: u64) -> String {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1_736_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output}})
    .to_string()
}

pub(crate) fn anthropic_ok(text: &str, input: u64, output: u64) -> String {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": input, "output_tokens": output}})
    .to_string()
}

pub(crate) fn google_copy(headlines: &[&str], descriptions: &[&str]) -> String {
    json!({"variations": [{"headlines": headlines, "descriptions": descriptions}]}).to_string()
}

/// An app whose "openai" and "anthropic" providers are the mock.
async fn app_with_mock(base: &str, extra: &[&str]) -> (TestApp, tempdir::TempDir) {
    let dir = tempdir::TempDir::new();
    let path = dir.path().join("ai.toml");
    std::fs::write(
        &path,
        format!(
            "[providers.openai]\nkind = \"openai\"\nbase_url = \"{base}/v1\"\napi_key = \"sk-test\"\n\
             [providers.anthropic]\nkind = \"anthropic\"\nbase_url = \"{base}\"\napi_key = \"sk-ant-test\"\n"
        ),
    )
    .expect("config");
    let p = path.to_string_lossy().to_string();
    let mut args = vec!["--ai-config", p.as_str()];
    if !extra.contains(&"--ai-timeout-secs") {
        args.extend_from_slice(&["--ai-timeout-secs", "5"]);
    }
    args.extend_from_slice(extra);
    (TestApp::with_args(&args).await, dir)
}

/// An app with no provider usable (whatever keys the environment holds).
async fn app_without_provider() -> (TestApp, tempdir::TempDir) {
    let dir = tempdir::TempDir::new();
    let path = dir.path().join("ai.toml");
    std::fs::write(
        &path,
        "[providers.openai]\nkind = \"openai\"\nbase_url = \"https://api.openai.com/v1\"\n\
         [providers.anthropic]\nkind = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\n",
    )
    .expect("config");
    let p = path.to_string_lossy().to_string();
    (TestApp::with_args(&["--ai-config", &p]).await, dir)
}

pub(crate) fn google_brief(product: &str) -> Vec<(&str, &str)> {
    vec![
        ("product", product),
        ("description", "Organic loose-leaf green tea"),
        ("audience", "busy professionals"),
        ("tone", "friendly"),
        ("benefits", "calm energy, antioxidants"),
        ("keyword", "green tea"),
        ("avoid", "cheap"),
        ("variations", "1"),
        ("google", "on"),
    ]
}

const GOOD_HEADLINES: [&str; 3] = ["Green Tea Delivered", "Calm Energy", "Loose-Leaf Quality"];
const GOOD_DESCRIPTIONS: [&str; 2] = [
    "Organic loose-leaf green tea from small farms.",
    "Calm energy for busy days. Order online today.",
];

// ---------- ad copy ----------

#[tokio::test(flavor = "multi_thread")]
async fn ad_copy_from_openai_is_checked_and_labelled_with_its_model() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("copy@example.com", "Tea Co").await;
    m.openai(
        200,
        openai_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 120, 40),
    );
    c.get("/ai/copy").await.assert_status(StatusCode::OK);
    let r = c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("openai/gpt-4o-mini"), "{}", r.body);
    assert!(r.body.contains("Green Tea Delivered"));
    assert!(r.body.contains("within limits"));
    assert!(r.body.contains("data-copy=\"copy-google-1-1\""));
    let seen = m.openai_seen().await;
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0]
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer sk-test")
    );
    assert_eq!(seen[0].body["response_format"]["type"], "json_schema");
    assert_eq!(seen[0].body["model"], "gpt-4o-mini");
    let prompt = seen[0].body["messages"][1]["content"]
        .as_str()
        .unwrap_or("");
    assert!(prompt.contains("Primary keyword: green tea"), "{prompt}");
    assert!(
        prompt.contains("Never use these words or phrases: cheap"),
        "{prompt}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_that_is_not_json_gets_one_repair_request_quoting_the_errors() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("repair@example.com", "Tea Co").await;
    m.openai(
        200,
        openai_ok("Sure! Here are some great ads for you.", 100, 10),
    );
    m.openai(
        200,
        openai_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 150, 40),
    );
    c.get("/ai/copy").await;
    let r = c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    assert!(r.body.contains("openai/gpt-4o-mini"), "{}", r.body);
    let seen = m.openai_seen().await;
    assert_eq!(seen.len(), 2);
    let msgs = seen[1].body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        msgs.len(),
        4,
        "system, user, the bad answer, the repair request"
    );
    assert_eq!(msgs[2]["content"], "Sure! Here are some great ads for you.");
    let repair = msgs[3]["content"].as_str().unwrap_or("");
    assert!(
        repair.contains("did not pass validation") && repair.contains("not JSON"),
        "{repair}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_still_invalid_after_the_repair_is_reported_and_offline_drafts_stand_in() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("twice@example.com", "Tea Co").await;
    m.openai(200, openai_ok("no json here", 100, 10));
    m.openai(200, openai_ok("still no json", 100, 10));
    c.get("/ai/copy").await;
    let r = c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(m.openai_seen().await.len(), 2);
    assert!(
        r.body
            .contains("failed our checks, also after one correction"),
        "{}",
        r.body
    );
    assert!(r.body.contains("offline drafts"));
}

#[tokio::test(flavor = "multi_thread")]
async fn over_long_and_avoided_lines_are_flagged_and_shown_whole() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("long@example.com", "Tea Co").await;
    let long = "The Finest Green Tea In The Whole Wide World";
    m.openai(
        200,
        openai_ok(
            &google_copy(
                &[long, "Cheap Green Tea", "Calm Energy"],
                &GOOD_DESCRIPTIONS,
            ),
            100,
            30,
        ),
    );
    c.get("/ai/copy").await;
    let r = c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    assert!(r.body.contains(long), "the line is shown uncut");
    assert!(
        r.body.contains("44 characters; the limit is 30"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("uses the avoided word &#34;cheap&#34;")
            || r.body.contains("uses the avoided word &quot;cheap&quot;"),
        "{}",
        r.body
    );
    assert!(r.body.contains("2 flagged"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_primary_fails_over_to_the_fallback_provider() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("failover@example.com", "Tea Co").await;
    m.openai(
        429,
        r#"{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}"#,
    );
    m.anthropic(
        200,
        anthropic_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 90, 30),
    );
    c.get("/ai/copy").await;
    let r = c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    assert!(r.body.contains("anthropic/claude-haiku-4-5"), "{}", r.body);
    assert!(!r.body.contains("The AI model was not used"));
    let seen = m.anthropic_seen().await;
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0]
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok()),
        Some("sk-ant-test")
    );
    assert_eq!(
        seen[0]
            .headers
            .get("anthropic-version")
            .and_then(|v| v.to_str().ok()),
        Some("2023-06-01")
    );
    assert!(
        seen[0].body["system"]
            .as_str()
            .is_some_and(|s| s.contains("responsive search ads"))
    );
    assert_eq!(
        seen[0].body["output_config"]["format"]["type"],
        "json_schema"
    );
    let usage = c.get("/ai/usage").await;
    assert!(
        usage.body.contains("rate_limited"),
        "the failover shows on the usage page"
    );
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM ai_usage WHERE outcome = 'rate_limited' AND provider = 'openai'").await,
        1
    );
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM ai_usage WHERE outcome = 'ok' AND provider = 'anthropic' AND input_tokens = 90").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn overloaded_and_server_errors_fail_over_too() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("overload@example.com", "Tea Co").await;
    // rule_from_text: anthropic first, openai second.
    m.anthropic(
        529,
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    );
    m.openai(
        200,
        openai_ok(
            &json!({"rule": "rule \"Pause expensive\"\n  when cpa > 50 and clicks in last 7 days >= 100\n  then pause", "explanation": "Pauses campaigns with a high CPA."}).to_string(),
            50,
            20,
        ),
    );
    c.get("/ai/rule-draft").await.assert_status(StatusCode::OK);
    let r = c
        .post(
            "/ai/rule-draft",
            &[("description", "pause campaigns with CPA over 50")],
        )
        .await;
    assert!(r.body.contains("openai/gpt-4o-mini"), "{}", r.body);
    assert!(r.body.contains("passes every check"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spent_quota_is_not_retried_anywhere() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("quota@example.com", "Tea Co").await;
    m.openai(
        429,
        r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
    );
    m.anthropic(
        200,
        anthropic_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 90, 30),
    );
    c.get("/ai/copy").await;
    let r = c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    assert_eq!(m.openai_seen().await.len(), 1);
    assert_eq!(
        m.anthropic_seen().await.len(),
        0,
        "a spent quota is not a passing problem"
    );
    assert!(
        r.body.contains("quota or spending limit is used up"),
        "{}",
        r.body
    );
    assert!(r.body.contains("offline drafts"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_budget_stops_calls_and_says_when_it_resets() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &["--ai-monthly-tokens", "100"]).await;
    let mut c = t.sign_up("budget@example.com", "Tea Co").await;
    m.openai(
        200,
        openai_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 80, 40),
    );
    c.get("/ai/copy").await;
    c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    assert_eq!(m.openai_seen().await.len(), 1);
    let r = c.post("/ai/copy", &google_brief("Another Tea")).await;
    assert_eq!(m.openai_seen().await.len(), 1, "no call over budget");
    let (_, resets) = adpilot::ai::usage::month_bounds(chrono::Utc::now());
    let expected = format!(
        "used 120 of its 100 AI tokens this month. The budget resets on {} at 00:00 UTC",
        resets.format("%-d %B %Y")
    );
    assert!(r.body.contains(&expected), "{}", r.body);
    assert!(r.body.contains("offline drafts"));
    let usage = c.get("/ai/usage").await;
    usage.assert_status(StatusCode::OK);
    assert!(
        usage
            .body
            .contains("<strong>120</strong> of <strong>100</strong>"),
        "{}",
        usage.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeat_within_the_hour_comes_from_the_cache() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("cache@example.com", "Tea Co").await;
    m.openai(
        200,
        openai_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 120, 40),
    );
    c.get("/ai/copy").await;
    let first = c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    assert!(!first.body.contains("(from cache)"));
    let again = c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    assert_eq!(m.openai_seen().await.len(), 1, "no second HTTP call");
    assert!(
        again.body.contains("openai/gpt-4o-mini (from cache)"),
        "{}",
        again.body
    );
    assert!(again.body.contains("Green Tea Delivered"));
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM ai_usage WHERE cached").await,
        1
    );
    assert_eq!(count(&t, "SELECT count(*) AS n FROM ai_cache").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_rows_are_written_and_shown_to_owners() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("usage@example.com", "Tea Co").await;
    m.openai(
        200,
        openai_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 1200, 345),
    );
    c.get("/ai/copy").await;
    c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    let org = org_of(&t).await;
    assert_eq!(
        count(
            &t,
            &format!(
                "SELECT count(*) AS n FROM ai_usage WHERE org_id = '{org}' AND task = 'ad_copy' \
                 AND provider = 'openai' AND model = 'gpt-4o-mini' AND input_tokens = 1200 \
                 AND output_tokens = 345 AND cost_micros = 387"
            )
        )
        .await,
        1
    );
    let r = c.get("/ai/usage").await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("<strong>1,545</strong>"), "{}", r.body);
    assert!(r.body.contains("gpt-4o-mini"));
    assert!(r.body.contains("$0.0003"));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_provider_the_copy_page_writes_offline_drafts() {
    let (t, _dir) = app_without_provider().await;
    let mut c = t.sign_up("offline@example.com", "Tea Co").await;
    let page = c.get("/ai/copy").await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("offline drafts"));
    let mut form = google_brief("Green Leaf Tea");
    form.retain(|(k, _)| *k != "variations");
    form.extend([("variations", "2"), ("meta", "on"), ("tiktok", "on")]);
    let r = c.post("/ai/copy", &form).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(
        r.body
            .matches("class=\"generator\">offline drafts (built-in copywriter")
            .count(),
        3,
        "one label per platform (the kept-drafts form carries them too, hidden)"
    );
    assert_eq!(r.body.matches("within limits").count(), 6, "{}", r.body);
    assert!(!r.body.contains("flagged</span>"));
    assert_eq!(count(&t, "SELECT count(*) AS n FROM ai_usage").await, 0);
    // Bad input comes back with the problem, nothing drafted.
    let r = c
        .post("/ai/copy", &[("product", ""), ("variations", "9")])
        .await;
    assert!(r.body.contains("Name the product or service."));
    assert!(r.body.contains("Ask for 1 to 5 variations."));
    assert!(r.body.contains("Choose at least one platform."));
    // Rule drafts need a model and say so.
    let r = c
        .post("/ai/rule-draft", &[("description", "pause losers")])
        .await;
    assert!(
        r.body.contains("No AI provider is configured"),
        "{}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_primary_fails_over_to_the_fallback() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &["--ai-timeout-secs", "1"]).await;
    let mut c = t.sign_up("slow@example.com", "Tea Co").await;
    m.delay_openai(Duration::from_millis(2500));
    m.openai(
        200,
        openai_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 120, 40),
    );
    m.anthropic(
        200,
        anthropic_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 90, 30),
    );
    c.get("/ai/copy").await;
    let r = c.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    assert!(r.body.contains("anthropic/claude-haiku-4-5"), "{}", r.body);
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM ai_usage WHERE outcome = 'timeout'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_and_cache_belong_to_one_organization() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut a = t.sign_up("a@example.com", "Org A").await;
    let mut b = t.sign_up("b@example.com", "Org B").await;
    m.openai(
        200,
        openai_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 120, 40),
    );
    m.openai(
        200,
        openai_ok(&google_copy(&GOOD_HEADLINES, &GOOD_DESCRIPTIONS), 130, 40),
    );
    a.get("/ai/copy").await;
    a.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    b.get("/ai/copy").await;
    let r = b.post("/ai/copy", &google_brief("Green Leaf Tea")).await;
    assert!(
        !r.body.contains("(from cache)"),
        "another organization's cache is not used"
    );
    assert_eq!(m.openai_seen().await.len(), 2);
    let usage = b.get("/ai/usage").await;
    assert!(
        usage.body.contains("<strong>170</strong>"),
        "{}",
        usage.body
    );
    let usage = a.get("/ai/usage").await;
    assert!(
        usage.body.contains("<strong>160</strong>"),
        "{}",
        usage.body
    );
}

// ---------- rules from plain English ----------

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_draft_with_checker_errors_goes_back_to_the_model_once() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("rules@example.com", "Tea Co").await;
    let bad =
        json!({"rule": "rule \"Stop losers\"\n  when cpz > 50\n  then pause", "explanation": "x"});
    let good = json!({"rule": "rule \"Stop losers\"\n  when cpa > 50 on each of last 3 days and clicks in last 7 days >= 100\n  then pause", "explanation": "Pauses campaigns whose CPA stayed above 50 for three days."});
    m.anthropic(200, anthropic_ok(&bad.to_string(), 300, 40));
    m.anthropic(200, anthropic_ok(&good.to_string(), 400, 50));
    c.get("/ai/rule-draft").await;
    let r = c
        .post(
            "/ai/rule-draft",
            &[(
                "description",
                "Pause campaigns whose CPA is over 50 for 3 days",
            )],
        )
        .await;
    r.assert_status(StatusCode::OK);
    let seen = m.anthropic_seen().await;
    assert_eq!(seen.len(), 2);
    let second = seen[1].body["messages"][0]["content"]
        .as_str()
        .unwrap_or("");
    assert!(second.contains("line 2, column"), "{second}");
    assert!(second.contains("cpz"), "{second}");
    assert!(r.body.contains("corrected once"), "{}", r.body);
    assert!(r.body.contains("on each of last 3 days"));
    assert!(r.body.contains("Nothing has been saved"));
    assert!(r.body.contains("passes every check"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_draft_still_wrong_after_the_correction_is_shown_with_its_errors() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    let mut c = t.sign_up("rules2@example.com", "Tea Co").await;
    let bad =
        json!({"rule": "rule \"Stop losers\"\n  when cpz > 50\n  then pause", "explanation": "x"});
    m.anthropic(200, anthropic_ok(&bad.to_string(), 300, 40));
    m.anthropic(200, anthropic_ok(&bad.to_string(), 300, 40));
    c.get("/ai/rule-draft").await;
    let r = c
        .post("/ai/rule-draft", &[("description", "stop losers")])
        .await;
    assert_eq!(m.anthropic_seen().await.len(), 2, "one correction, no more");
    assert!(r.body.contains("error: line 2, column"), "{}", r.body);
}

// ---------- performance summary ----------

fn summary_input() -> adpilot::ai::summary::SummaryInput {
    use adpilot::ai::summary::{Figure, Mover, SummaryInput};
    SummaryInput {
        period: "1–7 November 2026".into(),
        previous_period: "25–31 October".into(),
        totals: vec![Figure {
            currency: "EUR".into(),
            metric: "Spend".into(),
            current: "1,234.50 EUR".into(),
            previous: "1,100.00 EUR".into(),
            change: "+12.2%".into(),
        }],
        movers: vec![Mover {
            campaign: "Summer sale".into(),
            currency: "EUR".into(),
            metric: "CPA".into(),
            current: "45.10 EUR".into(),
            previous: "30.00 EUR".into(),
            change: "+50.3%".into(),
        }],
        actions: vec!["Rule \"Stop losers\" paused Summer sale.".into()],
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_summary_that_invents_numbers_falls_back_to_the_template() {
    let (m, base) = mock().await;
    let (t, _dir) = app_with_mock(&base, &[]).await;
    t.sign_up("summary@example.com", "Tea Co").await;
    let org = org_of(&t).await;
    let invented =
        json!({"summary": "Spend rose 12.2% to 1,234.50 EUR, about 15% above plan."}).to_string();
    m.openai(200, openai_ok(&invented, 200, 30));
    m.openai(200, openai_ok(&invented, 250, 30));
    let s = adpilot::ai::summary::performance_summary(&t.app.ai, t.db(), org, &summary_input())
        .await
        .expect("summary");
    assert_eq!(s.generator, "template");
    assert!(
        s.fallback_reason
            .as_deref()
            .is_some_and(|r| r.contains("15")),
        "{s:?}"
    );
    assert!(s.text.contains("Summer sale"));
    let seen = m.openai_seen().await;
    assert_eq!(seen.len(), 2);
    let repair = seen[1].body["messages"][3]["content"]
        .as_str()
        .unwrap_or("");
    assert!(repair.contains("not in the input: 15"), "{repair}");

    let honest = json!({"summary": "Spend rose 12.2% to 1,234.50 EUR; Summer sale's CPA climbed to 45.10 EUR and a rule paused it."}).to_string();
    m.openai(200, openai_ok(&honest, 200, 30));
    let mut other = summary_input();
    other.period = "8–14 November 2026".into();
    let s = adpilot::ai::summary::performance_summary(&t.app.ai, t.db(), org, &other)
        .await
        .expect("summary");
    assert_eq!(s.generator, "openai/gpt-4o-mini");
    assert!(s.text.contains("45.10 EUR"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_usage_page_starts_empty_and_drafting_needs_a_login() {
    let (t, _dir) = app_without_provider().await;
    let mut c = t.sign_up("roles@example.com", "Tea Co").await;
    let r = c.get("/ai/usage").await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("No AI requests this month yet."));
    // Anonymous visitors are sent to log in.
    let mut anon = t.client();
    let r = anon.get("/ai/copy").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn members_draft_but_only_admins_see_usage_and_clients_do_neither() {
    let (t, _dir) = app_without_provider().await;
    let mut owner = t.sign_up("owner@example.com", "Agency").await;
    let mut joined = Vec::new();
    for (email, role) in [("m@example.com", "member"), ("c@example.com", "client")] {
        owner.get("/settings").await;
        owner
            .post("/settings/invites", &[("email", email), ("role", role)])
            .await;
        let path = t.last_email_link(&format!("{BASE}/invites/"));
        let mut c = t.client();
        c.get(&path).await;
        c.post(
            &path,
            &[("name", role), ("password", "a good long password")],
        )
        .await;
        c.get("/dashboard").await.assert_status(StatusCode::OK);
        joined.push(c);
    }
    let (member, client) = joined.split_at_mut(1);
    let (member, client) = (&mut member[0], &mut client[0]);

    let page = member.get("/ai/copy").await;
    page.assert_status(StatusCode::OK);
    let r = member
        .post("/ai/copy", &google_brief("Green Leaf Tea"))
        .await;
    assert!(r.body.contains("offline drafts (built-in copywriter"));
    member
        .get("/ai/usage")
        .await
        .assert_status(StatusCode::FORBIDDEN);

    client
        .get("/ai/copy")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    client.get("/dashboard").await;
    client
        .post("/ai/rule-draft", &[("description", "pause losers")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    client
        .get("/ai/usage")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let nav = client.get("/dashboard").await;
    assert!(
        !nav.body.contains("href=\"/ai/copy\""),
        "no link a client cannot use"
    );
}
