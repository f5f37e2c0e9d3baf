//! Stripe webhooks: signature verification on the raw body, then each event applied in the
//! organization's tenant transaction together with the insert of its event id, so a duplicate
//! delivery conflicts and changes nothing, and an event older than the last one applied is
//! recorded but not applied (Stripe does not deliver in order).

use chrono::{DateTime, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::plans::Plans;
use super::schema::{billing_accounts, stripe_events};
use super::{Account, Billing, Status, account};
use crate::db::{Db, DbError};

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing or malformed Stripe-Signature header")]
    Malformed,
    #[error("no matching signature")]
    Mismatch,
    #[error("timestamp outside the tolerance")]
    Stale,
}

/// Verifies a `Stripe-Signature` header (`t=…,v1=…[,v1=…][,v0=…]`) against the exact raw body:
/// HMAC-SHA256 over "t.body" keyed with the endpoint secret, any v1 may match, compared in
/// constant time; then the timestamp must be within `tolerance_secs` of `now`.
pub fn verify(
    header: &str,
    body: &[u8],
    secret: &str,
    tolerance_secs: u64,
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp: Option<&str> = None;
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => timestamp = Some(v),
            // Other schemes (v0) are ignored, as Stripe's libraries do.
            "v1" => {
                if let Ok(sig) = hex::decode(v) {
                    candidates.push(sig);
                }
            }
            _ => {}
        }
    }
    let t_raw = timestamp.ok_or(SignatureError::Malformed)?;
    let t: i64 = t_raw.parse().map_err(|_| SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let expected = sign(secret, t_raw, body);
    let matched = candidates.iter().fold(subtle::Choice::from(0u8), |acc, c| {
        acc | c.as_slice().ct_eq(expected.as_slice())
    });
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }
    let tolerance = i64::try_from(tolerance_secs).unwrap_or(i64::MAX);
    if now.saturating_sub(t) > tolerance {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// HMAC-SHA256 of "t.body" with `secret` (what Stripe puts in v1, before hex).
pub fn sign(secret: &str, t: &str, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The event envelope (only what adpilot reads).
#[derive(Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: Value,
}

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Duplicate,
    /// Older than the last event applied for the organization: recorded, not applied.
    Stale,
    /// A type adpilot does not act on, or an event for no known organization.
    Ignored,
}

const HANDLED: &[&str] = &[
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_failed",
    "invoice.paid",
];

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// An id field that Stripe sends either as a string or, when expanded, as an object.
fn id_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Object(o) => o.get("id")?.as_str(),
        _ => None,
    }
}

/// The subscription an invoice belongs to: `subscription` before API version 2025-03-31.basil,
/// `parent.subscription_details.subscription` from it on.
fn invoice_subscription(obj: &Value) -> Option<&str> {
    id_at(obj, "subscription").or_else(|| {
        obj.get("parent")
            .and_then(|p| p.get("subscription_details"))
            .and_then(|d| id_at(d, "subscription"))
    })
}

/// The organization id adpilot put into the session or subscription metadata.
fn org_hint(obj: &Value) -> Option<Uuid> {
    [
        str_at(obj, &["client_reference_id"]),
        str_at(obj, &["metadata", "org_id"]),
        str_at(
            obj,
            &["parent", "subscription_details", "metadata", "org_id"],
        ),
        str_at(obj, &["subscription_details", "metadata", "org_id"]),
    ]
    .into_iter()
    .flatten()
    .find_map(|s| s.parse().ok())
}

/// Finds the organization an event is about: the owner of its Stripe customer (the named
/// cross-tenant function), else the org id adpilot sent to Stripe with the checkout.
async fn find_org(db: &Db, obj: &Value) -> Result<Option<Uuid>, DbError> {
    if let Some(customer) = id_at(obj, "customer").map(str::to_string) {
        #[derive(diesel::QueryableByName)]
        struct R {
            #[diesel(sql_type = Nullable<SqlUuid>)]
            org: Option<Uuid>,
        }
        let r: R = db
            .global(async move |c| {
                Ok::<_, DbError>(
                    diesel::sql_query("SELECT adpilot_billing_org_for_customer($1) AS org")
                        .bind::<Text, _>(customer)
                        .get_result(c)
                        .await?,
                )
            })
            .await?;
        if r.org.is_some() {
            return Ok(r.org);
        }
    }
    Ok(org_hint(obj))
}

/// What an event changes in the organization's billing row.
#[derive(Debug, Default)]
struct Change {
    plan: Option<String>,
    status: Option<Status>,
    customer: Option<String>,
    subscription: Option<String>,
    period_end: Option<DateTime<Utc>>,
    /// Subscription events: what they say about the end of the period and the trial.
    cancel_at_period_end: Option<bool>,
    trial_end: Option<Option<DateTime<Utc>>>,
    /// Only for invoice events: apply to this subscription only.
    only_for_subscription: Option<String>,
    /// invoice.paid: settles an overdue payment, leaves other states alone.
    settles: bool,
}

fn ts(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_i64)
        .and_then(|s| Utc.timestamp_opt(s, 0).single())
}

fn change_for(plans: &Plans, kind: &str, obj: &Value) -> Option<Change> {
    let customer = id_at(obj, "customer").map(str::to_string);
    match kind {
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed" => {
            if str_at(obj, &["mode"]).is_some_and(|m| m != "subscription") {
                return None;
            }
            let status = match (kind, str_at(obj, &["payment_status"])) {
                ("checkout.session.async_payment_failed", _) => Status::Incomplete,
                ("checkout.session.async_payment_succeeded", _) => Status::Active,
                // A trial: nothing is paid yet.
                (_, Some("no_payment_required")) => Status::Trialing,
                (_, Some("paid")) => Status::Active,
                // "unpaid": a delayed payment method (bank debit, transfer); the money is not
                // there until async_payment_succeeded.
                _ => Status::Incomplete,
            };
            Some(Change {
                plan: str_at(obj, &["metadata", "plan"])
                    .filter(|p| plans.get(p).is_some())
                    .map(str::to_string),
                status: Some(status),
                customer,
                subscription: id_at(obj, "subscription").map(str::to_string),
                ..Change::default()
            })
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let first_item = obj
                .get("items")
                .and_then(|i| i.get("data"))
                .and_then(|d| d.get(0));
            let price = first_item.and_then(|i| str_at(i, &["price", "id"]));
            let plan = price
                .and_then(|p| plans.by_price(p))
                .map(|p| p.id.clone())
                .or_else(|| {
                    str_at(obj, &["metadata", "plan"])
                        .filter(|p| plans.get(p).is_some())
                        .map(str::to_string)
                });
            let status = if kind == "customer.subscription.deleted" {
                Some(Status::Canceled)
            } else {
                match str_at(obj, &["status"]) {
                    Some("trialing") => Some(Status::Trialing),
                    Some("active") => Some(Status::Active),
                    Some("past_due") | Some("unpaid") => Some(Status::PastDue),
                    Some("canceled") | Some("incomplete_expired") => Some(Status::Canceled),
                    Some("incomplete") => Some(Status::Incomplete),
                    Some("paused") => Some(Status::Paused),
                    _ => None,
                }
            };
            // Before basil the period end is on the subscription, from basil on its items.
            let period_end = ts(obj.get("current_period_end"))
                .or_else(|| ts(first_item.and_then(|i| i.get("current_period_end"))));
            Some(Change {
                plan,
                status,
                customer,
                subscription: str_at(obj, &["id"]).map(str::to_string),
                period_end,
                cancel_at_period_end: obj.get("cancel_at_period_end").and_then(Value::as_bool),
                // `trial_end` is null once there is no trial; absent says nothing.
                trial_end: obj.get("trial_end").map(|v| ts(Some(v))),
                ..Change::default()
            })
        }
        "invoice.payment_failed" | "invoice.paid" => {
            // Invoices outside a subscription do not change the plan.
            let sub = invoice_subscription(obj)?.to_string();
            let failed = kind == "invoice.payment_failed";
            Some(Change {
                status: failed.then_some(Status::PastDue),
                customer,
                only_for_subscription: Some(sub),
                settles: !failed,
                ..Change::default()
            })
        }
        _ => None,
    }
}

/// The event's creation time; an out-of-range `created` counts as now.
fn created_at(event: &Event) -> DateTime<Utc> {
    Utc.timestamp_opt(event.created, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// Parses a verified body into the event envelope.
pub fn parse_event(body: &[u8]) -> Result<Event, serde_json::Error> {
    serde_json::from_slice(body)
}

/// What applying an event would do, worked out without a database: the pure half of the
/// handler (also what the Stripe webhook fuzz target drives).
#[derive(Debug)]
pub struct Preview {
    /// The organization named in the event's metadata (the customer lookup needs the database).
    pub org_hint: Option<Uuid>,
    /// The billing row after the event; `None` when the event changes nothing.
    pub next: Option<Account>,
    /// Older than the row's last event: only missing ids would be filled in.
    pub stale: bool,
}

pub fn preview(plans: &Plans, event: &Event, current: Option<&Account>) -> Preview {
    let obj = &event.data.object;
    let org_hint = org_hint(obj);
    if !HANDLED.contains(&event.kind.as_str()) {
        return Preview {
            org_hint,
            next: None,
            stale: false,
        };
    }
    let change = change_for(plans, &event.kind, obj);
    let free = plans.free_plan.clone();
    let merged = change.map(|ch| merge(current, &ch, created_at(event), &free));
    let (next, stale) = match merged {
        Some(Merge::Apply(a)) => (Some(a), false),
        Some(Merge::Stale(a)) => (Some(a), true),
        Some(Merge::Nothing) | None => (None, false),
    };
    Preview {
        org_hint,
        next,
        stale,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ApplyError {
    fn from(e: diesel::result::Error) -> Self {
        ApplyError::Db(DbError::Query(e))
    }
}

/// Applies a verified event. An `Err` means "try again later" (Stripe redelivers on 5xx).
pub async fn apply(db: &Db, b: &Billing, event: &Event) -> Result<Outcome, ApplyError> {
    if !HANDLED.contains(&event.kind.as_str()) {
        return Ok(Outcome::Ignored);
    }
    let obj = &event.data.object;
    let Some(org) = find_org(db, obj).await? else {
        tracing::warn!(event = %event.id, kind = %event.kind, "Stripe event for no known organization");
        return Ok(Outcome::Ignored);
    };
    let created = created_at(event);
    let change = change_for(b.plans(), &event.kind, obj);
    let free = b.plans().free_plan.clone();
    let (id, kind) = (event.id.clone(), event.kind.clone());
    db.tenant(org, async move |c| {
        // The organization must exist (and be this tenant's); a stale id in metadata is not
        // an error worth a redelivery.
        let exists = crate::auth::accounts::org_exists(c, org).await?;
        if !exists {
            return Ok(Outcome::Ignored);
        }
        let inserted = diesel::insert_into(stripe_events::table)
            .values((
                stripe_events::event_id.eq(&id),
                stripe_events::org_id.eq(org),
                stripe_events::kind.eq(&kind),
                stripe_events::created.eq(created),
            ))
            .on_conflict((stripe_events::org_id, stripe_events::event_id))
            .do_nothing()
            .execute(c)
            .await?;
        if inserted == 0 {
            return Ok(Outcome::Duplicate);
        }
        let Some(change) = change else {
            return Ok(Outcome::Ignored);
        };
        let current = account_for_update(c).await?;
        let next = merge(current.as_ref(), &change, created, &free);
        let outcome = match (&current, &next) {
            (_, Merge::Stale(a)) | (_, Merge::Apply(a)) => {
                if current.as_ref() != Some(a) {
                    save(c, org, current.is_some(), a).await?;
                }
                if matches!(next, Merge::Stale(_)) {
                    Outcome::Stale
                } else {
                    Outcome::Applied
                }
            }
            (_, Merge::Nothing) => Outcome::Ignored,
        };
        Ok::<_, ApplyError>(outcome)
    })
    .await
}

async fn account_for_update(c: &mut crate::db::Conn) -> QueryResult<Option<Account>> {
    // Lock the row: two deliveries for one organization apply one after the other.
    diesel::sql_query("SELECT 1 FROM billing_accounts FOR UPDATE")
        .execute(c)
        .await?;
    account(c).await
}

enum Merge {
    Apply(Account),
    /// Older than what is applied: only ids that were missing are filled in.
    Stale(Account),
    Nothing,
}

fn merge(current: Option<&Account>, ch: &Change, created: DateTime<Utc>, free: &str) -> Merge {
    let Some(cur) = current else {
        // No row yet: only an event that says what the state is creates one.
        let Some(status) = ch.status else {
            return Merge::Nothing;
        };
        return Merge::Apply(Account {
            plan: ch.plan.clone().unwrap_or_else(|| free.to_string()),
            status,
            stripe_customer_id: ch.customer.clone(),
            stripe_subscription_id: ch
                .subscription
                .clone()
                .or_else(|| ch.only_for_subscription.clone()),
            current_period_end: ch.period_end,
            past_due_since: (status == Status::PastDue).then_some(created),
            last_event_created: Some(created),
            cancel_at_period_end: ch.cancel_at_period_end.unwrap_or(false),
            trial_end: ch.trial_end.flatten(),
        });
    };
    let mut next = cur.clone();
    // Ids are facts, not state: fill them in whatever the order.
    if next.stripe_customer_id.is_none() {
        next.stripe_customer_id = ch.customer.clone();
    }
    if next.stripe_subscription_id.is_none() {
        next.stripe_subscription_id = ch
            .subscription
            .clone()
            .or_else(|| ch.only_for_subscription.clone());
    }
    if cur.last_event_created.is_some_and(|last| created < last) {
        return Merge::Stale(next);
    }
    if let Some(sub) = &ch.only_for_subscription {
        // An invoice of an older, replaced subscription says nothing about the current one.
        if next.stripe_subscription_id.as_deref() != Some(sub.as_str()) {
            return Merge::Stale(next);
        }
    }
    if let Some(sub) = &ch.subscription {
        next.stripe_subscription_id = Some(sub.clone());
    }
    if let Some(plan) = &ch.plan {
        next.plan = plan.clone();
    }
    if let Some(end) = ch.period_end {
        next.current_period_end = Some(end);
    }
    if let Some(cancel) = ch.cancel_at_period_end {
        next.cancel_at_period_end = cancel;
    }
    if let Some(trial_end) = ch.trial_end {
        next.trial_end = trial_end;
    }
    let status = if ch.settles {
        (cur.status == Status::PastDue).then_some(Status::Active)
    } else {
        ch.status
    };
    if let Some(s) = status {
        next.status = s;
        next.past_due_since = if s == Status::PastDue {
            // The grace period runs from the first failure, not the latest retry.
            cur.past_due_since.or(Some(created))
        } else {
            None
        };
    }
    next.last_event_created = Some(created);
    Merge::Apply(next)
}

async fn save(c: &mut crate::db::Conn, org: Uuid, exists: bool, a: &Account) -> QueryResult<usize> {
    let values = (
        billing_accounts::plan.eq(&a.plan),
        billing_accounts::status.eq(a.status.as_str()),
        billing_accounts::stripe_customer_id.eq(&a.stripe_customer_id),
        billing_accounts::stripe_subscription_id.eq(&a.stripe_subscription_id),
        billing_accounts::current_period_end.eq(a.current_period_end),
        billing_accounts::past_due_since.eq(a.past_due_since),
        billing_accounts::last_event_created.eq(a.last_event_created),
        billing_accounts::cancel_at_period_end.eq(a.cancel_at_period_end),
        billing_accounts::trial_end.eq(a.trial_end),
        billing_accounts::updated_at.eq(Utc::now()),
    );
    if exists {
        diesel::update(billing_accounts::table.find(org))
            .set(values)
            .execute(c)
            .await
    } else {
        // A concurrent first insert conflicts on the key; the error makes Stripe redeliver,
        // and the redelivery then sees the row.
        diesel::insert_into(billing_accounts::table)
            .values((billing_accounts::org_id.eq(org), values))
            .execute(c)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(secret: &str, t: i64, body: &[u8]) -> String {
        format!(
            "t={t},v1={}",
            hex::encode(sign(secret, &t.to_string(), body))
        )
    }

    #[test]
    fn any_v1_may_match_and_v0_is_ignored() {
        let body = br#"{"id":"evt_1"}"#;
        let good = header("whsec_x", 1000, body);
        let h = format!("t=1000,v1=00ff,v0=abcd,{}", &good[7..]);
        assert_eq!(verify(&h, body, "whsec_x", 300, 1100), Ok(()));
        assert_eq!(
            verify(&good, b"{}", "whsec_x", 300, 1100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&good, body, "whsec_x", 300, 1400),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify("v1=00", body, "whsec_x", 300, 1000),
            Err(SignatureError::Malformed)
        );
    }
}
