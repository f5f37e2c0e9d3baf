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

impl Undone {
    /// What was undone, already undone, left alone and refused, in words for a flash (which
    /// rides in a cookie, so it is kept well under a header's size).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if !self.reversed.is_empty() {
            parts.push(format!(
                "Undone ({}): {}.",
                self.reversed.len(),
                self.reversed.join("; ")
            ));
        }
        if self.already > 0 {
            parts.push(format!(
                "{} change{} had been undone already.",
                self.already,
                if self.already == 1 { "" } else { "s" }
            ));
        }
        if !self.left_alone.is_empty() {
            parts.push(format!("Left alone: {}.", self.left_alone.join("; ")));
        }
        if !self.failed.is_empty() {
            parts.push(format!("The platform refused: {}.", self.failed.join("; ")));
        }
        let mut message = parts.join(" ");
        if message.len() > 600 {
            let cut = message
                .char_indices()
                .map(|(i, _)| i)
                .take_while(|i| *i < 600)
                .last()
                .unwrap_or(0);
            message.truncate(cut);
            message.push_str("… (the campaign pages list every change)");
        }
        message
    }
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

/// Succeeded ad-group and ad changes, with each object as it stands now; the callers add
/// which changes (one check's, or one change). A change counts as overtaken when a later
/// succeeded change of the same family (pause/resume, budget, bid) on the same object is not
/// its own undo.
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
WHERE pa.org_id = (SELECT app_current_org())
  AND pa.state = 'succeeded' AND pa.level IN ('ad_group', 'ad')";

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
            let level_rows: Vec<LevelRow> = diesel::sql_query(format!(
                "{LEVEL_CHANGES} AND pa.rule_run_id = $1 AND pa.rule_id = $2 ORDER BY pa.created_at"
            ))
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
    reverse(app, org_id, user_id, rows).await
}

/// Reverses one change a rule check made to an ad group (or one of its ads) or an ad, from
/// that object's page: `object` is the page's object, which the change must be about. The same
/// path as [`undo_run`], so undoing it here and then its whole check (or twice) acts once.
pub async fn undo_level_change(
    app: &App,
    org_id: Uuid,
    user_id: Uuid,
    action_id: Uuid,
    object: Target,
) -> Result<Undone, ActionError> {
    let row: Option<LevelRow> = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, ActionError>(
                diesel::sql_query(format!(
                    "{LEVEL_CHANGES} AND pa.id = $1 AND pa.rule_id IS NOT NULL"
                ))
                .bind::<diesel::sql_types::Uuid, _>(action_id)
                .get_result(c)
                .await
                .optional()?,
            )
        })
        .await?;
    let about_object = |r: &LevelRow| match object {
        Target::AdGroup(g) => r.ad_group_id == Some(g),
        Target::Ad(a) => r.ad_id == Some(a),
        Target::Campaign(_) => false,
    };
    let change = row
        .filter(about_object)
        .and_then(LevelRow::into_change)
        .ok_or(ActionError::NotFound)?;
    reverse(app, org_id, user_id, vec![change]).await
}

/// Reverses `rows` (oldest first) through the audited action path, each under its undo key.
async fn reverse(
    app: &App,
    org_id: Uuid,
    user_id: Uuid,
    rows: Vec<Change>,
) -> Result<Undone, ActionError> {
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
        let key = undo_key(ch.id);
        let already = existing.contains(&key);
        let (name, target) = (ch.name.clone(), ch.target);
        let plan = match reversal(ch, already) {
            Ok(p) => p,
            Err(why) => {
                out.left_alone.push(why);
                continue;
            }
        };
        let outcome = actions::request(
            app,
            org_id,
            ActionRequest {
                target,
                kind: plan.kind,
                source: Source::User(user_id),
                intent_key: key,
                budget: plan.budget,
                bid: plan.bid,
            },
        )
        .await?;
        if already {
            out.already += 1;
            continue;
        }
        match outcome.state {
            ActionState::Succeeded | ActionState::Pending | ActionState::Executing => {
                out.reversed.push(plan.what)
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

/// The action that reverses one change, and its words for the page.
struct Reversal {
    kind: ActionKind,
    budget: Option<BudgetPlan>,
    bid: Option<BudgetPlan>,
    what: String,
}

/// How to reverse `ch`, or why it is left alone. An undo already requested (`already`) is
/// asked for again under its key, which finds the first and acts no more.
fn reversal(ch: Change, already: bool) -> Result<Reversal, String> {
    let Change {
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
    if !already && overtaken {
        return Err(format!(
            "{name}: it was changed again since, so it stays as it is"
        ));
    }
    let currency: Option<Currency> = currency.as_deref().and_then(|c| c.parse().ok());
    let kind = ActionKind::from_stored(&kind);
    let status_change = |kind, what: &str| Reversal {
        kind,
        budget: None,
        bid: None,
        what: format!("{name}: {what}"),
    };
    match kind {
        ActionKind::Pause | ActionKind::Resume => {
            let (needed, back, what) = if kind == ActionKind::Pause {
                ("paused", ActionKind::Resume, "resumed")
            } else {
                ("active", ActionKind::Pause, "paused again")
            };
            if !already && status != needed {
                return Err(format!("{name}: it is {status} now, so it stays as it is"));
            }
            Ok(status_change(back, what))
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
                return Err(format!("{name}: campaign bids are not undone from here"));
            }
            let (Some(from), Some(to), Some(cur)) = (from, to, currency) else {
                return Err(format!("{name}: the change kept no amounts to go back to"));
            };
            if !already && amount_now != Some(to) {
                return Err(format!(
                    "{name}: its {word} moved again since (now {}), so it stays",
                    amount_now
                        .map(|b| Money::new(b, cur).display())
                        .unwrap_or_else(|| "none".into())
                ));
            }
            let back = Money::new(from, cur);
            let plan = Some(BudgetPlan::Set(back));
            let what = format!(
                "{name}: {word} back from {} to {}",
                Money::new(to, cur).display(),
                back.display()
            );
            Ok(if kind == ActionKind::SetBid {
                Reversal {
                    kind,
                    budget: None,
                    bid: plan,
                    what,
                }
            } else {
                Reversal {
                    kind,
                    budget: plan,
                    bid: None,
                    what,
                }
            })
        }
    }
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
