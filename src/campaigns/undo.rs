//! Undoing what one rule check changed, in one step. Each change is reversed through the
//! audited action path under the key `undo:<action id>`, so a second click (or a retry after a
//! crash) finds the first undo and never acts twice. A change that was overtaken since (the
//! campaign was resumed by hand, its budget moved again) is left alone and reported.

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

type Done = (
    Uuid,
    Uuid,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
    String,
    Option<i64>,
);

/// Reverses every change the rule check `run_id` of rule `rule_id` made.
pub async fn undo_run(
    app: &App,
    org_id: Uuid,
    user_id: Uuid,
    rule_id: Uuid,
    run_id: Uuid,
) -> Result<Undone, ActionError> {
    let rows: Vec<Done> = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, ActionError>(
                platform_actions::table
                    .inner_join(campaigns::table)
                    .filter(platform_actions::rule_run_id.eq(run_id))
                    .filter(platform_actions::rule_id.eq(rule_id))
                    .filter(platform_actions::state.eq(ActionState::Succeeded.as_str()))
                    // Rules change campaigns live; changes at the levels below are not undone
                    // from here (yet).
                    .filter(platform_actions::level.eq("campaign"))
                    .order(platform_actions::created_at.asc())
                    .select((
                        platform_actions::id,
                        platform_actions::campaign_id,
                        platform_actions::kind,
                        platform_actions::from_budget_micros,
                        platform_actions::to_budget_micros,
                        platform_actions::currency,
                        campaigns::name,
                        campaigns::status,
                        campaigns::daily_budget_micros,
                    ))
                    .load(c)
                    .await?,
            )
        })
        .await?;
    // Changes below the campaign (level rules) are not reversed from here; they are named so
    // the undo does not claim the check changed nothing.
    let below: i64 = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, ActionError>(
                platform_actions::table
                    .filter(platform_actions::rule_run_id.eq(run_id))
                    .filter(platform_actions::rule_id.eq(rule_id))
                    .filter(platform_actions::state.eq(ActionState::Succeeded.as_str()))
                    .filter(platform_actions::level.ne("campaign"))
                    .count()
                    .get_result(c)
                    .await?,
            )
        })
        .await?;
    if rows.is_empty() && below == 0 {
        return Err(ActionError::NotFound);
    }
    let keys: Vec<String> = rows.iter().map(|r| undo_key(r.0)).collect();
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
    if below > 0 {
        out.left_alone.push(format!(
            "{below} change{} to ad groups, ad sets or ads: reverse {} from their pages (the history links each)",
            if below == 1 { "" } else { "s" },
            if below == 1 { "it" } else { "them" }
        ));
    }
    for (id, campaign_id, kind, from, to, currency, name, status, budget) in rows {
        let key = undo_key(id);
        let already = existing.contains(&key);
        let currency: Option<Currency> = currency.as_deref().and_then(|c| c.parse().ok());
        let (kind, plan, what) = match ActionKind::from_stored(&kind) {
            ActionKind::Pause => {
                if !already && status != "paused" {
                    out.left_alone
                        .push(format!("{name}: it is {status} now, so it stays as it is"));
                    continue;
                }
                (ActionKind::Resume, None, format!("{name}: resumed"))
            }
            ActionKind::Resume => {
                if !already && status != "active" {
                    out.left_alone
                        .push(format!("{name}: it is {status} now, so it stays as it is"));
                    continue;
                }
                (ActionKind::Pause, None, format!("{name}: paused again"))
            }
            ActionKind::SetBid => {
                out.left_alone
                    .push(format!("{name}: bid changes are not undone from here"));
                continue;
            }
            ActionKind::SetBudget => {
                let (Some(from), Some(to), Some(cur)) = (from, to, currency) else {
                    out.left_alone
                        .push(format!("{name}: the change kept no amounts to go back to"));
                    continue;
                };
                if !already && budget != Some(to) {
                    out.left_alone.push(format!(
                        "{name}: its budget moved again since (now {}), so it stays",
                        budget
                            .map(|b| Money::new(b, cur).display())
                            .unwrap_or_else(|| "none".into())
                    ));
                    continue;
                }
                let back = Money::new(from, cur);
                (
                    ActionKind::SetBudget,
                    Some(BudgetPlan::Set(back)),
                    format!(
                        "{name}: daily budget back from {} to {}",
                        Money::new(to, cur).display(),
                        back.display()
                    ),
                )
            }
        };
        let outcome = actions::request(
            app,
            org_id,
            ActionRequest {
                target: Target::Campaign(campaign_id),
                kind,
                source: Source::User(user_id),
                intent_key: key,
                budget: plan,
                bid: None,
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
