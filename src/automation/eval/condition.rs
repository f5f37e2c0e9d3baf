//! A rule's condition over one campaign's window totals.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::value::Value;
use super::window::{Totals, WindowKey};
use super::{CampaignFacts, ParentFigures};
use crate::automation::language::ast::{Comparison, Cond, Expr, Metric, MetricRef, Parent};
use crate::automation::language::format::metric_text;
use crate::types::MICROS_PER_UNIT;

/// Evaluates `cond`. With `seen`, records every metric value it looked at under a readable key
/// ("cpa in last 7 days", "cpa on 2026-03-09"); both sides of `and`/`or` are always evaluated
/// so the run log shows everything the condition saw. Without, nothing is allocated (the
/// server's fast path over many campaigns).
pub fn evaluate_condition(
    cond: &Cond,
    facts: &CampaignFacts,
    as_of: NaiveDate,
    seen: Option<&mut BTreeMap<String, Value>>,
) -> bool {
    let mut ctx = Ctx { facts, as_of, seen };
    ctx.cond(cond)
}

/// An expression of an action (`set budget to (5000 - spend this month) / days_left_in_month`).
pub fn evaluate_expr(e: &Expr, facts: &CampaignFacts, as_of: NaiveDate) -> Value {
    Ctx {
        facts,
        as_of,
        seen: None,
    }
    .expr(e, None)
}

struct Ctx<'a> {
    facts: &'a CampaignFacts,
    as_of: NaiveDate,
    seen: Option<&'a mut BTreeMap<String, Value>>,
}

impl Ctx<'_> {
    fn cond(&mut self, cond: &Cond) -> bool {
        match cond {
            Cond::Always => true,
            Cond::DayOfWeek(d) => {
                let Some(clock) = self.facts.details.clock else {
                    return false;
                };
                if let Some(seen) = self.seen.as_deref_mut() {
                    seen.insert(
                        "day of week".to_string(),
                        Value::Num(Decimal::from(clock.weekday.number_from_monday())),
                    );
                }
                d.days.iter().any(|s| s.holds(clock.weekday))
            }
            Cond::Cmp(c) => self.comparison(c),
            Cond::Not(c) => !self.cond(c),
            Cond::And(a, b) => {
                let a = self.cond(a);
                let b = self.cond(b);
                a && b
            }
            Cond::Or(a, b) => {
                let a = self.cond(a);
                let b = self.cond(b);
                a || b
            }
        }
    }

    fn comparison(&mut self, c: &Comparison) -> bool {
        match c.each_days {
            None => {
                let l = self.expr(&c.left, None);
                let r = self.expr(&c.right, None);
                l.compare(c.op, r)
            }
            Some(days) => {
                let mut all = true;
                for k in 1..=days.n {
                    let l = self.expr(&c.left, Some(k));
                    let r = self.expr(&c.right, Some(k));
                    all &= l.compare(c.op, r);
                }
                all
            }
        }
    }

    /// `day`: under `on each of`, the single day `day` days before today.
    fn expr(&mut self, e: &Expr, day: Option<u32>) -> Value {
        match e {
            Expr::Lit(l) => Value::Num(l.number()),
            Expr::Metric(m) => self.metric(m, day),
            Expr::HourOfDay(_) => {
                let v = self
                    .facts
                    .details
                    .clock
                    .map_or(Value::Undefined, |c| Value::Num(Decimal::from(c.hour)));
                if let Some(seen) = self.seen.as_deref_mut() {
                    seen.insert("hour of day".to_string(), v);
                }
                v
            }
            Expr::Neg(inner) => self.expr(inner, day).negate(),
            Expr::Bin(op, a, b) => {
                let a = self.expr(a, day);
                let b = self.expr(b, day);
                a.apply(*op, b)
            }
        }
    }

    /// The figures `m` reads: the object's own, its parent's or its account's (`None`: the
    /// object has no such parent here, so every figure of it is undefined).
    fn figures(&self, m: &MetricRef) -> Option<(&HashMap<WindowKey, Totals>, ParentFigures)> {
        let d = &self.facts.details;
        let parent = match m.of {
            None => return Some((&self.facts.totals, self.facts.own_figures())),
            Some(Parent::Campaign) => d.campaign.as_deref(),
            Some(Parent::AdGroup(_)) => d.ad_group.as_deref(),
            Some(Parent::Account) => d.account.as_deref(),
        }?;
        let statics = ParentFigures {
            totals: HashMap::new(),
            ..parent.clone()
        };
        Some((&parent.totals, statics))
    }

    fn metric(&mut self, m: &MetricRef, day: Option<u32>) -> Value {
        let key = match day {
            Some(k) => WindowKey::Day(k),
            None => WindowKey::of(m.window.as_ref()),
        };
        let v = match self.figures(m) {
            None => Value::Undefined,
            Some((totals, statics)) if m.metric.takes_no_window() => {
                let lifetime = totals
                    .get(&WindowKey::Lifetime)
                    .copied()
                    .unwrap_or_default();
                no_window_value(m.metric, &statics, &lifetime, self.as_of)
            }
            Some((totals, _)) => {
                metric_value(m.metric, &totals.get(&key).copied().unwrap_or_default())
            }
        };
        if m.metric.takes_no_window() {
            if let Some(seen) = self.seen.as_deref_mut() {
                seen.insert(metric_text(m), v);
            }
            return v;
        }
        if let Some(seen) = self.seen.as_deref_mut() {
            let label = match (day, &m.window) {
                (Some(_), _) => format!("{} on {}", metric_text(m), key.dates(self.as_of).0),
                (None, Some(_)) => metric_text(m),
                (None, None) => format!("{} today", metric_text(m)),
            };
            seen.insert(label, v);
        }
        v
    }
}

fn major(micros: i64) -> Decimal {
    Decimal::new(micros, 6)
}

/// Figures without a window, as of `today` (the account's date).
pub fn no_window_value(
    metric: Metric,
    f: &ParentFigures,
    lifetime: &Totals,
    today: NaiveDate,
) -> Value {
    let money = |m: Option<crate::types::Money>| {
        m.map_or(Value::Undefined, |m| Value::Num(major(m.micros)))
    };
    let days = |n: i64| Value::Num(Decimal::from(n));
    match metric {
        Metric::DailyBudget => money(f.daily_budget),
        Metric::LifetimeBudget => money(f.lifetime_budget),
        Metric::Bid => money(f.bid),
        // The platform's own figure where it gives one (Meta campaigns), else the contract's
        // lifetime budget minus lifetime spend.
        Metric::BudgetRemaining => match (f.lifetime_budget, f.budget_remaining) {
            (Some(_), Some(left)) => Value::Num(major(left.micros)),
            (Some(b), None) => Value::Num(major(b.micros) - major(lifetime.spend_micros)),
            (None, _) => Value::Undefined,
        },
        Metric::DaysSinceCreated => f
            .created
            .map_or(Value::Undefined, |c| days((today - c).num_days())),
        Metric::DaysLeft => f
            .end_date
            .map_or(Value::Undefined, |e| days((e - today).num_days() + 1)),
        Metric::DaysLeftInMonth => {
            let next = if today.month() == 12 {
                NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(today.year(), today.month() + 1, 1)
            };
            next.map_or(Value::Undefined, |n| days((n - today).num_days()))
        }
        _ => Value::Undefined,
    }
}

/// One metric from base totals; money in major units of the account's currency.
pub fn metric_value(metric: Metric, t: &Totals) -> Value {
    let num = |d: Decimal| Value::Num(d);
    let impressions = num(Decimal::from(t.impressions));
    let clicks = num(Decimal::from(t.clicks));
    let spend = num(major(t.spend_micros));
    let conversions = num(t.conversions);
    let revenue = num(major(t.revenue_micros));
    let purchases = num(t.purchases);
    let purchase_value = num(major(t.purchase_value_micros));
    let leads = num(t.leads);
    let installs = num(t.installs);
    let registrations = num(t.registrations);
    use crate::automation::language::ast::BinOp::{Div, Mul};
    match metric {
        Metric::Impressions => impressions,
        Metric::Clicks => clicks,
        Metric::Spend => spend,
        Metric::Conversions => conversions,
        Metric::Revenue => revenue,
        Metric::Ctr => clicks.apply(Div, impressions),
        Metric::Cpc => spend.apply(Div, clicks),
        Metric::Cpm => num(Decimal::from(1000))
            .apply(Mul, spend)
            .apply(Div, impressions),
        Metric::Cpa => spend.apply(Div, conversions),
        Metric::Roas => revenue.apply(Div, spend),
        Metric::Cvr => conversions.apply(Div, clicks),
        Metric::AllClicks => num(Decimal::from(t.all_clicks)),
        Metric::Purchases => purchases,
        Metric::PurchaseValue => purchase_value,
        Metric::Leads => leads,
        Metric::Installs => installs,
        Metric::Registrations => registrations,
        Metric::CostPerPurchase => spend.apply(Div, purchases),
        Metric::PurchaseRoas => purchase_value.apply(Div, spend),
        Metric::CostPerLead => spend.apply(Div, leads),
        Metric::CostPerInstall => spend.apply(Div, installs),
        Metric::CostPerRegistration => spend.apply(Div, registrations),
        // Handled by no_window_value: not window totals.
        Metric::DailyBudget
        | Metric::LifetimeBudget
        | Metric::BudgetRemaining
        | Metric::Bid
        | Metric::DaysSinceCreated
        | Metric::DaysLeft
        | Metric::DaysLeftInMonth => Value::Undefined,
    }
}

#[allow(dead_code)]
const _: () = assert!(
    MICROS_PER_UNIT == 1_000_000,
    "major() assumes 6 decimal places"
);
