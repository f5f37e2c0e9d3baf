//! The levels below campaigns as synced: `ad_groups` (Google ad groups, Meta ad sets, TikTok
//! ad groups) and `ads`. Written whole-listing-at-a-time (one `unnest` statement per level),
//! rows left alone when nothing changed, and an object the platform no longer lists marked
//! removed with its history kept.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::QueryResult;
use diesel::sql_types::{Array, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;
use crate::platforms::{Ad, AdGroup, CampaignStatus};
use crate::types::{Currency, Platform};

fn status_str(s: CampaignStatus) -> &'static str {
    s.as_str()
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(diesel::QueryableByName)]
struct AdIdRow {
    #[diesel(sql_type = SqlUuid)]
    ad_group_id: Uuid,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Ad-group ids of an account, by platform id.
pub async fn ad_group_ids(
    c: &mut Conn,
    org_id: Uuid,
    account_id: Uuid,
) -> diesel::QueryResult<HashMap<String, Uuid>> {
    let rows: Vec<IdRow> = diesel::sql_query(
        "SELECT external_id, id FROM ad_groups WHERE org_id = $1 AND account_id = $2",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(account_id)
    .load(c)
    .await?;
    Ok(rows.into_iter().map(|r| (r.external_id, r.id)).collect())
}

/// Ad ids of an account, by (ad group id, platform ad id): Google ad ids are unique only
/// within their ad group.
pub async fn ad_ids(
    c: &mut Conn,
    org_id: Uuid,
    account_id: Uuid,
) -> diesel::QueryResult<HashMap<(Uuid, String), Uuid>> {
    let rows: Vec<AdIdRow> = diesel::sql_query(
        "SELECT ad_group_id, external_id, id FROM ads WHERE org_id = $1 AND account_id = $2",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(account_id)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.ad_group_id, r.external_id), r.id))
        .collect())
}

/// The account whose ad groups and ads are written: a sync's or a create's.
#[derive(Debug, Clone, Copy)]
pub struct AccountKey {
    pub org_id: Uuid,
    pub account_id: Uuid,
    pub platform: Platform,
    pub currency: Currency,
}

/// Stores the listed ad groups of an account (call inside its tenant transaction).
/// `campaigns` maps platform campaign ids to stored ones; an ad group of an unknown campaign
/// is skipped (the campaign listing comes first, so that only happens for a campaign deleted
/// in between). With `complete`, the listing was of the whole account, and stored ad groups
/// missing from it are marked removed.
pub async fn upsert_ad_groups(
    c: &mut Conn,
    account: AccountKey,
    campaigns: &HashMap<String, Uuid>,
    list: &[AdGroup],
    complete: bool,
) -> diesel::QueryResult<HashMap<String, Uuid>> {
    let AccountKey {
        org_id,
        account_id,
        platform,
        currency,
    } = account;
    let rows: Vec<(&AdGroup, Uuid)> = list
        .iter()
        .filter_map(|g| Some((g, *campaigns.get(&g.campaign_id)?)))
        .collect();
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::now_v7()).collect();
    let camp: Vec<Uuid> = rows.iter().map(|(_, c)| *c).collect();
    let ext: Vec<String> = rows.iter().map(|(g, _)| g.id.clone()).collect();
    let name: Vec<String> = rows.iter().map(|(g, _)| g.name.clone()).collect();
    let status: Vec<String> = rows
        .iter()
        .map(|(g, _)| status_str(g.status).to_string())
        .collect();
    let delivery: Vec<Option<String>> = rows.iter().map(|(g, _)| g.delivery.clone()).collect();
    let period: Vec<Option<String>> = rows
        .iter()
        .map(|(g, _)| g.budget.map(|b| b.period.as_str().to_string()))
        .collect();
    let budget: Vec<Option<i64>> = rows
        .iter()
        .map(|(g, _)| g.budget.map(|b| b.amount.micros))
        .collect();
    let bid: Vec<Option<i64>> = rows.iter().map(|(g, _)| g.bid.map(|b| b.micros)).collect();
    let strategy: Vec<Option<String>> = rows.iter().map(|(g, _)| g.bid_strategy.clone()).collect();
    let starts: Vec<Option<DateTime<Utc>>> = rows.iter().map(|(g, _)| g.starts_at).collect();
    let ends: Vec<Option<DateTime<Utc>>> = rows.iter().map(|(g, _)| g.ends_at).collect();
    let created: Vec<Option<DateTime<Utc>>> = rows.iter().map(|(g, _)| g.created_at).collect();
    diesel::sql_query(
        "INSERT INTO ad_groups (org_id, id, account_id, campaign_id, platform, external_id, name,
           status, delivery, budget_period, budget_micros, bid_micros, bid_strategy, starts_at,
           ends_at, platform_created_at, currency, last_synced_at)
         SELECT $1, i.id, $2, i.campaign_id, $3, i.external_id, i.name, i.status, i.delivery,
           i.period, i.budget, i.bid, i.strategy, i.starts, i.ends, i.created, $4, now()
         FROM unnest($5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[],
                     $11::text[], $12::int8[], $13::int8[], $14::text[], $15::timestamptz[],
                     $16::timestamptz[], $17::timestamptz[])
           AS i(id, campaign_id, external_id, name, status, delivery, period, budget, bid,
                strategy, starts, ends, created)
         ON CONFLICT (org_id, account_id, external_id) DO UPDATE SET
           campaign_id = excluded.campaign_id, name = excluded.name, status = excluded.status,
           delivery = excluded.delivery, budget_period = excluded.budget_period,
           budget_micros = excluded.budget_micros, bid_micros = excluded.bid_micros,
           bid_strategy = excluded.bid_strategy, starts_at = excluded.starts_at,
           ends_at = excluded.ends_at,
           platform_created_at = coalesce(excluded.platform_created_at, ad_groups.platform_created_at),
           updated_at = now(), last_synced_at = now()
         -- An unchanged ad group keeps its row version: at 10,000 ad groups a sync would
         -- otherwise rewrite them all every time.
         WHERE (ad_groups.campaign_id, ad_groups.name, ad_groups.status, ad_groups.delivery,
                ad_groups.budget_period, ad_groups.budget_micros, ad_groups.bid_micros,
                ad_groups.bid_strategy, ad_groups.starts_at, ad_groups.ends_at)
           IS DISTINCT FROM
               (excluded.campaign_id, excluded.name, excluded.status, excluded.delivery,
                excluded.budget_period, excluded.budget_micros, excluded.bid_micros,
                excluded.bid_strategy, excluded.starts_at, excluded.ends_at)",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(account_id)
    .bind::<Text, _>(platform.as_str())
    .bind::<Text, _>(currency.as_str())
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<SqlUuid>, _>(&camp)
    .bind::<Array<Text>, _>(&ext)
    .bind::<Array<Text>, _>(&name)
    .bind::<Array<Text>, _>(&status)
    .bind::<Array<Nullable<Text>>, _>(&delivery)
    .bind::<Array<Nullable<Text>>, _>(&period)
    .bind::<Array<Nullable<diesel::sql_types::BigInt>>, _>(&budget)
    .bind::<Array<Nullable<diesel::sql_types::BigInt>>, _>(&bid)
    .bind::<Array<Nullable<Text>>, _>(&strategy)
    .bind::<Array<Nullable<Timestamptz>>, _>(&starts)
    .bind::<Array<Nullable<Timestamptz>>, _>(&ends)
    .bind::<Array<Nullable<Timestamptz>>, _>(&created)
    .execute(c)
    .await?;
    if complete {
        mark_unlisted_ad_groups_removed(c, org_id, account_id, list).await?;
    }
    ad_group_ids(c, org_id, account_id).await
}

/// After a listing of the whole account: its stored ad groups the listing lacks are gone.
async fn mark_unlisted_ad_groups_removed(
    c: &mut Conn,
    org_id: Uuid,
    account_id: Uuid,
    list: &[AdGroup],
) -> diesel::QueryResult<()> {
    let listed: Vec<String> = list.iter().map(|g| g.id.clone()).collect();
    diesel::sql_query(
        "UPDATE ad_groups SET status = 'removed', updated_at = now()
         WHERE org_id = $1 AND account_id = $2 AND status <> 'removed'
           AND NOT (external_id = ANY($3::text[]))",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(account_id)
    .bind::<Array<Text>, _>(&listed)
    .execute(c)
    .await?;
    Ok(())
}

/// Stores the listed ads of an account, like [`upsert_ad_groups`]; an ad of an unknown ad
/// group is skipped.
pub async fn upsert_ads(
    c: &mut Conn,
    account: AccountKey,
    campaigns: &HashMap<String, Uuid>,
    ad_groups: &HashMap<String, Uuid>,
    list: &[Ad],
    complete: bool,
) -> diesel::QueryResult<HashMap<(Uuid, String), Uuid>> {
    let AccountKey {
        org_id,
        account_id,
        platform,
        ..
    } = account;
    let rows: Vec<(&Ad, Uuid, Uuid)> = list
        .iter()
        .filter_map(|a| {
            Some((
                a,
                *campaigns.get(&a.campaign_id)?,
                *ad_groups.get(&a.ad_group_id)?,
            ))
        })
        .collect();
    let cols = AdColumns::of(&rows);
    diesel::sql_query(
        "INSERT INTO ads (org_id, id, account_id, campaign_id, ad_group_id, platform, external_id,
           name, status, delivery, ad_type, headlines, descriptions, primary_text, final_url,
           platform_created_at, last_synced_at)
         SELECT $1, i.id, $2, i.campaign_id, i.ad_group_id, $3, i.external_id, i.name, i.status,
           i.delivery, i.ad_type,
           ARRAY(SELECT jsonb_array_elements_text(i.headlines::jsonb)),
           ARRAY(SELECT jsonb_array_elements_text(i.descriptions::jsonb)),
           i.primary_text, i.final_url, i.created, now()
         FROM unnest($4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::text[],
                     $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                     $16::timestamptz[])
           AS i(id, campaign_id, ad_group_id, external_id, name, status, delivery, ad_type,
                headlines, descriptions, primary_text, final_url, created)
         ON CONFLICT (org_id, ad_group_id, external_id) DO UPDATE SET
           name = excluded.name, status = excluded.status, delivery = excluded.delivery,
           ad_type = excluded.ad_type, headlines = excluded.headlines,
           descriptions = excluded.descriptions, primary_text = excluded.primary_text,
           final_url = excluded.final_url,
           platform_created_at = coalesce(excluded.platform_created_at, ads.platform_created_at),
           updated_at = now(), last_synced_at = now()
         WHERE (ads.name, ads.status, ads.delivery, ads.ad_type, ads.headlines, ads.descriptions,
                ads.primary_text, ads.final_url)
           IS DISTINCT FROM
               (excluded.name, excluded.status, excluded.delivery, excluded.ad_type,
                excluded.headlines, excluded.descriptions, excluded.primary_text,
                excluded.final_url)",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(account_id)
    .bind::<Text, _>(platform.as_str())
    .bind::<Array<SqlUuid>, _>(&cols.ids)
    .bind::<Array<SqlUuid>, _>(&cols.camp)
    .bind::<Array<SqlUuid>, _>(&cols.group)
    .bind::<Array<Text>, _>(&cols.ext)
    .bind::<Array<Text>, _>(&cols.name)
    .bind::<Array<Text>, _>(&cols.status)
    .bind::<Array<Nullable<Text>>, _>(&cols.delivery)
    .bind::<Array<Nullable<Text>>, _>(&cols.ad_type)
    .bind::<Array<Text>, _>(&cols.headlines)
    .bind::<Array<Text>, _>(&cols.descriptions)
    .bind::<Array<Nullable<Text>>, _>(&cols.primary)
    .bind::<Array<Nullable<Text>>, _>(&cols.url)
    .bind::<Array<Nullable<Timestamptz>>, _>(&cols.created)
    .execute(c)
    .await?;
    if complete {
        mark_unlisted_ads_removed(c, org_id, account_id, &cols).await?;
    }
    ad_ids(c, org_id, account_id).await
}

/// The listed ads (with their stored campaign and ad group) as one array per column, for
/// one `unnest` insert.
struct AdColumns {
    ids: Vec<Uuid>,
    camp: Vec<Uuid>,
    group: Vec<Uuid>,
    ext: Vec<String>,
    name: Vec<String>,
    status: Vec<String>,
    delivery: Vec<Option<String>>,
    ad_type: Vec<Option<String>>,
    headlines: Vec<String>,
    descriptions: Vec<String>,
    primary: Vec<Option<String>>,
    url: Vec<Option<String>>,
    created: Vec<Option<DateTime<Utc>>>,
}

impl AdColumns {
    fn of(rows: &[(&Ad, Uuid, Uuid)]) -> AdColumns {
        AdColumns {
            ids: rows.iter().map(|_| Uuid::now_v7()).collect(),
            camp: rows.iter().map(|r| r.1).collect(),
            group: rows.iter().map(|r| r.2).collect(),
            ext: rows.iter().map(|r| r.0.id.clone()).collect(),
            name: rows.iter().map(|r| r.0.name.clone()).collect(),
            status: rows
                .iter()
                .map(|r| status_str(r.0.status).to_string())
                .collect(),
            delivery: rows.iter().map(|r| r.0.delivery.clone()).collect(),
            ad_type: rows.iter().map(|r| r.0.ad_type.clone()).collect(),
            // Text arrays travel as JSON (a two-dimensional SQL array cannot be ragged).
            headlines: rows
                .iter()
                .map(|r| serde_json::to_string(&r.0.headlines).unwrap_or_else(|_| "[]".into()))
                .collect(),
            descriptions: rows
                .iter()
                .map(|r| serde_json::to_string(&r.0.descriptions).unwrap_or_else(|_| "[]".into()))
                .collect(),
            primary: rows.iter().map(|r| r.0.primary_text.clone()).collect(),
            url: rows.iter().map(|r| r.0.final_url.clone()).collect(),
            created: rows.iter().map(|r| r.0.created_at).collect(),
        }
    }
}

/// After a listing of the whole account: the stored ads it no longer has are removed.
async fn mark_unlisted_ads_removed(
    c: &mut Conn,
    org_id: Uuid,
    account_id: Uuid,
    listed: &AdColumns,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE ads a SET status = 'removed', updated_at = now()
         WHERE a.org_id = $1 AND a.account_id = $2 AND a.status <> 'removed'
           AND NOT EXISTS (SELECT 1 FROM unnest($3::uuid[], $4::text[]) AS l(g, e)
                           WHERE l.g = a.ad_group_id AND l.e = a.external_id)",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(account_id)
    .bind::<Array<SqlUuid>, _>(&listed.group)
    .bind::<Array<Text>, _>(&listed.ext)
    .execute(c)
    .await?;
    Ok(())
}

/// Adds ad groups seen only in reports (deleted ones a listing no longer returns) as removed,
/// under their campaign; returns every ad-group id of the account.
pub async fn ensure_known_ad_groups(
    c: &mut Conn,
    org_id: Uuid,
    account_id: Uuid,
    platform: Platform,
    currency: Currency,
    seen: &[(String, Uuid, String)],
) -> diesel::QueryResult<HashMap<String, Uuid>> {
    if !seen.is_empty() {
        let ids: Vec<Uuid> = seen.iter().map(|_| Uuid::now_v7()).collect();
        let ext: Vec<String> = seen.iter().map(|s| s.0.clone()).collect();
        let camp: Vec<Uuid> = seen.iter().map(|s| s.1).collect();
        let name: Vec<String> = seen.iter().map(|s| s.2.clone()).collect();
        diesel::sql_query(
            "INSERT INTO ad_groups (org_id, id, account_id, campaign_id, platform, external_id,
               name, status, currency)
             SELECT $1, i.id, $2, i.campaign_id, $3, i.external_id, i.name, 'removed', $4
             FROM unnest($5::uuid[], $6::text[], $7::uuid[], $8::text[])
               AS i(id, external_id, campaign_id, name)
             ON CONFLICT DO NOTHING",
        )
        .bind::<SqlUuid, _>(org_id)
        .bind::<SqlUuid, _>(account_id)
        .bind::<Text, _>(platform.as_str())
        .bind::<Text, _>(currency.as_str())
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&ext)
        .bind::<Array<SqlUuid>, _>(&camp)
        .bind::<Array<Text>, _>(&name)
        .execute(c)
        .await?;
    }
    ad_group_ids(c, org_id, account_id).await
}

/// Adds ads seen only in reports as removed; returns every ad id of the account.
pub async fn ensure_known_ads(
    c: &mut Conn,
    org_id: Uuid,
    account_id: Uuid,
    platform: Platform,
    seen: &[(Uuid, Uuid, String, String)],
) -> diesel::QueryResult<HashMap<(Uuid, String), Uuid>> {
    if !seen.is_empty() {
        let ids: Vec<Uuid> = seen.iter().map(|_| Uuid::now_v7()).collect();
        let camp: Vec<Uuid> = seen.iter().map(|s| s.0).collect();
        let group: Vec<Uuid> = seen.iter().map(|s| s.1).collect();
        let ext: Vec<String> = seen.iter().map(|s| s.2.clone()).collect();
        let name: Vec<String> = seen.iter().map(|s| s.3.clone()).collect();
        diesel::sql_query(
            "INSERT INTO ads (org_id, id, account_id, campaign_id, ad_group_id, platform,
               external_id, name, status)
             SELECT $1, i.id, $2, i.campaign_id, i.ad_group_id, $3, i.external_id, i.name, 'removed'
             FROM unnest($4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::text[])
               AS i(id, campaign_id, ad_group_id, external_id, name)
             ON CONFLICT DO NOTHING",
        )
        .bind::<SqlUuid, _>(org_id)
        .bind::<SqlUuid, _>(account_id)
        .bind::<Text, _>(platform.as_str())
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<SqlUuid>, _>(&camp)
        .bind::<Array<SqlUuid>, _>(&group)
        .bind::<Array<Text>, _>(&ext)
        .bind::<Array<Text>, _>(&name)
        .execute(c)
        .await?;
    }
    ad_ids(c, org_id, account_id).await
}

/// The head of an ad group's or an ad's page (budget and bid in micros as text, with the
/// budget's period).
#[derive(diesel::QueryableByName)]
pub struct LevelHead {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub delivery: Option<String>,
    #[diesel(sql_type = Text)]
    pub external_id: String,
    #[diesel(sql_type = Text)]
    pub platform: String,
    #[diesel(sql_type = SqlUuid)]
    pub campaign_id: Uuid,
    #[diesel(sql_type = Text)]
    pub campaign_name: String,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = SqlUuid)]
    pub group_id: Uuid,
    #[diesel(sql_type = Text)]
    pub group_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub budget: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub bid: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub ad_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub headlines: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub descriptions: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub primary_text: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub final_url: Option<String>,
}

/// An ad group with its campaign: what its page shows at the top.
pub async fn ad_group_head(c: &mut Conn, id: Uuid) -> QueryResult<Option<LevelHead>> {
    diesel::sql_query(
        "SELECT g.id, g.name, g.status, g.delivery, g.external_id, g.platform, c.id AS campaign_id,
                c.name AS campaign_name, c.currency, g.id AS group_id, g.name AS group_name,
                CASE WHEN g.budget_micros IS NULL THEN NULL
                     ELSE g.budget_micros::text || ' ' || g.budget_period END AS budget,
                g.bid_micros::text AS bid, NULL::text AS ad_type, NULL::text AS headlines,
                NULL::text AS descriptions, NULL::text AS primary_text, NULL::text AS final_url
         FROM ad_groups g JOIN campaigns c ON c.org_id = g.org_id AND c.id = g.campaign_id
         WHERE g.org_id = (SELECT app_current_org()) AND g.id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .get_result(c)
    .await
    .optional()
}

/// An ad with its ad group and campaign: what its page shows at the top.
pub async fn ad_head(c: &mut Conn, id: Uuid) -> QueryResult<Option<LevelHead>> {
    diesel::sql_query(
        "SELECT a.id, a.name, a.status, a.delivery, a.external_id, a.platform, c.id AS campaign_id,
                c.name AS campaign_name, c.currency, g.id AS group_id, g.name AS group_name,
                NULL::text AS budget, NULL::text AS bid, a.ad_type,
                array_to_string(a.headlines, E'\\n') AS headlines,
                array_to_string(a.descriptions, E'\\n') AS descriptions,
                a.primary_text, a.final_url
         FROM ads a
         JOIN ad_groups g ON g.org_id = a.org_id AND g.id = a.ad_group_id
         JOIN campaigns c ON c.org_id = a.org_id AND c.id = a.campaign_id
         WHERE a.org_id = (SELECT app_current_org()) AND a.id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .get_result(c)
    .await
    .optional()
}

/// What the action path needs to change an ad group or an ad on its platform.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct ActionSubject {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub campaign_id: Uuid,
    /// The ad group itself, or the ad's ad group.
    #[diesel(sql_type = SqlUuid)]
    pub ad_group_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub account_id: Uuid,
    #[diesel(sql_type = Text)]
    pub platform: String,
    #[diesel(sql_type = Text)]
    pub external_id: String,
    /// The ad group's platform id (Google addresses an ad as `{ad group}~{ad}`).
    #[diesel(sql_type = Text)]
    pub ad_group_external_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub status: String,
}

/// An ad group of the current organization, for a change.
pub async fn ad_group_subject(c: &mut Conn, id: Uuid) -> QueryResult<Option<ActionSubject>> {
    diesel::sql_query(
        "SELECT id, campaign_id, id AS ad_group_id, account_id, platform, external_id,
                external_id AS ad_group_external_id, name, status
         FROM ad_groups WHERE org_id = (SELECT app_current_org()) AND id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .get_result(c)
    .await
    .optional()
}

/// An ad of the current organization, with its ad group's platform id, for a change.
pub async fn ad_subject(c: &mut Conn, id: Uuid) -> QueryResult<Option<ActionSubject>> {
    diesel::sql_query(
        "SELECT a.id, a.campaign_id, a.ad_group_id, a.account_id, a.platform, a.external_id,
                g.external_id AS ad_group_external_id, a.name, a.status
         FROM ads a JOIN ad_groups g ON g.org_id = a.org_id AND g.id = a.ad_group_id
         WHERE a.org_id = (SELECT app_current_org()) AND a.id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .get_result(c)
    .await
    .optional()
}

/// After a pause or resume went through on the platform: the stored row says so until the
/// next sync reads it back. The platform's finer delivery state of the ad group and its ads
/// changes with it in a way only the platform knows, so it is cleared (shown as unknown)
/// rather than left saying "active" under a paused switch.
pub async fn record_ad_group_status(
    c: &mut Conn,
    id: Uuid,
    status: CampaignStatus,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE ads SET delivery = NULL, updated_at = now()
         WHERE org_id = (SELECT app_current_org()) AND ad_group_id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .execute(c)
    .await?;
    diesel::sql_query(
        "UPDATE ad_groups SET status = $2, delivery = NULL, updated_at = now()
         WHERE org_id = (SELECT app_current_org()) AND id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status_str(status))
    .execute(c)
    .await
}

pub async fn record_ad_status(
    c: &mut Conn,
    id: Uuid,
    status: CampaignStatus,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE ads SET status = $2, delivery = NULL, updated_at = now()
         WHERE org_id = (SELECT app_current_org()) AND id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status_str(status))
    .execute(c)
    .await
}

/// After a budget change went through: the ad group's own budget, in its period.
pub async fn record_ad_group_budget(
    c: &mut Conn,
    id: Uuid,
    period: crate::platforms::BudgetPeriod,
    micros: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE ad_groups SET budget_period = $2, budget_micros = $3, updated_at = now()
         WHERE org_id = (SELECT app_current_org()) AND id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(period.as_str())
    .bind::<diesel::sql_types::BigInt, _>(micros)
    .execute(c)
    .await
}

/// After a bid change went through.
pub async fn record_ad_group_bid(c: &mut Conn, id: Uuid, micros: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE ad_groups SET bid_micros = $2, updated_at = now()
         WHERE org_id = (SELECT app_current_org()) AND id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<diesel::sql_types::BigInt, _>(micros)
    .execute(c)
    .await
}
