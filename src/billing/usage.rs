//! Usage is counted from the tables that hold the things, never kept as a separate counter
//! that could drift. Tables owned by modules that may not be installed yet (rules, reports,
//! AI) are looked up with `to_regclass` first: a count that cannot be made is `None`, shown
//! as "not available yet" and not limited.

use diesel::sql_types::{Array, BigInt, Bool, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::plans::Limit;
use crate::db::Conn;

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct B {
    #[diesel(sql_type = Bool)]
    b: bool,
}

async fn table_exists(c: &mut Conn, name: &str) -> diesel::QueryResult<bool> {
    let r: B = diesel::sql_query("SELECT to_regclass($1) IS NOT NULL AS b")
        .bind::<Text, _>(format!("public.{name}"))
        .get_result(c)
        .await?;
    Ok(r.b)
}

async fn number(c: &mut Conn, sql: &'static str) -> diesel::QueryResult<u64> {
    let r: N = diesel::sql_query(sql).get_result(c).await?;
    Ok(u64::try_from(r.n).unwrap_or(0))
}

/// Current usage of `limit` for the organization of the tenant transaction `c`.
pub async fn count(c: &mut Conn, limit: Limit) -> diesel::QueryResult<Option<u64>> {
    // Row-level security scopes every count below to the current organization.
    match limit {
        Limit::AdAccounts => number(
            c,
            "SELECT count(*) AS n FROM ad_accounts \
             WHERE managed AND connection_removed_at IS NULL",
        )
        .await
        .map(Some),
        // Pending invitations count: each becomes a member when accepted.
        Limit::Members => number(
            c,
            "SELECT (SELECT count(*) FROM memberships WHERE org_id = app_current_org()) \
                  + (SELECT count(*) FROM invitations \
                     WHERE accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()) \
                    AS n",
        )
        .await
        .map(Some),
        Limit::LiveRules => {
            if !table_exists(c, "rules").await? {
                return Ok(None);
            }
            number(
                c,
                "SELECT count(*) AS n FROM rules WHERE mode = 'live' AND NOT paused",
            )
            .await
            .map(Some)
        }
        Limit::ReportSchedules => {
            if !table_exists(c, "report_schedules").await? {
                return Ok(None);
            }
            number(c, "SELECT count(*) AS n FROM report_schedules")
                .await
                .map(Some)
        }
        Limit::AiTokensPerMonth => {
            if !table_exists(c, "ai_usage").await? {
                return Ok(None);
            }
            // Calendar month in UTC: the same boundary for every organization and replica.
            number(
                c,
                "SELECT coalesce(sum(input_tokens + output_tokens), 0)::bigint AS n FROM ai_usage \
                 WHERE at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
            )
            .await
            .map(Some)
        }
    }
}

/// Managed ad accounts if `connection`'s choice became exactly `chosen`.
pub async fn ad_accounts_after_choice(
    c: &mut Conn,
    connection: Uuid,
    chosen: &[Uuid],
) -> diesel::QueryResult<u64> {
    let r: N = diesel::sql_query(
        "SELECT (SELECT count(*) FROM ad_accounts \
                 WHERE managed AND connection_removed_at IS NULL \
                   AND connection_id IS DISTINCT FROM $1) \
              + (SELECT count(*) FROM ad_accounts \
                 WHERE connection_id = $1 AND id = ANY($2)) AS n",
    )
    .bind::<SqlUuid, _>(connection)
    .bind::<Array<SqlUuid>, _>(chosen.to_vec())
    .get_result(c)
    .await?;
    Ok(u64::try_from(r.n).unwrap_or(0))
}

/// Every limit's usage, for the billing page.
pub async fn all(c: &mut Conn) -> diesel::QueryResult<Vec<(Limit, Option<u64>)>> {
    let mut out = Vec::new();
    for l in Limit::ALL {
        out.push((l, count(c, l).await?));
    }
    Ok(out)
}
