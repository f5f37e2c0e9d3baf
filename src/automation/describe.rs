//! "Describe the rule" in the rule editor: the model drafts rule text (src/ai/rules.rs runs it
//! through our checker and sends the errors back once), and the editor shows the draft as a
//! diff against the text being edited, with a backtest of the draft. Nothing is saved here:
//! "Use this draft" only puts the text in the editor, and the user still presses Save.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Form, Router, routing::post};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use super::backtest::{self, Backtest};
use super::language;
use super::routes::{EditorPage, load_rule};
use super::store::Mode;
use crate::ai::AiError;
use crate::ai::config::Task;
use crate::ai::rules::{self as ai_rules, RuleDraft};
use crate::app::AppState;
use crate::web::context::Writer;
use crate::web::error::AppResult;
use crate::web::page::Page;

/// Days the draft is replayed over: enough to see how often it would act, short enough to
/// answer while the user waits.
pub const BACKTEST_DAYS: u32 = 14;

pub fn router() -> Router<AppState> {
    Router::new().route("/rules/describe", post(describe))
}

/// One line of a line diff: ' ' kept, '-' only in the current text, '+' only in the draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub sign: char,
    pub text: String,
}

impl DiffLine {
    pub fn class(&self) -> &'static str {
        match self.sign {
            '+' => "diff-add",
            '-' => "diff-del",
            _ => "diff-same",
        }
    }
}

/// Longest texts diffed line by line; rules are a few lines, so a quadratic table is fine, and
/// past this the diff is shown as "replace everything".
const MAX_DIFF_LINES: usize = 400;

/// A line diff of `old` → `new` (longest common subsequence).
pub fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let line = |sign, t: &str| DiffLine {
        sign,
        text: t.to_string(),
    };
    if a.len() > MAX_DIFF_LINES || b.len() > MAX_DIFF_LINES {
        return a
            .iter()
            .map(|t| line('-', t))
            .chain(b.iter().map(|t| line('+', t)))
            .collect();
    }
    // lcs[i][j]: common lines of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(line(' ', a[i]));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(line('-', a[i]));
            i += 1;
        } else {
            out.push(line('+', b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|t| line('-', t)));
    out.extend(b[j..].iter().map(|t| line('+', t)));
    out
}

pub struct DraftView {
    pub text: String,
    pub explanation: String,
    pub generator: String,
    pub corrected: bool,
    pub ok: bool,
    /// "error: line 2, column 8: ..." per diagnostic.
    pub diagnostics: Vec<(bool, String)>,
    pub diff: Vec<DiffLine>,
    pub backtest: Option<Backtest>,
    pub backtest_days: u32,
}

impl DraftView {
    fn new(d: RuleDraft, current: &str) -> DraftView {
        DraftView {
            ok: !d.has_errors(),
            diagnostics: d
                .diagnostics
                .iter()
                .map(|x| {
                    (
                        x.is_error(),
                        format!("{}: {}", x.severity.as_str(), ai_rules::describe(x)),
                    )
                })
                .collect(),
            diff: diff(current, &d.text),
            text: d.text,
            explanation: d.explanation,
            generator: d.generator,
            corrected: d.corrected,
            backtest: None,
            backtest_days: BACKTEST_DAYS,
        }
    }
}

/// The "Describe the rule" section of the editor.
#[derive(Template)]
#[template(path = "rules/describe.html")]
pub struct DescribeView {
    pub model_ready: bool,
    pub description: String,
    pub message: Option<String>,
    pub draft: Option<DraftView>,
}

impl DescribeView {
    pub fn idle(app: &AppState) -> DescribeView {
        DescribeView {
            model_ready: app.ai.available(Task::RuleFromText),
            description: String::new(),
            message: None,
            draft: None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct DescribeForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    rule_id: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    describe_action: String,
    #[serde(default)]
    draft_text: String,
}

fn message(view: &mut DescribeView, m: impl Into<String>) {
    view.message = Some(m.into());
}

/// Drafts the rule (or, for "Use this draft" without JavaScript, puts the draft in the
/// editor). htmx gets the section; a plain post gets the whole editor with the text kept.
async fn describe(
    State(app): State<AppState>,
    w: Writer,
    headers: HeaderMap,
    Form(f): Form<DescribeForm>,
) -> AppResult<Response> {
    let rule_id: Option<Uuid> = f.rule_id.as_deref().and_then(|s| s.trim().parse().ok());
    let mut view = DescribeView::idle(&app);
    view.description = f.description.trim().to_string();
    let mut text = f.text.clone();
    let controls = crate::web::form::control_field(&[
        ("description", &f.description),
        ("text", &f.text),
        ("draft_text", &f.draft_text),
    ]);
    if controls.is_some() {
        // Nothing is asked of the model; what was typed comes back without the characters.
        view.description = crate::web::form::scrub(&view.description);
        text = crate::web::form::scrub(&f.text);
        message(&mut view, crate::web::form::CONTROL_MESSAGE);
    } else if f.describe_action == "use" {
        // The draft goes into the editor; saving is still the user's Save.
        text = f.draft_text.clone();
    } else {
        draft_into(&app, &w, &mut view, &f.text).await?;
    }
    if headers.contains_key("hx-request") {
        return Ok(Page(view).into_response());
    }
    let rule = match rule_id {
        Some(id) => Some(load_rule(&app, w.org_id, id).await?),
        None => None,
    };
    let mode = f
        .mode
        .as_deref()
        .and_then(Mode::parse)
        .or(rule.as_ref().map(|r| r.mode))
        .unwrap_or(Mode::Draft);
    let page = EditorPage::new(&app, w.org_id, w.shell("rules"), rule, text, mode, view).await?;
    Ok(Page(page).into_response())
}

async fn draft_into(
    app: &AppState,
    w: &Writer,
    view: &mut DescribeView,
    current: &str,
) -> AppResult<()> {
    let description = view.description.clone();
    if description.is_empty() {
        message(
            view,
            "Describe the rule first, e.g. \"pause campaigns whose CPA is over 50 for three days\".",
        );
        return Ok(());
    }
    if description.chars().count() > ai_rules::MAX_DESCRIPTION {
        message(
            view,
            format!(
                "Keep the description under {} characters.",
                ai_rules::MAX_DESCRIPTION
            ),
        );
        return Ok(());
    }
    if !view.model_ready {
        // No fake drafts: say what does and does not work without a model.
        message(
            view,
            "No AI provider is configured, so adpilot cannot turn a description into a rule. \
             Everything else works without one: write the rule in the editor (it is checked as you type), \
             start from an example, preview what it matches now, and backtest it once saved.",
        );
        return Ok(());
    }
    if let Err(secs) = app.ai.check_rate(w.user_id) {
        message(
            view,
            format!("Too many AI requests. Try again in {secs} seconds."),
        );
        return Ok(());
    }
    if let Err(e) =
        crate::billing::enforce::check(app, w.org_id, crate::billing::Limit::AiTokensPerMonth).await
    {
        return match e {
            crate::billing::enforce::LimitError::Reached { .. } => {
                message(view, e.to_string());
                Ok(())
            }
            other => Err(other.into()),
        };
    }
    let draft = match ai_rules::draft_rule(&app.ai, &app.db, w.org_id, &description).await {
        Ok(d) => d,
        Err(AiError::Db(e)) => return Err(e.into()),
        Err(e) => {
            message(view, e.to_string());
            return Ok(());
        }
    };
    let mut d = DraftView::new(draft, current);
    if d.ok {
        if let Some(rule) = language::check_single(&d.text).rules.first() {
            d.backtest = Some(backtest::run(app, w.org_id, rule, BACKTEST_DAYS, Utc::now()).await?);
        }
    }
    view.draft = Some(d);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signs(d: &[DiffLine]) -> String {
        d.iter().map(|l| l.sign).collect()
    }

    #[test]
    fn the_diff_keeps_common_lines_and_marks_changes() {
        let old = "rule \"A\"\n  when cpa > 50\n  then pause\n";
        let new = "rule \"A\"\n  when cpa > 40\n  then pause\n  notify \"x@y.z\"\n";
        let d = diff(old, new);
        assert_eq!(signs(&d), " -+ +");
        assert_eq!(d[1].text, "  when cpa > 50");
        assert_eq!(d[2].text, "  when cpa > 40");
        assert_eq!(signs(&diff("", "a\nb")), "++");
        assert_eq!(signs(&diff("a\nb", "a\nb")), "  ");
    }
}
