//! Billing routes: the owners' billing page, Checkout and portal redirects, and the Stripe
//! webhook. They exist only when Stripe is configured (see [`router`]).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::plans::{Limit, Plan};
use super::stripe::{self, Checkout, StripeError};
use super::webhook::{self, Outcome};
use super::{Account, Billing, account, effective_plan, usage};
use crate::app::AppState;
use crate::web::context::{FlashKind, Owner, Shell};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};
use crate::web::page::Page;

/// The billing routes, or none at all when Stripe is not configured (self-hosted).
pub fn router(app: &AppState) -> Router<AppState> {
    if app.billing.is_none() {
        return Router::new();
    }
    Router::new()
        .route("/billing", get(page))
        .route("/billing/checkout", post(checkout))
        .route("/billing/portal", post(portal))
        .route("/webhooks/stripe", post(stripe_webhook))
}

fn billing(app: &AppState) -> AppResult<&Billing> {
    app.billing.as_ref().ok_or(AppError::NotFound)
}

pub struct UsageRow {
    pub title: &'static str,
    /// `None`: the module that owns these things is not installed yet.
    pub used: Option<u64>,
    /// `None`: unlimited.
    pub allowed: Option<u64>,
}

impl UsageRow {
    pub fn over(&self) -> bool {
        matches!((self.used, self.allowed), (Some(u), Some(a)) if u >= a)
    }
}

#[derive(Template)]
#[template(path = "billing/index.html")]
struct BillingPage {
    shell: Shell,
    plan_name: String,
    status: String,
    falls_back: bool,
    period_end: Option<String>,
    grace_ends: Option<String>,
    /// The subscription ends with the current period (canceled in the portal).
    ends_at_period_end: bool,
    trial_end: Option<String>,
    /// Incomplete or paused: why the paid plan is not in effect.
    not_paid_note: Option<&'static str>,
    usage: Vec<UsageRow>,
    plans: Vec<Plan>,
    current_plan_id: String,
    has_customer: bool,
    can_checkout: bool,
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    #[serde(default)]
    checkout: Option<String>,
}

async fn page(
    State(app): State<AppState>,
    o: Owner,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    let b = billing(&app)?;
    let (acct, used) = app
        .db
        .tenant(o.org_id, async move |c| {
            let a = account(c).await?;
            let u = usage::all(c).await?;
            Ok::<_, AppError>((a, u))
        })
        .await?;
    let now = Utc::now();
    let plans = b.plans();
    let plan = effective_plan(plans, acct.as_ref(), now);
    let subscribed = acct.as_ref().and_then(|a| plans.get(&a.plan));
    let usage = used
        .into_iter()
        .map(|(l, n): (Limit, Option<u64>)| UsageRow {
            title: l.title(),
            used: n,
            allowed: plan.and_then(|p| p.limits.get(l)),
        })
        .collect();
    let mut shell = o.shell("billing");
    match q.checkout.as_deref() {
        // The webhook, not this redirect, changes the plan: it may arrive a moment later.
        Some("success") => {
            shell.flash = Some(crate::web::context::Flash {
                kind: FlashKind::Success,
                message: "Thank you. Stripe confirms the subscription in a moment; reload this page to see it.".into(),
            })
        }
        Some("canceled") => {
            shell.flash = Some(crate::web::context::Flash {
                kind: FlashKind::Info,
                message: "Checkout was canceled; nothing changed.".into(),
            })
        }
        _ => {}
    }
    let page = BillingPage {
        shell,
        plan_name: plan.map(|p| p.name.clone()).unwrap_or_default(),
        status: acct
            .as_ref()
            .map(|a| a.status.label().to_string())
            .unwrap_or_else(|| "No subscription".into()),
        falls_back: subscribed.is_some() && plan.map(|p| &p.id) != subscribed.map(|p| &p.id),
        period_end: acct
            .as_ref()
            .and_then(|a| a.current_period_end)
            .map(|d| d.format("%Y-%m-%d").to_string()),
        grace_ends: acct
            .as_ref()
            .and_then(Account::grace_ends)
            .map(|d| d.format("%Y-%m-%d").to_string()),
        ends_at_period_end: acct.as_ref().is_some_and(|a| a.cancel_at_period_end),
        trial_end: acct
            .as_ref()
            .and_then(|a| a.trial_end)
            .map(|d| d.format("%Y-%m-%d").to_string()),
        not_paid_note: match acct.as_ref().map(|a| a.status) {
            Some(super::Status::Incomplete) => Some(
                "Stripe has not received the first payment yet (a bank debit or transfer can \
                 take a few days). The paid plan starts when it arrives; if it fails, pay with \
                 another method in the customer portal.",
            ),
            Some(super::Status::Paused) => Some(
                "The subscription is paused in Stripe (usually a trial that ended without a \
                 payment method). Add a payment method in the customer portal to resume it.",
            ),
            _ => None,
        },
        has_customer: acct
            .as_ref()
            .is_some_and(|a| a.stripe_customer_id.is_some()),
        can_checkout: acct
            .as_ref()
            .is_none_or(|a| a.status == super::Status::Canceled),
        current_plan_id: plan.map(|p| p.id.clone()).unwrap_or_default(),
        usage,
        plans: plans.purchasable().cloned().collect(),
    };
    Ok(Page(page).into_response())
}

#[derive(Debug, Deserialize)]
struct CheckoutForm {
    #[serde(default)]
    plan: String,
}

async fn checkout(
    State(app): State<AppState>,
    o: Owner,
    axum::Form(form): axum::Form<CheckoutForm>,
) -> AppResult<Response> {
    let b = billing(&app)?;
    // The plan is a button's value, never typed: a control character in it is a damaged
    // form. Said plainly; nothing is bought or changed.
    if crate::web::form::has_forbidden_control(&form.plan) {
        return Ok(redirect_with_flash(
            "/billing",
            FlashKind::Error,
            "Nothing was bought or changed: the plan choice arrived with invisible control characters (such as NUL), which this page never sends. Choose the plan again.",
        ));
    }
    let Some(plan) = b.plans().get(&form.plan) else {
        return Ok(redirect_with_flash(
            "/billing",
            FlashKind::Error,
            "Choose one of the plans listed.",
        ));
    };
    let Some(price) = plan.stripe_price_id.as_deref() else {
        return Ok(redirect_with_flash(
            "/billing",
            FlashKind::Error,
            "That plan cannot be bought online.",
        ));
    };
    let customer = app
        .db
        .tenant(o.org_id, async move |c| {
            Ok::<_, AppError>(account(c).await?.and_then(|a| a.stripe_customer_id))
        })
        .await?;
    // The same owner choosing the same plan within ten minutes gets the same session back
    // (a double click or a retried request creates no second one).
    let window = Utc::now().timestamp() / 600;
    let key = hex::encode(Sha256::digest(
        format!(
            "checkout:{}:{}:{}:{window}",
            o.org_id, plan.id, o.session_id
        )
        .as_bytes(),
    ));
    let email = o.ctx.session.as_ref().map(|s| s.user_email.clone());
    let co = Checkout {
        org_id: o.org_id,
        plan_id: &plan.id,
        price_id: price,
        customer: customer.as_deref(),
        customer_email: email.as_deref(),
        // Stripe fills in {CHECKOUT_SESSION_ID} itself.
        success_url: app
            .config
            .url("/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}"),
        cancel_url: app.config.url("/billing?checkout=canceled"),
        idempotency_key: key,
    };
    match stripe::create_checkout(b, &co).await {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(e) => Ok(stripe_failed(e)),
    }
}

async fn portal(State(app): State<AppState>, o: Owner) -> AppResult<Response> {
    let b = billing(&app)?;
    let customer = app
        .db
        .tenant(o.org_id, async move |c| {
            Ok::<_, AppError>(account(c).await?.and_then(|a| a.stripe_customer_id))
        })
        .await?;
    let Some(customer) = customer else {
        return Ok(redirect_with_flash(
            "/billing",
            FlashKind::Error,
            "There is no Stripe customer for this organization yet: choose a plan first.",
        ));
    };
    let key = uuid::Uuid::new_v4().to_string();
    match stripe::create_portal(b, &customer, &app.config.url("/billing"), &key).await {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(e) => Ok(stripe_failed(e)),
    }
}

fn stripe_failed(e: StripeError) -> Response {
    tracing::warn!(error = %e, "Stripe request failed");
    let message = match &e {
        StripeError::Api { message, .. } => format!("Stripe refused the request: {message}"),
        _ => "Stripe cannot be reached right now. Try again in a minute.".into(),
    };
    redirect_with_flash("/billing", FlashKind::Error, &message)
}

/// POST /webhooks/stripe: verified on the raw bytes before anything is parsed.
async fn stripe_webhook(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(b) = app.billing.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(sig) = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return (StatusCode::BAD_REQUEST, "missing Stripe-Signature\n").into_response();
    };
    let tolerance = b.config.tolerance.as_secs();
    if let Err(e) = webhook::verify(
        sig,
        &body,
        &b.config.webhook_secret,
        tolerance,
        Utc::now().timestamp(),
    ) {
        tracing::info!(error = %e, "Stripe webhook refused");
        return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
    }
    let event = match webhook::parse_event(&body) {
        Ok(e) => e,
        Err(_) => return (StatusCode::BAD_REQUEST, "not a Stripe event\n").into_response(),
    };
    match webhook::apply(&app.db, b, &event).await {
        Ok(outcome) => {
            tracing::info!(event = %event.id, kind = %event.kind, ?outcome, "Stripe event");
            let text = match outcome {
                Outcome::Applied => "applied\n",
                Outcome::Duplicate => "duplicate\n",
                Outcome::Stale => "older than the state applied\n",
                Outcome::Ignored => "ignored\n",
            };
            (StatusCode::OK, text).into_response()
        }
        Err(e) => {
            // A 5xx makes Stripe deliver again later; nothing was applied.
            tracing::error!(error = %e, event = %event.id, "Stripe event not applied");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response()
        }
    }
}
