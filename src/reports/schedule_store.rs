//! The `report_schedules` table: reading, counting and removing schedules. Creating one is
//! `send::create`, which checks the plan's limit first; this file imports nothing from billing,
//! so billing can count schedules without an import circle.

use chrono::{DateTime, NaiveTime, Utc};
use diesel::sql_types::{Array, Nullable, SmallInt, Text, Time, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::content::{self, Period};
use super::schedule::Frequency;
use crate::types::Platform;

#[derive(Debug, Clone)]
pub struct Schedule {
    pub id: Uuid,
    pub name: String,
    pub frequency: Frequency,
    pub send_time: NaiveTime,
    pub period: Period,
    pub platform: Option<Platform>,
    pub account_ids: Vec<Uuid>,
    pub campaign_search: Option<String>,
    pub recipients: Vec<String>,
    pub next_send_at: DateTime<Utc>,
}

impl Schedule {
    /// What the report covers: its platform, accounts and campaign search.
    pub fn scope(&self) -> content::Scope {
        content::Scope {
            platform: self.platform,
            account_ids: self.account_ids.clone(),
            campaign_search: self.campaign_search.clone(),
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    frequency: String,
    #[diesel(sql_type = Nullable<SmallInt>)]
    weekday: Option<i16>,
    #[diesel(sql_type = Time)]
    send_time: NaiveTime,
    #[diesel(sql_type = Text)]
    period: String,
    #[diesel(sql_type = Nullable<Text>)]
    platform: Option<String>,
    #[diesel(sql_type = Array<SqlUuid>)]
    account_ids: Vec<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    campaign_search: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    recipients: Vec<String>,
    #[diesel(sql_type = Timestamptz)]
    next_send_at: DateTime<Utc>,
}

fn schedule(r: Row) -> Schedule {
    Schedule {
        id: r.id,
        name: r.name,
        frequency: match (r.frequency.as_str(), r.weekday) {
            ("weekly", Some(w)) => Frequency::Weekly(w as u32),
            _ => Frequency::Daily,
        },
        send_time: r.send_time,
        period: Period::parse(&r.period).unwrap_or(Period::Yesterday),
        platform: r.platform.and_then(|p| p.parse().ok()),
        account_ids: r.account_ids,
        campaign_search: r.campaign_search,
        recipients: r.recipients,
        next_send_at: r.next_send_at,
    }
}

const SELECT: &str = "SELECT id, name, frequency, weekday, send_time, period, platform, account_ids, campaign_search, recipients, next_send_at FROM report_schedules";

pub async fn list(c: &mut crate::db::Conn) -> diesel::QueryResult<Vec<Schedule>> {
    let rows: Vec<Row> = diesel::sql_query(format!("{SELECT} ORDER BY name"))
        .load(c)
        .await?;
    Ok(rows.into_iter().map(schedule).collect())
}

pub async fn get(c: &mut crate::db::Conn, id: Uuid) -> diesel::QueryResult<Schedule> {
    let row: Row = diesel::sql_query(format!("{SELECT} WHERE id = $1"))
        .bind::<SqlUuid, _>(id)
        .get_result(c)
        .await?;
    Ok(schedule(row))
}

/// The schedules whose send time has come, locked until the transaction ends; a schedule
/// another sender holds is left to it.
pub async fn due_locked(c: &mut crate::db::Conn) -> diesel::QueryResult<Vec<Schedule>> {
    let rows: Vec<Row> = diesel::sql_query(format!(
        "{SELECT} WHERE next_send_at <= now() FOR UPDATE SKIP LOCKED"
    ))
    .load(c)
    .await?;
    Ok(rows.into_iter().map(schedule).collect())
}

/// Whether the organization has a report schedule with this id.
pub async fn schedule_exists(c: &mut crate::db::Conn, id: Uuid) -> diesel::QueryResult<bool> {
    let n = diesel::sql_query("SELECT id FROM report_schedules WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(c)
        .await?;
    Ok(n > 0)
}

/// Removes a report schedule; false when the organization has none with that id.
pub async fn delete_schedule(c: &mut crate::db::Conn, id: Uuid) -> diesel::QueryResult<bool> {
    let n = diesel::sql_query("DELETE FROM report_schedules WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(c)
        .await?;
    Ok(n > 0)
}

/// Report schedules of the current organization (what the plan's schedule limit counts).
pub async fn schedule_count(c: &mut crate::db::Conn) -> diesel::QueryResult<u64> {
    crate::db::count(
        c,
        diesel::sql_query("SELECT count(*) AS n FROM report_schedules"),
    )
    .await
}
