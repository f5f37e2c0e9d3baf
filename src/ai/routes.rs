//! Pages and fragments: the ad copy drafter (/ai/copy), rule drafts from plain English
//! (POST /ai/rule-draft, a fragment for the rule editor) and the usage page (/ai/usage).

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Router, routing::get};
use chrono::Utc;
use serde::Deserialize;

use super::config::Task;
use super::copy::{self, CopyBrief, PlatformCopy};
use super::rules::{self, RuleDraft};
use super::usage::{self, UsageLine};
use super::{AiError, thousands};
use crate::app::AppState;
use crate::types::Platform;
use crate::web::context::{Admin, Shell, Writer};
use crate::web::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ai/copy", get(copy_page).post(copy_submit))
        .route("/ai/rule-draft", get(rule_page).post(rule_draft))
        .route("/ai/usage", get(usage_page))
}

fn rate_limited(secs: u64) -> AppError {
    AppError::RateLimited {
        message: format!("Too many AI requests. Try again in {secs} seconds."),
        retry_after_secs: secs,
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CopyForm {
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub audience: String,
    #[serde(default)]
    pub tone: String,
    #[serde(default)]
    pub benefits: String,
    #[serde(default)]
    pub keyword: String,
    #[serde(default)]
    pub avoid: String,
    #[serde(default)]
    pub variations: String,
    pub google: Option<String>,
    pub meta: Option<String>,
    pub tiktok: Option<String>,
}

impl Default for CopyForm {
    fn default() -> Self {
        CopyForm {
            product: String::new(),
            description: String::new(),
            audience: String::new(),
            tone: "friendly".into(),
            benefits: String::new(),
            keyword: String::new(),
            avoid: String::new(),
            variations: "3".into(),
            google: Some("on".into()),
            meta: Some("on".into()),
            tiktok: Some("on".into()),
        }
    }
}

impl CopyForm {
    fn brief(&self) -> CopyBrief {
        let platforms = [
            (Platform::Google, &self.google),
            (Platform::Meta, &self.meta),
            (Platform::Tiktok, &self.tiktok),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_some())
        .map(|(p, _)| p)
        .collect();
        CopyBrief {
            product: self.product.clone(),
            description: self.description.clone(),
            audience: self.audience.clone(),
            tone: self.tone.clone(),
            benefits: self.benefits.clone(),
            keyword: self.keyword.clone(),
            avoid: self.avoid.clone(),
            // Unparseable counts come back as a problem on the form, not a 400.
            variations: self.variations.trim().parse().unwrap_or(0),
            platforms,
        }
    }

    fn tone_is(&self, t: &&str) -> bool {
        self.tone.eq_ignore_ascii_case(t)
    }
}

#[derive(Template)]
#[template(path = "ai/copy.html")]
struct CopyPage {
    shell: Shell,
    form: CopyForm,
    problems: Vec<String>,
    results: Vec<PlatformCopy>,
    submitted: bool,
    model_ready: bool,
    tones: [&'static str; 5],
}

impl CopyPage {
    fn line_id(&self, p: &Platform, v: &usize, l: &usize) -> String {
        format!("copy-{}-{}-{}", p.as_str(), v, l)
    }
}

fn copy_page_of(app: &AppState, shell: Shell, form: CopyForm) -> CopyPage {
    CopyPage {
        shell,
        form,
        problems: Vec::new(),
        results: Vec::new(),
        submitted: false,
        model_ready: app.ai.available(Task::AdCopy),
        tones: ["friendly", "professional", "bold", "playful", "neutral"],
    }
}

async fn copy_page(State(app): State<AppState>, w: Writer) -> AppResult<Response> {
    let page = copy_page_of(&app, w.shell("ai"), CopyForm::default());
    Ok(Html(page.render()?).into_response())
}

async fn copy_submit(
    State(app): State<AppState>,
    w: Writer,
    Form(form): Form<CopyForm>,
) -> AppResult<Response> {
    let brief = form.brief();
    let mut page = copy_page_of(&app, w.shell("ai"), form);
    page.submitted = true;
    page.problems = brief.problems();
    if page.problems.is_empty() {
        if page.model_ready {
            app.ai.check_rate(w.user_id).map_err(rate_limited)?;
            // The plan's monthly AI tokens (when billing is on) come before the model.
            crate::billing::enforce::check(&app, w.org_id, crate::billing::Limit::AiTokensPerMonth)
                .await?;
        }
        page.results = copy::draft(&app.ai, &app.db, w.org_id, &brief)
            .await
            .map_err(|e| match e {
                AiError::Db(d) => AppError::from(d),
                other => AppError::internal(other),
            })?;
    }
    Ok(Html(page.render()?).into_response())
}

#[derive(Debug, Deserialize)]
struct RuleForm {
    #[serde(default)]
    description: String,
}

#[derive(Template)]
#[template(path = "ai/rule_draft.html")]
struct RuleDraftFragment {
    draft: Option<RuleDraft>,
    message: Option<String>,
}

impl RuleDraftFragment {
    fn describe(&self, d: &crate::automation::language::Diagnostic) -> String {
        rules::describe(d)
    }
}

#[derive(Template)]
#[template(path = "ai/rule_page.html")]
struct RulePage {
    shell: Shell,
    model_ready: bool,
}

async fn rule_page(State(app): State<AppState>, w: Writer) -> AppResult<Response> {
    Ok(Html(
        RulePage {
            shell: w.shell("ai"),
            model_ready: app.ai.available(Task::RuleFromText),
        }
        .render()?,
    )
    .into_response())
}

/// A fragment with the drafted rule and the checker's diagnostics. Nothing is saved.
async fn rule_draft(
    State(app): State<AppState>,
    w: Writer,
    Form(form): Form<RuleForm>,
) -> AppResult<Response> {
    let description = form.description.trim();
    let fragment = |draft, message: Option<String>| RuleDraftFragment { draft, message };
    let page = if description.is_empty() {
        fragment(None, Some("Describe the rule first, e.g. \"pause campaigns whose CPA is over 50 for three days\".".into()))
    } else if description.chars().count() > rules::MAX_DESCRIPTION {
        fragment(
            None,
            Some(format!(
                "Keep the description under {} characters.",
                rules::MAX_DESCRIPTION
            )),
        )
    } else if !app.ai.available(Task::RuleFromText) {
        fragment(None, Some("No AI provider is configured, so rules cannot be drafted from text. Write the rule in the editor, or ask an operator to set an OpenAI or Anthropic API key.".into()))
    } else {
        app.ai.check_rate(w.user_id).map_err(rate_limited)?;
        crate::billing::enforce::check(&app, w.org_id, crate::billing::Limit::AiTokensPerMonth)
            .await?;
        match rules::draft_rule(&app.ai, &app.db, w.org_id, description).await {
            Ok(d) => fragment(Some(d), None),
            Err(AiError::Db(e)) => return Err(e.into()),
            Err(e) => fragment(None, Some(e.to_string())),
        }
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "ai/usage.html")]
struct UsagePage {
    shell: Shell,
    lines: Vec<UsageLine>,
    recent: Vec<usage::RecentCall>,
    used: String,
    budget: String,
    percent: u64,
    resets: String,
    total_cost: String,
    providers: Vec<(String, String, bool)>,
    tier: String,
}

async fn usage_page(State(app): State<AppState>, a: Admin) -> AppResult<Response> {
    let (start, resets) = usage::month_bounds(Utc::now());
    let (used, lines, recent) = app
        .db
        .tenant(a.org_id, async move |c| {
            let used = usage::tokens_since(c, start).await?;
            let lines = usage::summary_since(c, start).await?;
            let recent = usage::recent(c, 25).await?;
            Ok::<_, AppError>((used, lines, recent))
        })
        .await?;
    let budget = app.ai.config.monthly_tokens;
    let percent = (used.saturating_mul(100))
        .checked_div(budget)
        .unwrap_or(100)
        .min(100);
    let total_cost = usage::format_usd(lines.iter().map(|l| l.cost_micros).sum());
    let providers = app
        .ai
        .config
        .providers
        .values()
        .map(|p| (p.name.clone(), p.base_url.clone(), p.usable()))
        .collect();
    Ok(Html(
        UsagePage {
            shell: a.shell("ai"),
            lines,
            recent,
            used: thousands(used),
            budget: thousands(budget),
            percent,
            resets: resets.format("%-d %B %Y").to_string(),
            total_cost,
            providers,
            tier: app.ai.config.tier.clone(),
        }
        .render()?,
    )
    .into_response())
}
