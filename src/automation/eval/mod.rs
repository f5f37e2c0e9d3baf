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

use chrono::{NaiveDate, Weekday};
use serde_json::json;

use crate::automation::language::ast::{
    CampaignStatus, Filter, Level, NameFilter, PausedBy, Rule, Scope,
};
use crate::automation::language::checker::rule_currencies;
use crate::types::{Currency, Money, Platform};

pub use actions::{BudgetPlan, ChangeBy, PlannedAction, Step};
pub use value::Value;
pub use window::{Totals, WindowKey};

/// What the evaluator knows about one object (a campaign, ad group or ad; the name is from
/// version 1, when every object was a campaign).
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignFacts {
    pub platform: Platform,
    pub account_id: String,
    /// The ad account's currency: every money total and the budget are in it.
    pub currency: Currency,
    /// The campaign, or the campaign the ad group or ad belongs to.
    pub campaign_id: String,
    /// The object's own name.
    pub name: String,
    pub status: CampaignStatus,
    pub daily_budget: Money,
    /// Totals per window; a missing window means no delivery (all zero).
    pub totals: HashMap<WindowKey, Totals>,
    /// Version 2: level, parents, figures without a window and the account's clock. The
    /// default is a campaign with nothing more known (the live runner's campaigns).
    pub details: ObjectDetails,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectDetails {
    /// `None` means a campaign.
    pub level: Option<Level>,
    pub campaign_name: Option<String>,
    pub ad_group_id: Option<String>,
    pub ad_group_name: Option<String>,
    pub ad_id: Option<String>,
    /// The object holds no daily budget of its own (an ad, a Google ad group, an ad set under a
    /// campaign budget): `daily_budget` is undefined and budget actions are skipped.
    pub no_daily_budget: bool,
    pub lifetime_budget: Option<Money>,
    /// What the platform itself says is left of the lifetime budget (Meta campaigns); `None`
    /// means `budget_remaining` is the lifetime budget minus lifetime spend.
    pub budget_remaining: Option<Money>,
    pub bid: Option<Money>,
    /// The day it was created, in the account's time zone.
    pub created: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// The rule whose pause is the object's latest, if any.
    pub paused_by_rule: Option<String>,
    /// Hour and day of week at the check in the account's time zone; `None` where unknown.
    pub clock: Option<Clock>,
    pub campaign: Option<Box<ParentFigures>>,
    pub ad_group: Option<Box<ParentFigures>>,
    pub account: Option<Box<ParentFigures>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// The account's today.
    pub today: NaiveDate,
    pub hour: u32,
    pub weekday: Weekday,
}

/// A parent's (or the whole account's) figures for `campaign cpa`, `account spend` and the like.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParentFigures {
    pub totals: HashMap<WindowKey, Totals>,
    pub daily_budget: Option<Money>,
    pub lifetime_budget: Option<Money>,
    /// The platform's own remaining figure, as in [`ObjectDetails::budget_remaining`].
    pub budget_remaining: Option<Money>,
    pub bid: Option<Money>,
    pub created: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

impl CampaignFacts {
    pub fn level(&self) -> Level {
        self.details.level.unwrap_or(Level::Campaign)
    }

    /// The object's own id: the campaign's, ad group's or ad's.
    pub fn object_id(&self) -> &str {
        match self.level() {
            Level::Ad => self.details.ad_id.as_deref().unwrap_or(""),
            Level::AdGroup => self.details.ad_group_id.as_deref().unwrap_or(""),
            _ => &self.campaign_id,
        }
    }

    pub fn own_daily_budget(&self) -> Option<Money> {
        (!self.details.no_daily_budget).then_some(self.daily_budget)
    }

    /// The object's own figures in the form parents have.
    pub fn own_figures(&self) -> ParentFigures {
        ParentFigures {
            totals: HashMap::new(),
            daily_budget: self.own_daily_budget(),
            lifetime_budget: self.details.lifetime_budget,
            budget_remaining: self.details.budget_remaining,
            bid: self.details.bid,
            created: self.details.created,
            end_date: self.details.end_date,
        }
    }
}

/// One rule over one campaign in its scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub rule: String,
    pub campaign_id: String,
    pub level: Level,
    pub ad_group_id: Option<String>,
    pub ad_id: Option<String>,
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
            "level": self.level.as_str(),
            "campaign_id": self.campaign_id,
            "platform": self.platform,
            "matched": self.matched,
            "values": values,
            "actions": self.actions.iter().map(PlannedAction::to_json).collect::<Vec<_>>(),
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some(why) = &self.skipped {
                obj.insert("skipped".to_string(), json!(why));
            }
            if let Some(id) = &self.ad_group_id {
                obj.insert("ad_group_id".to_string(), json!(id));
            }
            if let Some(id) = &self.ad_id {
                obj.insert("ad_id".to_string(), json!(id));
            }
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
    if !in_rule_scope(rule, facts) {
        return None;
    }
    let mut eval = Evaluation {
        rule: rule.name.clone(),
        campaign_id: facts.campaign_id.clone(),
        level: facts.level(),
        ad_group_id: facts.details.ad_group_id.clone(),
        ad_id: facts.details.ad_id.clone(),
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
        eval.actions = actions::plan_actions(rule, facts, as_of);
    }
    Some(eval)
}

/// Every rule over every object of a metrics table, rule by rule in order, objects in table
/// order. Only matches unless `all` (then every object in scope, skipped ones included).
pub fn evaluate_table(
    rules: &[Rule],
    table: &csv_source::MetricsTable,
    at: csv_source::At,
    all: bool,
) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for rule in rules {
        let windows = rule.required_windows();
        for facts in table.facts(at, &windows) {
            let detail = if all {
                Detail::Always
            } else {
                Detail::MatchedOnly
            };
            let as_of = facts.details.clock.map_or(at.date(), |c| c.today);
            if let Some(e) = evaluate(rule, &facts, as_of, detail)
                && (all || e.matched)
            {
                out.push(e);
            }
        }
    }
    out
}

/// Whether `facts` is in `scope` (`paused by this rule` never holds here: use
/// [`in_rule_scope`] where the rule is known).
pub fn in_scope(scope: Option<&Scope>, facts: &CampaignFacts) -> bool {
    scope_holds(scope, facts, None)
}

pub fn in_rule_scope(rule: &Rule, facts: &CampaignFacts) -> bool {
    scope_holds(rule.scope.as_ref(), facts, Some(&rule.name))
}

fn scope_holds(scope: Option<&Scope>, facts: &CampaignFacts, rule: Option<&str>) -> bool {
    let level = scope.map_or(Level::Campaign, |s| s.level.level());
    if level != facts.level() {
        return false;
    }
    let Some(scope) = scope else {
        return true;
    };
    if !scope.platforms.is_empty() && !scope.platforms.contains(&facts.platform) {
        return false;
    }
    scope
        .filter
        .as_ref()
        .is_none_or(|f| filter_holds(f, facts, rule))
}

fn name_holds(n: &NameFilter, text: Option<&str>) -> bool {
    let Some(text) = text else {
        return false;
    };
    let name = text.to_lowercase();
    match n {
        NameFilter::Contains(t) => name.contains(&t.to_lowercase()),
        NameFilter::StartsWith(t) => name.starts_with(&t.to_lowercase()),
        NameFilter::EndsWith(t) => name.ends_with(&t.to_lowercase()),
        NameFilter::Matches(p) => p.is_match(text),
    }
}

fn filter_holds(filter: &Filter, facts: &CampaignFacts, rule: Option<&str>) -> bool {
    let d = &facts.details;
    let campaign_name = match facts.level() {
        Level::Campaign | Level::Account => Some(facts.name.as_str()),
        _ => d.campaign_name.as_deref(),
    };
    let ad_group_name = match facts.level() {
        Level::AdGroup => Some(facts.name.as_str()),
        _ => d.ad_group_name.as_deref(),
    };
    match filter {
        Filter::Name(n) => name_holds(n, Some(&facts.name)),
        Filter::Status(s) => facts.status == *s,
        Filter::Account(id) => facts.account_id == *id,
        Filter::Platform(p) => facts.platform == *p,
        Filter::Id(id) => facts.object_id() == id,
        Filter::CampaignName(n) => name_holds(n, campaign_name),
        Filter::Campaign(id) => facts.campaign_id == *id,
        Filter::AdGroupName(_, n) => name_holds(n, ad_group_name),
        Filter::AdGroup(_, id) => d.ad_group_id.as_deref() == Some(id.as_str()),
        Filter::PausedBy(p) => {
            let by = d.paused_by_rule.as_deref().map(str::trim);
            facts.status == CampaignStatus::Paused
                && match (p, by) {
                    (_, None) => false,
                    (PausedBy::AnyRule, Some(_)) => true,
                    (PausedBy::ThisRule, Some(by)) => rule.is_some_and(|r| same_name(r, by)),
                    (PausedBy::Rule(name), Some(by)) => same_name(name, by),
                }
        }
        Filter::Not(f) => !filter_holds(f, facts, rule),
        Filter::And(a, b) => filter_holds(a, facts, rule) && filter_holds(b, facts, rule),
        Filter::Or(a, b) => filter_holds(a, facts, rule) || filter_holds(b, facts, rule),
    }
}

fn same_name(a: &str, b: &str) -> bool {
    crate::automation::language::checker::name_key(a)
        == crate::automation::language::checker::name_key(b)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_v2;
