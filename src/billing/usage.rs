//! Usage is counted from the tables that hold the things, never kept as a separate counter
//! that could drift. Each count is the owning module's own query function (see
//! docs/architecture.md: only the owner queries its tables).

use uuid::Uuid;

use super::plans::Limit;
use crate::db::Conn;

/// Current usage of `limit` for the organization of the tenant transaction `c` (row-level
/// security scopes every count to it). `None` would mean "cannot be counted": every limit can
/// be today, the type keeps the billing page's "not available" state for a future limit.
pub async fn count(c: &mut Conn, limit: Limit) -> diesel::QueryResult<Option<u64>> {
    let n = match limit {
        Limit::AdAccounts => crate::connections::service::managed_account_count(c).await?,
        Limit::Members => crate::auth::accounts::member_and_pending_invite_count(c).await?,
        Limit::LiveRules => crate::automation::store::live_rule_count(c).await?,
        Limit::ReportSchedules => crate::reports::schedule_store::schedule_count(c).await?,
        Limit::AiTokensPerMonth => crate::ai::usage::tokens_this_month(c).await?,
    };
    Ok(Some(n))
}

/// Managed ad accounts if `connection`'s choice became exactly `chosen`.
pub async fn ad_accounts_after_choice(
    c: &mut Conn,
    connection: Uuid,
    chosen: &[Uuid],
) -> diesel::QueryResult<u64> {
    crate::connections::service::managed_account_count_after_choice(c, connection, chosen).await
}

/// Every limit's usage, for the billing page.
pub async fn all(c: &mut Conn) -> diesel::QueryResult<Vec<(Limit, Option<u64>)>> {
    let mut out = Vec::new();
    for l in Limit::ALL {
        out.push((l, count(c, l).await?));
    }
    Ok(out)
}
