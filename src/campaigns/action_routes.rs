//! Pause, resume and budget buttons of the campaign page. Every change goes through
//! [`super::actions`], the same audited path the rules use.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Form, Router, routing::post};
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use super::actions::{self, ActionKind, ActionRequest, ActionState, Source, Target};
use crate::app::AppState;
use crate::automation::eval::BudgetPlan;
use crate::types::{Currency, Money};
use crate::web::context::{FlashKind, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};

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
    let to = format!("/campaigns/{id}");
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
    run(&app, &w, id, ActionKind::Pause, intent_key(&form), None).await
}

async fn resume(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    Form(form): Form<ActionForm>,
) -> AppResult<Response> {
    run(&app, &w, id, ActionKind::Resume, intent_key(&form), None).await
}

async fn budget(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    Form(form): Form<ActionForm>,
) -> AppResult<Response> {
    let currency: String = app
        .db
        .tenant(w.org_id, async move |c| {
            Ok::<_, AppError>(super::get(c, id).await?.currency)
        })
        .await?;
    let currency: Currency = currency.parse().map_err(|_| AppError::NotFound)?;
    let raw = form
        .budget
        .as_deref()
        .or(form.daily_budget.as_deref())
        .unwrap_or("")
        .trim()
        .replace(',', "");
    let amount: Option<Decimal> = raw.parse().ok();
    let money = amount
        .filter(|a| *a > Decimal::ZERO)
        .and_then(|a| Money::from_major(a, currency))
        .filter(|m| m.to_minor_units() > 0);
    let Some(money) = money else {
        return Ok(redirect_with_flash(
            &format!("/campaigns/{id}"),
            FlashKind::Error,
            &format!("Enter a daily budget above zero in {currency}, such as 50 or 12.50."),
        ));
    };
    run(
        &app,
        &w,
        id,
        ActionKind::SetBudget,
        intent_key(&form),
        Some(BudgetPlan::Set(money)),
    )
    .await
}

/// A fresh intent id for a form drawn now (templates call this once per form).
pub fn new_intent() -> String {
    Uuid::now_v7().to_string()
}
