//! Evaluating rules against window totals, shared by the server and the `rules eval` CLI.
//!
//! Callers supply, per campaign, the totals of the base metrics for each window the rule needs
//! ([`Rule::required_windows`]); [`evaluate`] decides whether the rule matches, records the
//! values its condition saw and plans its actions.

pub mod actions;
pub mod condition;
pub mod csv_source;
pub mod value;
pub mod window;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde_json::json;

use crate::automation::language::ast::{CampaignStatus, Filter, NameFilter, Rule, Scope};
use crate::automation::language::checker::rule_currencies;
use crate::types::{Currency, Money, Platform};

pub use actions::{BudgetPlan, ChangeBy, PlannedAction, Step};
pub use value::Value;
pub use window::{Totals, WindowKey};

/// What the evaluator knows about one campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignFacts {
    pub platform: Platform,
    pub account_id: String,
    /// The ad account's currency: every money total and the budget are in it.
    pub currency: Currency,
    pub campaign_id: String,
    pub name: String,
    pub status: CampaignStatus,
    pub daily_budget: Money,
    /// Totals per window; a missing window means no delivery (all zero).
    pub totals: HashMap<WindowKey, Totals>,
}

/// One rule over one campaign in its scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub rule: String,
    pub campaign_id: String,
    pub platform: Platform,
    pub matched: bool,
    /// Set when the campaign was not evaluated (its account bills in another currency than
    /// the rule's amounts).
    pub skipped: Option<String>,
    pub values: BTreeMap<String, Value>,
    /// Empty unless matched.
    pub actions: Vec<PlannedAction>,
}

impl Evaluation {
    /// One line of `rules eval` output.
    pub fn to_json(&self) -> serde_json::Value {
        let values: serde_json::Map<String, serde_json::Value> = self
            .values
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.to_text().map_or(serde_json::Value::Null, |t| json!(t)),
                )
            })
            .collect();
        let mut v = json!({
            "rule": self.rule,
            "campaign_id": self.campaign_id,
            "platform": self.platform,
            "matched": self.matched,
            "values": values,
            "actions": self.actions.iter().map(PlannedAction::to_json).collect::<Vec<_>>(),
        });
        if let (Some(why), Some(obj)) = (&self.skipped, v.as_object_mut()) {
            obj.insert("skipped".to_string(), json!(why));
        }
        v
    }
}

/// How much an [`Evaluation`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Values only for campaigns that matched (what a run logs); cheap for the rest.
    MatchedOnly,
    /// Values for every campaign in scope (previews, `rules eval --all`).
    Always,
}

/// Evaluates `rule` for one campaign. `None` when the campaign is outside the rule's scope.
/// Cooldowns are the caller's business (they need the run history).
pub fn evaluate(
    rule: &Rule,
    facts: &CampaignFacts,
    as_of: NaiveDate,
    detail: Detail,
) -> Option<Evaluation> {
    if !in_scope(rule.scope.as_ref(), facts) {
        return None;
    }
    let mut eval = Evaluation {
        rule: rule.name.clone(),
        campaign_id: facts.campaign_id.clone(),
        platform: facts.platform,
        matched: false,
        skipped: None,
        values: BTreeMap::new(),
        actions: Vec::new(),
    };
    let foreign: Vec<String> = rule_currencies(rule)
        .into_iter()
        .filter(|c| *c != facts.currency)
        .map(|c| c.to_string())
        .collect();
    if !foreign.is_empty() {
        eval.skipped = Some(format!(
            "the rule's amounts are in {} but account {} bills in {}",
            foreign.join(" and "),
            facts.account_id,
            facts.currency
        ));
        return Some(eval);
    }
    eval.matched = match detail {
        Detail::Always => {
            condition::evaluate_condition(&rule.condition, facts, as_of, Some(&mut eval.values))
        }
        Detail::MatchedOnly => {
            let matched = condition::evaluate_condition(&rule.condition, facts, as_of, None);
            if matched {
                condition::evaluate_condition(
                    &rule.condition,
                    facts,
                    as_of,
                    Some(&mut eval.values),
                );
            }
            matched
        }
    };
    if eval.matched {
        eval.actions = actions::plan_actions(rule, facts);
    }
    Some(eval)
}

/// Every rule over every campaign of a metrics table, rule by rule in order, campaigns in table
/// order. Only matches unless `all` (then every campaign in scope, skipped ones included).
pub fn evaluate_table(
    rules: &[Rule],
    table: &csv_source::MetricsTable,
    as_of: NaiveDate,
    all: bool,
) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for rule in rules {
        let windows = rule.required_windows();
        for facts in table.facts(as_of, &windows) {
            let detail = if all {
                Detail::Always
            } else {
                Detail::MatchedOnly
            };
            if let Some(e) = evaluate(rule, &facts, as_of, detail)
                && (all || e.matched)
            {
                out.push(e);
            }
        }
    }
    out
}

pub fn in_scope(scope: Option<&Scope>, facts: &CampaignFacts) -> bool {
    let Some(scope) = scope else {
        return true;
    };
    if !scope.platforms.is_empty() && !scope.platforms.contains(&facts.platform) {
        return false;
    }
    scope.filter.as_ref().is_none_or(|f| filter_holds(f, facts))
}

fn filter_holds(filter: &Filter, facts: &CampaignFacts) -> bool {
    match filter {
        Filter::Name(n) => {
            let name = facts.name.to_lowercase();
            match n {
                NameFilter::Contains(t) => name.contains(&t.to_lowercase()),
                NameFilter::StartsWith(t) => name.starts_with(&t.to_lowercase()),
                NameFilter::EndsWith(t) => name.ends_with(&t.to_lowercase()),
                NameFilter::Matches(p) => p.is_match(&facts.name),
            }
        }
        Filter::Status(s) => facts.status == *s,
        Filter::Account(id) => facts.account_id == *id,
        Filter::Platform(p) => facts.platform == *p,
        Filter::Not(f) => !filter_holds(f, facts),
        Filter::And(a, b) => filter_holds(a, facts) && filter_holds(b, facts),
        Filter::Or(a, b) => filter_holds(a, facts) || filter_holds(b, facts),
    }
}

#[cfg(test)]
mod tests;
