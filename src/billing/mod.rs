//! Plans, limits and Stripe billing.
//!
//! Without a Stripe secret key every organization is on the "self-hosted" plan: [`check`]
//! always passes and no billing route exists. With one, each organization has a plan (the
//! free plan until it subscribes), Stripe Checkout and the customer portal change it, and the
//! signed webhook at /webhooks/stripe keeps `billing_accounts` in step with Stripe.

pub mod plans;
pub mod routes;
pub mod schema;
pub mod settings;
pub mod stripe;
pub mod usage;
pub mod webhook;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

pub use plans::{Limit, Limits, Plan, Plans};
pub use settings::{BillingConfig, StripeArgs};

use crate::app::App;
use crate::db::{Conn, DbError};
use schema::billing_accounts;

/// How long the paid plan's limits hold after a payment fails.
pub const GRACE_DAYS: i64 = 7;

/// Billing when Stripe is configured: its settings and the HTTP client for the Stripe API.
pub struct Billing {
    pub config: BillingConfig,
    pub http: reqwest::Client,
}

impl Billing {
    pub fn new(config: BillingConfig) -> Result<Billing, String> {
        // reqwest is built without a default crypto provider (see platforms::Platforms::new).
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .connect_timeout(std::time::Duration::from_secs(10))
            // Stripe does not redirect API calls; following one would carry the secret key.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("adpilot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the Stripe HTTP client: {e}"))?;
        Ok(Billing { config, http })
    }

    pub fn plans(&self) -> &Plans {
        &self.config.plans
    }
}

/// Subscription state of an organization, as adpilot stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Trialing,
    Active,
    PastDue,
    Canceled,
    /// The first payment has not arrived (Stripe `incomplete`, or a Checkout completed with
    /// `payment_status: unpaid` until `async_payment_succeeded`): no paid plan yet.
    Incomplete,
    /// Stripe `paused` (a trial ended without a payment method): no paid plan until resumed.
    Paused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Trialing => "trialing",
            Status::Active => "active",
            Status::PastDue => "past_due",
            Status::Canceled => "canceled",
            Status::Incomplete => "incomplete",
            Status::Paused => "paused",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "trialing" => Status::Trialing,
            "active" => Status::Active,
            "past_due" => Status::PastDue,
            "canceled" => Status::Canceled,
            "incomplete" => Status::Incomplete,
            "paused" => Status::Paused,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Trialing => "Trial",
            Status::Active => "Active",
            Status::PastDue => "Payment overdue",
            Status::Canceled => "Canceled",
            Status::Incomplete => "Waiting for the first payment",
            Status::Paused => "Paused",
        }
    }
}

/// An organization's row in `billing_accounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub plan: String,
    pub status: Status,
    pub stripe_customer_id: Option<String>,
    pub stripe_subscription_id: Option<String>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub past_due_since: Option<DateTime<Utc>>,
    pub last_event_created: Option<DateTime<Utc>>,
    /// The subscription ends when the current period does (Stripe `cancel_at_period_end`).
    pub cancel_at_period_end: bool,
    pub trial_end: Option<DateTime<Utc>>,
}

impl Account {
    /// When the grace period of a failed payment ends, if payment is overdue.
    pub fn grace_ends(&self) -> Option<DateTime<Utc>> {
        match (self.status, self.past_due_since) {
            (Status::PastDue, Some(since)) => Some(since + chrono::Duration::days(GRACE_DAYS)),
            _ => None,
        }
    }
}

type AccountRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    bool,
    Option<DateTime<Utc>>,
);

fn account_from_row(r: AccountRow) -> Account {
    Account {
        plan: r.0,
        // The column's CHECK allows only the known values; anything else reads as canceled,
        // the state that grants least.
        status: Status::parse(&r.1).unwrap_or(Status::Canceled),
        stripe_customer_id: r.2,
        stripe_subscription_id: r.3,
        current_period_end: r.4,
        past_due_since: r.5,
        last_event_created: r.6,
        cancel_at_period_end: r.7,
        trial_end: r.8,
    }
}

/// The current organization's billing row (inside its tenant transaction).
pub async fn account(c: &mut Conn) -> QueryResult<Option<Account>> {
    billing_accounts::table
        .select((
            billing_accounts::plan,
            billing_accounts::status,
            billing_accounts::stripe_customer_id,
            billing_accounts::stripe_subscription_id,
            billing_accounts::current_period_end,
            billing_accounts::past_due_since,
            billing_accounts::last_event_created,
            billing_accounts::cancel_at_period_end,
            billing_accounts::trial_end,
        ))
        .first::<AccountRow>(c)
        .await
        .optional()
        .map(|r| r.map(account_from_row))
}

/// The plan whose limits apply: the subscribed plan while trialing, active or within the grace
/// period of a failed payment; the free plan otherwise (nothing is deleted, only new things
/// are limited).
pub fn effective_plan<'p>(
    plans: &'p Plans,
    account: Option<&Account>,
    now: DateTime<Utc>,
) -> Option<&'p Plan> {
    let paid = match account {
        None => None,
        Some(a) => match a.status {
            Status::Trialing | Status::Active => plans.get(&a.plan),
            Status::PastDue => match a.grace_ends() {
                Some(end) if end <= now => None,
                _ => plans.get(&a.plan),
            },
            Status::Canceled | Status::Incomplete | Status::Paused => None,
        },
    };
    paid.or_else(|| plans.free())
}

/// Why something cannot be added.
#[derive(Debug)]
pub enum LimitError {
    Reached {
        limit: Limit,
        plan: String,
        allowed: u64,
        used: u64,
        requested: u64,
    },
    Unavailable(String),
}

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitError::Reached {
                limit,
                plan,
                allowed,
                used,
                requested,
            } => {
                write!(
                    f,
                    "The {plan} plan allows {}; this organization has {used}",
                    limit.count_label(*allowed)
                )?;
                if *requested > 1 {
                    write!(f, " and this would add {requested}")?;
                }
                write!(
                    f,
                    ". Remove one, or upgrade the plan on the Billing page (/billing)."
                )
            }
            LimitError::Unavailable(d) => write!(f, "cannot check the plan's limits: {d}"),
        }
    }
}

impl std::error::Error for LimitError {}

impl LimitError {
    /// Where an owner can upgrade.
    pub fn upgrade_link(&self) -> &'static str {
        "/billing"
    }

    /// The message for someone of `role`: owners are pointed at the Billing page, everyone
    /// else at an owner (only owners may change the plan).
    pub fn message_for(&self, role: crate::auth::Role) -> String {
        match self {
            LimitError::Reached {
                limit,
                plan,
                allowed,
                used,
                ..
            } => {
                let base = format!(
                    "The {plan} plan allows {}; this organization has {used}.",
                    limit.count_label(*allowed)
                );
                if role == crate::auth::Role::Owner {
                    format!("{base} Remove one or upgrade the plan on the Billing page.")
                } else {
                    format!("{base} Remove one, or ask an owner to upgrade the plan.")
                }
            }
            LimitError::Unavailable(_) => {
                "adpilot cannot check the plan's limits right now. Try again in a minute.".into()
            }
        }
    }
}

impl From<DbError> for LimitError {
    fn from(e: DbError) -> Self {
        LimitError::Unavailable(e.to_string())
    }
}

impl From<diesel::result::Error> for LimitError {
    fn from(e: diesel::result::Error) -> Self {
        LimitError::Unavailable(e.to_string())
    }
}

impl From<LimitError> for crate::web::error::AppError {
    fn from(e: LimitError) -> Self {
        match e {
            // A limit is a refusal the user can act on, never a 500.
            LimitError::Reached { .. } => crate::web::error::AppError::BadRequest(e.to_string()),
            LimitError::Unavailable(d) => crate::web::error::AppError::Unavailable(d),
        }
    }
}

/// Whether `org` may add one more of `limit`. Always passes without Stripe configured.
pub async fn check(app: &App, org: Uuid, limit: Limit) -> Result<(), LimitError> {
    check_adding(app, org, limit, 1).await
}

/// Whether `org` may add `adding` more of `limit` (e.g. AI tokens a call is about to spend).
pub async fn check_adding(
    app: &App,
    org: Uuid,
    limit: Limit,
    adding: u64,
) -> Result<(), LimitError> {
    let Some(billing) = &app.billing else {
        return Ok(());
    };
    let plans = billing.plans().clone();
    app.db
        .tenant(org, async move |c| {
            let (plan, allowed) = match allowance(c, &plans, limit).await? {
                Some(v) => v,
                None => return Ok(()),
            };
            let Some(used) = usage::count(c, limit).await? else {
                // Not measurable yet (the owning module's table does not exist): not limited.
                return Ok(());
            };
            if used.saturating_add(adding) > allowed {
                return Err(LimitError::Reached {
                    limit,
                    plan,
                    allowed,
                    used,
                    requested: adding,
                });
            }
            Ok(())
        })
        .await
}

/// Whether `org` may manage these accounts of `connection` (replacing that connection's
/// current choice). Going down is always allowed, even above the limit after a downgrade.
pub async fn check_ad_account_choice(
    app: &App,
    org: Uuid,
    connection: Uuid,
    chosen: &[Uuid],
) -> Result<(), LimitError> {
    let Some(billing) = &app.billing else {
        return Ok(());
    };
    let plans = billing.plans().clone();
    let chosen = chosen.to_vec();
    app.db
        .tenant(org, async move |c| {
            let Some((plan, allowed)) = allowance(c, &plans, Limit::AdAccounts).await? else {
                return Ok(());
            };
            let used = usage::count(c, Limit::AdAccounts).await?.unwrap_or(0);
            let after = usage::ad_accounts_after_choice(c, connection, &chosen).await?;
            if after > allowed && after > used {
                return Err(LimitError::Reached {
                    limit: Limit::AdAccounts,
                    plan,
                    allowed,
                    used,
                    requested: after.saturating_sub(used),
                });
            }
            Ok(())
        })
        .await
}

/// The plan name and allowance of `limit` for the current organization; `None` if unlimited.
async fn allowance(
    c: &mut Conn,
    plans: &Plans,
    limit: Limit,
) -> Result<Option<(String, u64)>, LimitError> {
    let acct = account(c).await?;
    let Some(plan) = effective_plan(plans, acct.as_ref(), Utc::now()) else {
        return Ok(None);
    };
    Ok(plan.limits.get(limit).map(|n| (plan.name.clone(), n)))
}

/// The allowance of `limit` for `org` under its current plan: `None` when unlimited (always
/// without Stripe). For modules with a budget of their own (AI tokens), to take the smaller.
pub async fn allowed(app: &App, org: Uuid, limit: Limit) -> Result<Option<u64>, LimitError> {
    let Some(billing) = &app.billing else {
        return Ok(None);
    };
    let plans = billing.plans().clone();
    app.db
        .tenant(org, async move |c| {
            Ok(allowance(c, &plans, limit).await?.map(|(_, n)| n))
        })
        .await
}

/// What the page shell shows every member when payment is overdue.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The day the grace period ends (UTC), e.g. "2026-12-01".
    pub grace_ends: String,
    /// The grace period is over: the free plan's limits apply.
    pub expired: bool,
}

/// The overdue-payment notice for `org`, if any (none without Stripe configured).
pub async fn notice(app: &App, org: Uuid) -> Result<Option<Notice>, DbError> {
    if app.billing.is_none() {
        return Ok(None);
    }
    let acct = app
        .db
        .tenant(org, async move |c| Ok::<_, DbError>(account(c).await?))
        .await?;
    Ok(acct.and_then(|a| a.grace_ends()).map(|end| Notice {
        grace_ends: end.format("%Y-%m-%d").to_string(),
        expired: end <= Utc::now(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(status: Status, since: Option<DateTime<Utc>>) -> Account {
        Account {
            plan: "pro".into(),
            status,
            stripe_customer_id: None,
            stripe_subscription_id: None,
            current_period_end: None,
            past_due_since: since,
            last_event_created: None,
            cancel_at_period_end: false,
            trial_end: None,
        }
    }

    #[test]
    fn overdue_keeps_the_plan_for_seven_days_then_falls_to_free() {
        let plans = Plans::defaults();
        let now = Utc::now();
        let id = |a: Option<&Account>| effective_plan(&plans, a, now).map(|p| p.id.clone());
        assert_eq!(id(None).as_deref(), Some("free"));
        assert_eq!(
            id(Some(&acct(Status::Active, None))).as_deref(),
            Some("pro")
        );
        let recent = acct(Status::PastDue, Some(now - chrono::Duration::days(6)));
        assert_eq!(id(Some(&recent)).as_deref(), Some("pro"));
        let old = acct(Status::PastDue, Some(now - chrono::Duration::days(8)));
        assert_eq!(id(Some(&old)).as_deref(), Some("free"));
        assert_eq!(
            id(Some(&acct(Status::Canceled, None))).as_deref(),
            Some("free")
        );
    }
}
