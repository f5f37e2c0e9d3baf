//! Numbers the alerts need from stored metrics: month-to-date spend per account and campaign,
//! and today's values beside the same weekday's history. Dates are each account's own.

use chrono::NaiveDate;
use diesel::sql_types::{BigInt, Date, Double, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct MonthSpend {
    #[diesel(sql_type = SqlUuid)]
    pub account_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub campaign_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = BigInt)]
    pub spend_micros: i64,
}

/// Spend since the 1st of the month (account time zone), per account (campaign_id NULL) and
/// per campaign, for the current tenant.
///
/// Each account's month starts on its own date, which the planner cannot see; the earliest of
/// them, as a scalar subquery, bounds the scan so that only this month's days are read through
/// the key (org, date, ...). Without it every partition was searched per campaign: 0.9 s
/// instead of 15 ms for an organization with 2,000 campaigns and two years of data.
pub async fn month_to_date_spend(c: &mut Conn) -> diesel::QueryResult<Vec<MonthSpend>> {
    diesel::sql_query(
        "WITH acc AS MATERIALIZED (
           SELECT id, name, currency, date_trunc('month', now() AT TIME ZONE time_zone)::date AS month_start
           FROM ad_accounts WHERE managed
         ), spend AS MATERIALIZED (
           SELECT m.account_id, m.campaign_id, sum(m.spend_micros) AS spend_micros
           FROM metrics_daily m JOIN acc ON acc.id = m.account_id
           WHERE m.date >= (SELECT min(month_start) FROM acc) AND m.date >= acc.month_start
           GROUP BY m.account_id, m.campaign_id
         )
         SELECT acc.id AS account_id, NULL::uuid AS campaign_id, acc.name, acc.currency,
                coalesce(sum(s.spend_micros), 0)::bigint AS spend_micros
         FROM acc LEFT JOIN spend s ON s.account_id = acc.id
         GROUP BY acc.id, acc.name, acc.currency
         UNION ALL
         SELECT acc.id, c.id, c.name, acc.currency, coalesce(s.spend_micros, 0)::bigint
         FROM acc JOIN campaigns c ON c.account_id = acc.id
         LEFT JOIN spend s ON s.campaign_id = c.id",
    )
    .load(c)
    .await
}

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct WeekdayPoint {
    #[diesel(sql_type = SqlUuid)]
    pub campaign_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub account_id: Uuid,
    /// The account's history can be compared with: its backfill finished and adpilot has been
    /// syncing it for at least a week (see the README's "Alerts").
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub baseline_ready: bool,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Date)]
    pub today: NaiveDate,
    /// Share of the account's day already elapsed (0..1], to compare a partial today fairly.
    #[diesel(sql_type = Double)]
    pub day_fraction: f64,
    #[diesel(sql_type = Date)]
    pub date: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub spend_micros: i64,
    #[diesel(sql_type = Double)]
    pub conversions: f64,
}

/// For each campaign: today's row and the rows of the same weekday in the `weeks` weeks before.
///
/// The days wanted are each account's own "today" minus whole weeks; gathered into one array
/// first (a scalar subquery), they let the scan read just those days of this organization
/// through the key instead of every partition per campaign (1.7 s instead of 28 ms for an
/// organization with 2,000 campaigns and two years of data).
pub async fn same_weekday_history(
    c: &mut Conn,
    weeks: i32,
) -> diesel::QueryResult<Vec<WeekdayPoint>> {
    diesel::sql_query(
        "WITH acc AS MATERIALIZED (
           SELECT a.id, a.currency, (now() AT TIME ZONE a.time_zone)::date AS today,
                  greatest(extract(epoch FROM (now() AT TIME ZONE a.time_zone) - date_trunc('day', now() AT TIME ZONE a.time_zone)) / 86400.0, 0.01)::float8 AS day_fraction,
                  coalesce(s.backfill_done AND s.first_success_at <= now() - interval '7 days', false) AS baseline_ready
           FROM ad_accounts a LEFT JOIN account_sync s ON s.account_id = a.id AND s.org_id = a.org_id
           WHERE a.managed
         ), m AS MATERIALIZED (
           SELECT campaign_id, date, spend_micros, conversions
           FROM metrics_daily
           WHERE date = ANY ((SELECT array_agg(DISTINCT acc.today - 7 * k)
                              FROM acc, generate_series(0, $1) AS k)::date[])
         )
         SELECT c.id AS campaign_id, c.account_id, acc.baseline_ready, c.name, acc.currency, acc.today, acc.day_fraction, m.date,
                m.spend_micros, m.conversions::float8 AS conversions
         FROM m
         JOIN campaigns c ON c.id = m.campaign_id
         JOIN acc ON acc.id = c.account_id
         WHERE acc.today - m.date BETWEEN 0 AND 7 * $1 AND (acc.today - m.date) % 7 = 0",
    )
    .bind::<diesel::sql_types::Integer, _>(weeks)
    .load(c)
    .await
}

/// Median and the robust score of `x` against `history` (median absolute deviation scaled to a
/// normal's standard deviation). `None` when the history is too short.
pub fn robust_score(x: f64, history: &[f64], min_points: usize) -> Option<(f64, f64)> {
    if history.len() < min_points {
        return None;
    }
    let mut h = history.to_vec();
    h.sort_by(|a, b| a.total_cmp(b));
    let median = percentile_50(&h);
    let mut dev: Vec<f64> = h.iter().map(|v| (v - median).abs()).collect();
    dev.sort_by(|a, b| a.total_cmp(b));
    let mad = percentile_50(&dev) * 1.4826;
    // A perfectly flat history would make any change infinitely surprising; a floor of 5% of
    // the median (and a tiny absolute one) keeps small wobbles quiet.
    let scale = mad.max(median.abs() * 0.05).max(1e-9);
    Some((median, (x - median) / scale))
}

fn percentile_50(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_score_flags_outliers_and_needs_history() {
        let h = [100.0, 104.0, 97.0, 101.0, 99.0];
        let (median, z) = robust_score(300.0, &h, 4).expect("enough history");
        assert_eq!(median, 100.0);
        assert!(z > 10.0);
        let (_, z) = robust_score(102.0, &h, 4).expect("enough");
        assert!(z.abs() < 1.5);
        assert!(robust_score(300.0, &h[..3], 4).is_none());
    }
}
