//! How far back adpilot's own observations of an organization's numbers go. A backtest replays
//! each past day with what was known on that day, so before the first sync nothing was known,
//! however many days of history the platforms reported on that sync.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::RunQueryDsl;

use crate::db::Conn;

#[derive(diesel::QueryableByName)]
struct First {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

/// When adpilot first recorded any of the organization's daily numbers (the current rows'
/// write times and every kept revision), or None before the first sync wrote anything.
pub async fn first_observed_at(c: &mut Conn) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    let r: First = diesel::sql_query(
        "SELECT LEAST((SELECT min(observed_at) FROM metric_revisions), \
                      (SELECT min(updated_at) FROM metrics_daily)) AS at",
    )
    .get_result(c)
    .await?;
    Ok(r.at)
}
