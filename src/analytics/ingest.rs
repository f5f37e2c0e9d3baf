//! The one bulk path into `metrics_daily`: multi-row upserts of whole arrays (`unnest`), with
//! every changed value appended to `metric_revisions` in the same statement.

use chrono::NaiveDate;
use diesel::sql_types::{Array, BigInt, Date, Integer, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::db::Conn;

/// One campaign-day as it goes into storage. Money in micros of the account's currency.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    pub account_id: Uuid,
    pub campaign_id: Uuid,
    pub date: NaiveDate,
    pub impressions: i64,
    pub clicks: i64,
    pub spend_micros: i64,
    pub conversions: Decimal,
    pub revenue_micros: i64,
}

/// Rows per statement: large enough to amortize round trips, small enough to keep each
/// transaction short.
pub const BATCH: usize = 5_000;

#[derive(diesel::QueryableByName)]
struct Changed {
    #[diesel(sql_type = BigInt)]
    changed: i64,
}

/// Upserts rows for the current tenant (call inside its tenant transaction). Returns how many
/// rows were new or changed (each of those got a revision).
pub async fn upsert(c: &mut Conn, rows: &[MetricRow]) -> diesel::QueryResult<usize> {
    let mut changed = 0usize;
    for chunk in rows.chunks(BATCH) {
        let mut account = Vec::with_capacity(chunk.len());
        let mut campaign = Vec::with_capacity(chunk.len());
        let mut date = Vec::with_capacity(chunk.len());
        let mut impressions = Vec::with_capacity(chunk.len());
        let mut clicks = Vec::with_capacity(chunk.len());
        let mut spend = Vec::with_capacity(chunk.len());
        let mut conversions = Vec::with_capacity(chunk.len());
        let mut revenue = Vec::with_capacity(chunk.len());
        for r in chunk {
            account.push(r.account_id);
            campaign.push(r.campaign_id);
            date.push(r.date);
            impressions.push(r.impressions);
            clicks.push(r.clicks);
            spend.push(r.spend_micros);
            conversions.push(r.conversions.to_string());
            revenue.push(r.revenue_micros);
        }
        let n: Changed = diesel::sql_query(
            "WITH input AS (
               SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::date[], $4::int8[], $5::int8[], $6::int8[], $7::text[]::numeric[], $8::int8[])
                 AS t(account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros)
             ), up AS (
               INSERT INTO metrics_daily AS m (org_id, account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros)
               SELECT app_current_org(), account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros FROM input
               ON CONFLICT (org_id, campaign_id, date) DO UPDATE SET
                 impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks, spend_micros = EXCLUDED.spend_micros,
                 conversions = EXCLUDED.conversions, revenue_micros = EXCLUDED.revenue_micros, updated_at = now()
               WHERE (m.impressions, m.clicks, m.spend_micros, m.conversions, m.revenue_micros)
                     IS DISTINCT FROM (EXCLUDED.impressions, EXCLUDED.clicks, EXCLUDED.spend_micros, EXCLUDED.conversions, EXCLUDED.revenue_micros)
               RETURNING m.campaign_id, m.date, m.impressions, m.clicks, m.spend_micros, m.conversions, m.revenue_micros
             ), rev AS (
               INSERT INTO metric_revisions (org_id, campaign_id, date, observed_at, impressions, clicks, spend_micros, conversions, revenue_micros)
               SELECT app_current_org(), campaign_id, date, clock_timestamp(), impressions, clicks, spend_micros, conversions, revenue_micros FROM up
               ON CONFLICT DO NOTHING
               RETURNING 1
             )
             SELECT count(*) AS changed FROM rev",
        )
        .bind::<Array<SqlUuid>, _>(&account)
        .bind::<Array<SqlUuid>, _>(&campaign)
        .bind::<Array<Date>, _>(&date)
        .bind::<Array<BigInt>, _>(&impressions)
        .bind::<Array<BigInt>, _>(&clicks)
        .bind::<Array<BigInt>, _>(&spend)
        .bind::<Array<Text>, _>(&conversions)
        .bind::<Array<BigInt>, _>(&revenue)
        .get_result(c)
        .await?;
        changed += n.changed as usize;
    }
    Ok(changed)
}

#[derive(diesel::QueryableByName)]
struct Created {
    #[diesel(sql_type = Integer)]
    n: i32,
}

/// Makes sure monthly partitions exist for the dates about to be written.
pub async fn ensure_partitions(
    c: &mut Conn,
    from: NaiveDate,
    to: NaiveDate,
) -> diesel::QueryResult<i32> {
    let r: Created = diesel::sql_query("SELECT ensure_metrics_partitions($1, $2) AS n")
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .get_result(c)
        .await?;
    Ok(r.n)
}
