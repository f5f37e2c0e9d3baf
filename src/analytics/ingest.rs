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

/// Rows per statement: large enough to amortize round trips and planning, small enough to
/// keep each statement's memory (the `up` CTE is materialized) modest.
pub const BATCH: usize = 5_000;

#[derive(diesel::QueryableByName)]
struct Changed {
    #[diesel(sql_type = BigInt)]
    changed: i64,
}

/// The rows to write, in the order of both tables' keys (date, then campaign, after the
/// organization), one per campaign-day: when the platform reported a campaign-day twice the
/// later report wins, as it did when the second copy landed in a later statement. A sync
/// chunk covers a run of days, so in this order each statement appends to a few contiguous
/// stretches of each index instead of touching a page per campaign (and, after a
/// checkpoint, writing each of those pages whole to the WAL). It also means a duplicate can
/// never reach `ON CONFLICT DO UPDATE` twice in one statement, which PostgreSQL refuses.
fn in_key_order(rows: &[MetricRow]) -> Vec<&MetricRow> {
    let mut sorted: Vec<(usize, &MetricRow)> = rows.iter().enumerate().collect();
    sorted.sort_unstable_by_key(|(i, r)| (r.date, r.campaign_id, *i));
    let mut out: Vec<&MetricRow> = Vec::with_capacity(sorted.len());
    for (_, r) in sorted {
        match out.last_mut() {
            Some(last) if last.campaign_id == r.campaign_id && last.date == r.date => *last = r,
            _ => out.push(r),
        }
    }
    out
}

/// Upserts rows for the current tenant (call inside its tenant transaction). Returns how many
/// rows were new or changed (each of those got a revision).
pub async fn upsert(c: &mut Conn, rows: &[MetricRow]) -> diesel::QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    // Commit without waiting for the WAL flush, for this transaction only. Safe for what a
    // sync promises: the transaction stays atomic (metrics, their revisions and the
    // account's sync progress commit together or not at all), and a crash can only lose the
    // last fraction of a second of such commits, which then look as if that chunk never ran:
    // the progress was not advanced either, so the next sync reads the same days again. Any
    // later synchronous commit (the job's completion, for one) flushes the WAL past this one,
    // so nothing is ever recorded as done on top of a lost chunk.
    diesel::sql_query("SET LOCAL synchronous_commit = off")
        .execute(c)
        .await?;
    let rows = in_key_order(rows);
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
        // `(SELECT app_current_org())` is evaluated once per statement, not once per row.
        // The revision insert has no ON CONFLICT: its key ends with clock_timestamp(), and a
        // statement touches each campaign-day at most once, so a clash would mean something
        // is badly wrong and should fail the chunk rather than silently drop a revision.
        let n: Changed = diesel::sql_query(
            "WITH input AS (
               SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::date[], $4::int8[], $5::int8[], $6::int8[], $7::text[]::numeric[], $8::int8[])
                 AS t(account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros)
             ), up AS (
               INSERT INTO metrics_daily AS m (org_id, account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros)
               SELECT (SELECT app_current_org()), account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros FROM input
               ON CONFLICT (org_id, campaign_id, date) DO UPDATE SET
                 impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks, spend_micros = EXCLUDED.spend_micros,
                 conversions = EXCLUDED.conversions, revenue_micros = EXCLUDED.revenue_micros, updated_at = now()
               WHERE (m.impressions, m.clicks, m.spend_micros, m.conversions, m.revenue_micros)
                     IS DISTINCT FROM (EXCLUDED.impressions, EXCLUDED.clicks, EXCLUDED.spend_micros, EXCLUDED.conversions, EXCLUDED.revenue_micros)
               RETURNING m.org_id, m.campaign_id, m.date, m.impressions, m.clicks, m.spend_micros, m.conversions, m.revenue_micros
             ), rev AS (
               INSERT INTO metric_revisions (org_id, campaign_id, date, observed_at, impressions, clicks, spend_micros, conversions, revenue_micros)
               SELECT org_id, campaign_id, date, clock_timestamp(), impressions, clicks, spend_micros, conversions, revenue_micros FROM up
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(campaign: u128, day: u32, clicks: i64) -> MetricRow {
        MetricRow {
            account_id: Uuid::from_u128(1),
            campaign_id: Uuid::from_u128(campaign),
            date: NaiveDate::from_ymd_opt(2026, 11, day).unwrap_or_default(),
            impressions: 100,
            clicks,
            spend_micros: 1_000_000,
            conversions: Decimal::new(15, 1),
            revenue_micros: 0,
        }
    }

    #[test]
    fn rows_go_in_key_order_and_a_repeated_campaign_day_keeps_the_later_report() {
        let rows = vec![
            row(2, 3, 1),
            row(1, 4, 2),
            row(2, 1, 3),
            row(1, 4, 9),
            row(1, 2, 5),
        ];
        let got: Vec<(u128, u32, i64)> = in_key_order(&rows)
            .into_iter()
            .map(|r| {
                (
                    r.campaign_id.as_u128(),
                    chrono::Datelike::day(&r.date),
                    r.clicks,
                )
            })
            .collect();
        assert_eq!(got, vec![(2, 1, 3), (1, 2, 5), (2, 3, 1), (1, 4, 9)]);
    }
}
