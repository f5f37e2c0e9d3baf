//! The Alerts page: open and past alerts, delivery channels, monthly budgets to pace against.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Router, routing::get, routing::post};
use serde::Deserialize;
use uuid::Uuid;

use super::alerts::{self, Alert, Channel};
use super::webhooks;
use crate::app::AppState;
use crate::connections::service::ManagedAccount;
use crate::types::Money;
use crate::web::context::{Admin, FlashKind, Shell, Viewer, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};
use crate::web::form::{CONTROL_MESSAGE, FieldErrors, control_field, scrub};
use crate::web::page::Page;

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
    /// Signing secret of webhooks named in rules (admins only).
    rule_webhook_secret: Option<String>,
    /// Muted (account id, account name, kind).
    mutes: Vec<(Uuid, String, String)>,
    /// Errors of the channel and budget forms, beside their fields.
    errors: FieldErrors,
    typed: Typed,
}

/// What was typed into the channel and budget forms, shown again when they come back.
struct Typed {
    kind: String,
    target: String,
    account_id: Option<Uuid>,
    budget: String,
    percent: String,
}

impl Default for Typed {
    fn default() -> Self {
        Typed {
            kind: "email".into(),
            target: String::new(),
            account_id: None,
            budget: String::new(),
            percent: "80".into(),
        }
    }
}

impl AlertsPage {
    fn account_name(&self, id: &Option<Uuid>) -> String {
        match id {
            Some(id) => self
                .accounts
                .iter()
                .find(|a| a.id == *id)
                .map(|a| format!("{} ({})", a.name, a.platform.label()))
                .unwrap_or_else(|| "an account no longer managed".into()),
            None => "–".into(),
        }
    }

    fn attention_count(&self) -> usize {
        self.alerts.iter().filter(|a| a.needs_attention()).count()
    }
}

async fn render(app: &AppState, v: &Viewer, error: Option<String>) -> AppResult<AlertsPage> {
    let (alerts, channels, budgets, accounts, mutes) = app
        .db
        .tenant(v.org_id, async move |c| {
            let a = alerts::list(c, 200).await?;
            let mutes = super::alert_actions::mutes(c).await?;
            let ch = alerts::channels(c, &app.vault).await?;
            let accounts = crate::connections::service::managed_accounts(c).await?;
            let rows = super::targets::budget_targets(c).await?;
            let budgets = rows
                .into_iter()
                .map(|b| {
                    let acc = accounts.iter().find(|a| Some(a.id) == b.account_id);
                    BudgetRow {
                        id: b.id,
                        account: acc
                            .map(|a| a.name.clone())
                            .unwrap_or_else(|| "(campaign)".into()),
                        budget: acc
                            .map(|a| Money::new(b.monthly_budget_micros, a.currency).display())
                            .unwrap_or_default(),
                        percent: b.alert_at_percent,
                    }
                })
                .collect();
            Ok::<_, AppError>((a, ch, budgets, accounts, mutes))
        })
        .await?;
    let mut mutes: Vec<(Uuid, String, String)> = mutes
        .into_iter()
        .map(|(acc, kind)| {
            let name = accounts
                .iter()
                .find(|a| a.id == acc)
                .map(|a| a.name.clone())
                .unwrap_or_default();
            (acc, name, kind)
        })
        .collect();
    mutes.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
    let rule_webhook_secret = v
        .role
        .is_admin()
        .then(|| webhooks::org_secret(app, v.org_id));
    Ok(AlertsPage {
        rule_webhook_secret,
        shell: v.shell("alerts"),
        alerts,
        channels,
        budgets,
        accounts,
        error,
        mutes,
        errors: FieldErrors::default(),
        typed: Typed::default(),
    })
}

async fn page(State(app): State<AppState>, v: Viewer) -> AppResult<Response> {
    Ok(Page(render(&app, &v, None).await?).into_response())
}

async fn check_now(State(app): State<AppState>, w: Writer) -> AppResult<Response> {
    // Checking raises and resolves the whole organization's alerts; a member limited to some
    // ad accounts cannot see (nor resolve) the others'.
    if w.ctx.account_scope.is_some() {
        return Err(AppError::Forbidden);
    }
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
    if let Some(field) = control_field(&[("target", &form.target), ("kind", &form.kind)]) {
        let mut page = render(&app, &a, None).await?;
        page.errors = FieldErrors::one(field, CONTROL_MESSAGE);
        page.typed.kind = scrub(&form.kind);
        page.typed.target = scrub(&form.target);
        return unprocessable(&page);
    }
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
        let mut page = render(&app, &a, Some(message)).await?;
        page.typed.kind = form.kind;
        page.typed.target = form.target;
        return unprocessable(&page);
    }
    let kind = form.kind.clone();
    let org = a.org_id;
    let actor = a.user_id;
    let id = Uuid::now_v7();
    // The signing secret is stored encrypted by the token vault, bound to this row.
    let secret = match (form.kind != "email").then(crate::auth::tokens::new_token) {
        Some(s) => Some(alerts::seal_secret(&app.vault, org, id, &s).map_err(AppError::internal)?),
        None => None,
    };
    app.db
        .tenant(org, async move |c| {
            super::targets::add_channel(c, id, &kind, &target, secret).await?;
            crate::audit::record(
                c,
                org,
                Some(actor),
                "alerts.channel_added",
                &kind,
                serde_json::json!({"target": target}),
            )
            .await?;
            Ok::<_, AppError>(())
        })
        .await?;
    Ok(redirect_with_flash(
        "/alerts",
        FlashKind::Success,
        "Channel added.",
    ))
}

/// The alerts page again, with the errors of what was sent.
fn unprocessable(page: &AlertsPage) -> AppResult<Response> {
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
}

async fn delete_channel(
    State(app): State<AppState>,
    a: Admin,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    delete_by_id(&app, a.org_id, id, super::targets::delete_channel).await?;
    Ok(redirect_with_flash(
        "/alerts",
        FlashKind::Success,
        "Channel removed.",
    ))
}

/// Deletes one of the organization's rows through `delete`; nothing deleted reads as not found.
async fn delete_by_id(
    app: &AppState,
    org: Uuid,
    id: Uuid,
    delete: impl AsyncFnOnce(&mut crate::db::Conn, Uuid) -> diesel::QueryResult<bool> + Send,
) -> AppResult<()> {
    let deleted = app
        .db
        .tenant(org, async move |c| Ok::<_, AppError>(delete(c, id).await?))
        .await?;
    if deleted {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

#[derive(Debug, Deserialize)]
struct BudgetForm {
    account_id: Option<Uuid>,
    #[serde(default)]
    budget: String,
    #[serde(default)]
    percent: String,
    /// The amount (plain digits) the person confirmed after being asked about its size.
    #[serde(default)]
    confirm_budget: String,
}

/// A month of spend at the account's largest daily budget: what a monthly budget is compared
/// with before it is taken without a question.
const DAYS_IN_A_LONG_MONTH: i64 = 31;

/// Whether a monthly budget of `new` needs a confirming step: more than
/// `CONFIRM_MULTIPLE` times the account's current monthly budget or a month of its largest
/// daily budget, whichever is larger; without either, more than a month of the daily floor.
/// Returns the reference it was compared with and what that reference is.
fn monthly_needs_confirmation(
    new: Money,
    current: Option<i64>,
    largest_daily: Option<i64>,
) -> Option<(Money, &'static str)> {
    let month = largest_daily
        .map(|d| d.saturating_mul(DAYS_IN_A_LONG_MONTH))
        .filter(|m| *m > 0);
    let current = current.filter(|c| *c > 0);
    let reference = match (current, month) {
        (Some(c), Some(m)) if m > c => Some((m, MONTH_OF_LARGEST)),
        (Some(c), _) => Some((c, "the account's monthly budget now")),
        (None, Some(m)) => Some((m, MONTH_OF_LARGEST)),
        (None, None) => None,
    };
    match reference {
        Some((r, what)) => {
            crate::web::money::needs_confirmation(new, Some(Money::new(r, new.currency)), None)
                .map(|m| (m, what))
        }
        None => crate::web::money::needs_confirmation(
            Money::new(new.micros / DAYS_IN_A_LONG_MONTH, new.currency),
            None,
            None,
        )
        .map(|floor| {
            (
                Money::new(
                    floor.micros.saturating_mul(DAYS_IN_A_LONG_MONTH),
                    new.currency,
                ),
                "a month at the usual ceiling for an account without budgets",
            )
        }),
    }
}

const MONTH_OF_LARGEST: &str = "31 days of the account's largest daily budget";

async fn add_budget(
    State(app): State<AppState>,
    a: Admin,
    Form(form): Form<BudgetForm>,
) -> AppResult<Response> {
    if let Some(field) = control_field(&[("budget", &form.budget), ("percent", &form.percent)]) {
        let mut page = render(&app, &a, None).await?;
        page.errors = FieldErrors::one(field, CONTROL_MESSAGE);
        page.typed.account_id = form.account_id;
        page.typed.budget = scrub(&form.budget);
        page.typed.percent = scrub(&form.percent);
        return unprocessable(&page);
    }
    let accounts = app
        .db
        .tenant(a.org_id, async move |c| {
            Ok::<_, AppError>(crate::connections::service::managed_accounts(c).await?)
        })
        .await?;
    let account = form
        .account_id
        .and_then(|id| accounts.iter().find(|x| x.id == id).cloned());
    let amount = account
        .as_ref()
        .map(|acc| crate::web::money::parse_money(&form.budget, acc.currency));
    let percent: Option<i32> = form
        .percent
        .trim()
        .parse()
        .ok()
        .filter(|p| (1..=1000).contains(p));
    // Refusals sit beside their fields, with what was typed kept.
    let mut errors = FieldErrors::default();
    match (&account, &amount) {
        (None, _) => errors.add("account_id", "Choose an ad account."),
        (Some(acc), Some(Err(e))) => {
            errors.add("budget", format!("Monthly budget in {}: {e}", acc.currency))
        }
        _ => {}
    }
    if percent.is_none() {
        errors.add("percent", "Alert at a percentage between 1 and 1000.");
    }
    if let (Some(acc), Some(Ok(money))) = (&account, &amount)
        && form.confirm_budget.trim() != crate::web::money::plain(*money)
    {
        let id = acc.id;
        let (current, largest) = app
            .db
            .tenant(a.org_id, async move |c| {
                let current = super::targets::budget_targets(c)
                    .await?
                    .into_iter()
                    .filter(|t| t.account_id == Some(id))
                    .map(|t| t.monthly_budget_micros)
                    .max();
                let largest =
                    crate::campaigns::budget_input::largest_daily_budget(c, &[id]).await?;
                Ok::<_, AppError>((current, largest))
            })
            .await?;
        if let Some((reference, what)) = monthly_needs_confirmation(*money, current, largest) {
            errors.add(
                "budget",
                format!(
                    "{} a month is more than {} times {} ({what}). Check the amount; if it is right, tick “Yes, this budget is right” and save again.",
                    money.display(),
                    crate::web::money::CONFIRM_MULTIPLE,
                    reference.display(),
                ),
            );
            errors.add("confirm_budget", crate::web::money::plain(*money));
        }
    }
    let (Some(acc), Some(Ok(money)), Some(percent), false) =
        (account, amount, percent, errors.any())
    else {
        let mut page = render(&app, &a, None).await?;
        page.errors = errors;
        page.typed.account_id = form.account_id;
        page.typed.budget = form.budget.clone();
        page.typed.percent = form.percent.clone();
        return unprocessable(&page);
    };
    app.db
        .tenant(a.org_id, async move |c| {
            super::targets::add_budget_target(c, acc.id, money.micros, percent).await?;
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
    delete_by_id(&app, a.org_id, id, super::targets::delete_budget_target).await?;
    Ok(redirect_with_flash(
        "/alerts",
        FlashKind::Success,
        "Budget removed.",
    ))
}

// ---------- scheduled reports ----------

pub fn reports_router() -> Router<AppState> {
    Router::new()
        .route("/reports", get(reports_page).post(create_schedule))
        .route("/reports/{id}/preview", get(preview_page))
        .route("/reports/{id}/send", post(send_now))
        .route("/reports/{id}/delete", post(delete_schedule))
        .route(
            "/reports/unsubscribe",
            get(unsubscribe_page).post(unsubscribe_one_click),
        )
}

#[derive(Template)]
#[template(path = "reports/index.html")]
struct ReportsPage {
    shell: Shell,
    schedules: Vec<super::schedule_store::Schedule>,
    accounts: Vec<ManagedAccount>,
    history: Vec<(
        chrono::DateTime<chrono::Utc>,
        String,
        String,
        Option<String>,
        String,
    )>,
    form: super::send::NewSchedule,
    error: Option<(&'static str, String)>,
    time_zone: String,
}

impl ReportsPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
    fn when(&self, s: &super::schedule_store::Schedule) -> String {
        match s.frequency {
            super::schedule::Frequency::Daily => {
                format!("daily at {}", s.send_time.format("%H:%M"))
            }
            super::schedule::Frequency::Weekly(w) => format!(
                "{}s at {}",
                super::schedule::weekday_name(w),
                s.send_time.format("%H:%M")
            ),
        }
    }
}

async fn render_reports(
    app: &AppState,
    v: &Viewer,
    form: super::send::NewSchedule,
    error: Option<(&'static str, String)>,
) -> AppResult<ReportsPage> {
    let (schedules, history, accounts) = app
        .db
        .tenant(v.org_id, async move |c| {
            Ok::<_, AppError>((
                super::schedule_store::list(c).await?,
                super::send::history(c, 50).await?,
                crate::connections::service::managed_accounts(c).await?,
            ))
        })
        .await?;
    Ok(ReportsPage {
        shell: v.shell("reports"),
        schedules,
        accounts,
        history,
        form,
        error,
        time_zone: v.time_zone.clone(),
    })
}

async fn reports_page(State(app): State<AppState>, v: Viewer) -> AppResult<Response> {
    let form = super::send::NewSchedule {
        frequency: "weekly".into(),
        weekday: "1".into(),
        send_time: "09:00".into(),
        period: "last_7_days".into(),
        ..Default::default()
    };
    Ok(Page(render_reports(&app, &v, form, None).await?).into_response())
}

async fn create_schedule(
    State(app): State<AppState>,
    w: Writer,
    body: String,
) -> AppResult<Response> {
    let mut form: super::send::NewSchedule = serde_urlencoded::from_str(&body)
        .map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
    // Repeated checkbox fields.
    form.account_ids = url::form_urlencoded::parse(body.as_bytes())
        .filter(|(k, _)| k == "account")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    if let Some(field) = schedule_control_field(&form) {
        let form = scrub_schedule(form);
        let page = render_reports(&app, &w, form, Some((field, CONTROL_MESSAGE.into()))).await?;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
    }
    match super::send::create(&app, w.org_id, w.user_id, w.tz(), &form).await {
        Ok(_) => Ok(redirect_with_flash(
            "/reports",
            FlashKind::Success,
            "Report scheduled.",
        )),
        Err(e) => {
            let page = render_reports(&app, &w, form, Some(e)).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
        }
    }
}

/// The schedule form's field holding a control character; a choice from a list is reported on
/// the form as a whole (it has no text of its own to correct).
fn schedule_control_field(f: &super::send::NewSchedule) -> Option<&'static str> {
    control_field(&[
        ("name", &f.name),
        ("send_time", &f.send_time),
        ("campaign_search", &f.campaign_search),
        ("recipients", &f.recipients),
        ("form", &f.frequency),
        ("form", &f.weekday),
        ("form", &f.period),
        ("form", &f.platform),
    ])
}

fn scrub_schedule(f: super::send::NewSchedule) -> super::send::NewSchedule {
    super::send::NewSchedule {
        name: scrub(&f.name),
        frequency: scrub(&f.frequency),
        weekday: scrub(&f.weekday),
        send_time: scrub(&f.send_time),
        period: scrub(&f.period),
        platform: scrub(&f.platform),
        recipients: scrub(&f.recipients),
        account_ids: f.account_ids,
        campaign_search: scrub(&f.campaign_search),
    }
}

#[derive(Template)]
#[template(path = "reports/preview.html")]
struct PreviewPage {
    shell: Shell,
    name: String,
    /// The email's own HTML, shown in a sandboxed frame so its inline styles render as in a
    /// mail client without loosening this page's CSP.
    frame_src: String,
}

async fn preview_page(
    State(app): State<AppState>,
    v: Viewer,
    Path(id): Path<Uuid>,
    q: axum::extract::Query<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let s = app
        .db
        .tenant(v.org_id, async move |c| {
            Ok::<_, AppError>(super::schedule_store::get(c, id).await?)
        })
        .await?;
    if q.get("raw").is_some() {
        let html = super::send::preview(&app, v.org_id, &s).await?;
        // The email's inline styles need this one answer's policy relaxed, scripts stay off,
        // and the preview page (same origin, only) may frame it.
        return Ok(crate::web::frame::allow_same_origin_frame(
            Html(html).into_response(),
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ));
    }
    Ok(Page(PreviewPage {
        shell: v.shell("reports"),
        name: s.name.clone(),
        frame_src: format!("/reports/{id}/preview?raw=1"),
    })
    .into_response())
}

async fn send_now(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    // An id of nothing answers 404 without using up the organization's sends.
    let exists = app
        .db
        .tenant(w.org_id, async move |c| {
            Ok::<_, AppError>(super::schedule_store::schedule_exists(c, id).await?)
        })
        .await?;
    if !exists {
        return Err(AppError::NotFound);
    }
    if let Err(retry) = app.limits.send_now(w.org_id) {
        return Err(AppError::RateLimited {
            message: retry.message(),
            retry_after_secs: retry.0.as_secs().max(1),
        });
    }
    let r = super::send::send(&app, w.org_id, id, chrono::Utc::now()).await?;
    let msg = if r.failed.is_empty() {
        format!(
            "Sent to {} recipient{}{}.",
            r.sent,
            if r.sent == 1 { "" } else { "s" },
            if r.skipped > 0 {
                format!(" ({} unsubscribed)", r.skipped)
            } else {
                String::new()
            }
        )
    } else {
        format!("Sent to {}, failed for: {}", r.sent, r.failed.join("; "))
    };
    let kind = if r.failed.is_empty() {
        FlashKind::Success
    } else {
        FlashKind::Error
    };
    Ok(redirect_with_flash("/reports", kind, &msg))
}

async fn delete_schedule(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    delete_by_id(&app, w.org_id, id, super::schedule_store::delete_schedule).await?;
    Ok(redirect_with_flash(
        "/reports",
        FlashKind::Success,
        "Report schedule deleted.",
    ))
}

#[derive(Debug, Deserialize)]
struct UnsubscribeQuery {
    o: Uuid,
    s: Uuid,
    e: String,
    t: String,
}

#[derive(Template)]
#[template(path = "reports/unsubscribe.html")]
struct UnsubscribePage {
    shell: Shell,
    email: String,
    done: bool,
    action: String,
}

async fn unsubscribe_page(
    State(app): State<AppState>,
    ctx: crate::web::context::RequestCtx,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    axum::extract::Query(q): axum::extract::Query<UnsubscribeQuery>,
) -> AppResult<Response> {
    if !super::send::verify_unsubscribe(&app, q.o, q.s, &q.e, &q.t) {
        return Err(AppError::NotFound);
    }
    let action = format!("/reports/unsubscribe?{}", raw.unwrap_or_default());
    Ok(Page(UnsubscribePage {
        shell: Shell::from_ctx(&ctx, "reports"),
        email: q.e,
        done: false,
        action,
    })
    .into_response())
}

/// RFC 8058 one-click: mail clients POST here without a session or CSRF token; the signed link
/// is the authority.
async fn unsubscribe_one_click(
    State(app): State<AppState>,
    ctx: crate::web::context::RequestCtx,
    axum::extract::Query(q): axum::extract::Query<UnsubscribeQuery>,
) -> AppResult<Response> {
    if !super::send::verify_unsubscribe(&app, q.o, q.s, &q.e, &q.t) {
        return Err(AppError::NotFound);
    }
    super::send::unsubscribe(&app, q.o, q.s, &q.e).await?;
    Ok(Page(UnsubscribePage {
        shell: Shell::from_ctx(&ctx, "reports"),
        email: q.e,
        done: true,
        action: String::new(),
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(major: i64) -> Money {
        Money::new(
            major * crate::types::MICROS_PER_UNIT,
            "EUR".parse().unwrap_or_else(|_| unreachable!()),
        )
    }

    #[test]
    fn huge_monthly_budgets_ask_first() {
        let m = |x: i64| x * crate::types::MICROS_PER_UNIT;
        // A month of a 100 a day is 3,100: up to three times that is taken.
        assert!(monthly_needs_confirmation(eur(9_300), None, Some(m(100))).is_none());
        let (r, what) = monthly_needs_confirmation(eur(9_301), None, Some(m(100))).expect("asks");
        assert_eq!((r, what), (eur(3_100), MONTH_OF_LARGEST));
        // The current monthly budget counts when it is the larger.
        assert!(monthly_needs_confirmation(eur(20_000), Some(m(10_000)), Some(m(100))).is_none());
        // Without any reference: a month of the daily floor.
        assert!(monthly_needs_confirmation(eur(31_000), None, None).is_none());
        assert!(monthly_needs_confirmation(eur(5_000_000), None, None).is_some());
    }
}
