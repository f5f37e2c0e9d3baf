//! Plans, limits and Stripe billing.
//!
//! Without a Stripe secret key every organization is on the "self-hosted" plan: [`check`]
//! always passes and no billing route exists. With one, each organization has a plan (the
//! free plan until it subscribes), Stripe Checkout and the customer portal change it, and the
//! signed webhook at /webhooks/stripe keeps `billing_accounts` in step with Stripe.

pub mod enforce;
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

pub use plans::{Limit, Limits, Plan, Plans};
pub use settings::{BillingConfig, StripeArgs};

use crate::db::Conn;
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
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Trialing => "trialing",
            Status::Active => "active",
            Status::PastDue => "past_due",
            Status::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "trialing" => Status::Trialing,
            "active" => Status::Active,
            "past_due" => Status::PastDue,
            "canceled" => Status::Canceled,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Trialing => "Trial",
            Status::Active => "Active",
            Status::PastDue => "Payment overdue",
            Status::Canceled => "Canceled",
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
);

fn account_from_row(r: AccountRow) -> Account {
    Account {
        plan: r.0,
        // The column's CHECK allows only the four values; anything else reads as canceled,
        // the state that grants least.
        status: Status::parse(&r.1).unwrap_or(Status::Canceled),
        stripe_customer_id: r.2,
        stripe_subscription_id: r.3,
        current_period_end: r.4,
        past_due_since: r.5,
        last_event_created: r.6,
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
            Status::Canceled => None,
        },
    };
    paid.or_else(|| plans.free())
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
