//! What rules did: runs of a rule, their per-campaign items, an organization-wide activity
//! feed, and a campaign's rule actions (for the campaign page).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::runner::{ItemAction, RunError};
use super::schema::{rule_run_items, rule_runs, rules};
use crate::app::App;
use crate::db::Conn;

/// One check of a rule.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: Uuid,
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub evaluated: i32,
    pub matched: i32,
    pub executed: i32,
    pub skipped: i32,
    pub failed: i32,
    pub error: Option<String>,
}

/// One matched object (campaign, ad group or ad) in one run.
#[derive(Debug, Clone)]
pub struct Entry {
    pub rule_id: Uuid,
    pub rule_name: String,
    pub run_id: Uuid,
    /// The campaign, or the campaign of the ad group or ad.
    pub campaign_id: Uuid,
    /// The matched object's own name (a campaign's, ad group's or ad's).
    pub campaign_name: String,
    /// `campaign`, `ad_group` or `ad`.
    pub level: String,
    /// The matched campaign, ad group or ad.
    pub object_id: Uuid,
    pub at: DateTime<Utc>,
    pub dry_run: bool,
    pub acted: bool,
    /// The values the condition saw, by expression.
    pub seen: Vec<(String, String)>,
    pub actions: Vec<ItemAction>,
}

impl Entry {
    pub fn mode_label(&self) -> &'static str {
        if self.dry_run { "dry run" } else { "live" }
    }

    /// The page of the matched object.
    pub fn object_href(&self) -> String {
        match self.level.as_str() {
            "ad_group" => format!("/ad-groups/{}", self.object_id),
            "ad" => format!("/ads/{}", self.object_id),
            _ => format!("/campaigns/{}", self.object_id),
        }
    }
}

pub async fn runs(c: &mut Conn, rule_id: Uuid, limit: i64) -> QueryResult<Vec<RunRow>> {
    let rows: Vec<(
        Uuid,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        i32,
        i32,
        i32,
        i32,
        i32,
        Option<String>,
    )> = rule_runs::table
        .filter(rule_runs::rule_id.eq(rule_id))
        .order(rule_runs::started_at.desc())
        .limit(limit)
        .select((
            rule_runs::id,
            rule_runs::mode,
            rule_runs::started_at,
            rule_runs::finished_at,
            rule_runs::campaigns_evaluated,
            rule_runs::campaigns_matched,
            rule_runs::actions_executed,
            rule_runs::actions_skipped,
            rule_runs::actions_failed,
            rule_runs::error,
        ))
        .load(c)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| RunRow {
            id: r.0,
            mode: r.1,
            started_at: r.2,
            finished_at: r.3,
            evaluated: r.4,
            matched: r.5,
            executed: r.6,
            skipped: r.7,
            failed: r.8,
            error: r.9,
        })
        .collect())
}

type ItemRow = (
    Uuid,
    String,
    Uuid,
    Uuid,
    String,
    DateTime<Utc>,
    bool,
    bool,
    serde_json::Value,
    serde_json::Value,
    String,
    Uuid,
);

fn entry(r: ItemRow) -> Entry {
    let seen = match r.8 {
        serde_json::Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => "undefined".into(),
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect(),
        _ => Vec::new(),
    };
    Entry {
        rule_id: r.0,
        rule_name: r.1,
        run_id: r.2,
        campaign_id: r.3,
        campaign_name: r.4,
        at: r.5,
        dry_run: r.6,
        acted: r.7,
        seen,
        actions: serde_json::from_value(r.9).unwrap_or_default(),
        level: r.10,
        object_id: r.11,
    }
}

macro_rules! item_columns {
    () => {
        (
            rule_run_items::rule_id,
            rules::name,
            rule_run_items::run_id,
            rule_run_items::campaign_id,
            rule_run_items::campaign_name,
            rule_run_items::created_at,
            rule_run_items::dry_run,
            rule_run_items::acted,
            rule_run_items::seen,
            rule_run_items::actions,
            rule_run_items::level,
            rule_run_items::object_id,
        )
    };
}

/// Items of one rule (newest first), optionally of one run.
pub async fn items(
    c: &mut Conn,
    rule_id: Uuid,
    run_id: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Entry>> {
    let mut q = rule_run_items::table
        .inner_join(rules::table)
        .filter(rule_run_items::rule_id.eq(rule_id))
        .into_boxed();
    if let Some(run) = run_id {
        q = q.filter(rule_run_items::run_id.eq(run));
    }
    let rows: Vec<ItemRow> = q
        .order(rule_run_items::created_at.desc())
        .limit(limit)
        .select(item_columns!())
        .load(c)
        .await?;
    Ok(rows.into_iter().map(entry).collect())
}

/// Every rule's items that did something (or would have, in a dry run), newest first.
pub async fn activity(c: &mut Conn, limit: i64) -> QueryResult<Vec<Entry>> {
    let rows: Vec<ItemRow> = rule_run_items::table
        .inner_join(rules::table)
        .filter(rule_run_items::acted.eq(true))
        .order(rule_run_items::created_at.desc())
        .limit(limit)
        .select(item_columns!())
        .load(c)
        .await?;
    Ok(rows.into_iter().map(entry).collect())
}

/// Rule actions on one campaign, newest first (the campaign page shows them).
pub async fn for_campaign(
    app: &App,
    org_id: Uuid,
    campaign_id: Uuid,
) -> Result<Vec<Entry>, RunError> {
    app.db
        .tenant(org_id, async move |c| {
            let rows: Vec<ItemRow> = rule_run_items::table
                .inner_join(rules::table)
                .filter(rule_run_items::campaign_id.eq(campaign_id))
                .order(rule_run_items::created_at.desc())
                .limit(100)
                .select(item_columns!())
                .load(c)
                .await?;
            Ok(rows.into_iter().map(entry).collect())
        })
        .await
}
