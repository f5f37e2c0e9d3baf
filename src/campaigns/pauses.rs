//! Who paused each campaign, ad group (Meta: ad set) or ad last, for the rules language's
//! `paused by this rule | paused by rule "NAME" | paused by any rule` scope: an object matches
//! while its latest pause came from a rule and nobody resumed it since (through adpilot).
//!
//! Each level reads its own pauses only: an ad set's pause is not its campaign's, and a
//! campaign's pause is not its ad sets'.

use std::collections::HashMap;

use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;
use crate::platforms::Level;

#[derive(diesel::QueryableByName)]
struct Latest {
    #[diesel(sql_type = SqlUuid)]
    object_id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    rule_id: Option<Uuid>,
}

/// Campaign id → the rule whose pause is the campaign's latest pause or resume that took
/// effect on the platform. Campaigns whose latest such change was a resume, or a pause by a
/// person, are absent. Skipped and failed actions changed nothing, so they do not count.
pub async fn paused_by_rule(c: &mut Conn) -> diesel::QueryResult<HashMap<Uuid, Uuid>> {
    paused_by_rule_at(c, Level::Campaign).await
}

/// [`paused_by_rule`] for the objects of one level: object id (campaign, ad group or ad) →
/// the rule whose pause is its latest pause or resume.
pub async fn paused_by_rule_at(
    c: &mut Conn,
    level: Level,
) -> diesel::QueryResult<HashMap<Uuid, Uuid>> {
    // The column that names the object at this level (a fixed name, never user input).
    let column = match level {
        Level::Campaign => "campaign_id",
        Level::AdGroup => "ad_group_id",
        Level::Ad => "ad_id",
    };
    let rows: Vec<Latest> = diesel::sql_query(format!(
        "SELECT DISTINCT ON ({column}) {column} AS object_id, kind, rule_id FROM platform_actions \
         WHERE state = 'succeeded' AND kind IN ('pause', 'resume') AND level = $1 \
           AND {column} IS NOT NULL \
         ORDER BY {column}, COALESCE(finished_at, created_at) DESC, created_at DESC"
    ))
    .bind::<Text, _>(level.as_str())
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.kind == "pause")
        .filter_map(|r| r.rule_id.map(|rule| (r.object_id, rule)))
        .collect())
}
