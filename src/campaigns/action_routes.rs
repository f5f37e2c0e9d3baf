//! Pause, resume and budget buttons of the campaign page. Every change goes through
//! [`super::actions`], the same audited path the rules use.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Form, Router, routing::post};
use serde::Deserialize;
use uuid::Uuid;

use super::actions::{self, ActionKind, ActionRequest, ActionState, Source, Target};
use crate::app::AppState;
use crate::automation::eval::BudgetPlan;
use crate::types::{Currency, Money};
use crate::web::context::{FlashKind, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};
use crate::web::money::{needs_confirmation, parse_money, plain};
use crate::web::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns/{id}/pause", post(pause))
        .route("/campaigns/{id}/resume", post(resume))
        .route("/campaigns/{id}/budget", post(budget))
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    /// Minted when the page was drawn, so a double submit is one change.
    #[serde(default)]
    intent: Option<Uuid>,
    #[serde(default)]
    budget: Option<String>,
    /// The campaign page's field name.
    #[serde(default)]
    daily_budget: Option<String>,
    /// The amount (plain digits) the person confirmed on the second step.
    #[serde(default)]
    confirm: Option<String>,
    /// The campaigns list the switch was clicked on, to come back to.
    #[serde(default)]
    back: Option<String>,
}

fn intent_key(form: &ActionForm) -> String {
    format!("user:{}", form.intent.unwrap_or_else(Uuid::now_v7))
}

async fn run(
    app: &AppState,
    w: &Writer,
    id: Uuid,
    kind: ActionKind,
    key: String,
    plan: Option<BudgetPlan>,
    back: Option<&str>,
) -> AppResult<Response> {
    let outcome = actions::request(
        app,
        w.org_id,
        ActionRequest {
            target: Target::Campaign(id),
            kind,
            source: Source::User(w.user_id),
            intent_key: key,
            budget: plan,
            bid: None,
        },
    )
    .await?;
    let to = match back.filter(|b| {
        (b.starts_with("/campaigns?") || *b == "/campaigns") && !b.contains(['\r', '\n'])
    }) {
        Some(b) => b.to_string(),
        None => format!("/campaigns/{id}"),
    };
    let message = outcome.message.unwrap_or_default();
    Ok(match outcome.state {
        ActionState::Succeeded => {
            redirect_with_flash(&to, FlashKind::Success, &format!("Done: {message}."))
        }
        ActionState::Skipped => {
            redirect_with_flash(&to, FlashKind::Info, &format!("Nothing to do: {message}."))
        }
        ActionState::Failed => redirect_with_flash(
            &to,
            FlashKind::Error,
            &format!("The platform refused: {message}."),
        ),
        ActionState::Pending | ActionState::Executing => {
            redirect_with_flash(&to, FlashKind::Info, &message)
        }
    })
}

async fn pause(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    Form(form): Form<ActionForm>,
) -> AppResult<Response> {
    let key = intent_key(&form);
    run(
        &app,
        &w,
        id,
        ActionKind::Pause,
        key,
        None,
        form.back.as_deref(),
    )
    .await
}

async fn resume(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    Form(form): Form<ActionForm>,
) -> AppResult<Response> {
    let key = intent_key(&form);
    run(
        &app,
        &w,
        id,
        ActionKind::Resume,
        key,
        None,
        form.back.as_deref(),
    )
    .await
}

#[derive(Template)]
#[template(path = "campaigns/budget_confirm.html")]
struct ConfirmPage {
    shell: crate::web::context::Shell,
    id: Uuid,
    name: String,
    intent: String,
    from: String,
    to: String,
    reference: String,
    reference_is_current: bool,
    amount: String,
}

async fn budget(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    Form(form): Form<ActionForm>,
) -> AppResult<Response> {
    let (campaign, largest) = app
        .db
        .tenant(w.org_id, async move |c| {
            let campaign = super::get(c, id).await?;
            let largest =
                super::budget_input::largest_daily_budget(c, &[campaign.account_id]).await?;
            Ok::<_, AppError>((campaign, largest))
        })
        .await?;
    let currency: Currency = campaign.currency.parse().map_err(|_| AppError::NotFound)?;
    let typed = form
        .budget
        .as_deref()
        .or(form.daily_budget.as_deref())
        .unwrap_or("");
    let money = match parse_money(typed, currency) {
        Ok(m) => m,
        Err(e) => {
            // Back to the page with the amount still in the field and the reason beside it.
            let echo: String = typed.chars().filter(|c| !c.is_control()).take(60).collect();
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("budget_typed", &echo)
                .finish();
            return Ok(redirect_with_flash(
                &format!("/campaigns/{id}?{q}#budget-form"),
                FlashKind::Error,
                &format!("The budget was not changed. {e}"),
            ));
        }
    };
    let current = campaign
        .daily_budget_micros
        .map(|m| Money::new(m, currency));
    let confirmed = form.confirm.as_deref() == Some(plain(money).as_str());
    if !confirmed
        && let Some(reference) =
            needs_confirmation(money, current, largest.map(|m| Money::new(m, currency)))
    {
        // Nothing is sent yet: the person sees old → new and confirms (or not).
        let page = ConfirmPage {
            shell: w.shell("campaigns"),
            id,
            name: campaign.name,
            intent: form
                .intent
                .map(|u| u.to_string())
                .unwrap_or_else(new_intent),
            from: current
                .map(|m| m.display())
                .unwrap_or_else(|| "none".into()),
            to: money.display(),
            reference_is_current: current == Some(reference),
            reference: reference.display(),
            amount: plain(money),
        };
        return Ok(Page(page).into_response());
    }
    run(
        &app,
        &w,
        id,
        ActionKind::SetBudget,
        intent_key(&form),
        Some(BudgetPlan::Set(money)),
        None,
    )
    .await
}

/// A fresh intent id for a form drawn now (templates call this once per form).
pub fn new_intent() -> String {
    Uuid::now_v7().to_string()
}
