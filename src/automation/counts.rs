//! `at most N times [per M ...]`: how often each rule acted on each object, from the run
//! history. A time is one check slot in which the rule acted on the object: a check that is
//! retried (after a crash, or a worker losing its lease) runs for the same slot, so it counts
//! once, and its platform changes are deduplicated by their intent keys.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{Array, Bool, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::language::ast::{Interval, TimeUnit, TimesLimit};
use crate::db::Conn;

/// (rule, object, dry run) → the times (latest record per slot) the rule acted on it.
pub type Acted = HashMap<(Uuid, Uuid, bool), Vec<DateTime<Utc>>>;

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    rule_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    object_id: Uuid,
    #[diesel(sql_type = Bool)]
    dry_run: bool,
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
}

/// The slots in which `rules` acted on `objects` after `since` (`None`: ever).
pub async fn acted(
    c: &mut Conn,
    rules: &[Uuid],
    objects: &[Uuid],
    since: Option<DateTime<Utc>>,
) -> diesel::QueryResult<Acted> {
    if rules.is_empty() || objects.is_empty() {
        return Ok(Acted::new());
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT i.rule_id, i.object_id, i.dry_run, max(i.created_at) AS at \
         FROM rule_run_items i JOIN rule_runs r ON r.id = i.run_id \
         WHERE i.acted AND i.rule_id = ANY($1) AND i.object_id = ANY($2) \
           AND ($3::timestamptz IS NULL OR i.created_at > $3) \
         GROUP BY i.rule_id, i.object_id, i.dry_run, r.slot",
    )
    .bind::<Array<SqlUuid>, _>(rules)
    .bind::<Array<SqlUuid>, _>(objects)
    .bind::<Nullable<Timestamptz>, _>(since)
    .load(c)
    .await?;
    let mut out = Acted::new();
    for r in rows {
        out.entry((r.rule_id, r.object_id, r.dry_run))
            .or_default()
            .push(r.at);
    }
    Ok(out)
}

/// How far back a limit looks (`None`: ever).
pub fn since(limit: &TimesLimit, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    limit
        .per
        .map(|p| now - Duration::minutes(i64::try_from(p.minutes()).unwrap_or(i64::MAX / 120)))
}

/// Why the limit stops another action now, or `None` when it does not.
pub fn reached(limit: &TimesLimit, times: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<String> {
    let from = since(limit, now);
    let n = times
        .iter()
        .filter(|t| from.is_none_or(|f| **t > f))
        .count();
    if n < usize::try_from(limit.n).unwrap_or(usize::MAX) {
        return None;
    }
    let times_word = if limit.n == 1 {
        "once".to_string()
    } else {
        format!("{} times", limit.n)
    };
    Some(match limit.per {
        Some(p) => {
            let per = interval_label(&p);
            format!(
                "already acted {times_word} in the last {per} (at most {times_word} per {per} for this rule)"
            )
        }
        None => format!("already acted {times_word} (at most {times_word} for this rule)"),
    })
}

/// "1 hour", "24 hours", "3 days": as the rule says it.
fn interval_label(i: &Interval) -> String {
    let unit = match i.unit {
        TimeUnit::Minutes => "minute",
        TimeUnit::Hours => "hour",
        TimeUnit::Days => "day",
    };
    if i.n == 1 {
        format!("1 {unit}")
    } else {
        format!("{} {unit}s", i.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::language::ast::Pos;

    fn limit(n: u32, hours: Option<u32>) -> TimesLimit {
        TimesLimit {
            n,
            per: hours.map(|h| Interval {
                n: h,
                unit: TimeUnit::Hours,
                pos: Pos::default(),
            }),
            pos: Pos::default(),
        }
    }

    #[test]
    fn only_times_inside_the_period_count() {
        let now = Utc::now();
        let times = [now - Duration::hours(30), now - Duration::hours(2)];
        assert!(reached(&limit(2, Some(24)), &times, now).is_none());
        let why = reached(&limit(1, Some(24)), &times, now).expect("reached");
        assert!(why.contains("per 24 hours"), "{why}");
        assert!(reached(&limit(2, None), &times, now).is_some());
        assert!(reached(&limit(3, None), &times, now).is_none());
    }
}
