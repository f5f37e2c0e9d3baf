//! What a typed budget is compared with before it is sent: the largest daily budget among the
//! live campaigns of an account (a campaign's own budget comes with the campaign).

use diesel::dsl::max;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;
use crate::db::schema::campaigns;

/// The largest daily budget, in micros, among the campaigns of `accounts` that are not removed.
pub async fn largest_daily_budget(c: &mut Conn, accounts: &[Uuid]) -> QueryResult<Option<i64>> {
    campaigns::table
        .filter(campaigns::account_id.eq_any(accounts))
        .filter(campaigns::status.ne("removed"))
        .select(max(campaigns::daily_budget_micros))
        .first(c)
        .await
}
