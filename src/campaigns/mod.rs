//! The unified campaign model across platforms. Owns `campaigns`, `campaign_pushes` and
//! `campaign_copy`.

pub mod complete;
pub mod copy;
pub mod create_form;
pub mod form_input;
pub mod images;
pub mod meta_create;
pub mod meta_lookup;
pub mod meta_push;
pub mod push;
pub mod routes;
pub mod tiktok_create;
pub mod tiktok_lookup;
pub mod tiktok_push;
pub mod undo;

pub mod action_routes;
pub mod actions;
pub mod budget_input;
pub mod jobs;
pub mod labels;
pub mod level_action_routes;
pub mod level_routes;
pub mod level_undo;
pub mod levels;
pub mod list_page;
pub mod pauses;

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
                    campaigns::lifetime_budget_micros
                        .eq(p.flight.lifetime_budget.map(|m| m.micros)),
                    campaigns::budget_remaining_micros
                        .eq(p.flight.budget_remaining.map(|m| m.micros)),
                    campaigns::starts_at.eq(p.flight.starts_at),
                    campaigns::ends_at.eq(p.flight.ends_at),
                    campaigns::platform_created_at.eq(p.flight.created_at),
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
                campaigns::lifetime_budget_micros.eq(excluded(campaigns::lifetime_budget_micros)),
                campaigns::budget_remaining_micros.eq(excluded(campaigns::budget_remaining_micros)),
                campaigns::starts_at.eq(excluded(campaigns::starts_at)),
                campaigns::ends_at.eq(excluded(campaigns::ends_at)),
                campaigns::platform_created_at.eq(excluded(campaigns::platform_created_at)),
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

/// A campaign with its account, for the campaign list and page.
#[derive(Debug, Clone)]
pub struct CampaignListItem {
    pub campaign: Campaign,
    pub account_name: String,
    pub account_time_zone: String,
}

/// Filters of the unified campaign list (empty = everything).
#[derive(Debug, Clone, Default)]
pub struct ListFilters {
    pub platform: Option<Platform>,
    pub account_id: Option<Uuid>,
    pub status: Option<String>,
    pub search: Option<String>,
    pub id: Option<Uuid>,
}

#[derive(diesel::QueryableByName)]
struct ListRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    account_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    platform: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    external_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    daily_budget_micros: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    currency: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    last_synced_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    account_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    account_time_zone: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

/// One page of the campaigns matching `f` (by name), and how many match in all.
pub async fn list_filtered(
    c: &mut Conn,
    f: &ListFilters,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<CampaignListItem>, i64)> {
    use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
    let pattern = f.search.as_ref().map(|s| {
        format!(
            "%{}%",
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let rows: Vec<ListRow> = diesel::sql_query(
        "SELECT c.id, c.account_id, c.platform, c.external_id, c.name, c.status,
           c.daily_budget_micros, c.currency, c.last_synced_at,
           a.name AS account_name, a.time_zone AS account_time_zone, count(*) OVER () AS total
         FROM campaigns c JOIN ad_accounts a ON a.id = c.account_id
         WHERE ($1::text IS NULL OR c.platform = $1)
           AND ($2::uuid IS NULL OR c.account_id = $2)
           AND ($3::text IS NULL OR c.status = $3)
           AND ($4::text IS NULL OR c.name ILIKE $4)
           AND ($5::uuid IS NULL OR c.id = $5)
         ORDER BY c.name, c.id
         LIMIT $6 OFFSET $7",
    )
    .bind::<Nullable<Text>, _>(f.platform.map(|p| p.as_str().to_string()))
    .bind::<Nullable<SqlUuid>, _>(f.account_id)
    .bind::<Nullable<Text>, _>(f.status.clone())
    .bind::<Nullable<Text>, _>(pattern)
    .bind::<Nullable<SqlUuid>, _>(f.id)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(offset.max(0))
    .load(c)
    .await?;
    let total = <[_]>::first(&rows).map(|r| r.total).unwrap_or(0);
    let items = rows
        .into_iter()
        .filter_map(|r| {
            Some(CampaignListItem {
                campaign: Campaign {
                    id: r.id,
                    account_id: r.account_id,
                    platform: r.platform.parse().ok()?,
                    external_id: r.external_id,
                    name: r.name,
                    status: r.status,
                    daily_budget_micros: r.daily_budget_micros,
                    currency: r.currency,
                    last_synced_at: r.last_synced_at,
                },
                account_name: r.account_name,
                account_time_zone: r.account_time_zone,
            })
        })
        .collect();
    Ok((items, total))
}

/// One campaign with its account; `NotFound` when it is not this organization's.
pub async fn detail(c: &mut Conn, id: Uuid) -> QueryResult<CampaignListItem> {
    let f = ListFilters {
        id: Some(id),
        ..ListFilters::default()
    };
    list_filtered(c, &f, 1, 0)
        .await?
        .0
        .into_iter()
        .next()
        .ok_or(diesel::result::Error::NotFound)
}

/// A change a rule made (or tried to make) on a campaign, for the campaign page.
#[derive(Debug, Clone)]
pub struct RuleActionView {
    pub at: DateTime<Utc>,
    pub rule: String,
    pub action: String,
    pub outcome: String,
}

/// Every change adpilot made or tried on a campaign (by a rule or a person), newest first,
/// from the audited action path's intent rows.
pub async fn rule_actions(c: &mut Conn, campaign_id: Uuid) -> QueryResult<Vec<RuleActionView>> {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        at: DateTime<Utc>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        who: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        outcome: String,
    }
    let rows: Vec<R> = diesel::sql_query(
        "SELECT a.created_at AS at,
                CASE WHEN a.source = 'rule' THEN 'rule' ELSE coalesce(u.email, 'a person') END AS who,
                CASE a.level WHEN 'campaign' THEN a.kind
                             ELSE a.kind || ' (' || replace(a.level, '_', ' ') || ')' END AS kind,
                a.state || coalesce(': ' || a.message, '') AS outcome
         FROM platform_actions a LEFT JOIN users u ON u.id = a.actor_user_id
         WHERE a.campaign_id = $1 ORDER BY a.created_at DESC LIMIT 50",
    )
    .bind::<diesel::sql_types::Uuid, _>(campaign_id)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RuleActionView {
            at: r.at,
            rule: r.who,
            action: r.kind.replace('_', " "),
            outcome: r.outcome,
        })
        .collect())
}

/// A change adpilot made on a platform in a period, for summaries.
#[derive(Debug, Clone)]
pub struct DoneAction {
    pub at: DateTime<Utc>,
    pub campaign: String,
    pub kind: String,
    pub message: String,
}

/// Changes that succeeded between `from` and `to`, days in `time_zone` (the organization's,
/// as reports and dashboards count days), newest first.
pub async fn actions_between(
    c: &mut Conn,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    time_zone: &str,
    limit: i64,
) -> QueryResult<Vec<DoneAction>> {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        at: DateTime<Utc>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        campaign: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        message: String,
    }
    let rows: Vec<R> = diesel::sql_query(
        "SELECT a.created_at AS at, c.name AS campaign, a.kind, coalesce(a.message, '') AS message
         FROM platform_actions a JOIN campaigns c ON c.id = a.campaign_id
         WHERE a.state = 'succeeded'
           AND a.created_at >= $1::timestamp AT TIME ZONE $4
           AND a.created_at < ($2 + 1)::timestamp AT TIME ZONE $4
         ORDER BY a.created_at DESC LIMIT $3",
    )
    .bind::<diesel::sql_types::Date, _>(from)
    .bind::<diesel::sql_types::Date, _>(to)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .bind::<diesel::sql_types::Text, _>(time_zone)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DoneAction {
            at: r.at,
            campaign: r.campaign,
            kind: r.kind.replace('_', " "),
            message: r.message,
        })
        .collect())
}

/// A change adpilot made (or tried) on an ad group or ad, for its page: who asked, what, and
/// what the platform answered.
#[derive(Debug, Clone)]
pub struct LevelActionView {
    pub at: DateTime<Utc>,
    pub who: String,
    /// "pause", "set budget", ...; "on an ad: pause" on an ad group's page for its ads.
    pub action: String,
    pub ad_id: Option<Uuid>,
    pub state: String,
    /// adpilot's summary, with the platform's own words when it refused.
    pub message: String,
    /// The platform's answer: "ok", "already applied", or the kind of refusal.
    pub answer: String,
    pub id: Uuid,
    /// A change a rule check made here: `Some(false)` may be undone from this page,
    /// `Some(true)` has been undone; `None` for anything else.
    pub undone: Option<bool>,
}

/// The changes on an ad group (and its ads) or on one ad, newest first.
pub async fn level_actions(
    c: &mut Conn,
    id: Uuid,
    of_ad: bool,
) -> QueryResult<Vec<LevelActionView>> {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        at: DateTime<Utc>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        who: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
        ad_id: Option<Uuid>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        message: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        answer: String,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        by_rule: bool,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        undone: bool,
    }
    // One statement per level, so each uses its own (org_id, object, created_at) index.
    let filter = if of_ad {
        "a.ad_id = $1"
    } else {
        "a.ad_group_id = $1"
    };
    let rows: Vec<R> = diesel::sql_query(format!(
        "SELECT a.created_at AS at,
                CASE WHEN a.source = 'rule' THEN 'a rule' ELSE coalesce(u.email, 'a person') END AS who,
                a.kind, a.ad_id, a.state, coalesce(a.message, '') AS message,
                coalesce(a.platform_response, '') AS answer, a.id,
                (a.source = 'rule' AND a.rule_id IS NOT NULL AND a.state = 'succeeded') AS by_rule,
                EXISTS (SELECT 1 FROM platform_actions r WHERE r.org_id = a.org_id
                        AND r.intent_key = 'undo:' || a.id::text) AS undone
         FROM platform_actions a LEFT JOIN users u ON u.id = a.actor_user_id
         WHERE a.org_id = (SELECT app_current_org()) AND {filter}
         ORDER BY a.created_at DESC LIMIT 50"
    ))
    .bind::<diesel::sql_types::Uuid, _>(id)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LevelActionView {
            at: r.at,
            who: r.who,
            action: r.kind.replace('_', " "),
            ad_id: r.ad_id,
            state: r.state,
            message: r.message,
            answer: r.answer,
            id: r.id,
            undone: r.by_rule.then_some(r.undone),
        })
        .collect())
}
