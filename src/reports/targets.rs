//! What the Alerts page configures: delivery channels (email, Slack, webhooks) and the monthly
//! budgets that pacing alerts compare spend against. Route handlers call these; the SQL of
//! `alert_channels` and `budget_targets` lives here and in `alerts`.

use diesel::sql_types::{BigInt, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;

/// A monthly budget to pace one ad account against.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct BudgetTarget {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub account_id: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    pub monthly_budget_micros: i64,
    #[diesel(sql_type = Integer)]
    pub alert_at_percent: i32,
}

/// The organization's budget targets, oldest first.
pub async fn budget_targets(c: &mut Conn) -> diesel::QueryResult<Vec<BudgetTarget>> {
    diesel::sql_query(
        "SELECT id, account_id, monthly_budget_micros, alert_at_percent \
         FROM budget_targets ORDER BY created_at",
    )
    .load(c)
    .await
}

pub async fn add_budget_target(
    c: &mut Conn,
    account_id: Uuid,
    monthly_budget_micros: i64,
    alert_at_percent: i32,
) -> diesel::QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO budget_targets (id, org_id, account_id, monthly_budget_micros, alert_at_percent) \
         VALUES ($1, app_current_org(), $2, $3, $4)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(account_id)
    .bind::<BigInt, _>(monthly_budget_micros)
    .bind::<Integer, _>(alert_at_percent)
    .execute(c)
    .await?;
    Ok(id)
}

/// Removes a budget target; false when the organization has none with that id.
pub async fn delete_budget_target(c: &mut Conn, id: Uuid) -> diesel::QueryResult<bool> {
    let n = diesel::sql_query("DELETE FROM budget_targets WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(c)
        .await?;
    Ok(n > 0)
}

/// Adds a delivery channel under `id` (a webhook's sealed signing secret is bound to it).
pub async fn add_channel(
    c: &mut Conn,
    id: Uuid,
    kind: &str,
    target: &str,
    signing_secret: Option<String>,
) -> diesel::QueryResult<Uuid> {
    diesel::sql_query(
        "INSERT INTO alert_channels (id, org_id, kind, target, signing_secret) \
         VALUES ($1, app_current_org(), $2, $3, $4)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(target)
    .bind::<Nullable<Text>, _>(signing_secret)
    .execute(c)
    .await?;
    Ok(id)
}

/// Removes a delivery channel; false when the organization has none with that id.
pub async fn delete_channel(c: &mut Conn, id: Uuid) -> diesel::QueryResult<bool> {
    let n = diesel::sql_query("DELETE FROM alert_channels WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(c)
        .await?;
    Ok(n > 0)
}
