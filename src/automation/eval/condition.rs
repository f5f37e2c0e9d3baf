//! A rule's condition over one campaign's window totals.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::CampaignFacts;
use super::value::Value;
use super::window::{Totals, WindowKey};
use crate::automation::language::ast::{Comparison, Cond, Expr, Metric, MetricRef};
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

struct Ctx<'a> {
    facts: &'a CampaignFacts,
    as_of: NaiveDate,
    seen: Option<&'a mut BTreeMap<String, Value>>,
}

impl Ctx<'_> {
    fn cond(&mut self, cond: &Cond) -> bool {
        match cond {
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
            Expr::Neg(inner) => self.expr(inner, day).negate(),
            Expr::Bin(op, a, b) => {
                let a = self.expr(a, day);
                let b = self.expr(b, day);
                a.apply(*op, b)
            }
        }
    }

    fn metric(&mut self, m: &MetricRef, day: Option<u32>) -> Value {
        if m.metric == Metric::DailyBudget {
            let v = Value::Num(major(self.facts.daily_budget.micros));
            if let Some(seen) = self.seen.as_deref_mut() {
                seen.insert("daily_budget".to_string(), v);
            }
            return v;
        }
        let key = match day {
            Some(k) => WindowKey::Day(k),
            None => WindowKey::of(m.window.as_ref()),
        };
        let totals = self.facts.totals.get(&key).copied().unwrap_or_default();
        let v = metric_value(m.metric, &totals);
        if let Some(seen) = self.seen.as_deref_mut() {
            let label = match (day, &m.window) {
                (Some(_), _) => format!("{} on {}", m.metric, key.dates(self.as_of).0),
                (None, Some(_)) => metric_text(m),
                (None, None) => format!("{} today", m.metric),
            };
            seen.insert(label, v);
        }
        v
    }
}

fn major(micros: i64) -> Decimal {
    Decimal::new(micros, 6)
}

/// One metric from base totals; money in major units of the account's currency.
pub fn metric_value(metric: Metric, t: &Totals) -> Value {
    let num = |d: Decimal| Value::Num(d);
    let impressions = num(Decimal::from(t.impressions));
    let clicks = num(Decimal::from(t.clicks));
    let spend = num(major(t.spend_micros));
    let conversions = num(t.conversions);
    let revenue = num(major(t.revenue_micros));
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
        // Handled by the caller: it is not a window total.
        Metric::DailyBudget => Value::Undefined,
    }
}

#[allow(dead_code)]
const _: () = assert!(
    MICROS_PER_UNIT == 1_000_000,
    "major() assumes 6 decimal places"
);
