//! Usage rows, the monthly token budget and the response cache. Every function takes a tenant
//! transaction: the rows are the organization's own, and RLS keeps them so.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::{ai_cache, ai_usage};
use crate::db::Conn;

/// One model call (or cache hit) to record.
#[derive(Debug, Clone)]
pub struct UsageRecord<'a> {
    pub org_id: Uuid,
    pub task: &'a str,
    pub provider: &'a str,
    pub model: &'a str,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_micros: u64,
    pub cached: bool,
    pub outcome: &'a str,
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub async fn record(c: &mut Conn, r: &UsageRecord<'_>) -> QueryResult<()> {
    diesel::insert_into(ai_usage::table)
        .values((
            ai_usage::id.eq(Uuid::now_v7()),
            ai_usage::org_id.eq(r.org_id),
            ai_usage::task.eq(r.task),
            ai_usage::provider.eq(r.provider),
            ai_usage::model.eq(r.model),
            ai_usage::input_tokens.eq(i64_of(r.input_tokens)),
            ai_usage::output_tokens.eq(i64_of(r.output_tokens)),
            ai_usage::cost_micros.eq(i64_of(r.cost_micros)),
            ai_usage::cached.eq(r.cached),
            ai_usage::outcome.eq(r.outcome),
        ))
        .execute(c)
        .await
        .map(|_| ())
}

/// The first instant of the month of `now` and of the next month (UTC): the budget period.
pub fn month_bounds(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or(now.date_naive());
    let next = if now.month() == 12 {
        NaiveDate::from_ymd_opt(now.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(now.year(), now.month() + 1, 1)
    }
    .unwrap_or(first);
    let at = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
    (at(first), at(next))
}

/// Tokens the organization used since `since`.
pub async fn tokens_since(c: &mut Conn, since: DateTime<Utc>) -> QueryResult<u64> {
    let sum: Option<i64> = ai_usage::table
        .filter(ai_usage::at.ge(since))
        .select(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        >("sum(input_tokens + output_tokens)::bigint"))
        .first(c)
        .await?;
    Ok(u64::try_from(sum.unwrap_or(0)).unwrap_or(0))
}

/// A row of the usage page: totals per task, provider and model over a period.
#[derive(Debug, Clone)]
pub struct UsageLine {
    pub task: String,
    pub provider: String,
    pub model: String,
    pub calls: i64,
    pub cached: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
}

impl UsageLine {
    /// The estimated cost in dollars, for display.
    pub fn cost(&self) -> String {
        format_usd(self.cost_micros)
    }
}

pub fn format_usd(micros: i64) -> String {
    // Shown to the cent's hundredth: small calls cost fractions of a cent.
    let cents_hundredths = micros / 100;
    format!(
        "${}.{:04}",
        cents_hundredths / 10_000,
        (cents_hundredths % 10_000).abs()
    )
}

pub async fn summary_since(c: &mut Conn, since: DateTime<Utc>) -> QueryResult<Vec<UsageLine>> {
    use diesel::dsl::{count_star, sql};
    use diesel::sql_types::BigInt;
    let rows: Vec<(String, String, String, i64, i64, i64, i64, i64)> = ai_usage::table
        .filter(ai_usage::at.ge(since))
        .group_by((ai_usage::task, ai_usage::provider, ai_usage::model))
        .select((
            ai_usage::task,
            ai_usage::provider,
            ai_usage::model,
            count_star(),
            sql::<BigInt>("count(*) FILTER (WHERE cached)"),
            sql::<BigInt>("coalesce(sum(input_tokens), 0)::bigint"),
            sql::<BigInt>("coalesce(sum(output_tokens), 0)::bigint"),
            sql::<BigInt>("coalesce(sum(cost_micros), 0)::bigint"),
        ))
        .order_by((ai_usage::task, ai_usage::provider, ai_usage::model))
        .load(c)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(task, provider, model, calls, cached, input_tokens, output_tokens, cost_micros)| {
                UsageLine {
                    task,
                    provider,
                    model,
                    calls,
                    cached,
                    input_tokens,
                    output_tokens,
                    cost_micros,
                }
            },
        )
        .collect())
}

/// One recorded call, for the usage page's recent list.
#[derive(Debug, Clone, Queryable)]
pub struct RecentCall {
    pub at: DateTime<Utc>,
    pub task: String,
    pub provider: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached: bool,
    pub outcome: String,
}

/// The newest calls first: shows failovers and cache hits as they happened.
pub async fn recent(c: &mut Conn, limit: i64) -> QueryResult<Vec<RecentCall>> {
    ai_usage::table
        .order_by(ai_usage::at.desc())
        .select((
            ai_usage::at,
            ai_usage::task,
            ai_usage::provider,
            ai_usage::model,
            ai_usage::input_tokens,
            ai_usage::output_tokens,
            ai_usage::cached,
            ai_usage::outcome,
        ))
        .limit(limit)
        .load(c)
        .await
}

/// A cached response that has not expired.
pub async fn cache_get(c: &mut Conn, key: &[u8]) -> QueryResult<Option<String>> {
    ai_cache::table
        .filter(ai_cache::key_hash.eq(key))
        .filter(ai_cache::expires_at.gt(Utc::now()))
        .select(ai_cache::response)
        .first(c)
        .await
        .optional()
}

pub async fn cache_put(
    c: &mut Conn,
    org_id: Uuid,
    key: &[u8],
    task: &str,
    model: &str,
    response: &str,
    ttl: std::time::Duration,
) -> QueryResult<()> {
    let now = Utc::now();
    let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1));
    diesel::insert_into(ai_cache::table)
        .values((
            ai_cache::org_id.eq(org_id),
            ai_cache::key_hash.eq(key),
            ai_cache::task.eq(task),
            ai_cache::model.eq(model),
            ai_cache::response.eq(response),
            ai_cache::created_at.eq(now),
            ai_cache::expires_at.eq(expires),
        ))
        .on_conflict((ai_cache::org_id, ai_cache::key_hash))
        .do_update()
        .set((
            ai_cache::response.eq(response),
            ai_cache::created_at.eq(now),
            ai_cache::expires_at.eq(expires),
        ))
        .execute(c)
        .await?;
    // Expired entries of this organization go as new ones arrive; no job needed.
    diesel::delete(ai_cache::table.filter(ai_cache::expires_at.le(now)))
        .execute(c)
        .await?;
    Ok(())
}

/// Tokens the current organization used this calendar month (UTC: the same boundary for every
/// organization and replica), what the plan's AI token limit counts.
pub async fn tokens_this_month(c: &mut Conn) -> diesel::QueryResult<u64> {
    crate::db::count(
        c,
        diesel::sql_query(
            "SELECT coalesce(sum(input_tokens + output_tokens), 0)::bigint AS n FROM ai_usage \
             WHERE at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
        ),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_month_runs_from_the_first_to_the_first() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 24, 23, 59, 0)
            .single()
            .expect("date");
        let (a, b) = month_bounds(now);
        assert_eq!(a.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(b.to_rfc3339(), "2027-01-01T00:00:00+00:00");
    }

    #[test]
    fn costs_show_fractions_of_a_cent() {
        assert_eq!(format_usd(750_000), "$0.7500");
        assert_eq!(format_usd(1_234_567), "$1.2345");
        assert_eq!(format_usd(0), "$0.0000");
    }
}
