//! The Alerts page: open and past alerts, delivery channels, monthly budgets to pace against.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Router, routing::get, routing::post};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use super::alerts::{self, Alert, Channel};
use super::webhooks;
use crate::app::AppState;
use crate::connections::service::ManagedAccount;
use crate::types::Money;
use crate::web::context::{Admin, FlashKind, Shell, Viewer, Writer};
use crate::web::error::{AppError, AppResult};
use crate::web::middleware::redirect_with_flash;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(page))
        .route("/alerts/check", post(check_now))
        .route("/alerts/channels", post(add_channel))
        .route("/alerts/channels/{id}/delete", post(delete_channel))
        .route("/alerts/budgets", post(add_budget))
        .route("/alerts/budgets/{id}/delete", post(delete_budget))
}

pub struct BudgetRow {
    pub id: Uuid,
    pub account: String,
    pub budget: String,
    pub percent: i32,
}

#[derive(Template)]
#[template(path = "reports/alerts.html")]
struct AlertsPage {
    shell: Shell,
    alerts: Vec<Alert>,
    channels: Vec<Channel>,
    budgets: Vec<BudgetRow>,
    accounts: Vec<ManagedAccount>,
    error: Option<String>,
}

async fn render(app: &AppState, v: &Viewer, error: Option<String>) -> AppResult<AlertsPage> {
    let (alerts, channels, budgets, accounts) = app
        .db
        .tenant(v.org_id, async move |c| {
            let a = alerts::list(c, 200).await?;
            let ch = alerts::channels(c).await?;
            let accounts = crate::connections::service::managed_accounts(c).await?;
            #[derive(diesel::QueryableByName)]
            struct B {
                #[diesel(sql_type = SqlUuid)]
                id: Uuid,
                #[diesel(sql_type = Nullable<SqlUuid>)]
                account_id: Option<Uuid>,
                #[diesel(sql_type = BigInt)]
                monthly_budget_micros: i64,
                #[diesel(sql_type = Integer)]
                alert_at_percent: i32,
            }
            let rows: Vec<B> = diesel::sql_query("SELECT id, account_id, monthly_budget_micros, alert_at_percent FROM budget_targets ORDER BY created_at").load(c).await?;
            let budgets = rows
                .into_iter()
                .map(|b| {
                    let acc = accounts.iter().find(|a| Some(a.id) == b.account_id);
                    BudgetRow {
                        id: b.id,
                        account: acc.map(|a| a.name.clone()).unwrap_or_else(|| "(campaign)".into()),
                        budget: acc.map(|a| Money::new(b.monthly_budget_micros, a.currency).display()).unwrap_or_default(),
                        percent: b.alert_at_percent,
                    }
                })
                .collect();
            Ok::<_, AppError>((a, ch, budgets, accounts))
        })
        .await?;
    Ok(AlertsPage {
        shell: v.shell("alerts"),
        alerts,
        channels,
        budgets,
        accounts,
        error,
    })
}

async fn page(State(app): State<AppState>, v: Viewer) -> AppResult<Response> {
    Ok(Html(render(&app, &v, None).await?.render()?).into_response())
}

async fn check_now(State(app): State<AppState>, w: Writer) -> AppResult<Response> {
    let report = alerts::evaluate(&app, w.org_id)
        .await
        .map_err(AppError::internal)?;
    let raised = report.raised.len();
    let org = w.org_id;
    app.db
        .tenant(org, async move |c| {
            for id in report.raised {
                crate::jobs::enqueue(c, Some(org), &alerts::Deliver { alert_id: id }).await?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(redirect_with_flash(
        "/alerts",
        FlashKind::Info,
        &format!(
            "Checked: {raised} new, {} still open, {} resolved.",
            report.still_open, report.resolved
        ),
    ))
}

#[derive(Debug, Deserialize)]
struct ChannelForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
}

async fn add_channel(
    State(app): State<AppState>,
    a: Admin,
    Form(form): Form<ChannelForm>,
) -> AppResult<Response> {
    let target = form.target.trim().to_string();
    let checked = match form.kind.as_str() {
        "email" => crate::auth::accounts::normalize_email(&target)
            .map(|_| ())
            .map_err(|_| "Enter an email address such as ops@example.com.".to_string()),
        "slack" | "webhook" => webhooks::check_url(&target, app.config.webhooks_allow_private)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        _ => Err("Choose email, Slack or webhook.".to_string()),
    };
    if let Err(message) = checked {
        let page = render(&app, &a, Some(message)).await?;
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            Html(page.render()?),
        )
            .into_response());
    }
    let secret = (form.kind != "email").then(crate::auth::tokens::new_token);
    let kind = form.kind.clone();
    let org = a.org_id;
    let actor = a.user_id;
    app.db
        .tenant(org, async move |c| {
            diesel::sql_query("INSERT INTO alert_channels (id, org_id, kind, target, signing_secret) VALUES ($1, app_current_org(), $2, $3, $4)")
                .bind::<SqlUuid, _>(Uuid::now_v7())
                .bind::<Text, _>(&kind)
                .bind::<Text, _>(&target)
                .bind::<Nullable<Text>, _>(secret)
                .execute(c)
                .await?;
            crate::audit::record(c, org, Some(actor), "alerts.channel_added", &kind, serde_json::json!({"target": target})).await?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(redirect_with_flash(
        "/alerts",
        FlashKind::Success,
        "Channel added.",
    ))
}

async fn delete_channel(
    State(app): State<AppState>,
    a: Admin,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let n = app
        .db
        .tenant(a.org_id, async move |c| {
            Ok::<_, AppError>(
                diesel::sql_query("DELETE FROM alert_channels WHERE id = $1")
                    .bind::<SqlUuid, _>(id)
                    .execute(c)
                    .await?,
            )
        })
        .await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(redirect_with_flash(
        "/alerts",
        FlashKind::Success,
        "Channel removed.",
    ))
}

#[derive(Debug, Deserialize)]
struct BudgetForm {
    account_id: Option<Uuid>,
    #[serde(default)]
    budget: String,
    #[serde(default)]
    percent: String,
}

async fn add_budget(
    State(app): State<AppState>,
    a: Admin,
    Form(form): Form<BudgetForm>,
) -> AppResult<Response> {
    let accounts = app
        .db
        .tenant(a.org_id, async move |c| {
            Ok::<_, AppError>(crate::connections::service::managed_accounts(c).await?)
        })
        .await?;
    let account = form
        .account_id
        .and_then(|id| accounts.iter().find(|x| x.id == id).cloned());
    let amount: Option<Decimal> = form.budget.trim().replace(',', "").parse().ok();
    let percent: Option<i32> = form
        .percent
        .trim()
        .parse()
        .ok()
        .filter(|p| (1..=1000).contains(p));
    let problem = match (&account, amount, percent) {
        (None, _, _) => Some("Choose an ad account.".to_string()),
        (Some(acc), amount, _) if amount.is_none_or(|x| x <= Decimal::ZERO) => Some(format!(
            "Enter a monthly budget above zero in {}.",
            acc.currency
        )),
        (_, _, None) => Some("Alert at a percentage between 1 and 1000.".to_string()),
        _ => None,
    };
    let (Some(acc), Some(amount), Some(percent), None) =
        (account, amount, percent, problem.clone())
    else {
        let page = render(&app, &a, problem).await?;
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            Html(page.render()?),
        )
            .into_response());
    };
    let money = Money::from_major(amount, acc.currency)
        .ok_or_else(|| AppError::BadRequest("That amount is too large.".into()))?;
    app.db
        .tenant(a.org_id, async move |c| {
            diesel::sql_query("INSERT INTO budget_targets (id, org_id, account_id, monthly_budget_micros, alert_at_percent) VALUES ($1, app_current_org(), $2, $3, $4)")
                .bind::<SqlUuid, _>(Uuid::now_v7())
                .bind::<SqlUuid, _>(acc.id)
                .bind::<BigInt, _>(money.micros)
                .bind::<Integer, _>(percent)
                .execute(c)
                .await?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(redirect_with_flash(
        "/alerts",
        FlashKind::Success,
        "Monthly budget saved; pacing is checked every 15 minutes.",
    ))
}

async fn delete_budget(
    State(app): State<AppState>,
    a: Admin,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let n = app
        .db
        .tenant(a.org_id, async move |c| {
            Ok::<_, AppError>(
                diesel::sql_query("DELETE FROM budget_targets WHERE id = $1")
                    .bind::<SqlUuid, _>(id)
                    .execute(c)
                    .await?,
            )
        })
        .await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(redirect_with_flash(
        "/alerts",
        FlashKind::Success,
        "Budget removed.",
    ))
}
