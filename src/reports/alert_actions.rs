//! What a person does with an alert: acknowledge it (seen, being handled), snooze it for a day
//! or a week, or mute its kind for one ad account (nothing of that kind is raised there until
//! unmuted). Owns `alert_mutes`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;

/// Muted (account, kind) pairs of the organization.
pub async fn mutes(c: &mut Conn) -> diesel::QueryResult<HashSet<(Uuid, String)>> {
    #[derive(diesel::QueryableByName)]
    struct M {
        #[diesel(sql_type = SqlUuid)]
        account_id: Uuid,
        #[diesel(sql_type = Text)]
        kind: String,
    }
    let rows: Vec<M> = diesel::sql_query("SELECT account_id, kind FROM alert_mutes")
        .load(c)
        .await?;
    Ok(rows.into_iter().map(|m| (m.account_id, m.kind)).collect())
}

/// Marks an open alert as seen by `user`. Returns false when there is no such open alert.
pub async fn acknowledge(c: &mut Conn, id: Uuid, user: Uuid) -> diesel::QueryResult<bool> {
    let n = diesel::sql_query(
        "UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $2
         WHERE id = $1 AND state = 'open' AND acknowledged_at IS NULL",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(user)
    .execute(c)
    .await?;
    Ok(n == 1)
}

/// Hides an open alert from the "needs attention" list until `until`.
pub async fn snooze(c: &mut Conn, id: Uuid, until: DateTime<Utc>) -> diesel::QueryResult<bool> {
    let n =
        diesel::sql_query("UPDATE alerts SET snoozed_until = $2 WHERE id = $1 AND state = 'open'")
            .bind::<SqlUuid, _>(id)
            .bind::<Timestamptz, _>(until)
            .execute(c)
            .await?;
    Ok(n == 1)
}

/// Mutes `kind` for `account_id` (an account of this organization, checked in the statement)
/// and resolves what is open of that kind there. Returns false for an unknown account.
pub async fn mute(
    c: &mut Conn,
    account_id: Uuid,
    kind: &str,
    user: Uuid,
) -> diesel::QueryResult<bool> {
    let n = diesel::sql_query(
        "INSERT INTO alert_mutes (org_id, account_id, kind, created_by)
         SELECT app_current_org(), a.id, $2, $3 FROM ad_accounts a WHERE a.id = $1
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(account_id)
    .bind::<Text, _>(kind)
    .bind::<SqlUuid, _>(user)
    .execute(c)
    .await?;
    // What is open of that kind there resolves now rather than at the next check.
    diesel::sql_query(
        "UPDATE alerts SET state = 'resolved', resolved_at = now()
         WHERE state = 'open' AND kind = $2 AND details->>'account_id' = $1::text",
    )
    .bind::<SqlUuid, _>(account_id)
    .bind::<Text, _>(kind)
    .execute(c)
    .await?;
    Ok(n == 1)
}

pub async fn unmute(c: &mut Conn, account_id: Uuid, kind: &str) -> diesel::QueryResult<bool> {
    let n = diesel::sql_query("DELETE FROM alert_mutes WHERE account_id = $1 AND kind = $2")
        .bind::<SqlUuid, _>(account_id)
        .bind::<Text, _>(kind)
        .execute(c)
        .await?;
    Ok(n == 1)
}

/// The account and kind of an alert, for "mute this kind here".
pub async fn subject(c: &mut Conn, id: Uuid) -> diesel::QueryResult<Option<(Uuid, String)>> {
    Ok(super::alerts::list_one(c, id)
        .await?
        .and_then(|a| a.account_id.map(|acc| (acc, a.kind))))
}
