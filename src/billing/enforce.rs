//! Plan limits enforced for a request or job: whether an organization may add one more of
//! something, and the overdue-payment notice. These take the running [`App`]; the plain billing
//! data (plans, accounts, the Stripe client) in the parent module does not, so `App` can hold
//! [`Billing`](super::Billing) without an import circle.

use chrono::Utc;
use uuid::Uuid;

use super::{Limit, Plans, account, effective_plan, usage};
use crate::app::App;
use crate::db::{Conn, DbError};

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
