//! The bulk path into `ad_group_metrics_daily` and `ad_metrics_daily`, built like the campaign
//! one ([`super::ingest`]): whole arrays per statement, rows in the order of the tables' keys,
//! new object-days inserted, changed ones updated with the replaced values appended to the
//! level's revisions table, unchanged ones left alone.
//!
//! Rows are sorted by date first, so a batch of 25,000 ad-days covers about one day of a large
//! organization (30,000 ads) and the statement's read of the stored rows of its days stays
//! about as large as the batch.
//!
//! The level's summaries (blocks and months per object) of what a call wrote are refreshed at
//! its end, in the same transaction, once per call (see [`super::summaries::refresh`]).

use chrono::NaiveDate;
use diesel::sql_types::{Array, BigInt, Date, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::summaries::{self, Refresh, Summarized};
use crate::db::Conn;
use crate::platforms::model::ConversionTypes;

/// One ad-group-day (`ad_id` None) or ad-day as it goes into storage; money in micros.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelRow {
    pub account_id: Uuid,
    pub campaign_id: Uuid,
    pub ad_group_id: Uuid,
    pub ad_id: Option<Uuid>,
    pub date: NaiveDate,
    pub impressions: i64,
    pub clicks: i64,
    pub all_clicks: Option<i64>,
    pub spend_micros: i64,
    pub conversions: Decimal,
    pub revenue_micros: i64,
    /// The named conversion metrics, derived like the campaign row's; None where the
    /// platform's answer cannot tell.
    pub purchases: Option<Decimal>,
    pub purchase_value_micros: Option<i64>,
    pub leads: Option<Decimal>,
    pub installs: Option<Decimal>,
    pub registrations: Option<Decimal>,
    /// Per-type figures, kept so that a change of the account's conversion settings
    /// re-derives this level's history too.
    pub conversion_types: ConversionTypes,
}

pub const BATCH: usize = 25_000;

/// The two tables this path writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    AdGroups,
    Ads,
}

impl Table {
    /// (daily table, revisions table, object column)
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Table::AdGroups => (
                "ad_group_metrics_daily",
                "ad_group_metric_revisions",
                "ad_group_id",
            ),
            Table::Ads => ("ad_metrics_daily", "ad_metric_revisions", "ad_id"),
        }
    }

    /// The ingest lock of this table (see [`super::ingest::lock_accounts`]).
    pub(super) fn lock_namespace(self) -> i32 {
        match self {
            Table::AdGroups => 0x6c76_6167, // "lvag"
            Table::Ads => 0x6c76_6164,      // "lvad"
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Changed {
    #[diesel(sql_type = BigInt)]
    changed: i64,
}

fn object(r: &LevelRow, table: Table) -> Uuid {
    match table {
        Table::AdGroups => r.ad_group_id,
        Table::Ads => r.ad_id.unwrap_or(r.ad_group_id),
    }
}

/// In key order (date, then parent, then object), one row per object-day, the later report
/// winning.
fn in_key_order(rows: &[LevelRow], table: Table) -> Vec<&LevelRow> {
    let parent = |r: &LevelRow| match table {
        Table::AdGroups => r.campaign_id,
        Table::Ads => r.ad_group_id,
    };
    let mut sorted: Vec<(usize, &LevelRow)> = rows.iter().enumerate().collect();
    sorted.sort_unstable_by_key(|(i, r)| (r.date, parent(r), object(r, table), *i));
    let mut out: Vec<&LevelRow> = Vec::with_capacity(sorted.len());
    for (_, r) in sorted {
        match out.last_mut() {
            Some(last) if object(last, table) == object(r, table) && last.date == r.date => {
                *last = r
            }
            _ => out.push(r),
        }
    }
    out
}

/// The statement that upserts one batch of a level's rows: binds $1-$19 as in
/// [`upsert_batch`].
fn upsert_sql(table: Table) -> String {
    let (daily, revisions, obj) = table.names();
    let extra_col = match table {
        Table::AdGroups => "",
        Table::Ads => "ad_id, ",
    };
    // Built like the campaign ingest's statement (see there for why it is shaped so); the
    // revisions keep the delivery figures and the derived conversions, as at campaign level.
    format!(
        "WITH input AS NOT MATERIALIZED (
           SELECT unnest($1::uuid[]) AS account_id, unnest($2::uuid[]) AS campaign_id,
                  unnest($3::uuid[]) AS ad_group_id, unnest($4::uuid[]) AS ad_id,
                  unnest($5::date[]) AS date, unnest($6::int8[]) AS impressions,
                  unnest($7::int8[]) AS clicks, unnest($8::int8[]) AS all_clicks,
                  unnest($9::int8[]) AS spend_micros,
                  unnest($10::text[]::numeric[]) AS conversions, unnest($11::int8[]) AS revenue_micros,
                  unnest($14::text[]::numeric[]) AS purchases, unnest($15::int8[]) AS purchase_value_micros,
                  unnest($16::text[]::numeric[]) AS leads, unnest($17::text[]::numeric[]) AS installs,
                  unnest($18::text[]::numeric[]) AS registrations,
                  unnest($19::text[]::jsonb[]) AS conversion_types
         ), stored AS MATERIALIZED (
           SELECT {obj} AS object_id, date, updated_at, impressions, clicks, all_clicks,
                  spend_micros, conversions, revenue_micros, purchases, purchase_value_micros,
                  leads, installs, registrations, conversion_types
           FROM {daily}
           WHERE org_id = (SELECT app_current_org()) AND date BETWEEN $12 AND $13
         ), changed AS MATERIALIZED (
           SELECT i.*, s.updated_at AS was_at, s.impressions AS was_impressions,
                  s.clicks AS was_clicks, s.all_clicks AS was_all_clicks, s.spend_micros AS was_spend,
                  s.conversions AS was_conversions, s.revenue_micros AS was_revenue
           FROM input i JOIN stored s ON s.date = i.date AND s.object_id = i.{obj}
           WHERE (i.impressions, i.clicks, i.all_clicks, i.spend_micros, i.conversions, i.revenue_micros,
                  i.purchases, i.purchase_value_micros, i.leads, i.installs, i.registrations,
                  i.conversion_types)
                 IS DISTINCT FROM
                 (s.impressions, s.clicks, s.all_clicks, s.spend_micros, s.conversions, s.revenue_micros,
                  s.purchases, s.purchase_value_micros, s.leads, s.installs, s.registrations,
                  s.conversion_types)
         ), rev AS (
           INSERT INTO {revisions} (org_id, {obj}, date, observed_at, impressions, clicks, all_clicks,
                                    spend_micros, conversions, revenue_micros)
           SELECT (SELECT app_current_org()), {obj}, date, was_at, was_impressions, was_clicks,
                  was_all_clicks, was_spend, was_conversions, was_revenue
           FROM changed
           ON CONFLICT DO NOTHING
         ), upd AS (
           UPDATE {daily} m SET impressions = x.impressions, clicks = x.clicks,
             all_clicks = x.all_clicks, spend_micros = x.spend_micros,
             conversions = x.conversions, revenue_micros = x.revenue_micros,
             purchases = x.purchases, purchase_value_micros = x.purchase_value_micros,
             leads = x.leads, installs = x.installs, registrations = x.registrations,
             conversion_types = x.conversion_types, updated_at = now()
           FROM changed x
           WHERE m.org_id = (SELECT app_current_org()) AND m.date BETWEEN $12 AND $13
             AND m.date = x.date AND m.{obj} = x.{obj}
           RETURNING 1
         ), ins AS (
           INSERT INTO {daily} (org_id, account_id, campaign_id, ad_group_id, {extra_col}date,
                                impressions, clicks, all_clicks, spend_micros, conversions,
                                revenue_micros, purchases, purchase_value_micros, leads, installs,
                                registrations, conversion_types)
           SELECT (SELECT app_current_org()), account_id, campaign_id, ad_group_id, {extra_col}date,
                  impressions, clicks, all_clicks, spend_micros, conversions, revenue_micros,
                  purchases, purchase_value_micros, leads, installs, registrations, conversion_types
           FROM input i
           WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.date = i.date AND s.object_id = i.{obj})
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins) AS changed"
    )
}

/// Upserts one batch (in key order) with the statement from [`upsert_sql`]; returns how
/// many rows were new or changed.
async fn upsert_batch(c: &mut Conn, sql: &str, chunk: &[&LevelRow]) -> diesel::QueryResult<usize> {
    let (Some(first), Some(last)) = (chunk.first().map(|r| r.date), chunk.last().map(|r| r.date))
    else {
        return Ok(0);
    };
    let account: Vec<Uuid> = chunk.iter().map(|r| r.account_id).collect();
    let campaign: Vec<Uuid> = chunk.iter().map(|r| r.campaign_id).collect();
    let group: Vec<Uuid> = chunk.iter().map(|r| r.ad_group_id).collect();
    let ad: Vec<Option<Uuid>> = chunk.iter().map(|r| r.ad_id).collect();
    let date: Vec<NaiveDate> = chunk.iter().map(|r| r.date).collect();
    let impressions: Vec<i64> = chunk.iter().map(|r| r.impressions).collect();
    let clicks: Vec<i64> = chunk.iter().map(|r| r.clicks).collect();
    let all_clicks: Vec<Option<i64>> = chunk.iter().map(|r| r.all_clicks).collect();
    let spend: Vec<i64> = chunk.iter().map(|r| r.spend_micros).collect();
    let conversions: Vec<String> = chunk.iter().map(|r| r.conversions.to_string()).collect();
    let revenue: Vec<i64> = chunk.iter().map(|r| r.revenue_micros).collect();
    let text = |d: Option<Decimal>| d.map(|x| x.to_string());
    let purchases: Vec<Option<String>> = chunk.iter().map(|r| text(r.purchases)).collect();
    let purchase_value: Vec<Option<i64>> = chunk.iter().map(|r| r.purchase_value_micros).collect();
    let leads: Vec<Option<String>> = chunk.iter().map(|r| text(r.leads)).collect();
    let installs: Vec<Option<String>> = chunk.iter().map(|r| text(r.installs)).collect();
    let registrations: Vec<Option<String>> = chunk.iter().map(|r| text(r.registrations)).collect();
    // A BTreeMap of plain figures always serializes; the fallback only keeps the types
    // honest.
    let types: Vec<String> = chunk
        .iter()
        .map(|r| serde_json::to_string(&r.conversion_types).unwrap_or_else(|_| "{}".into()))
        .collect();
    let n: Changed = diesel::sql_query(sql)
        .bind::<Array<SqlUuid>, _>(&account)
        .bind::<Array<SqlUuid>, _>(&campaign)
        .bind::<Array<SqlUuid>, _>(&group)
        .bind::<Array<Nullable<SqlUuid>>, _>(&ad)
        .bind::<Array<Date>, _>(&date)
        .bind::<Array<BigInt>, _>(&impressions)
        .bind::<Array<BigInt>, _>(&clicks)
        .bind::<Array<Nullable<BigInt>>, _>(&all_clicks)
        .bind::<Array<BigInt>, _>(&spend)
        .bind::<Array<Text>, _>(&conversions)
        .bind::<Array<BigInt>, _>(&revenue)
        .bind::<Date, _>(first)
        .bind::<Date, _>(last)
        .bind::<Array<Nullable<Text>>, _>(&purchases)
        .bind::<Array<Nullable<BigInt>>, _>(&purchase_value)
        .bind::<Array<Nullable<Text>>, _>(&leads)
        .bind::<Array<Nullable<Text>>, _>(&installs)
        .bind::<Array<Nullable<Text>>, _>(&registrations)
        .bind::<Array<Text>, _>(&types)
        .get_result(c)
        .await?;
    Ok(n.changed as usize)
}

/// Upserts rows of one level for the current tenant (inside its tenant transaction) and
/// refreshes the level's summaries of what changed. Rows of the ads table must carry `ad_id`.
/// Returns how many rows were new or changed.
pub async fn upsert(c: &mut Conn, table: Table, rows: &[LevelRow]) -> diesel::QueryResult<usize> {
    upsert_with(c, table, rows, Refresh::Summaries).await
}

/// [`upsert`], refreshing the summaries or (only to measure their cost) not.
pub async fn upsert_with(
    c: &mut Conn,
    table: Table,
    rows: &[LevelRow],
    refresh: Refresh,
) -> diesel::QueryResult<usize> {
    let rows: Vec<LevelRow> = match table {
        Table::Ads => rows.iter().filter(|r| r.ad_id.is_some()).cloned().collect(),
        Table::AdGroups => rows.to_vec(),
    };
    if rows.is_empty() {
        return Ok(0);
    }
    // Same reasoning as the campaign ingest: atomic per transaction, a crash loses at most the
    // last chunk, which the next sync reads again because its progress was not recorded.
    diesel::sql_query("SET LOCAL synchronous_commit = off")
        .execute(c)
        .await?;
    diesel::sql_query("SET LOCAL work_mem = '64MB'")
        .execute(c)
        .await?;
    super::ingest::lock_accounts(c, table.lock_namespace(), rows.iter().map(|r| r.account_id))
        .await?;
    let sql = upsert_sql(table);
    let sorted = in_key_order(&rows, table);
    let mut changed = 0usize;
    for chunk in sorted.chunks(BATCH) {
        changed += upsert_batch(c, &sql, chunk).await?;
    }
    if changed > 0 && refresh == Refresh::Summaries {
        let summarized = match table {
            Table::AdGroups => Summarized::AdGroups,
            Table::Ads => Summarized::Ads,
        };
        let touched = sorted.iter().map(|r| (object(r, table), r.date));
        summaries::refresh(c, summarized, touched).await?;
    }
    Ok(changed)
}

#[derive(diesel::QueryableByName)]
struct Created {
    #[diesel(sql_type = Integer)]
    n: i32,
}

/// A subquery with the rows of `table` as they were known before `cutoff` (a bind such as
/// "$4"): for every object and day, the stored row if it was last written before then, else
/// its latest revision observed before then. Its columns are the daily table's figures plus
/// `org_id`, the object column and `date`; the named conversion types are those of the current
/// row (revisions do not keep them).
pub fn known_at_source(table: Table, cutoff: &str) -> String {
    let (daily, revisions, obj) = table.names();
    format!(
        "(SELECT k.org_id, k.{obj}, k.date, k.impressions, k.clicks, k.all_clicks, \
           k.spend_micros, k.conversions, k.revenue_micros, cur.purchases, \
           cur.purchase_value_micros, cur.leads, cur.installs, cur.registrations \
         FROM (SELECT DISTINCT ON (date, {obj}) org_id, {obj}, date, impressions, clicks, \
                 all_clicks, spend_micros, conversions, revenue_micros \
               FROM (SELECT org_id, {obj}, date, updated_at AS observed_at, impressions, clicks, \
                       all_clicks, spend_micros, conversions, revenue_micros \
                     FROM {daily} WHERE updated_at < {cutoff} \
                     UNION ALL \
                     SELECT org_id, {obj}, date, observed_at, impressions, clicks, all_clicks, \
                       spend_micros, conversions, revenue_micros \
                     FROM {revisions} WHERE observed_at < {cutoff}) known \
               ORDER BY date, {obj}, observed_at DESC) k \
         LEFT JOIN {daily} cur ON cur.org_id = k.org_id AND cur.{obj} = k.{obj} AND cur.date = k.date)"
    )
}

/// Makes sure the levels' monthly partitions exist for the dates about to be written.
pub async fn ensure_partitions(
    c: &mut Conn,
    from: NaiveDate,
    to: NaiveDate,
) -> diesel::QueryResult<i32> {
    let r: Created = diesel::sql_query("SELECT ensure_levels_partitions($1, $2) AS n")
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .get_result(c)
        .await?;
    Ok(r.n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: u128, ad: u128, day: u32, clicks: i64) -> LevelRow {
        LevelRow {
            account_id: Uuid::from_u128(1),
            campaign_id: Uuid::from_u128(9),
            ad_group_id: Uuid::from_u128(group),
            ad_id: Some(Uuid::from_u128(ad)),
            date: NaiveDate::from_ymd_opt(2026, 11, day).unwrap_or_default(),
            impressions: 10,
            clicks,
            all_clicks: None,
            spend_micros: 10_000,
            conversions: Decimal::ONE,
            revenue_micros: 0,
            purchases: None,
            purchase_value_micros: None,
            leads: None,
            installs: None,
            registrations: None,
            conversion_types: ConversionTypes::new(),
        }
    }

    #[test]
    fn ads_go_in_key_order_and_a_repeated_ad_day_keeps_the_later_report() {
        let rows = vec![
            row(2, 20, 3, 1),
            row(1, 10, 4, 2),
            row(1, 11, 4, 3),
            row(1, 10, 4, 9),
        ];
        let got: Vec<(u128, u32, i64)> = in_key_order(&rows, Table::Ads)
            .into_iter()
            .map(|r| {
                (
                    r.ad_id.map(|a| a.as_u128()).unwrap_or(0),
                    chrono::Datelike::day(&r.date),
                    r.clicks,
                )
            })
            .collect();
        assert_eq!(got, vec![(20, 3, 1), (10, 4, 9), (11, 4, 3)]);
    }
}
