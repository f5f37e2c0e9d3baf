//! Undoing what one rule check changed, in one step, at every level: campaign, ad group / ad
//! set and ad pauses and resumes, budgets, and ad-group bids. Each change is reversed through
//! the audited action path under the key `undo:<action id>`, so a second click (or a retry
//! after a crash) finds the first undo and never acts twice. A change that was overtaken since
//! (the object was resumed by hand, its budget moved again, a later adpilot change of the same
//! kind reached an ad group or ad) is left alone and reported.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::actions::{self, ActionError, ActionKind, ActionRequest, ActionState, Source, Target};
use crate::app::App;
use crate::automation::eval::BudgetPlan;
use crate::db::schema::{campaigns, platform_actions};
use crate::types::{Currency, Money};

/// What an undo did, in words for the page.
#[derive(Debug, Default, Clone)]
pub struct Undone {
    pub reversed: Vec<String>,
    pub already: usize,
    pub left_alone: Vec<String>,
    pub failed: Vec<String>,
}

fn undo_key(action_id: Uuid) -> String {
    format!("undo:{action_id}")
}

/// One change of a check as undo sees it: what was done to which object, and how that object
/// stands now.
struct Change {
    id: Uuid,
    created_at: chrono::DateTime<chrono::Utc>,
    target: Target,
    kind: String,
    from: Option<i64>,
    to: Option<i64>,
    currency: Option<String>,
    /// "ad set Summer · Retargeting" (the level's word, then the name).
    name: String,
    status: String,
    /// The amount the change set, as stored now: the daily budget of a campaign, the budget or
    /// bid of an ad group (by the change's kind).
    amount_now: Option<i64>,
    /// A later change of the same kind (status, budget or bid) reached the object through
    /// adpilot: this one is no longer the last, so undoing it would undo the later one too.
    overtaken: bool,
}

/// A changed ad group or ad with how it stands now (`campaigns` owns all three tables).
#[derive(diesel::QueryableByName)]
struct LevelRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    created_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    level: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    ad_group_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    ad_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    from_micros: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    to_micros: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    currency: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    platform: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    budget_micros: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    bid_micros: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    overtaken: bool,
}

/// The ad-group and ad changes of one check, with each object as it stands now. A change
/// counts as overtaken when a later succeeded change of the same family (pause/resume, budget,
/// bid) on the same object is not its own undo.
const LEVEL_CHANGES: &str = "
SELECT pa.id, pa.created_at, pa.level, pa.ad_group_id, pa.ad_id, pa.kind,
       pa.from_budget_micros AS from_micros, pa.to_budget_micros AS to_micros, pa.currency,
       g.platform,
       COALESCE(CASE WHEN pa.level = 'ad' THEN a.name ELSE g.name END, '') AS name,
       COALESCE(CASE WHEN pa.level = 'ad' THEN a.status ELSE g.status END, 'removed') AS status,
       g.budget_micros, g.bid_micros,
       EXISTS (
         SELECT 1 FROM platform_actions l
         WHERE l.org_id = pa.org_id AND l.level = pa.level
           AND l.ad_group_id IS NOT DISTINCT FROM pa.ad_group_id
           AND l.ad_id IS NOT DISTINCT FROM pa.ad_id
           AND l.state = 'succeeded' AND l.created_at > pa.created_at
           AND l.intent_key <> 'undo:' || pa.id::text
           AND (CASE WHEN l.kind IN ('pause', 'resume') THEN 'status' ELSE l.kind END)
             = (CASE WHEN pa.kind IN ('pause', 'resume') THEN 'status' ELSE pa.kind END)
       ) AS overtaken
FROM platform_actions pa
JOIN ad_groups g ON g.org_id = pa.org_id AND g.id = pa.ad_group_id
LEFT JOIN ads a ON a.org_id = pa.org_id AND a.id = pa.ad_id
WHERE pa.org_id = (SELECT app_current_org()) AND pa.rule_run_id = $1 AND pa.rule_id = $2
  AND pa.state = 'succeeded' AND pa.level IN ('ad_group', 'ad')
ORDER BY pa.created_at";

impl LevelRow {
    fn into_change(self) -> Option<Change> {
        let (target, word) = match (self.level.as_str(), self.ad_group_id, self.ad_id) {
            ("ad", _, Some(ad)) => (Target::Ad(ad), "ad"),
            ("ad_group", Some(g), _) => (
                Target::AdGroup(g),
                if self.platform == "meta" {
                    "ad set"
                } else {
                    "ad group"
                },
            ),
            _ => return None,
        };
        let amount_now = match ActionKind::from_stored(&self.kind) {
            ActionKind::SetBid => self.bid_micros,
            _ => self.budget_micros,
        };
        Some(Change {
            id: self.id,
            created_at: self.created_at,
            target,
            kind: self.kind,
            from: self.from_micros,
            to: self.to_micros,
            currency: self.currency,
            name: format!("{word} {}", self.name),
            status: self.status,
            amount_now,
            overtaken: self.overtaken,
        })
    }
}

/// Reverses every change the rule check `run_id` of rule `rule_id` made, at every level.
pub async fn undo_run(
    app: &App,
    org_id: Uuid,
    user_id: Uuid,
    rule_id: Uuid,
    run_id: Uuid,
) -> Result<Undone, ActionError> {
    let mut rows: Vec<Change> = app
        .db
        .tenant(org_id, async move |c| {
            let campaign_rows = platform_actions::table
                .inner_join(campaigns::table)
                .filter(platform_actions::rule_run_id.eq(run_id))
                .filter(platform_actions::rule_id.eq(rule_id))
                .filter(platform_actions::state.eq(ActionState::Succeeded.as_str()))
                .filter(platform_actions::level.eq("campaign"))
                .order(platform_actions::created_at.asc())
                .select((
                    platform_actions::id,
                    platform_actions::created_at,
                    platform_actions::campaign_id,
                    platform_actions::kind,
                    platform_actions::from_budget_micros,
                    platform_actions::to_budget_micros,
                    platform_actions::currency,
                    campaigns::name,
                    campaigns::status,
                    campaigns::daily_budget_micros,
                ))
                .load::<(
                    Uuid,
                    chrono::DateTime<chrono::Utc>,
                    Uuid,
                    String,
                    Option<i64>,
                    Option<i64>,
                    Option<String>,
                    String,
                    String,
                    Option<i64>,
                )>(c)
                .await?;
            let level_rows: Vec<LevelRow> = diesel::sql_query(LEVEL_CHANGES)
                .bind::<diesel::sql_types::Uuid, _>(run_id)
                .bind::<diesel::sql_types::Uuid, _>(rule_id)
                .load(c)
                .await?;
            let mut out: Vec<Change> = campaign_rows
                .into_iter()
                .map(
                    |(
                        id,
                        created_at,
                        campaign_id,
                        kind,
                        from,
                        to,
                        currency,
                        name,
                        status,
                        budget,
                    )| {
                        Change {
                            id,
                            created_at,
                            target: Target::Campaign(campaign_id),
                            kind,
                            from,
                            to,
                            currency,
                            name,
                            status,
                            amount_now: budget,
                            // Campaign changes keep their rule: the stored state decides.
                            overtaken: false,
                        }
                    },
                )
                .collect();
            out.extend(level_rows.into_iter().filter_map(LevelRow::into_change));
            Ok::<_, ActionError>(out)
        })
        .await?;
    rows.sort_by_key(|r| r.created_at);
    if rows.is_empty() {
        return Err(ActionError::NotFound);
    }
    let keys: Vec<String> = rows.iter().map(|r| undo_key(r.id)).collect();
    let existing: HashSet<String> = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, ActionError>(
                platform_actions::table
                    .filter(platform_actions::intent_key.eq_any(&keys))
                    .select(platform_actions::intent_key)
                    .load::<String>(c)
                    .await?
                    .into_iter()
                    .collect(),
            )
        })
        .await?;
    let mut out = Undone::default();
    for ch in rows {
        let Change {
            id,
            target,
            kind,
            from,
            to,
            currency,
            name,
            status,
            amount_now,
            overtaken,
            ..
        } = ch;
        let key = undo_key(id);
        let already = existing.contains(&key);
        if !already && overtaken {
            out.left_alone.push(format!(
                "{name}: it was changed again since, so it stays as it is"
            ));
            continue;
        }
        let currency: Option<Currency> = currency.as_deref().and_then(|c| c.parse().ok());
        let kind = ActionKind::from_stored(&kind);
        let (kind, budget, bid, what) = match kind {
            ActionKind::Pause => {
                if !already && status != "paused" {
                    out.left_alone
                        .push(format!("{name}: it is {status} now, so it stays as it is"));
                    continue;
                }
                (ActionKind::Resume, None, None, format!("{name}: resumed"))
            }
            ActionKind::Resume => {
                if !already && status != "active" {
                    out.left_alone
                        .push(format!("{name}: it is {status} now, so it stays as it is"));
                    continue;
                }
                (
                    ActionKind::Pause,
                    None,
                    None,
                    format!("{name}: paused again"),
                )
            }
            ActionKind::SetBid | ActionKind::SetBudget => {
                let word = if kind == ActionKind::SetBid {
                    "bid"
                } else if matches!(target, Target::Campaign(_)) {
                    "daily budget"
                } else {
                    "budget"
                };
                if kind == ActionKind::SetBid && matches!(target, Target::Campaign(_)) {
                    out.left_alone
                        .push(format!("{name}: campaign bids are not undone from here"));
                    continue;
                }
                let (Some(from), Some(to), Some(cur)) = (from, to, currency) else {
                    out.left_alone
                        .push(format!("{name}: the change kept no amounts to go back to"));
                    continue;
                };
                if !already && amount_now != Some(to) {
                    out.left_alone.push(format!(
                        "{name}: its {word} moved again since (now {}), so it stays",
                        amount_now
                            .map(|b| Money::new(b, cur).display())
                            .unwrap_or_else(|| "none".into())
                    ));
                    continue;
                }
                let back = Money::new(from, cur);
                let plan = Some(BudgetPlan::Set(back));
                let what = format!(
                    "{name}: {word} back from {} to {}",
                    Money::new(to, cur).display(),
                    back.display()
                );
                if kind == ActionKind::SetBid {
                    (ActionKind::SetBid, None, plan, what)
                } else {
                    (ActionKind::SetBudget, plan, None, what)
                }
            }
        };
        let outcome = actions::request(
            app,
            org_id,
            ActionRequest {
                target,
                kind,
                source: Source::User(user_id),
                intent_key: key,
                budget,
                bid,
            },
        )
        .await?;
        if already {
            out.already += 1;
            continue;
        }
        match outcome.state {
            ActionState::Succeeded | ActionState::Pending | ActionState::Executing => {
                out.reversed.push(what)
            }
            ActionState::Skipped => out.left_alone.push(format!(
                "{name}: {}",
                outcome.message.unwrap_or_else(|| "nothing to do".into())
            )),
            ActionState::Failed => out.failed.push(format!(
                "{name}: {}",
                outcome
                    .message
                    .unwrap_or_else(|| "the platform refused".into())
            )),
        }
    }
    Ok(out)
}

/// Which of `runs` have been undone (any of their changes has an undo intent).
pub async fn undone_runs(c: &mut crate::db::Conn, runs: &[Uuid]) -> QueryResult<HashSet<Uuid>> {
    let rows: Vec<(Uuid, Option<Uuid>)> = platform_actions::table
        .filter(platform_actions::rule_run_id.eq_any(runs))
        .select((platform_actions::id, platform_actions::rule_run_id))
        .load(c)
        .await?;
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    let keys: Vec<String> = rows.iter().map(|r| undo_key(r.0)).collect();
    let undone: HashSet<String> = platform_actions::table
        .filter(platform_actions::intent_key.eq_any(&keys))
        .select(platform_actions::intent_key)
        .load::<String>(c)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .filter(|r| undone.contains(&undo_key(r.0)))
        .filter_map(|r| r.1)
        .collect())
}
