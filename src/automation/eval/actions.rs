//! Turning a matched rule's actions into a plan, in exact money.
//!
//! A plan is a preview computed from the budget the caller knows. The server recomputes every
//! budget change with [`BudgetPlan::apply`] from the budget it reads from the platform at
//! execution time.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::json;

use chrono::NaiveDate;

use super::CampaignFacts;
use super::condition::evaluate_expr;
use super::value::Value;
use crate::automation::language::ast::{
    Action, BudgetChange, CampaignStatus, CapKind, Direction, Expr, Level, Literal, NotifyTarget,
    Rule, SetTo, Unit,
};
use crate::types::{Currency, Money};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Pause,
    Resume,
    Budget(BudgetPlan),
    /// A bid change (ad groups/ad sets): the same arithmetic as budgets.
    Bid(BudgetPlan),
    Notify(NotifyTarget),
}

/// A budget change in the account's currency. Serializable: the action path stores it with the
/// intent and applies it to the budget read at execution time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BudgetPlan {
    Set(Money),
    Change {
        direction: Direction,
        by: ChangeBy,
        /// `up to` for an increase, `down to` for a decrease.
        limit: Option<Money>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChangeBy {
    /// Percent of the current budget (20 means 20%).
    Percent(Decimal),
    Amount(Money),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAction {
    pub step: Step,
    /// Budget before and after, for budget steps.
    pub from: Option<Money>,
    pub to: Option<Money>,
    /// Why the step will not be executed (already paused, limit reached, ...).
    pub skipped: Option<String>,
    /// From a `notify` line: sent only when another action of the rule ran.
    pub notify_line: bool,
}

impl PlannedAction {
    fn new(step: Step) -> Self {
        PlannedAction {
            step,
            from: None,
            to: None,
            skipped: None,
            notify_line: false,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.step {
            Step::Pause => "pause",
            Step::Resume => "resume",
            Step::Budget(_) => "set_budget",
            Step::Bid(_) => "set_bid",
            Step::Notify(_) => "notify",
        }
    }

    /// `{"kind","from","to","currency","target","via","skipped"}`, amounts as decimal strings.
    pub fn to_json(&self) -> serde_json::Value {
        let amount = |m: &Option<Money>| m.map(|m| m.to_major().to_string());
        let currency = self.from.or(self.to).map(|m| m.currency.to_string());
        let (target, via) = match &self.step {
            Step::Notify(NotifyTarget::Email { address, .. }) => {
                (Some(address.clone()), Some("email"))
            }
            Step::Notify(NotifyTarget::Webhook { url, .. }) => (Some(url.clone()), Some("webhook")),
            _ => (None, None),
        };
        let mut v = json!({
            "kind": self.kind(),
            "from": amount(&self.from),
            "to": amount(&self.to),
            "currency": currency,
            "target": target,
            "skipped": self.skipped,
        });
        if let (Some(via), Some(obj)) = (via, v.as_object_mut()) {
            obj.insert("via".to_string(), json!(via));
            obj.insert("notify_line".to_string(), json!(self.notify_line));
        }
        v
    }
}

impl BudgetPlan {
    /// The new budget from `current`, rounded to the currency's minor unit; `Err` says why the
    /// change is skipped (no change, limit already reached, would leave nothing).
    pub fn apply(&self, current: Money) -> Result<Money, String> {
        self.apply_to("budget", current)
    }

    /// [`BudgetPlan::apply`] for any amount: `what` names it in the reasons ("bid").
    pub fn apply_to(&self, what: &str, current: Money) -> Result<Money, String> {
        let cur = current.currency;
        let exp = cur.minor_unit_exponent();
        let money = |d: Decimal| {
            Money::from_major(
                d.round_dp_with_strategy(exp, RoundingStrategy::MidpointAwayFromZero),
                cur,
            )
            .ok_or_else(|| "the new budget is out of range".to_string())
        };
        let check_currency = |m: &Money| {
            if m.currency == cur {
                Ok(())
            } else {
                Err(format!(
                    "the {what} is in {cur}, the rule's amount in {}",
                    m.currency
                ))
            }
        };
        let new = match self {
            BudgetPlan::Set(to) => {
                check_currency(to)?;
                *to
            }
            BudgetPlan::Change {
                direction,
                by,
                limit,
            } => {
                let base = current.to_major();
                let delta = match by {
                    ChangeBy::Percent(p) => base
                        .checked_mul(*p)
                        .map(|x| x / Decimal::ONE_HUNDRED)
                        .ok_or_else(|| "the new budget is out of range".to_string())?,
                    ChangeBy::Amount(m) => {
                        check_currency(m)?;
                        m.to_major()
                    }
                };
                let raw = match direction {
                    Direction::Increase => base.checked_add(delta),
                    Direction::Decrease => base.checked_sub(delta),
                }
                .ok_or_else(|| "the new budget is out of range".to_string())?;
                let mut new = money(raw)?;
                if let Some(limit) = limit {
                    check_currency(limit)?;
                    match direction {
                        Direction::Increase if current.micros >= limit.micros => {
                            return Err(format!(
                                "{what} {} is already at or above the limit {}",
                                current.display(),
                                limit.display()
                            ));
                        }
                        Direction::Increase => new.micros = new.micros.min(limit.micros),
                        Direction::Decrease if current.micros <= limit.micros => {
                            return Err(format!(
                                "{what} {} is already at or below the limit {}",
                                current.display(),
                                limit.display()
                            ));
                        }
                        Direction::Decrease => new.micros = new.micros.max(limit.micros),
                    }
                }
                if new.micros <= 0 {
                    return Err(format!(
                        "decreasing {what} {} would leave nothing",
                        current.display()
                    ));
                }
                new
            }
        };
        if new.micros == current.micros {
            return Err(format!("{what} is already {}", current.display()));
        }
        Ok(new)
    }
}

/// Plans `rule`'s actions for an object whose condition held: the `then` actions in order,
/// then the `notify` lines (skipped when no action ran).
pub fn plan_actions(rule: &Rule, facts: &CampaignFacts, as_of: NaiveDate) -> Vec<PlannedAction> {
    let mut out: Vec<PlannedAction> = rule
        .actions
        .iter()
        .map(|a| plan_one(a, facts, as_of))
        .collect();
    let any_ran = out.iter().any(|a| a.skipped.is_none());
    for target in &rule.notify {
        let mut a = PlannedAction::new(Step::Notify(target.clone()));
        a.notify_line = true;
        if !any_ran {
            a.skipped = Some("no action of the rule ran".to_string());
        }
        out.push(a);
    }
    out
}

fn object_word(facts: &CampaignFacts) -> &'static str {
    match facts.level() {
        Level::Ad => "ad",
        Level::AdGroup => "ad group",
        _ => "campaign",
    }
}

fn plan_one(action: &Action, facts: &CampaignFacts, as_of: NaiveDate) -> PlannedAction {
    match action {
        Action::Pause => {
            let mut a = PlannedAction::new(Step::Pause);
            if facts.status == CampaignStatus::Paused {
                a.skipped = Some(format!("{} is already paused", object_word(facts)));
            } else if facts.status == CampaignStatus::Removed {
                a.skipped = Some(format!("{} is removed", object_word(facts)));
            }
            a
        }
        Action::Resume => {
            let mut a = PlannedAction::new(Step::Resume);
            if facts.status == CampaignStatus::Active {
                a.skipped = Some(format!("{} is already active", object_word(facts)));
            } else if facts.status == CampaignStatus::Removed {
                a.skipped = Some(format!("{} is removed", object_word(facts)));
            }
            a
        }
        Action::Notify(t) => PlannedAction::new(Step::Notify(t.clone())),
        Action::SetBudget(s) => {
            let plan = budget_plan_set(s, facts, as_of);
            change_action(Target::Budget, plan, facts)
        }
        Action::ChangeBudget(c) => {
            let plan = budget_plan_change(c, facts, as_of);
            change_action(Target::Budget, plan, facts)
        }
        Action::SetBid(s) => {
            let plan = budget_plan_set(s, facts, as_of);
            change_action(Target::Bid, plan, facts)
        }
        Action::ChangeBid(c) => {
            let plan = budget_plan_change(c, facts, as_of);
            change_action(Target::Bid, plan, facts)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Budget,
    Bid,
}

fn change_action(
    target: Target,
    plan: Result<BudgetPlan, String>,
    facts: &CampaignFacts,
) -> PlannedAction {
    let (what, current) = match target {
        // An ad group's own budget, daily or lifetime (the action path changes whichever it
        // has); a campaign's daily budget.
        Target::Budget => (
            "budget",
            facts.own_daily_budget().or(match facts.level() {
                Level::AdGroup => facts.details.lifetime_budget,
                _ => None,
            }),
        ),
        Target::Bid => ("bid", facts.details.bid),
    };
    let step = |p: BudgetPlan| match target {
        Target::Budget => Step::Budget(p),
        Target::Bid => Step::Bid(p),
    };
    let Some(current) = current else {
        let mut a = PlannedAction::new(step(BudgetPlan::Set(facts.daily_budget)));
        a.skipped = Some(match (target, facts.level()) {
            (Target::Budget, Level::AdGroup) if facts.platform == crate::types::Platform::Meta => {
                "this ad set has no budget of its own: its campaign's budget (Advantage campaign budget) pays for it, so change the campaign's budget".to_string()
            }
            (Target::Budget, Level::AdGroup) => "this ad group has no budget of its own (a Google ad group, or an ad set under a campaign budget)".to_string(),
            (Target::Budget, _) => format!("this {} has no budget", object_word(facts)),
            (Target::Bid, _) => format!("this {} has no bid", object_word(facts)),
        });
        return a;
    };
    let plan = match plan {
        Ok(p) => p,
        Err(why) => {
            let mut a = PlannedAction::new(step(BudgetPlan::Set(current)));
            a.from = Some(current);
            a.to = Some(current);
            a.skipped = Some(why);
            return a;
        }
    };
    let mut a = PlannedAction::new(step(plan.clone()));
    a.from = Some(current);
    match plan.apply_to(what, current) {
        Ok(new) => a.to = Some(new),
        Err(why) => {
            a.to = Some(current);
            a.skipped = Some(why);
        }
    }
    a
}

/// Amounts without a currency are in the account's currency.
fn money_of(l: &Literal, account: Currency) -> Option<Money> {
    Money::from_major(l.value, l.currency().unwrap_or(account))
}

/// An action's expression as an amount in the account's currency; `Err` says why it is skipped.
fn amount_of(e: &Expr, facts: &CampaignFacts, as_of: NaiveDate) -> Result<Money, String> {
    if let Expr::Lit(l) = e {
        return money_of(l, facts.currency).ok_or_else(|| "the amount is out of range".to_string());
    }
    let text = crate::automation::language::format::expr_text(e, 0);
    let cur = facts.currency;
    match evaluate_expr(e, facts, as_of) {
        Value::Num(d) if d > Decimal::ZERO => Money::from_major(
            d.round_dp_with_strategy(
                cur.minor_unit_exponent(),
                RoundingStrategy::MidpointAwayFromZero,
            ),
            cur,
        )
        .filter(|m| m.micros > 0)
        .ok_or_else(|| format!("{text} is out of range")),
        Value::Num(d) => Err(format!(
            "{text} is {}, not above zero",
            d.round_dp(6).normalize()
        )),
        Value::PosInf | Value::NegInf => Err(format!("{text} is infinite")),
        Value::Undefined => Err(format!("{text} is undefined")),
    }
}

/// `set ... to EXPR [up to|down to EXPR]`: the amount, with the limit applied now.
pub fn budget_plan_set(
    s: &SetTo,
    facts: &CampaignFacts,
    as_of: NaiveDate,
) -> Result<BudgetPlan, String> {
    let mut to = amount_of(&s.to, facts, as_of)?;
    if let Some(cap) = &s.cap {
        let limit = amount_of(&cap.amount, facts, as_of)?;
        if limit.currency == to.currency {
            to.micros = match cap.kind {
                CapKind::UpTo => to.micros.min(limit.micros),
                CapKind::DownTo => to.micros.max(limit.micros),
            };
        }
    }
    Ok(BudgetPlan::Set(to))
}

pub fn budget_plan_change(
    c: &BudgetChange,
    facts: &CampaignFacts,
    as_of: NaiveDate,
) -> Result<BudgetPlan, String> {
    let by = match c.by.unit {
        Unit::Percent => ChangeBy::Percent(c.by.value),
        _ => ChangeBy::Amount(
            money_of(&c.by, facts.currency)
                .ok_or_else(|| "the amount is out of range".to_string())?,
        ),
    };
    let limit = match &c.cap {
        Some(cap) => Some(amount_of(&cap.amount, facts, as_of)?),
        None => None,
    };
    Ok(BudgetPlan::Change {
        direction: c.direction,
        by,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(units: i64) -> Money {
        Money::new(units * 1_000_000, "USD".parse().expect("usd"))
    }

    fn pct(direction: Direction, p: i64, limit: Option<Money>) -> BudgetPlan {
        BudgetPlan::Change {
            direction,
            by: ChangeBy::Percent(Decimal::from(p)),
            limit,
        }
    }

    #[test]
    fn increase_by_percent_stops_at_the_limit() {
        let plan = pct(Direction::Increase, 20, Some(usd(500)));
        assert_eq!(plan.apply(usd(100)), Ok(usd(120)));
        assert_eq!(plan.apply(usd(450)), Ok(usd(500)));
        let skipped = plan.apply(usd(500)).expect_err("at the limit");
        assert!(
            skipped.contains("already at or above the limit 500.00 USD"),
            "{skipped}"
        );
    }

    #[test]
    fn decrease_never_goes_below_the_floor_or_to_zero() {
        let plan = pct(Direction::Decrease, 25, Some(usd(20)));
        assert_eq!(plan.apply(usd(100)), Ok(usd(75)));
        assert_eq!(plan.apply(usd(24)), Ok(usd(20)));
        assert!(plan.apply(usd(20)).is_err());
        let by_amount = BudgetPlan::Change {
            direction: Direction::Decrease,
            by: ChangeBy::Amount(usd(150)),
            limit: None,
        };
        assert!(
            by_amount
                .apply(usd(100))
                .expect_err("nothing left")
                .contains("leave nothing")
        );
    }

    #[test]
    fn new_budgets_are_rounded_to_cents_and_a_zero_change_is_skipped() {
        let plan = pct(Direction::Increase, 10, None);
        // 33.33 * 1.1 = 36.663 -> 36.66
        assert_eq!(
            plan.apply(Money::new(33_330_000, "USD".parse().expect("usd"))),
            Ok(Money::new(36_660_000, "USD".parse().expect("usd")))
        );
        assert!(BudgetPlan::Set(usd(50)).apply(usd(50)).is_err());
        let tiny = BudgetPlan::Change {
            direction: Direction::Increase,
            by: ChangeBy::Percent(Decimal::new(1, 3)),
            limit: None,
        };
        assert!(tiny.apply(usd(1)).is_err());
    }

    #[test]
    fn an_amount_in_another_currency_is_never_applied() {
        let eur = Money::new(10_000_000, "EUR".parse().expect("eur"));
        assert!(BudgetPlan::Set(eur).apply(usd(50)).is_err());
    }
}
