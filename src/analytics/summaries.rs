//! Reading a date range through the summaries (`metric_summaries`, `ad_group_metric_summaries`,
//! `ad_metric_summaries`, see migration 2026-12-12-400001_speed_summaries): whole months and
//! whole blocks (days 1-7, 8-14, 15-21, 22-28, 29 to the month's end) inside the range come from
//! the summaries, the few days at its edges from the daily rows.
//!
//! Why: a dashboard sums every object's days of a range (and of the previous period). For an
//! organization with 30,000 ads, "last 30 days vs the 30 before" is 1.8 million ad-days; with
//! the summaries each object is about 4 blocks and at most 12 days per period, and a two-year
//! range about 24 months, 8 blocks and 12 days instead of 730 days.
//!
//! The figures stay exactly what the daily rows give: every writer of the daily rows refreshes
//! the summaries of the keys it wrote in the same transaction ([`refresh`], called by the
//! ingest once per transaction after its merges and by a conversion-settings change; a DELETE
//! through the migration's statement trigger), so a late revision corrects its block and month
//! when its sync commits. Their sums are integers and numerics, and the split below covers
//! each day of the range exactly once (a unit test walks many ranges; an integration test
//! compares every summary and every read with the daily rows after revisions and deletions).

use std::collections::HashSet;

use chrono::{Datelike, Duration, NaiveDate};
use diesel::sql_types::{Array, Bool, Date, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::range::DateRange;
use crate::db::Conn;

/// The first day of `d`'s month.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.day0()))
}

/// The last day of `d`'s month.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let first = month_start(d);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MAX);
    next - Duration::days(1)
}

/// The first day of `d`'s block; the same definition as SQL's `metrics_block_start`.
pub fn block_start(d: NaiveDate) -> NaiveDate {
    month_start(d) + Duration::days(i64::from((d.day0() / 7).min(4)) * 7)
}

/// The last day of the block starting at `start`.
fn block_end(start: NaiveDate) -> NaiveDate {
    if start.day() >= 29 {
        month_end(start)
    } else {
        start + Duration::days(6)
    }
}

/// How a range is read: the raw days at its edges, the blocks and the months inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    pub days: Vec<NaiveDate>,
    pub blocks: Vec<NaiveDate>,
    pub months: Vec<NaiveDate>,
}

/// Splits `range` into whole months, then whole blocks, then single days, from its start: each
/// day of the range is in exactly one piece.
pub fn split(range: DateRange) -> Split {
    let mut out = Split::default();
    let mut d = range.from;
    while d <= range.to {
        let next = if d.day() == 1 && month_end(d) <= range.to {
            out.months.push(d);
            month_end(d)
        } else if block_start(d) == d && block_end(d) <= range.to {
            out.blocks.push(d);
            block_end(d)
        } else {
            out.days.push(d);
            d
        };
        match next.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

/// A daily table and its summary table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summarized {
    Campaigns,
    AdGroups,
    Ads,
}

/// Whether a write of daily rows refreshes the summaries of what it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Refresh {
    #[default]
    Summaries,
    /// Leaves the summaries as they were, so they no longer match the rows written: only for
    /// measuring what the refresh costs (the benchmark's baseline), never for real data.
    SkipToMeasure,
}

/// Recomputes, from the daily rows, the block and month summaries of `table` that contain the
/// (object, day) pairs of `touched` (one statement; see `metric_summaries_refresh` in the
/// migration). Call inside the tenant transaction that wrote the rows, after writing them,
/// holding the account's ingest lock (so no other writer of those objects refreshes at once).
pub async fn refresh(
    c: &mut Conn,
    table: Summarized,
    touched: impl IntoIterator<Item = (Uuid, NaiveDate)>,
) -> diesel::QueryResult<()> {
    // One pair per block: a sync's 30,000 ad-days of a week become about 5,000 keys.
    let keys: HashSet<(Uuid, NaiveDate)> = touched
        .into_iter()
        .map(|(o, d)| (o, block_start(d)))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let (objects, days): (Vec<Uuid>, Vec<NaiveDate>) = keys.into_iter().unzip();
    diesel::sql_query(
        "SELECT metric_summaries_refresh($1, (SELECT app_current_org()), $2, $3, false)",
    )
    .bind::<Text, _>(table.names().0)
    .bind::<Array<SqlUuid>, _>(&objects)
    .bind::<Array<Date>, _>(&days)
    .execute(c)
    .await?;
    Ok(())
}

/// Recomputes the per-account days (`account_metric_summaries`, the daily chart's) of the
/// (ad account, day) pairs of `touched` from `metrics_daily`; called with [`refresh`] of
/// [`Summarized::Campaigns`].
pub async fn refresh_accounts(
    c: &mut Conn,
    touched: impl IntoIterator<Item = (Uuid, NaiveDate)>,
) -> diesel::QueryResult<()> {
    let keys: HashSet<(Uuid, NaiveDate)> = touched.into_iter().collect();
    if keys.is_empty() {
        return Ok(());
    }
    let (accounts, days): (Vec<Uuid>, Vec<NaiveDate>) = keys.into_iter().unzip();
    diesel::sql_query(
        "SELECT account_metric_summaries_refresh((SELECT app_current_org()), $1, $2, $3)",
    )
    .bind::<Array<SqlUuid>, _>(&accounts)
    .bind::<Array<Date>, _>(&days)
    .bind::<Bool, _>(false)
    .execute(c)
    .await?;
    Ok(())
}

impl Summarized {
    /// (daily table, summary table, the columns naming an object and its parents)
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Summarized::Campaigns => ("metrics_daily", "metric_summaries", "campaign_id"),
            Summarized::AdGroups => (
                "ad_group_metrics_daily",
                "ad_group_metric_summaries",
                "campaign_id, ad_group_id",
            ),
            Summarized::Ads => (
                "ad_metrics_daily",
                "ad_metric_summaries",
                "campaign_id, ad_group_id, ad_id",
            ),
        }
    }
}

/// Where a range's sums are read from: the summaries with the daily rows at the edges (what
/// every page uses), or the daily rows alone (the reference the tests compare the summaries
/// with, and the benchmark's baseline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Read {
    #[default]
    Summaries,
    DailyRows,
}

impl Read {
    /// The three date arrays bound for `range` (see [`source`]): its split, or for the daily
    /// rows alone its first and last day.
    pub fn split(self, range: DateRange) -> Split {
        match self {
            Read::Summaries => split(range),
            Read::DailyRows => Split {
                days: vec![range.from, range.to],
                ..Split::default()
            },
        }
    }
}

/// The binds of one period's [`Split`]: SQL placeholders of three `date[]` parameters.
#[derive(Debug, Clone, Copy)]
pub struct SplitBinds<'a> {
    pub days: &'a str,
    pub blocks: &'a str,
    pub months: &'a str,
}

/// A subquery with one row per stored day at the edges and one per summary inside: the object
/// columns (`campaign_id`, and `ad_group_id`, `ad_id` below it), `impressions`, `clicks`,
/// `spend_micros`, `conversions` and `revenue_micros`. Summing its rows per object gives the
/// range's sums; an object appears iff it has at least one daily row in the range.
/// With [`Read::DailyRows`] it is the daily rows of the range alone.
/// `org` is the organization's SQL expression, `filter` a condition on the object columns
/// that applies to both sources (`true` for none).
pub fn source(table: Summarized, read: Read, org: &str, b: SplitBinds<'_>, filter: &str) -> String {
    let (daily, summary, cols) = table.names();
    let figures = "impressions, clicks, spend_micros, conversions, revenue_micros";
    if read == Read::DailyRows {
        // One key range (the days array holds its first and last day), as the pages read
        // before the summaries existed.
        return format!(
            "(SELECT {cols}, {figures} FROM {daily}
               WHERE org_id = {org} AND date BETWEEN {days}[1] AND {days}[2] AND ({filter}))",
            days = b.days
        );
    }
    format!(
        "(SELECT {cols}, {figures} FROM {daily}
           WHERE org_id = {org} AND date = ANY({days}) AND ({filter})
         UNION ALL
         SELECT {cols}, {figures} FROM {summary}
           WHERE org_id = {org} AND grain = 'w' AND period_start = ANY({blocks}) AND days > 0
             AND ({filter})
         UNION ALL
         SELECT {cols}, {figures} FROM {summary}
           WHERE org_id = {org} AND grain = 'm' AND period_start = ANY({months}) AND days > 0
             AND ({filter}))",
        days = b.days,
        blocks = b.blocks,
        months = b.months,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn days_of(s: &Split) -> Vec<NaiveDate> {
        let mut out = s.days.clone();
        for b in &s.blocks {
            let mut d = *b;
            while d <= block_end(*b) {
                out.push(d);
                d += Duration::days(1);
            }
        }
        for m in &s.months {
            let mut d = *m;
            while d <= month_end(*m) {
                out.push(d);
                d += Duration::days(1);
            }
        }
        out.sort();
        out
    }

    #[test]
    fn every_day_of_a_range_is_read_exactly_once() {
        let base = date(2023, 12, 20);
        for start in 0..120 {
            for len in [1, 2, 6, 7, 8, 13, 14, 29, 30, 31, 45, 60, 90, 365, 731] {
                let from = base + Duration::days(start);
                let range = DateRange {
                    from,
                    to: from + Duration::days(len - 1),
                };
                let s = split(range);
                let want: Vec<NaiveDate> = range.dates().collect();
                assert_eq!(days_of(&s), want, "{range:?}");
                assert!(s.days.len() <= 12, "{range:?}: {} edge days", s.days.len());
            }
        }
    }

    #[test]
    fn blocks_tile_each_month() {
        assert_eq!(block_start(date(2024, 2, 29)), date(2024, 2, 29));
        assert_eq!(block_end(date(2024, 2, 29)), date(2024, 2, 29));
        assert_eq!(block_start(date(2023, 2, 28)), date(2023, 2, 22));
        assert_eq!(block_end(date(2023, 2, 22)), date(2023, 2, 28));
        assert_eq!(block_start(date(2026, 12, 31)), date(2026, 12, 29));
        assert_eq!(block_start(date(2026, 12, 14)), date(2026, 12, 8));
        assert_eq!(month_end(date(2026, 12, 5)), date(2026, 12, 31));
    }

    #[test]
    fn thirty_days_are_mostly_blocks_and_two_years_mostly_months() {
        let base = date(2026, 1, 1);
        for start in 0..365 {
            let from = base + Duration::days(start);
            let s = split(DateRange {
                from,
                to: from + Duration::days(29),
            });
            assert!(
                s.months.len() + s.blocks.len() + s.days.len() <= 16,
                "{from}: {s:?}"
            );
            assert!(s.days.len() <= 12, "{from}: {s:?}");
        }
        let s = split(DateRange {
            from: date(2024, 12, 8),
            to: date(2026, 12, 7),
        });
        assert_eq!(s.months.len(), 23);
        assert!(s.blocks.len() + s.days.len() <= 12, "{s:?}");
    }
}
