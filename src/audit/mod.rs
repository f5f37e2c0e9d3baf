//! The append-only audit log: who did what, when, in which organization. Never holds secrets.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;
use crate::db::schema::{audit_log, users};

/// Where the request that causes an audit entry came from: set by the web middleware for the
/// request's duration, read by [`record`] (jobs have none).
#[derive(Debug, Clone)]
pub struct RequestOrigin {
    pub request_id: String,
    pub client_ip: String,
}

tokio::task_local! {
    static ORIGIN: RequestOrigin;
}

/// Runs `f` with `origin` recorded on every audit entry it writes.
pub async fn with_origin<F: std::future::Future>(origin: RequestOrigin, f: F) -> F::Output {
    ORIGIN.scope(origin, f).await
}

/// Records an event inside the caller's tenant transaction, so it exists only if the change
/// it describes was committed.
pub async fn record(
    conn: &mut Conn,
    org_id: Uuid,
    actor: Option<Uuid>,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> QueryResult<()> {
    let origin = ORIGIN.try_with(Clone::clone).ok();
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(Uuid::now_v7()),
            audit_log::org_id.eq(org_id),
            audit_log::actor_user_id.eq(actor),
            audit_log::action.eq(action),
            audit_log::subject.eq(subject),
            audit_log::details.eq(details),
            audit_log::request_id.eq(origin.as_ref().map(|o| o.request_id.clone())),
            audit_log::client_ip.eq(origin.map(|o| o.client_ip)),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub action: String,
    pub subject: String,
    pub details: serde_json::Value,
}

/// The newest entries of the current organization.
pub async fn recent(conn: &mut Conn, limit: i64) -> QueryResult<Vec<AuditEntry>> {
    let rows: Vec<(
        DateTime<Utc>,
        Option<String>,
        String,
        String,
        serde_json::Value,
    )> = audit_log::table
        .left_join(users::table.on(users::id.nullable().eq(audit_log::actor_user_id)))
        .select((
            audit_log::created_at,
            users::email.nullable(),
            audit_log::action,
            audit_log::subject,
            audit_log::details,
        ))
        .order(audit_log::created_at.desc())
        .limit(limit)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(at, actor, action, subject, details)| AuditEntry {
            at,
            actor,
            action,
            subject,
            details,
        })
        .collect())
}
