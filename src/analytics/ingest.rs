//! The one bulk path into `metrics_daily`: whole arrays per statement (`unnest`), new
//! campaign-days inserted, changed ones updated, and each value an update replaces appended
//! to `metric_revisions` with the time it was first observed.
//!
//! History is `metric_revisions` plus the current row: a campaign-day's current values were
//! observed at its `updated_at`, every earlier value at its revision's `observed_at`
//! ([`known_at_source`] replays it). A first report therefore costs one row, not two: a
//! backfill writes each campaign-day once.
//!
//! The summaries of what a call wrote (campaign blocks and months, account days) are refreshed
//! at its end, in the same transaction: once per call rather than per statement, so a chunk of
//! 50,000 rows recomputes each of its blocks once (see [`super::summaries::refresh`]).

use chrono::NaiveDate;
use diesel::sql_types::{Array, BigInt, Date, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::summaries::{self, Refresh, Summarized};
use crate::db::Conn;
use crate::platforms::model::ConversionTypes;

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
    /// Every click the platform counts; None where it has no such figure.
    pub all_clicks: Option<i64>,
    /// The named conversion metrics (see `analytics::conversions`); None where the
    /// platform's answer cannot tell.
    pub purchases: Option<Decimal>,
    pub purchase_value_micros: Option<i64>,
    pub leads: Option<Decimal>,
    pub installs: Option<Decimal>,
    pub registrations: Option<Decimal>,
    /// Per-type figures everything above is derived from.
    pub conversion_types: ConversionTypes,
}

/// Rows per statement: large enough to amortize round trips and planning, small enough to
/// keep each statement's memory (the `cur` CTE is materialized) modest.
pub const BATCH: usize = 25_000;

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
/// checkpoint, writing each of those pages whole to the WAL). It also means a statement
/// never meets the same campaign-day twice.
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

/// Advisory-lock namespace of ingest (the first key of the two-key form); the second key is
/// derived from the ad account.
pub(super) const LOCK_NAMESPACE: i32 = 0x6d65_7472; // "metr"

fn account_lock_key(account: &Uuid) -> i32 {
    let b = account.as_bytes();
    let mut k = [0u8; 4];
    for (i, byte) in b.iter().enumerate() {
        k[i % 4] ^= byte;
    }
    i32::from_le_bytes(k)
}

/// Takes the transaction's advisory lock of each account in `namespace` (one per daily table),
/// in key order so that two writers of several accounts cannot deadlock. Every writer of a
/// daily table takes it before writing: the ingest decides insert or update from its snapshot,
/// and the summary refresh recomputes from it, so the second writer must wait until the first
/// commits and then see its rows.
pub(super) async fn lock_accounts(
    c: &mut Conn,
    namespace: i32,
    accounts: impl IntoIterator<Item = Uuid>,
) -> diesel::QueryResult<()> {
    let mut keys: Vec<i32> = accounts.into_iter().map(|a| account_lock_key(&a)).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind::<Integer, _>(namespace)
            .bind::<Integer, _>(key)
            .execute(c)
            .await?;
    }
    Ok(())
}

/// Upserts rows for the current tenant (call inside its tenant transaction) and refreshes the
/// summaries of what changed. Returns how many rows were new or changed.
pub async fn upsert(c: &mut Conn, rows: &[MetricRow]) -> diesel::QueryResult<usize> {
    upsert_with(c, rows, Refresh::Summaries).await
}

// The organization's stored rows of the chunk's days are read with one range scan of
// the key and hash-joined: an index probe per row costs about five times as much, most
// of it run-time partition pruning, and in a backfill finds nothing. The price is that
// a re-read of recent days also reads the other accounts' rows of those days. Constant
// date bounds keep the scan, and the update, to the partitions of those days.
// The input is unnested in the select list, which streams, where `unnest(...)` in
// FROM would copy every row into a tuple store first; it is read twice (new rows,
// changed rows) rather than kept. Unchanged rows are left alone: no new row version,
// no revision.
const UPSERT_SQL: &str = "WITH input AS NOT MATERIALIZED (
           SELECT unnest($1::uuid[]) AS account_id, unnest($2::uuid[]) AS campaign_id, unnest($3::date[]) AS date,
                  unnest($4::int8[]) AS impressions, unnest($5::int8[]) AS clicks, unnest($6::int8[]) AS spend_micros,
                  unnest($7::text[]::numeric[]) AS conversions, unnest($8::int8[]) AS revenue_micros,
                  unnest($11::int8[]) AS all_clicks, unnest($12::text[]::numeric[]) AS purchases,
                  unnest($13::int8[]) AS purchase_value_micros, unnest($14::text[]::numeric[]) AS leads,
                  unnest($15::text[]::numeric[]) AS installs, unnest($16::text[]::numeric[]) AS registrations,
                  unnest($17::text[]::jsonb[]) AS conversion_types
         ), stored AS MATERIALIZED (
           SELECT campaign_id, date, updated_at, impressions, clicks, spend_micros, conversions, revenue_micros,
                  all_clicks, purchases, purchase_value_micros, leads, installs, registrations, conversion_types
           FROM metrics_daily
           WHERE org_id = (SELECT app_current_org()) AND date BETWEEN $9 AND $10
         ), changed AS MATERIALIZED (
           SELECT i.*, s.updated_at AS was_at, s.impressions AS was_impressions, s.clicks AS was_clicks,
                  s.spend_micros AS was_spend, s.conversions AS was_conversions, s.revenue_micros AS was_revenue
           FROM input i JOIN stored s ON s.date = i.date AND s.campaign_id = i.campaign_id
           WHERE (i.impressions, i.clicks, i.spend_micros, i.conversions, i.revenue_micros,
                  i.all_clicks, i.purchases, i.purchase_value_micros, i.leads, i.installs, i.registrations,
                  i.conversion_types)
                 IS DISTINCT FROM (s.impressions, s.clicks, s.spend_micros, s.conversions, s.revenue_micros,
                  s.all_clicks, s.purchases, s.purchase_value_micros, s.leads, s.installs, s.registrations,
                  s.conversion_types)
         ), rev AS (
           INSERT INTO metric_revisions (org_id, campaign_id, date, observed_at, impressions, clicks, spend_micros, conversions, revenue_micros)
           SELECT (SELECT app_current_org()), campaign_id, date, was_at, was_impressions, was_clicks, was_spend, was_conversions, was_revenue
           FROM changed
           ON CONFLICT DO NOTHING
         ), upd AS (
           UPDATE metrics_daily m SET impressions = x.impressions, clicks = x.clicks, spend_micros = x.spend_micros,
             conversions = x.conversions, revenue_micros = x.revenue_micros, all_clicks = x.all_clicks,
             purchases = x.purchases, purchase_value_micros = x.purchase_value_micros, leads = x.leads,
             installs = x.installs, registrations = x.registrations, conversion_types = x.conversion_types,
             updated_at = now()
           FROM changed x
           WHERE m.org_id = (SELECT app_current_org()) AND m.date BETWEEN $9 AND $10
             AND m.date = x.date AND m.campaign_id = x.campaign_id
           RETURNING 1
         ), ins AS (
           INSERT INTO metrics_daily (org_id, account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros,
             all_clicks, purchases, purchase_value_micros, leads, installs, registrations, conversion_types)
           SELECT (SELECT app_current_org()), account_id, campaign_id, date, impressions, clicks, spend_micros, conversions, revenue_micros,
             all_clicks, purchases, purchase_value_micros, leads, installs, registrations, conversion_types
           FROM input i
           WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.date = i.date AND s.campaign_id = i.campaign_id)
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins) AS changed";

/// Upserts one batch of rows in key order; returns how many were new or changed.
async fn upsert_batch(c: &mut Conn, chunk: &[&MetricRow]) -> diesel::QueryResult<usize> {
    let mut account = Vec::with_capacity(chunk.len());
    let mut campaign = Vec::with_capacity(chunk.len());
    let mut date = Vec::with_capacity(chunk.len());
    let mut impressions = Vec::with_capacity(chunk.len());
    let mut clicks = Vec::with_capacity(chunk.len());
    let mut spend = Vec::with_capacity(chunk.len());
    let mut conversions = Vec::with_capacity(chunk.len());
    let mut revenue = Vec::with_capacity(chunk.len());
    let mut all_clicks = Vec::with_capacity(chunk.len());
    let mut purchases = Vec::with_capacity(chunk.len());
    let mut purchase_value = Vec::with_capacity(chunk.len());
    let mut leads = Vec::with_capacity(chunk.len());
    let mut installs = Vec::with_capacity(chunk.len());
    let mut registrations = Vec::with_capacity(chunk.len());
    let mut types = Vec::with_capacity(chunk.len());
    let text = |d: Option<Decimal>| d.map(|d| d.to_string());
    for r in chunk {
        account.push(r.account_id);
        campaign.push(r.campaign_id);
        date.push(r.date);
        impressions.push(r.impressions);
        clicks.push(r.clicks);
        spend.push(r.spend_micros);
        conversions.push(r.conversions.to_string());
        revenue.push(r.revenue_micros);
        all_clicks.push(r.all_clicks);
        purchases.push(text(r.purchases));
        purchase_value.push(r.purchase_value_micros);
        leads.push(text(r.leads));
        installs.push(text(r.installs));
        registrations.push(text(r.registrations));
        // A map of strings always serializes; the fallback keeps the batch going.
        types.push(serde_json::to_string(&r.conversion_types).unwrap_or_else(|_| "{}".into()));
    }
    let (Some(first), Some(last)) = (chunk.first().map(|r| r.date), chunk.last().map(|r| r.date))
    else {
        return Ok(0);
    };
    let n: Changed = diesel::sql_query(UPSERT_SQL)
        .bind::<Array<SqlUuid>, _>(&account)
        .bind::<Array<SqlUuid>, _>(&campaign)
        .bind::<Array<Date>, _>(&date)
        .bind::<Array<BigInt>, _>(&impressions)
        .bind::<Array<BigInt>, _>(&clicks)
        .bind::<Array<BigInt>, _>(&spend)
        .bind::<Array<Text>, _>(&conversions)
        .bind::<Array<BigInt>, _>(&revenue)
        .bind::<Date, _>(first)
        .bind::<Date, _>(last)
        .bind::<Array<Nullable<BigInt>>, _>(&all_clicks)
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

/// [`upsert`], refreshing the summaries or (only to measure their cost) not.
pub async fn upsert_with(
    c: &mut Conn,
    rows: &[MetricRow],
    refresh: Refresh,
) -> diesel::QueryResult<usize> {
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
    // The statement materializes its input and the stored rows of the same days (a few MB per
    // batch); the default 4 MB would spill them to temporary files.
    diesel::sql_query("SET LOCAL work_mem = '64MB'")
        .execute(c)
        .await?;
    // Two writers of one account's campaign-days (a sync whose lease was taken over, say)
    // must not overlap: the second waits here until the first commits, then sees its rows.
    lock_accounts(c, LOCK_NAMESPACE, rows.iter().map(|r| r.account_id)).await?;
    let rows = in_key_order(rows);
    let mut changed = 0usize;
    for chunk in rows.chunks(BATCH) {
        changed += upsert_batch(c, chunk).await?;
    }
    if changed > 0 && refresh == Refresh::Summaries {
        summaries::refresh(
            c,
            Summarized::Campaigns,
            rows.iter().map(|r| (r.campaign_id, r.date)),
        )
        .await?;
        summaries::refresh_accounts(c, rows.iter().map(|r| (r.account_id, r.date))).await?;
    }
    Ok(changed)
}

/// A relation of every campaign-day as it was known just before the time in bind parameter
/// `cutoff` (for example `"$4"`): the latest of its revisions and its current row observed
/// before then. Columns: org_id, campaign_id, date, impressions, clicks, spend_micros,
/// conversions, revenue_micros. Grouped in the keys' order (date, then campaign), so only
/// each campaign-day's few versions need sorting.
pub fn known_at_source(cutoff: &str) -> String {
    format!(
        "(SELECT DISTINCT ON (date, campaign_id) org_id, campaign_id, date, \
           impressions, clicks, spend_micros, conversions, revenue_micros \
         FROM (SELECT org_id, campaign_id, date, updated_at AS observed_at, \
                 impressions, clicks, spend_micros, conversions, revenue_micros \
               FROM metrics_daily WHERE updated_at < {cutoff} \
               UNION ALL \
               SELECT org_id, campaign_id, date, observed_at, \
                 impressions, clicks, spend_micros, conversions, revenue_micros \
               FROM metric_revisions WHERE observed_at < {cutoff}) known \
         ORDER BY date, campaign_id, observed_at DESC)"
    )
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
            all_clicks: None,
            purchases: None,
            purchase_value_micros: None,
            leads: None,
            installs: None,
            registrations: None,
            conversion_types: ConversionTypes::new(),
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
