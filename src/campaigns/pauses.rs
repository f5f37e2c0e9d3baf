//! Who paused each campaign last, for the rules language's `paused by this rule | paused by
//! rule "NAME" | paused by any rule` scope: an object matches while its latest pause came from
//! a rule and nobody resumed it since (through adpilot).

use std::collections::HashMap;

use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;

#[derive(diesel::QueryableByName)]
struct Latest {
    #[diesel(sql_type = SqlUuid)]
    campaign_id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    rule_id: Option<Uuid>,
}

/// Campaign id → the rule whose pause is the campaign's latest pause or resume that took
/// effect on the platform. Campaigns whose latest such change was a resume, or a pause by a
/// person, are absent. Skipped and failed actions changed nothing, so they do not count.
pub async fn paused_by_rule(c: &mut Conn) -> diesel::QueryResult<HashMap<Uuid, Uuid>> {
    let rows: Vec<Latest> = diesel::sql_query(
        "SELECT DISTINCT ON (campaign_id) campaign_id, kind, rule_id FROM platform_actions \
         WHERE state = 'succeeded' AND kind IN ('pause', 'resume') AND level = 'campaign' \
         ORDER BY campaign_id, COALESCE(finished_at, created_at) DESC, created_at DESC",
    )
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.kind == "pause")
        .filter_map(|r| r.rule_id.map(|rule| (r.campaign_id, rule)))
        .collect())
}
