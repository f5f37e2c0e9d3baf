//! Rule pages: the list with the organization's safety settings, the editor (live checking,
//! highlighting, examples, preview), a rule's history and backtest, and the activity feed.
//! Every member may look; clients cannot change anything (the `Writer`/`Admin` extractors).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Router, routing::get, routing::post};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use super::describe::DescribeView;
use super::highlight::{self, Token};
use super::history::{self, Entry, RunRow};
use super::language::{self, Diagnostic, Rule, conflicts, vocabulary};
use super::runner::{self, PreviewRow, RunError};
use super::store::{self, Mode, Settings, StoredRule};
use super::{backtest, eval};
use crate::app::AppState;
use crate::web::context::{Admin, FlashKind, Shell, Viewer, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};
use crate::web::form::FieldErrors;
use crate::web::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rules", get(list_page).post(create))
        .route("/rules/new", get(new_page))
        .route("/rules/check", post(check_fragment))
        .route("/rules/insert", post(insert))
        .route("/rules/preview", post(preview_fragment))
        .route("/rules/example/{n}", get(example))
        .route("/rules/activity", get(activity_page))
        .route("/rules/settings", post(save_settings))
        .route("/rules/{id}", get(edit_page).post(update))
        .route("/rules/{id}/mode", post(set_mode))
        .route("/rules/{id}/pause", post(set_paused))
        .route("/rules/{id}/delete", post(delete))
        .route("/rules/{id}/history", get(history_page))
        .route("/rules/{id}/backtest", get(backtest_page))
        .merge(super::describe::router())
        .merge(super::golive::router())
}

impl From<RunError> for AppError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::NotFound => AppError::NotFound,
            e @ RunError::Busy => AppError::BadRequest(e.to_string()),
            RunError::Db(d) | RunError::Lease(crate::jobs::LeaseError::Db(d)) => d.into(),
            // Requests hold no job lease; only a job's check can lose one.
            RunError::Lease(l) => AppError::Internal(l.to_string()),
        }
    }
}

/// Rules to start from (the contract's examples).
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "Stop losers",
        "# Stop losers: CPA above 50 on each of the last 3 complete days, with enough data.\nrule \"Stop losers\"\n  for campaigns on google, meta where name contains \"Prospecting\"\n  when cpa > 50 on each of last 3 days and clicks in last 7 days >= 100\n  then pause\n  notify \"ops@acme.test\"\n  check every 15 minutes\n  at most once per 24 hours\n",
    ),
    (
        "Scale winners",
        "# Scale winners, never past 500 a day.\nrule \"Scale winners\"\n  when roas in last 3 days > 4 and spend in last 3 days > 100\n  then increase budget by 20% up to 500\n  at most once per 3 days\n",
    ),
    (
        "Spend guard",
        "# Spend guard: today already spent 1.5x the daily budget.\nrule \"Spend guard\"\n  for campaigns on tiktok\n  when spend today > 1.5 * daily_budget\n  then pause and notify webhook \"https://hooks.example.com/adpilot\"\n",
    ),
    (
        "Fading ROAS",
        "# Fading ROAS against the period before.\nrule \"Fading ROAS\"\n  when roas in last 7 days < 0.7 * roas in previous 7 days\n  then notify \"team@acme.test\"\n  check daily at 09:00\n",
    ),
    (
        "EUR cap",
        "# Only accounts billed in EUR; amounts are in the account's own currency.\nrule \"EUR cap\"\n  for campaigns where status is active and account is \"1234567890\"\n  when (spend yesterday > 200 EUR or cpc yesterday > 3 EUR) and not conversions yesterday > 0\n  then decrease budget by 25% down to 20 EUR\n",
    ),
];

/// A diagnostic as the editor shows it: position, the quoted line and a caret under the spot.
#[derive(Debug, Clone)]
pub struct DiagView {
    pub error: bool,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub help: Option<String>,
    pub source_line: String,
    pub caret_pad: String,
}

fn diag_views(ds: &[Diagnostic], src: &str) -> Vec<DiagView> {
    ds.iter()
        .map(|d| {
            let source_line = src
                .lines()
                .nth(d.line.saturating_sub(1))
                .unwrap_or("")
                .trim_end_matches('\r')
                .to_string();
            let caret_pad = source_line
                .chars()
                .take(d.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            DiagView {
                error: d.is_error(),
                line: d.line,
                col: d.col,
                message: d.message.clone(),
                help: d.help.clone(),
                source_line,
                caret_pad,
            }
        })
        .collect()
}

// ---- list and settings ----

struct ListRow {
    rule: StoredRule,
    last: Option<RunRow>,
}

#[derive(Template)]
#[template(path = "rules/list.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<ListRow>,
    settings: Settings,
    /// Errors of the safety settings form, and the two limits as typed when it came back.
    errors: FieldErrors,
    typed: Option<(String, String)>,
}

async fn list_page(State(app): State<AppState>, v: Viewer) -> AppResult<Response> {
    Ok(Page(list_of(&app, &v).await?).into_response())
}

async fn list_of(app: &AppState, v: &Viewer) -> AppResult<ListPage> {
    let (rows, settings) = app
        .db
        .tenant(v.org_id, async move |c| {
            let mut rows = Vec::new();
            for rule in store::list(c).await? {
                let last = history::runs(c, rule.id, 1).await?.pop();
                rows.push(ListRow { rule, last });
            }
            Ok::<_, AppError>((rows, store::settings(c).await?))
        })
        .await?;
    Ok(ListPage {
        shell: v.shell("rules"),
        rows,
        settings,
        errors: FieldErrors::default(),
        typed: None,
    })
}

#[derive(Debug, Deserialize)]
struct SettingsForm {
    max_actions_per_check: String,
    max_budget_increase_pct: String,
    #[serde(default)]
    kill_switch: Option<String>,
}

async fn save_settings(
    State(app): State<AppState>,
    a: Admin,
    Form(f): Form<SettingsForm>,
) -> AppResult<Response> {
    if let Some(field) = crate::web::form::control_field(&[
        ("max_actions_per_check", &f.max_actions_per_check),
        ("max_budget_increase_pct", &f.max_budget_increase_pct),
    ]) {
        let mut page = list_of(&app, &a.0).await?;
        page.errors = FieldErrors::one(field, crate::web::form::CONTROL_MESSAGE);
        page.typed = Some((
            crate::web::form::scrub(&f.max_actions_per_check),
            crate::web::form::scrub(&f.max_budget_increase_pct),
        ));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
    }
    let parse = |s: &str, max: i32| {
        s.trim()
            .parse::<i32>()
            .ok()
            .filter(|n| (0..=max).contains(n))
    };
    let (Some(max_actions), Some(max_pct)) = (
        parse(&f.max_actions_per_check, 100_000),
        parse(&f.max_budget_increase_pct, 10_000),
    ) else {
        return Ok(redirect_with_flash(
            "/rules",
            FlashKind::Error,
            "Limits must be whole numbers: actions per check 0 to 100000, budget increase 0 to 10000 %.",
        ));
    };
    let s = Settings {
        max_actions_per_check: max_actions,
        max_budget_increase_pct: max_pct,
        kill_switch: f.kill_switch.is_some_and(|v| v == "on" || v == "true"),
    };
    let (org, user) = (a.org_id, a.user_id);
    app.db
        .tenant(org, async move |c| {
            store::save_settings(c, org, user, s).await?;
            crate::audit::record(
                c,
                org,
                Some(user),
                "rules.settings",
                "rule safety settings",
                serde_json::json!({"max_actions_per_check": s.max_actions_per_check, "max_budget_increase_pct": s.max_budget_increase_pct, "kill_switch": s.kill_switch}),
            )
            .await?;
            Ok::<_, AppError>(())
        })
        .await?;
    let msg = if s.kill_switch {
        "Saved. The kill switch is ON: no live rule changes anything until you turn it off."
    } else {
        "Safety settings saved."
    };
    Ok(redirect_with_flash("/rules", FlashKind::Success, msg))
}

// ---- editor ----

#[derive(Template)]
#[template(path = "rules/editor.html")]
pub(super) struct EditorPage {
    shell: Shell,
    rule: Option<StoredRule>,
    text: String,
    mode: Mode,
    modes: [Mode; 3],
    check: CheckView,
    examples: Vec<(usize, &'static str)>,
    describe: DescribeView,
    /// The helper beside the editor: the language's words with snippets to insert.
    helper: Vec<vocabulary::Group>,
}

impl EditorPage {
    /// The editor with `text` checked as the rule `rule` (None: a new rule).
    pub(super) async fn new(
        app: &AppState,
        org: Uuid,
        shell: Shell,
        rule: Option<StoredRule>,
        text: String,
        mode: Mode,
        describe: DescribeView,
    ) -> AppResult<EditorPage> {
        let check = check_text(app, org, &text, rule.as_ref().map(|r| r.id)).await?;
        Ok(EditorPage {
            shell,
            rule,
            text,
            mode,
            modes: Mode::ALL,
            check,
            examples: examples(),
            describe,
            helper: vocabulary::groups(),
        })
    }

    fn is_mode(&self, m: &Mode) -> bool {
        self.mode == *m
    }

    fn action(&self) -> String {
        match &self.rule {
            Some(r) => format!("/rules/{}", r.id),
            None => "/rules".into(),
        }
    }
}

/// The live-check fragment: diagnostics, conflicts with live rules, highlighted text.
#[derive(Template, Clone)]
#[template(path = "rules/check.html")]
struct CheckView {
    diagnostics: Vec<DiagView>,
    conflicts: Vec<String>,
    tokens: Vec<Token>,
    ok: bool,
    empty: bool,
}

/// Where the first control character of `text` sits once the control characters are removed
/// (1-based line and column of the scrubbed text); None when there is none.
fn first_control(text: &str) -> Option<(usize, usize)> {
    let (mut line, mut col) = (1, 1);
    for c in text.chars() {
        if crate::web::form::is_forbidden_control(c) {
            return Some((line, col));
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    None
}

/// Checks `text` as the editor shows it. A control character (a NUL pasted with the text) is
/// an error at its place; the rest is checked without it, which is the text the page shows.
async fn check_text(
    app: &AppState,
    org: Uuid,
    text: &str,
    rule_id: Option<Uuid>,
) -> AppResult<CheckView> {
    let control = first_control(text);
    let scrubbed;
    let text = if control.is_some() {
        scrubbed = crate::web::form::scrub(text);
        scrubbed.as_str()
    } else {
        text
    };
    let checked = language::check_single(text);
    let mut diagnostics = checked.diagnostics.clone();
    if let Some((line, col)) = control {
        diagnostics.insert(
            0,
            Diagnostic {
                severity: language::Severity::Error,
                line,
                col,
                message: "an invisible control character (such as NUL) was here; it is removed from the text below".into(),
                help: Some("check the text and save it again".into()),
            },
        );
    }
    let mut conflict_msgs = Vec::new();
    if let (false, Some(rule)) = (checked.has_errors(), checked.rules.first().cloned()) {
        let others = app
            .db
            .tenant(org, async move |c| {
                let names: Vec<StoredRule> = store::list(c).await?;
                let accounts = store::account_currencies(c).await?;
                Ok::<_, AppError>((names, accounts))
            })
            .await?;
        let (others, accounts) = others;
        let taken: Vec<&str> = others
            .iter()
            .filter(|r| Some(r.id) != rule_id)
            .map(|r| r.name.as_str())
            .collect();
        if let Some(d) = language::checker::check_name_available(&rule, taken) {
            diagnostics.push(d);
        }
        diagnostics.extend(language::checker::warn_plain_amounts_across_currencies(
            &rule, &accounts,
        ));
        if let Some(d) = store::live_blocker_diagnostic(&rule) {
            // Valid language: a warning here, an error only when saving as dry run or live.
            diagnostics.push(Diagnostic {
                severity: language::Severity::Warning,
                message: format!("draft only: {}", d.message),
                ..d
            });
        }
        let mut set: Vec<Rule> = vec![rule];
        set.extend(
            others
                .iter()
                .filter(|r| Some(r.id) != rule_id && r.mode == Mode::Live && !r.paused)
                .filter_map(StoredRule::parsed),
        );
        conflict_msgs = conflicts::conflicts(&set)
            .into_iter()
            .filter(|c| c.first == 0)
            .map(|c| format!("{} (live rule)", c.message))
            .collect();
    }
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    Ok(CheckView {
        diagnostics: diag_views(&diagnostics, text),
        conflicts: conflict_msgs,
        tokens: highlight::tokens(text),
        ok,
        empty: text.trim().is_empty(),
    })
}

fn examples() -> Vec<(usize, &'static str)> {
    EXAMPLES.iter().enumerate().map(|(i, e)| (i, e.0)).collect()
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    /// Text to start from (a recommendation's "make this a rule"); shown, never saved.
    text: Option<String>,
}

/// Longest prefilled text accepted through the address.
const MAX_PREFILL: usize = 20_000;

async fn new_page(
    State(app): State<AppState>,
    w: Writer,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    // A new rule starts from a template that checks, not from an empty editor's error.
    let text: String = q
        .text
        .unwrap_or_else(|| vocabulary::TEMPLATE.to_string())
        .chars()
        .take(MAX_PREFILL)
        .collect();
    let describe = DescribeView::idle(&app);
    let page = EditorPage::new(
        &app,
        w.org_id,
        w.shell("rules"),
        None,
        text,
        Mode::Draft,
        describe,
    )
    .await?;
    Ok(Page(page).into_response())
}

pub(super) async fn load_rule(app: &AppState, org: Uuid, id: Uuid) -> AppResult<StoredRule> {
    app.db
        .tenant(org, async move |c| {
            Ok::<_, AppError>(store::get(c, id).await?)
        })
        .await
}

async fn edit_page(
    State(app): State<AppState>,
    v: Viewer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let mut rule = load_rule(&app, v.org_id, id).await?;
    if !v.role.can_write() {
        // Webhook URLs in a rule are credentials; a client reads the rule without them.
        rule.text = crate::reports::webhooks::redact_urls(&rule.text);
    }
    let (text, mode) = (rule.text.clone(), rule.mode);
    let describe = DescribeView::idle(&app);
    let page = EditorPage::new(
        &app,
        v.org_id,
        v.shell("rules"),
        Some(rule),
        text,
        mode,
        describe,
    )
    .await?;
    Ok(Page(page).into_response())
}

#[derive(Debug, Deserialize)]
struct RuleForm {
    text: String,
    #[serde(default)]
    mode: Option<String>,
    /// "yes" once the person saw what saving as live would change now.
    #[serde(default)]
    confirm: Option<String>,
}

/// The editor again with the text as sent and why it was not saved.
fn refused_editor(
    app: &AppState,
    w: &Writer,
    rule: Option<StoredRule>,
    text: String,
    mode: Mode,
    check: CheckView,
) -> AppResult<Response> {
    let page = EditorPage {
        shell: w.shell("rules"),
        rule,
        text,
        mode,
        modes: Mode::ALL,
        check,
        examples: examples(),
        describe: DescribeView::idle(app),
        helper: vocabulary::groups(),
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
}

/// Saves the rule (new when `id` is `None`) and records the save in the audit log.
async fn save_and_audit(
    app: &AppState,
    org: Uuid,
    user: Uuid,
    id: Option<Uuid>,
    text: String,
    mode: Mode,
) -> AppResult<store::SaveResult> {
    let saved = app
        .db
        .tenant(org, async move |c| {
            let r = store::save(c, org, user, id, &text, mode).await?;
            if let Ok(rule_id) = &r {
                crate::audit::record(
                    c,
                    org,
                    Some(user),
                    if id.is_some() {
                        "rule.update"
                    } else {
                        "rule.create"
                    },
                    &rule_id.to_string(),
                    serde_json::json!({"mode": mode.as_str()}),
                )
                .await?;
            }
            Ok::<_, AppError>(r)
        })
        .await?;
    Ok(saved)
}

async fn save_form(app: AppState, w: Writer, id: Option<Uuid>, f: RuleForm) -> AppResult<Response> {
    let mode = f
        .mode
        .as_deref()
        .and_then(Mode::parse)
        .unwrap_or(Mode::Draft);
    let (org, user, text) = (w.org_id, w.user_id, f.text.clone());
    let existing = match id {
        Some(id) => Some(load_rule(&app, org, id).await?),
        None => None,
    };
    if crate::web::form::has_forbidden_control(&f.text) {
        // Nothing is saved: the editor comes back with the error at its place and the text
        // without the control characters.
        let check = check_text(&app, org, &f.text, id).await?;
        let text = crate::web::form::scrub(&f.text);
        return refused_editor(&app, &w, existing, text, mode, check);
    }
    let was_live = existing.as_ref().is_some_and(|r| r.mode == Mode::Live);
    if mode == Mode::Live
        && !was_live
        && f.confirm.as_deref() != Some("yes")
        && let Ok(mut rules) = language::check_single(&f.text).into_result()
        && let Some(parsed) = rules.pop()
        // A rule that may not go live is refused by the save below, with the reason; it
        // gets no confirmation first.
        && store::mode_blocker(&parsed, Mode::Live).is_none()
    {
        let action = match id {
            Some(id) => format!("/rules/{id}"),
            None => "/rules".to_string(),
        };
        let back = match id {
            Some(id) => format!("/rules/{id}"),
            None => "/rules/new".to_string(),
        };
        return super::golive::confirm_page(
            &app,
            w.shell("rules"),
            org,
            &parsed,
            action,
            vec![
                ("text", f.text.clone()),
                ("mode", Mode::Live.as_str().to_string()),
            ],
            back,
        )
        .await;
    }
    let saved = save_and_audit(&app, org, user, id, text, mode).await?;
    match saved {
        Ok(rule_id) => Ok(redirect_with_flash(
            &format!("/rules/{rule_id}"),
            FlashKind::Success,
            &format!("Rule saved ({}).", mode.label()),
        )),
        Err(diags) => {
            let mut check = check_text(&app, org, &f.text, id).await?;
            // The save's own errors (a name taken meanwhile) come first.
            let mut views = diag_views(&diags, &f.text);
            views.retain(|d| {
                !check
                    .diagnostics
                    .iter()
                    .any(|c| c.line == d.line && c.col == d.col && c.message == d.message)
            });
            views.append(&mut check.diagnostics);
            check.diagnostics = views;
            check.ok = false;
            refused_editor(&app, &w, existing, f.text, mode, check)
        }
    }
}

async fn create(
    State(app): State<AppState>,
    w: Writer,
    Form(f): Form<RuleForm>,
) -> AppResult<Response> {
    save_form(app, w, None, f).await
}

async fn update(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    Form(f): Form<RuleForm>,
) -> AppResult<Response> {
    save_form(app, w, Some(id), f).await
}

#[derive(Debug, Deserialize)]
struct CheckForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    rule_id: Option<String>,
}

async fn check_fragment(
    State(app): State<AppState>,
    v: Viewer,
    Form(f): Form<CheckForm>,
) -> AppResult<Response> {
    let rule_id = f.rule_id.as_deref().and_then(|s| s.parse().ok());
    let view = check_text(&app, v.org_id, &f.text, rule_id).await?;
    Ok(Page(view).into_response())
}

#[derive(Template)]
#[template(path = "rules/preview.html")]
struct PreviewView {
    error: Option<String>,
    in_scope: usize,
    /// What the rule is about, as its text names it ("campaigns", "ad sets", "ads").
    what: &'static str,
    rows: Vec<PreviewLine>,
}

struct PreviewLine {
    campaign_id: Uuid,
    name: String,
    platform: &'static str,
    skipped: Option<String>,
    values: Vec<(String, String)>,
    actions: Vec<String>,
}

fn preview_line(r: PreviewRow) -> PreviewLine {
    let e = &r.evaluation;
    PreviewLine {
        campaign_id: r.campaign_id,
        name: r.campaign_name,
        platform: r.platform.label(),
        skipped: e.skipped.clone(),
        values: e
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_text().unwrap_or_else(|| "undefined".into())))
            .collect(),
        actions: e.actions.iter().map(describe).collect(),
    }
}

pub(super) fn describe(a: &eval::PlannedAction) -> String {
    let mut s = a.kind().replace('_', " ");
    if let (Some(f), Some(t)) = (a.from, a.to) {
        s.push_str(&format!(" {f} → {t}"));
    }
    if let eval::Step::Notify(t) = &a.step {
        match t {
            language::ast::NotifyTarget::Email { address, .. } => {
                s.push_str(&format!(" {address}"))
            }
            language::ast::NotifyTarget::Webhook { url, .. } => {
                s.push_str(&format!(" webhook {url}"))
            }
        }
    }
    if let Some(why) = &a.skipped {
        s.push_str(&format!(" — skipped: {why}"));
    }
    s
}

async fn preview_fragment(
    State(app): State<AppState>,
    v: Viewer,
    Form(f): Form<CheckForm>,
) -> AppResult<Response> {
    let checked = language::check_single(&f.text);
    let view = match checked.into_result() {
        // The editor's check places the control character's error; nothing is looked up.
        _ if crate::web::form::has_forbidden_control(&f.text) => PreviewView {
            error: Some(
                "Remove the invisible control character (such as NUL) the check above points at to see which campaigns match."
                    .into(),
            ),
            in_scope: 0,
            what: "campaigns",
            rows: Vec::new(),
        },
        Err(_) => PreviewView {
            error: Some("Fix the errors above to see which campaigns match.".into()),
            in_scope: 0,
            what: "campaigns",
            rows: Vec::new(),
        },
        Ok(mut rules) => match rules.pop() {
            None => PreviewView {
                error: Some("Write a rule first.".into()),
                in_scope: 0,
                what: "campaigns",
                rows: Vec::new(),
            },
            Some(rule) if rule.live_blocker().is_some() => PreviewView {
                error: rule
                    .live_blocker()
                    .map(|why| format!("No preview against your accounts: {why}.")),
                in_scope: 0,
                what: rule.level_word().as_str(),
                rows: Vec::new(),
            },
            Some(rule) => {
                let (in_scope, rows) = runner::preview(&app, v.org_id, &rule, Utc::now()).await?;
                PreviewView {
                    error: None,
                    in_scope,
                    what: rule.level_word().as_str(),
                    rows: rows.into_iter().map(preview_line).collect(),
                }
            }
        },
    };
    Ok(Page(view).into_response())
}

#[derive(Template)]
#[template(path = "rules/textarea.html")]
struct TextareaView {
    text: String,
}

/// An example (by number) or the template ("template"), as the editor's textarea.
async fn example(_v: Writer, Path(n): Path<String>) -> AppResult<Response> {
    let text = if n == "template" {
        vocabulary::TEMPLATE
    } else {
        let n: usize = n.parse().map_err(|_| AppError::NotFound)?;
        EXAMPLES.get(n).ok_or(AppError::NotFound)?.1
    };
    Ok(Page(TextareaView {
        text: text.to_string(),
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct InsertForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    rule_id: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    /// A snippet of the helper, added at the end.
    #[serde(default)]
    insert: Option<String>,
    /// An example's number, or "template": replaces the text.
    #[serde(default)]
    example: Option<String>,
}

/// `text` with `snippet` added at the end: a line snippet as a new line, a word at the end of
/// the last line. (With JavaScript the helper inserts at the cursor instead; see app.js.)
fn append_snippet(text: &str, snippet: &str) -> String {
    let mut out = text.trim_end().to_string();
    if snippet.ends_with('\n') {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(snippet);
    } else {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(snippet.trim_start());
        out.push('\n');
    }
    out
}

/// The helper's buttons without JavaScript: the editor again with the snippet added at the
/// end (or an example in place of the text). Nothing is saved.
async fn insert(
    State(app): State<AppState>,
    w: Writer,
    Form(f): Form<InsertForm>,
) -> AppResult<Response> {
    let rule = match f.rule_id.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => {
            let id: Uuid = id.parse().map_err(|_| AppError::NotFound)?;
            Some(load_rule(&app, w.org_id, id).await?)
        }
        None => None,
    };
    // A control character stays in until the check has placed its error; the page then
    // shows the text without it.
    let text = f.text.clone();
    let text = match (f.example.as_deref(), f.insert.as_deref()) {
        (Some("template"), _) => vocabulary::TEMPLATE.to_string(),
        (Some(n), _) => {
            let n: usize = n.parse().map_err(|_| AppError::NotFound)?;
            EXAMPLES.get(n).ok_or(AppError::NotFound)?.1.to_string()
        }
        (None, Some(snippet)) => {
            // Only the helper's own snippets: the page offers nothing else.
            let known = vocabulary::groups()
                .iter()
                .flat_map(|g| g.words.iter())
                .any(|w| w.snippet == snippet);
            if !known {
                return Err(AppError::BadRequest("Unknown snippet.".into()));
            }
            append_snippet(&text, snippet)
        }
        (None, None) => text,
    };
    let text: String = text.chars().take(MAX_PREFILL).collect();
    let mode = f
        .mode
        .as_deref()
        .and_then(Mode::parse)
        .or(rule.as_ref().map(|r| r.mode))
        .unwrap_or(Mode::Draft);
    let mut page = EditorPage::new(
        &app,
        w.org_id,
        w.shell("rules"),
        rule,
        text,
        mode,
        DescribeView::idle(&app),
    )
    .await?;
    if crate::web::form::has_forbidden_control(&page.text) {
        page.text = crate::web::form::scrub(&page.text);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
    }
    Ok(Page(page).into_response())
}

// ---- mode, pause, delete ----

#[derive(Debug, Deserialize)]
struct ModeForm {
    mode: String,
    /// "yes" once the person saw what going live would change now.
    #[serde(default)]
    confirm: Option<String>,
}

async fn set_mode(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    Form(f): Form<ModeForm>,
) -> AppResult<Response> {
    let mode = Mode::parse(&f.mode).ok_or_else(|| AppError::BadRequest("unknown mode".into()))?;
    let (org, user) = (w.org_id, w.user_id);
    let rule = load_rule(&app, org, id).await?;
    // Saved text was checked, but the language may have tightened since: never go live invalid.
    if mode == Mode::Live && rule.parsed().is_none() {
        return Ok(redirect_with_flash(
            &format!("/rules/{id}"),
            FlashKind::Error,
            "This rule's text no longer checks; fix and save it before making it live.",
        ));
    }
    if mode != Mode::Draft
        && let Some(why) = rule.parsed().and_then(|r| store::mode_blocker(&r, mode))
    {
        let stays = if rule.mode == Mode::Draft {
            "stays a draft"
        } else {
            "cannot go live yet"
        };
        return Ok(redirect_with_flash(
            &format!("/rules/{id}"),
            FlashKind::Error,
            &format!("This rule {stays}: {why}."),
        ));
    }
    // Going live: first show what the first check would change, nothing changes before "yes".
    if mode == Mode::Live
        && rule.mode != Mode::Live
        && f.confirm.as_deref() != Some("yes")
        && let Some(parsed) = rule.parsed()
    {
        return super::golive::confirm_page(
            &app,
            w.shell("rules"),
            org,
            &parsed,
            format!("/rules/{id}/mode"),
            vec![("mode", Mode::Live.as_str().to_string())],
            format!("/rules/{id}"),
        )
        .await;
    }
    // A rule that becomes live (and runs) counts against the plan's live rules.
    if mode == Mode::Live && rule.mode != Mode::Live && !rule.paused {
        if let Err(e) =
            crate::billing::enforce::check(&app, org, crate::billing::Limit::LiveRules).await
        {
            return Ok(redirect_with_flash(
                &format!("/rules/{id}"),
                FlashKind::Error,
                &e.to_string(),
            ));
        }
    }
    app.db
        .tenant(org, async move |c| {
            store::set_mode(c, id, mode).await?;
            crate::audit::record(
                c,
                org,
                Some(user),
                "rule.mode",
                &rule.name,
                serde_json::json!({"mode": mode.as_str()}),
            )
            .await?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(redirect_with_flash(
        &format!("/rules/{id}"),
        FlashKind::Success,
        &format!("Mode: {}.", mode.label()),
    ))
}

#[derive(Debug, Deserialize)]
struct PauseForm {
    paused: String,
}

async fn set_paused(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    Form(f): Form<PauseForm>,
) -> AppResult<Response> {
    let paused = f.paused == "true";
    let (org, user) = (w.org_id, w.user_id);
    let rule = load_rule(&app, org, id).await?;
    if !paused && rule.paused && rule.mode == Mode::Live {
        if let Err(e) =
            crate::billing::enforce::check(&app, org, crate::billing::Limit::LiveRules).await
        {
            return Ok(redirect_with_flash(
                &format!("/rules/{id}"),
                FlashKind::Error,
                &e.to_string(),
            ));
        }
    }
    app.db
        .tenant(org, async move |c| {
            store::set_paused(c, id, paused).await?;
            crate::audit::record(
                c,
                org,
                Some(user),
                if paused { "rule.pause" } else { "rule.unpause" },
                &rule.name,
                serde_json::json!({}),
            )
            .await?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(redirect_with_flash(
        &format!("/rules/{id}"),
        FlashKind::Success,
        if paused {
            "Rule paused."
        } else {
            "Rule running again."
        },
    ))
}

async fn delete(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let (org, user) = (w.org_id, w.user_id);
    let rule = load_rule(&app, org, id).await?;
    app.db
        .tenant(org, async move |c| {
            store::delete(c, id).await?;
            crate::audit::record(
                c,
                org,
                Some(user),
                "rule.delete",
                &rule.name,
                serde_json::json!({}),
            )
            .await?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(redirect_with_flash(
        "/rules",
        FlashKind::Success,
        "Rule deleted; its history went with it.",
    ))
}

// ---- history, activity, backtest ----

#[derive(Template)]
#[template(path = "rules/history.html")]
struct HistoryPage {
    shell: Shell,
    rule: StoredRule,
    runs: Vec<RunRow>,
    items: Vec<Entry>,
    /// Checks whose changes were undone.
    undone: std::collections::HashSet<Uuid>,
    labels: super::history_view::Labels,
}

impl HistoryPage {
    fn is_undone(&self, run: &Uuid) -> bool {
        self.undone.contains(run)
    }
}

async fn history_page(
    State(app): State<AppState>,
    v: Viewer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let (rule, runs, items, (undone, labels)) = app
        .db
        .tenant(v.org_id, async move |c| {
            let rule = store::get(c, id).await?;
            let runs = history::runs(c, id, 50).await?;
            let items = history::items(c, id, None, 200).await?;
            let ids: Vec<Uuid> = runs.iter().map(|r| r.id).collect();
            let undone = crate::campaigns::undo::undone_runs(c, &ids).await?;
            let labels = super::history_view::Labels::load(c, &items).await?;
            Ok::<_, AppError>((rule, runs, items, (undone, labels)))
        })
        .await?;
    Ok(Page(HistoryPage {
        shell: v.shell("rules"),
        rule,
        runs,
        items,
        undone,
        labels,
    })
    .into_response())
}

#[derive(Template)]
#[template(path = "rules/activity.html")]
struct ActivityPage {
    shell: Shell,
    items: Vec<Entry>,
    labels: super::history_view::Labels,
}

async fn activity_page(State(app): State<AppState>, v: Viewer) -> AppResult<Response> {
    let (items, labels) = app
        .db
        .tenant(v.org_id, async move |c| {
            let items = history::activity(c, 200).await?;
            let labels = super::history_view::Labels::load(c, &items).await?;
            Ok::<_, AppError>((items, labels))
        })
        .await?;
    Ok(Page(ActivityPage {
        shell: v.shell("rules"),
        items,
        labels,
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct BacktestQuery {
    /// As typed: an empty or non-numeric value comes back with a field error, not a 400.
    days: Option<String>,
}

#[derive(Template)]
#[template(path = "rules/backtest.html")]
struct BacktestPage {
    shell: Shell,
    rule: StoredRule,
    result: Option<backtest::Backtest>,
    error: Option<String>,
    days: String,
    days_error: Option<String>,
    /// When adpilot first recorded numbers of this organization (None: never).
    observed_since: Option<chrono::DateTime<Utc>>,
    /// Replayed days that ended before anything was observed.
    days_unobserved: i64,
}

async fn backtest_page(
    State(app): State<AppState>,
    v: Viewer,
    Path(id): Path<Uuid>,
    Query(q): Query<BacktestQuery>,
) -> AppResult<Response> {
    let rule = load_rule(&app, v.org_id, id).await?;
    // A long backtest costs seconds of CPU and any member (clients too) may start one.
    if let Err(retry) = app.limits.backtest(v.user_id) {
        return Err(AppError::RateLimited {
            message: retry.message(),
            retry_after_secs: retry.0.as_secs().max(1),
        });
    }
    let asked = q.days.is_some();
    let typed = q.days.unwrap_or_default();
    let days_text = typed.trim();
    let parsed_days: Result<u32, String> = if !asked {
        Ok(backtest::DEFAULT_DAYS)
    } else {
        match days_text.parse::<u32>() {
            Ok(d) if (1..=backtest::MAX_DAYS).contains(&d) => Ok(d),
            Ok(_) => Err(format!("Replay between 1 and {} days.", backtest::MAX_DAYS)),
            Err(_) => Err(format!(
                "Enter a number of days, such as {} (at most {}).",
                backtest::DEFAULT_DAYS,
                backtest::MAX_DAYS
            )),
        }
    };
    let now = Utc::now();
    let observed_since = app
        .db
        .tenant(v.org_id, async move |c| {
            Ok::<_, AppError>(crate::analytics::history::first_observed_at(c).await?)
        })
        .await?;
    let (days, days_error) = match parsed_days {
        Ok(d) => (Some(d), None),
        Err(e) => (None, Some(e)),
    };
    let (result, error) = match (rule.parsed(), days) {
        (_, None) => (None, None),
        (None, _) => (
            None,
            Some("The saved text no longer checks; fix it first.".to_string()),
        ),
        (Some(parsed), _) if parsed.live_blocker().is_some() => (
            None,
            parsed
                .live_blocker()
                .map(|why| format!("No backtest against your accounts: {why}.")),
        ),
        (Some(parsed), Some(days)) => (
            Some(backtest::run(&app, v.org_id, &parsed, days, now).await?),
            None,
        ),
    };
    // Day k is replayed as of now - k days: those before the first observation knew nothing.
    let days_unobserved = days.map_or(0, |d| {
        (1..=i64::from(d))
            .filter(|k| observed_since.is_none_or(|o| now - chrono::Duration::days(*k) < o))
            .count() as i64
    });
    let status = if days_error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let days_shown = match days {
        Some(d) => d.to_string(),
        None => typed.chars().filter(|c| !c.is_control()).take(20).collect(),
    };
    Ok((
        status,
        Page(BacktestPage {
            shell: v.shell("rules"),
            rule,
            result,
            error,
            days: days_shown,
            days_error,
            observed_since,
            days_unobserved,
        }),
    )
        .into_response())
}
