//! Semantic checks on parsed rules: what the grammar accepts but the contract rejects or warns
//! about.

use std::collections::{BTreeSet, HashMap};

use rust_decimal::Decimal;

use super::ast::{
    Action, CapKind, Check, CmpOp, Comparison, Cond, Direction, Expr, Interval, Literal, Metric,
    NotifyTarget, Rule, TimeUnit, Unit, Window,
};
use super::diagnostic::Diagnostic;
use crate::types::Currency;

pub const MAX_DAYS: u32 = 365;
pub const MIN_CHECK_MINUTES: u64 = 5;

/// Every error and warning about one rule on its own.
pub fn check_rule(rule: &Rule) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if rule.name.trim().is_empty() {
        out.push(Diagnostic::error(rule.name_pos, "the rule name is empty"));
    }
    for cmp in rule.comparisons() {
        check_comparison(cmp, &mut out);
    }
    for action in &rule.actions {
        check_action(action, &mut out);
    }
    for target in &rule.notify {
        check_notify(target, &mut out);
    }
    match &rule.check {
        Some(Check::Every(i)) => check_interval(i, &mut out),
        Some(Check::DailyAt { .. }) | None => {}
    }
    if let Some(c) = &rule.cooldown
        && c.n == 0
    {
        out.push(Diagnostic::error(c.pos, "the cooldown must be at least 1"));
    }
    warn_pause_without_guard(rule, &mut out);
    warn_rule_currencies(rule, &mut out);
    out
}

/// Errors for rule names used more than once in one file (the second and later uses).
pub fn check_duplicate_names(rules: &[Rule]) -> Vec<Diagnostic> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for rule in rules {
        let key = name_key(&rule.name);
        match seen.get(&key) {
            Some(line) => out.push(
                Diagnostic::error(
                    rule.name_pos,
                    format!("a rule named \"{}\" is already defined", rule.name),
                )
                .with_help(format!(
                    "the first one is on line {line}; rule names must be unique"
                )),
            ),
            None => {
                seen.insert(key, rule.pos.line);
            }
        }
    }
    out
}

/// The error to show when `rule`'s name is already taken by another rule of the organization.
/// Names compare ignoring case and surrounding spaces ("Stop losers" = "stop losers ").
pub fn check_name_available<'a>(
    rule: &Rule,
    existing: impl IntoIterator<Item = &'a str>,
) -> Option<Diagnostic> {
    let key = name_key(&rule.name);
    existing.into_iter().any(|n| name_key(n) == key).then(|| {
        Diagnostic::error(
            rule.name_pos,
            format!(
                "a rule named \"{}\" already exists in this organization",
                rule.name
            ),
        )
        .with_help("rename this rule or edit the existing one")
    })
}

/// The form names are compared in.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn check_comparison(cmp: &Comparison, out: &mut Vec<Diagnostic>) {
    let metrics = cmp.metrics();
    for m in &metrics {
        match m.window {
            Some(_) if m.metric == Metric::DailyBudget => out.push(
                Diagnostic::error(m.pos, "daily_budget takes no window")
                    .with_help("daily_budget is the campaign's current budget; write it alone"),
            ),
            Some(Window::Last(d)) | Some(Window::Previous(d)) => check_days(d.n, d.pos, out),
            _ => {}
        }
    }
    if let Some(each) = cmp.each_days {
        check_days(each.n, each.pos, out);
        if !metrics.iter().any(|m| m.metric != Metric::DailyBudget) {
            out.push(
                Diagnostic::error(cmp.pos, "\"on each of\" needs a metric in its comparison")
                    .with_help("for example: cpa > 50 on each of last 3 days"),
            );
        }
        for m in metrics.iter().filter(|m| m.window.is_some()) {
            if m.metric != Metric::DailyBudget {
                out.push(
                    Diagnostic::error(
                        m.pos,
                        "a metric under \"on each of\" takes no window of its own",
                    )
                    .with_help("it is taken over each single day; remove the window"),
                );
            }
        }
    }
    let mut currencies: Vec<(Currency, &Literal)> = Vec::new();
    for lit in cmp.literals() {
        if let Some(c) = lit.currency() {
            if let Some((first, _)) = currencies.iter().find(|(other, _)| *other != c) {
                out.push(
                    Diagnostic::error(lit.pos, format!("this comparison mixes {first} and {c}"))
                        .with_help("amounts in one comparison must share one currency"),
                );
            }
            currencies.push((c, lit));
        }
    }
    warn_fraction_as_number(cmp, out);
}

fn check_days(n: u32, pos: super::ast::Pos, out: &mut Vec<Diagnostic>) {
    if n == 0 || n > MAX_DAYS {
        out.push(
            Diagnostic::error(
                pos,
                format!("the number of days must be between 1 and {MAX_DAYS}, not {n}"),
            )
            .with_help("for example: in last 7 days"),
        );
    }
}

fn check_interval(i: &Interval, out: &mut Vec<Diagnostic>) {
    if i.unit == TimeUnit::Days {
        out.push(
            Diagnostic::error(i.pos, "check every takes minutes or hours")
                .with_help("for once a day write: check daily at 09:00"),
        );
    } else if i.minutes() < MIN_CHECK_MINUTES {
        out.push(
            Diagnostic::error(
                i.pos,
                format!("rules are checked at most every {MIN_CHECK_MINUTES} minutes"),
            )
            .with_help("write: check every 5 minutes (or more)"),
        );
    } else if i.minutes() > u64::from(MAX_DAYS) * 24 * 60 {
        out.push(Diagnostic::error(
            i.pos,
            "this check interval is longer than a year",
        ));
    }
}

fn check_action(action: &Action, out: &mut Vec<Diagnostic>) {
    match action {
        Action::SetBudget(amount) => check_amount(amount, "a budget", out),
        Action::ChangeBudget(change) => {
            if change.by.value.is_zero() {
                out.push(Diagnostic::error(
                    change.by.pos,
                    "a budget change by 0 changes nothing",
                ));
            }
            if change.direction == Direction::Decrease
                && change.by.unit == Unit::Percent
                && change.by.value >= Decimal::ONE_HUNDRED
            {
                out.push(
                    Diagnostic::error(
                        change.by.pos,
                        "decreasing a budget by 100% or more leaves nothing",
                    )
                    .with_help("to stop spending, pause the campaign"),
                );
            }
            if let Some(cap) = &change.cap {
                match (change.direction, cap.kind) {
                    (Direction::Decrease, CapKind::UpTo) => out.push(
                        Diagnostic::error(cap.pos, "\"up to\" limits an increase, not a decrease")
                            .with_help("write \"down to AMOUNT\" for the lowest budget"),
                    ),
                    (Direction::Increase, CapKind::DownTo) => out.push(
                        Diagnostic::error(
                            cap.pos,
                            "\"down to\" limits a decrease, not an increase",
                        )
                        .with_help("write \"up to AMOUNT\" for the highest budget"),
                    ),
                    _ => {}
                }
                check_amount(&cap.amount, "a budget limit", out);
            }
            if let (Some(by), Some(cap)) = (
                change.by.currency(),
                change.cap.as_ref().and_then(|c| c.amount.currency()),
            ) && by != cap
            {
                out.push(Diagnostic::error(
                    change.by.pos,
                    format!("this budget change mixes {by} and {cap}"),
                ));
            }
        }
        Action::Notify(target) => check_notify(target, out),
        Action::Pause | Action::Resume => {}
    }
}

fn check_amount(lit: &Literal, what: &str, out: &mut Vec<Diagnostic>) {
    if lit.unit == Unit::Percent {
        out.push(
            Diagnostic::error(lit.pos, format!("{what} is an amount, not a percentage"))
                .with_help("for example: 50 or 50 EUR"),
        );
    } else if lit.value.is_zero() {
        out.push(
            Diagnostic::error(lit.pos, format!("{what} of 0 would stop the campaign"))
                .with_help("to stop spending, pause the campaign"),
        );
    }
}

fn check_notify(target: &NotifyTarget, out: &mut Vec<Diagnostic>) {
    match target {
        NotifyTarget::Email { address, pos } => {
            let ok = address
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
                && !address.chars().any(char::is_whitespace);
            if !ok {
                out.push(
                    Diagnostic::error(*pos, format!("\"{address}\" is not an email address"))
                        .with_help("for a webhook write: notify webhook \"https://...\""),
                );
            }
        }
        NotifyTarget::Webhook { url, pos } => {
            let ok = url::Url::parse(url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok {
                out.push(Diagnostic::error(
                    *pos,
                    format!("\"{url}\" is not an http(s) URL"),
                ));
            }
        }
    }
}

/// Cost-per metrics are infinite or wild on little data, so pausing on them alone pauses
/// campaigns that simply have not had a chance yet.
fn warn_pause_without_guard(rule: &Rule, out: &mut Vec<Diagnostic>) {
    if !rule.pauses() {
        return;
    }
    let cost_metric = rule.comparisons().into_iter().find_map(|c| {
        c.metrics()
            .into_iter()
            .find(|m| matches!(m.metric, Metric::Cpa | Metric::Cpc))
    });
    let Some(metric) = cost_metric else {
        return;
    };
    let mut conjuncts = Vec::new();
    top_level_conjuncts(&rule.condition, &mut conjuncts);
    let guarded = conjuncts.iter().any(|c| match c {
        Cond::Cmp(cmp) => is_volume_guard(cmp),
        _ => false,
    });
    if !guarded {
        out.push(
            Diagnostic::warning(
                metric.pos,
                format!(
                    "this rule pauses on {} without a minimum-data guard",
                    metric.metric
                ),
            )
            .with_help("add a condition such as: and clicks in last 7 days >= 100"),
        );
    }
}

fn top_level_conjuncts<'a>(cond: &'a Cond, out: &mut Vec<&'a Cond>) {
    match cond {
        Cond::And(a, b) => {
            top_level_conjuncts(a, out);
            top_level_conjuncts(b, out);
        }
        other => out.push(other),
    }
}

/// `clicks ... >= 100`, `spend ... > 20`, `100 <= impressions ...` and the like.
fn is_volume_guard(cmp: &Comparison) -> bool {
    let volume = |e: &Expr| {
        matches!(e, Expr::Metric(m) if matches!(
            m.metric,
            Metric::Impressions | Metric::Clicks | Metric::Spend | Metric::Conversions
        ))
    };
    let positive = |e: &Expr| matches!(e, Expr::Lit(l) if l.value > Decimal::ZERO);
    match cmp.op {
        CmpOp::Gt | CmpOp::Ge => volume(&cmp.left) && positive(&cmp.right),
        CmpOp::Lt | CmpOp::Le => positive(&cmp.left) && volume(&cmp.right),
        _ => false,
    }
}

/// `ctr < 5` is almost always meant as 5%; ctr is a fraction.
fn warn_fraction_as_number(cmp: &Comparison, out: &mut Vec<Diagnostic>) {
    let sides = [(&cmp.left, &cmp.right), (&cmp.right, &cmp.left)];
    for (metric_side, lit_side) in sides {
        if let (Expr::Metric(m), Expr::Lit(l)) = (metric_side, lit_side)
            && m.metric.is_fraction()
            && l.unit == Unit::Plain
            && l.value > Decimal::ONE
        {
            out.push(
                Diagnostic::warning(
                    l.pos,
                    format!("{} is a fraction, so it is never above 1", m.metric),
                )
                .with_help(format!("did you mean {}%?", l.value.normalize())),
            );
        }
    }
}

/// A rule that names two currencies can match no campaign: every account bills in one.
fn warn_rule_currencies(rule: &Rule, out: &mut Vec<Diagnostic>) {
    let found = rule_currencies(rule);
    if found.len() > 1 {
        let names: Vec<&str> = found.iter().map(|c| c.as_str()).collect();
        out.push(
            Diagnostic::warning(
                rule.name_pos,
                format!(
                    "this rule names amounts in {}; no account bills in all of them, so it matches nothing",
                    names.join(" and ")
                ),
            )
            .with_help("write plain amounts (in each account's currency) or one currency"),
        );
    }
}

/// Every currency named anywhere in the rule. Campaigns in other currencies are skipped.
pub fn rule_currencies(rule: &Rule) -> BTreeSet<Currency> {
    // Walks the tree without collecting: the evaluator calls this for every campaign.
    fn walk(cond: &Cond, found: &mut BTreeSet<Currency>) {
        match cond {
            Cond::Cmp(c) => {
                let mut add = |l: &Literal| found.extend(l.currency());
                c.left.visit_literals(&mut add);
                c.right.visit_literals(&mut add);
            }
            Cond::Not(c) => walk(c, found),
            Cond::And(a, b) | Cond::Or(a, b) => {
                walk(a, found);
                walk(b, found);
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(&rule.condition, &mut found);
    for action in &rule.actions {
        match action {
            Action::SetBudget(l) => found.extend(l.currency()),
            Action::ChangeBudget(c) => {
                found.extend(c.by.currency());
                found.extend(c.cap.as_ref().and_then(|cap| cap.amount.currency()));
            }
            _ => {}
        }
    }
    found
}
