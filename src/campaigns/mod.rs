//! The unified campaign model across platforms. Owns `campaigns`.

pub mod action_routes;
pub mod actions;
pub mod jobs;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;
use crate::db::schema::campaigns;
use crate::platforms::{Campaign as PlatformCampaign, CampaignStatus};
use crate::types::{Currency, Platform};

/// A campaign as adpilot stores it.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: Uuid,
    pub account_id: Uuid,
    pub platform: Platform,
    pub external_id: String,
    pub name: String,
    pub status: String,
    pub daily_budget_micros: Option<i64>,
    pub currency: String,
    pub last_synced_at: Option<DateTime<Utc>>,
}

pub fn status_str(s: CampaignStatus) -> &'static str {
    match s {
        CampaignStatus::Active => "active",
        CampaignStatus::Paused => "paused",
        CampaignStatus::Removed => "removed",
    }
}

/// Writes what a sync read about an account's campaigns (one statement for all of them) and
/// returns the ids by platform campaign id.
pub async fn upsert_synced(
    c: &mut Conn,
    org_id: Uuid,
    account_id: Uuid,
    platform: Platform,
    currency: Currency,
    list: &[PlatformCampaign],
) -> QueryResult<HashMap<String, Uuid>> {
    if !list.is_empty() {
        let now = Utc::now();
        let rows: Vec<_> = list
            .iter()
            .map(|p| {
                (
                    campaigns::id.eq(Uuid::now_v7()),
                    campaigns::org_id.eq(org_id),
                    campaigns::account_id.eq(account_id),
                    campaigns::platform.eq(platform.as_str()),
                    campaigns::external_id.eq(p.id.clone()),
                    campaigns::name.eq(p.name.clone()),
                    campaigns::status.eq(status_str(p.status)),
                    campaigns::daily_budget_micros.eq(p.daily_budget.map(|m| m.micros)),
                    campaigns::currency.eq(currency.as_str().to_string()),
                    campaigns::last_synced_at.eq(Some(now)),
                )
            })
            .collect();
        use diesel::upsert::excluded;
        diesel::insert_into(campaigns::table)
            .values(rows)
            .on_conflict((
                campaigns::org_id,
                campaigns::account_id,
                campaigns::external_id,
            ))
            .do_update()
            .set((
                campaigns::name.eq(excluded(campaigns::name)),
                campaigns::status.eq(excluded(campaigns::status)),
                campaigns::daily_budget_micros.eq(excluded(campaigns::daily_budget_micros)),
                campaigns::last_synced_at.eq(excluded(campaigns::last_synced_at)),
                campaigns::updated_at.eq(now),
            ))
            .execute(c)
            .await?;
    }
    ids_by_external(c, account_id).await
}

/// Campaign ids of an account, by platform id.
pub async fn ids_by_external(c: &mut Conn, account_id: Uuid) -> QueryResult<HashMap<String, Uuid>> {
    let rows: Vec<(String, Uuid)> = campaigns::table
        .filter(campaigns::account_id.eq(account_id))
        .select((campaigns::external_id, campaigns::id))
        .load(c)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Adds campaigns seen only in metrics (removed ones a listing no longer returns).
pub async fn ensure_known(
    c: &mut Conn,
    org_id: Uuid,
    account_id: Uuid,
    platform: Platform,
    currency: Currency,
    seen: &[(String, String)],
) -> QueryResult<HashMap<String, Uuid>> {
    if !seen.is_empty() {
        let rows: Vec<_> = seen
            .iter()
            .map(|(id, name)| {
                (
                    campaigns::id.eq(Uuid::now_v7()),
                    campaigns::org_id.eq(org_id),
                    campaigns::account_id.eq(account_id),
                    campaigns::platform.eq(platform.as_str()),
                    campaigns::external_id.eq(id.clone()),
                    campaigns::name.eq(name.clone()),
                    campaigns::status.eq("removed"),
                    campaigns::currency.eq(currency.as_str().to_string()),
                )
            })
            .collect();
        diesel::insert_into(campaigns::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(c)
            .await?;
    }
    ids_by_external(c, account_id).await
}

fn from_row(
    r: (
        Uuid,
        Uuid,
        String,
        String,
        String,
        String,
        Option<i64>,
        String,
        Option<DateTime<Utc>>,
    ),
) -> Campaign {
    Campaign {
        id: r.0,
        account_id: r.1,
        platform: r.2.parse().unwrap_or(Platform::Google),
        external_id: r.3,
        name: r.4,
        status: r.5,
        daily_budget_micros: r.6,
        currency: r.7,
        last_synced_at: r.8,
    }
}

pub async fn get(c: &mut Conn, id: Uuid) -> QueryResult<Campaign> {
    campaigns::table
        .find(id)
        .select((
            campaigns::id,
            campaigns::account_id,
            campaigns::platform,
            campaigns::external_id,
            campaigns::name,
            campaigns::status,
            campaigns::daily_budget_micros,
            campaigns::currency,
            campaigns::last_synced_at,
        ))
        .first(c)
        .await
        .map(from_row)
}

pub async fn list_all(c: &mut Conn) -> QueryResult<Vec<Campaign>> {
    let rows = campaigns::table
        .select((
            campaigns::id,
            campaigns::account_id,
            campaigns::platform,
            campaigns::external_id,
            campaigns::name,
            campaigns::status,
            campaigns::daily_budget_micros,
            campaigns::currency,
            campaigns::last_synced_at,
        ))
        .order(campaigns::name.asc())
        .load(c)
        .await?;
    Ok(rows.into_iter().map(from_row).collect())
}
