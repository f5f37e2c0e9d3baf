//! Pages and fragments: the ad copy drafter (/ai/copy), rule drafts from plain English
//! (POST /ai/rule-draft, a fragment for the rule editor) and the usage page (/ai/usage).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Form, Router, routing::get, routing::post};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::config::Task;
use super::copy::{self, CopyBrief, PlatformCopy};
use super::rules::{self, RuleDraft};
use super::saved::{self, KeptRow};
use super::usage::{self, UsageLine};
use super::{AiError, thousands};
use crate::app::AppState;
use crate::types::Platform;
use crate::web::context::{Admin, FlashKind, Shell, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};
use crate::web::form::{CONTROL_MESSAGE, FieldErrors, control_field, has_forbidden_control, scrub};
use crate::web::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ai/copy", get(copy_page).post(copy_submit))
        .route("/ai/copy/drafts", post(keep_drafts))
        .route("/ai/copy/drafts/{id}", get(reopen_drafts))
        .route("/ai/copy/drafts/{id}/delete", post(delete_drafts))
        .route("/ai/rule-draft", get(rule_page).post(rule_draft))
        .route("/ai/usage", get(usage_page))
}

fn rate_limited(secs: u64) -> AppError {
    AppError::RateLimited {
        message: format!("Too many AI requests. Try again in {secs} seconds."),
        retry_after_secs: secs,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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

    /// The field holding a control character, with its label.
    fn control_field(&self) -> Option<(&'static str, &'static str)> {
        let field = control_field(&[
            ("product", &self.product),
            ("description", &self.description),
            ("audience", &self.audience),
            ("tone", &self.tone),
            ("benefits", &self.benefits),
            ("keyword", &self.keyword),
            ("avoid", &self.avoid),
            ("variations", &self.variations),
        ])?;
        let label = match field {
            "product" => "Product or service",
            "description" => "Description",
            "audience" => "Audience",
            "tone" => "Tone",
            "benefits" => "Key benefits",
            "keyword" => "Primary keyword",
            "avoid" => "Words to avoid",
            _ => "Variations per platform",
        };
        Some((field, label))
    }

    /// The form as typed, without the characters no text field keeps.
    fn scrubbed(self) -> CopyForm {
        CopyForm {
            product: scrub(&self.product),
            description: scrub(&self.description),
            audience: scrub(&self.audience),
            tone: scrub(&self.tone),
            benefits: scrub(&self.benefits),
            keyword: scrub(&self.keyword),
            avoid: scrub(&self.avoid),
            variations: scrub(&self.variations),
            ..self
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
    /// Errors beside the brief's fields (the problems above the results say the same).
    errors: FieldErrors,
    results: Vec<PlatformCopy>,
    submitted: bool,
    model_ready: bool,
    tones: [&'static str; 5],
    /// The organization's kept drafts.
    kept: Vec<KeptRow>,
    /// The kept drafts on show: id, name and when they were kept.
    opened: Option<(Uuid, String, String)>,
    /// The name typed for "Keep these drafts" when it came back refused.
    keep_name: Option<String>,
}

impl CopyPage {
    fn line_id(&self, p: &Platform, v: &usize, l: &usize) -> String {
        format!("copy-{}-{}-{}", p.as_str(), v, l)
    }

    /// The drafts on the page, for "Keep these drafts".
    fn kept_json(&self) -> String {
        serde_json::to_string(&saved::from_results(&self.results)).unwrap_or_default()
    }

    /// The brief as typed, for "Keep these drafts".
    fn brief_json(&self) -> String {
        serde_json::to_string(&self.form).unwrap_or_default()
    }
}

async fn copy_page_of(app: &AppState, w: &Writer, form: CopyForm) -> AppResult<CopyPage> {
    let kept = app
        .db
        .tenant(w.org_id, async |c| Ok::<_, AppError>(saved::list(c).await?))
        .await?;
    Ok(CopyPage {
        shell: w.shell("ai"),
        form,
        problems: Vec::new(),
        errors: FieldErrors::default(),
        results: Vec::new(),
        submitted: false,
        model_ready: app.ai.available(Task::AdCopy),
        tones: ["friendly", "professional", "bold", "playful", "neutral"],
        kept,
        opened: None,
        keep_name: None,
    })
}

async fn copy_page(State(app): State<AppState>, w: Writer) -> AppResult<Response> {
    let page = copy_page_of(&app, &w, CopyForm::default()).await?;
    Ok(Page(page).into_response())
}

#[derive(Debug, Deserialize)]
struct KeepForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    brief: String,
    #[serde(default)]
    drafts: String,
}

/// "Keep these drafts": the brief and the drafts on the page, kept for the organization.
async fn keep_drafts(
    State(app): State<AppState>,
    w: Writer,
    Form(f): Form<KeepForm>,
) -> AppResult<Response> {
    let drafts = saved::parse(&f.drafts).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let form: CopyForm = serde_json::from_str(&f.brief)
        .map_err(|_| AppError::BadRequest(saved::KeepError::Damaged.to_string()))?;
    // The page sends the brief only after refusing its control characters, so one here is a
    // damaged form (and PostgreSQL's jsonb could not hold a NUL).
    if form.control_field().is_some()
        || [&form.google, &form.meta, &form.tiktok]
            .iter()
            .any(|o| o.as_deref().is_some_and(has_forbidden_control))
    {
        return Err(AppError::BadRequest(saved::KeepError::Damaged.to_string()));
    }
    if has_forbidden_control(&f.name) {
        let brief = form.brief();
        let mut page = copy_page_of(&app, &w, form).await?;
        page.results = saved::to_results(&drafts, &brief);
        page.errors = FieldErrors::one("keep_name", CONTROL_MESSAGE);
        page.keep_name = Some(scrub(&f.name));
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
    }
    let name: String = {
        let n = f.name.trim();
        let n = if n.is_empty() { form.product.trim() } else { n };
        let n = if n.is_empty() { "Ad copy" } else { n };
        n.chars().take(200).collect()
    };
    let brief = serde_json::to_value(&form).map_err(AppError::internal)?;
    let (org, user) = (w.org_id, w.user_id);
    let kept_name = name.clone();
    let id = app
        .db
        .tenant(org, async move |c| {
            let id = saved::save(c, org, user, &kept_name, brief, &drafts).await?;
            crate::audit::record(
                c,
                org,
                Some(user),
                "copy.kept",
                &id.to_string(),
                serde_json::json!({"name": kept_name}),
            )
            .await?;
            Ok::<_, AppError>(id)
        })
        .await?;
    Ok(redirect_with_flash(
        &format!("/ai/copy/drafts/{id}"),
        FlashKind::Success,
        &format!("Kept the drafts as “{name}”."),
    ))
}

/// Kept drafts, shown again with their brief (nothing is drafted anew).
async fn reopen_drafts(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let kept = app
        .db
        .tenant(w.org_id, async move |c| {
            Ok::<_, AppError>(saved::get(c, id).await?)
        })
        .await?
        .ok_or(AppError::NotFound)?;
    let form: CopyForm = serde_json::from_value(kept.brief).unwrap_or_default();
    let drafts = serde_json::to_string(&kept.drafts)
        .ok()
        .and_then(|j| saved::parse(&j).ok())
        .unwrap_or_default();
    let brief = form.brief();
    let mut page = copy_page_of(&app, &w, form).await?;
    page.results = saved::to_results(&drafts, &brief);
    page.opened = Some((
        kept.id,
        kept.name,
        kept.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    ));
    Ok(Page(page).into_response())
}

async fn delete_drafts(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let (org, user) = (w.org_id, w.user_id);
    let gone = app
        .db
        .tenant(org, async move |c| {
            let kept = saved::get(c, id).await?;
            if kept.is_some() {
                saved::delete(c, id).await?;
                crate::audit::record(
                    c,
                    org,
                    Some(user),
                    "copy.deleted",
                    &id.to_string(),
                    serde_json::json!({}),
                )
                .await?;
            }
            Ok::<_, AppError>(kept.map(|k| k.name))
        })
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(redirect_with_flash(
        "/ai/copy",
        FlashKind::Success,
        &format!("Deleted the kept drafts “{gone}”."),
    ))
}

async fn copy_submit(
    State(app): State<AppState>,
    w: Writer,
    Form(form): Form<CopyForm>,
) -> AppResult<Response> {
    if let Some((field, label)) = form.control_field() {
        let mut page = copy_page_of(&app, &w, form.scrubbed()).await?;
        page.submitted = true;
        page.errors = FieldErrors::one(field, CONTROL_MESSAGE);
        page.problems = vec![format!("{label}: {CONTROL_MESSAGE}")];
        // 200, as for any other problem of the brief, so that htmx shows the problems; htmx
        // swaps the form too, so that it holds the text without the control characters.
        return Ok((
            [("HX-Retarget", "#copy-page"), ("HX-Reselect", "#copy-page")],
            Page(page),
        )
            .into_response());
    }
    let brief = form.brief();
    let mut page = copy_page_of(&app, &w, form).await?;
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
    Ok(Page(page).into_response())
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
    Ok(Page(RulePage {
        shell: w.shell("ai"),
        model_ready: app.ai.available(Task::RuleFromText),
    })
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
    let page = if has_forbidden_control(description) {
        fragment(None, Some(CONTROL_MESSAGE.into()))
    } else if description.is_empty() {
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
    Ok(Page(page).into_response())
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
    Ok(Page(UsagePage {
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
    })
    .into_response())
}
