//! Semantic checks on parsed rules: what the grammar accepts but the contract rejects or warns
//! about.

use std::collections::{BTreeSet, HashMap};

use rust_decimal::Decimal;

use super::ast::{
    Action, BudgetChange, CapKind, Check, CmpOp, Comparison, Cond, Direction, Expr, Interval,
    Level, LevelWord, Literal, Metric, MetricRef, NotifyTarget, Parent, Pos, Rule, SetTo, TimeUnit,
    Unit, Window,
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
    let level = rule.level_word();
    for m in rule.metric_refs() {
        check_metric(m, level, &mut out);
    }
    for cmp in rule.comparisons() {
        check_comparison(cmp, &mut out);
    }
    for action in &rule.actions {
        check_action(action, level, &mut out);
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
    if let Some(t) = &rule.times {
        if t.n == 0 {
            out.push(
                Diagnostic::error(t.pos, "\"at most 0 times\" never lets the rule act")
                    .with_help("write at least 1, or set the rule to draft"),
            );
        }
        if let Some(per) = &t.per
            && per.n == 0
        {
            out.push(Diagnostic::error(per.pos, "the period must be at least 1"));
        }
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
    if let Some(each) = cmp.each_days {
        check_days(each.n, each.pos, out);
        if !metrics.iter().any(|m| !m.metric.takes_no_window()) {
            out.push(
                Diagnostic::error(cmp.pos, "\"on each of\" needs a metric in its comparison")
                    .with_help("for example: cpa > 50 on each of last 3 days"),
            );
        }
        for m in metrics.iter().filter(|m| m.window.is_some()) {
            if !m.metric.takes_no_window() {
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
    check_hour_of_day(cmp, out);
    warn_fraction_as_number(cmp, out);
}

/// Windows, prefixes and figures that can never be defined at the rule's level.
fn check_metric(m: &MetricRef, level: LevelWord, out: &mut Vec<Diagnostic>) {
    match m.window {
        Some(_) if m.metric.takes_no_window() => {
            let what = match m.metric {
                Metric::DailyBudget => "daily_budget is the current budget",
                Metric::LifetimeBudget => "lifetime_budget is the current lifetime budget",
                Metric::BudgetRemaining => {
                    "budget_remaining is the lifetime budget minus lifetime spend"
                }
                Metric::Bid => "bid is the current bid",
                _ => "it counts days from today",
            };
            out.push(
                Diagnostic::error(m.pos, format!("{} takes no window", m.metric))
                    .with_help(format!("{what}; write it alone")),
            );
        }
        Some(Window::Last(d)) | Some(Window::Previous(d)) => check_days(d.n, d.pos, out),
        _ => {}
    }
    let own = level.level();
    if let Some(parent) = m.of
        && parent != Parent::Account
        && parent.level() >= own
    {
        out.push(
            Diagnostic::error(
                m.pos,
                format!(
                    "\"{} {}\" in a \"for {}\" rule: {} figures are for rules below that level",
                    parent.as_str(),
                    m.metric,
                    level.as_str(),
                    parent.as_str()
                ),
            )
            .with_help(format!(
                "write {} for the object's own figure, or account {} for its whole ad account",
                m.metric, m.metric
            )),
        );
        return;
    }
    let at = m.of.map_or(own, Parent::level);
    let never = match (at, m.metric) {
        (Level::Account, Metric::DaysLeftInMonth) => None,
        (Level::Account, x) if x.takes_no_window() => Some("an ad account has no"),
        (Level::Ad, Metric::DailyBudget | Metric::LifetimeBudget | Metric::BudgetRemaining) => {
            Some("ads have no")
        }
        (Level::Ad | Level::Campaign, Metric::Bid) => Some(if at == Level::Ad {
            "ads have no"
        } else {
            "campaigns have no"
        }),
        _ => None,
    };
    if let Some(why) = never {
        let help = match m.metric {
            Metric::Bid => {
                "bids are on ad groups/ad sets: use \"for ad groups\" or \"ad group bid\""
            }
            Metric::DailyBudget | Metric::LifetimeBudget | Metric::BudgetRemaining => {
                "budgets are on campaigns and ad groups/ad sets: write \"campaign daily_budget\" or \"ad set daily_budget\""
            }
            _ => "these figures belong to a campaign, ad group or ad",
        };
        out.push(Diagnostic::error(m.pos, format!("{why} {}", m.metric)).with_help(help));
    }
}

/// `hour of day` compared with a number outside 0..23 can never (or always) hold.
fn check_hour_of_day(cmp: &Comparison, out: &mut Vec<Diagnostic>) {
    let sides = [(&cmp.left, &cmp.right), (&cmp.right, &cmp.left)];
    for (hour_side, lit_side) in sides {
        if let (Expr::HourOfDay(_), Expr::Lit(l)) = (hour_side, lit_side) {
            let ok = l.unit == Unit::Plain
                && l.value.fract().is_zero()
                && l.value >= Decimal::ZERO
                && l.value <= Decimal::from(23);
            if !ok {
                out.push(
                    Diagnostic::error(
                        l.pos,
                        format!(
                            "hour of day is a whole hour from 0 to 23, not {}",
                            super::format::literal_text(l)
                        ),
                    )
                    .with_help("for example: hour of day >= 20"),
                );
            }
        }
    }
    if cmp.each_days.is_some() && (cmp.left.has_hour() || cmp.right.has_hour()) {
        out.push(Diagnostic::error(
            cmp.pos,
            "hour of day cannot be taken \"on each of\" past days",
        ));
    }
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

fn check_action(action: &Action, level: LevelWord, out: &mut Vec<Diagnostic>) {
    match action {
        Action::SetBudget(set) => {
            check_budget_level(set.pos, level, out);
            check_set(set, "a budget", out);
        }
        Action::SetBid(set) => {
            check_bid_level(set.pos, level, out);
            check_set(set, "a bid", out);
        }
        Action::ChangeBudget(change) => {
            check_budget_level(change.pos, level, out);
            check_change(change, "budget", out);
        }
        Action::ChangeBid(change) => {
            check_bid_level(change.pos, level, out);
            check_change(change, "bid", out);
        }
        Action::Notify(target) => check_notify(target, out),
        Action::Pause | Action::Resume => {}
    }
}

fn check_budget_level(at: Pos, level: LevelWord, out: &mut Vec<Diagnostic>) {
    if level == LevelWord::Ads {
        out.push(
            Diagnostic::error(at, "ads have no budget")
                .with_help("budget actions work on campaigns and on ad groups/ad sets that hold a budget: use \"for campaigns\" or \"for ad sets\""),
        );
    }
}

fn check_bid_level(at: Pos, level: LevelWord, out: &mut Vec<Diagnostic>) {
    if level.level() != Level::AdGroup {
        out.push(
            Diagnostic::error(at, format!("{} have no bid", level.as_str())).with_help(
                "bid actions work on ad groups/ad sets: write \"for ad groups\" or \"for ad sets\"",
            ),
        );
    }
}

fn check_set(set: &SetTo, what: &str, out: &mut Vec<Diagnostic>) {
    if let Expr::Lit(l) = &set.to {
        check_amount(l, what, out);
    }
    if let Some(cap) = &set.cap
        && let Expr::Lit(l) = &cap.amount
    {
        check_amount(l, &format!("{what} limit"), out);
    }
    expr_currencies_agree(set.to_currencies(), set.pos, out);
}

fn check_change(change: &BudgetChange, what: &str, out: &mut Vec<Diagnostic>) {
    if change.by.value.is_zero() {
        out.push(Diagnostic::error(
            change.by.pos,
            format!("a {what} change by 0 changes nothing"),
        ));
    }
    if change.direction == Direction::Decrease
        && change.by.unit == Unit::Percent
        && change.by.value >= Decimal::ONE_HUNDRED
    {
        out.push(
            Diagnostic::error(
                change.by.pos,
                format!("decreasing a {what} by 100% or more leaves nothing"),
            )
            .with_help("to stop spending, pause instead"),
        );
    }
    if change.by.unit == Unit::Plain && !change.by.value.is_zero() {
        let v = change.by.value.normalize();
        out.push(
            Diagnostic::warning(
                change.by.pos,
                format!(
                    "\"by {v}\" changes the {what} by {v} in the account's currency, not by a percentage"
                ),
            )
            .with_help(format!(
                "write {v}% for a percentage, or {v} USD (any currency code) to say it is an amount"
            )),
        );
    }
    if let Some(cap) = &change.cap {
        match (change.direction, cap.kind) {
            (Direction::Decrease, CapKind::UpTo) => out.push(
                Diagnostic::error(cap.pos, "\"up to\" limits an increase, not a decrease")
                    .with_help(format!("write \"down to AMOUNT\" for the lowest {what}")),
            ),
            (Direction::Increase, CapKind::DownTo) => out.push(
                Diagnostic::error(cap.pos, "\"down to\" limits a decrease, not an increase")
                    .with_help(format!("write \"up to AMOUNT\" for the highest {what}")),
            ),
            _ => {}
        }
        if let Expr::Lit(l) = &cap.amount {
            check_amount(l, &format!("a {what} limit"), out);
        }
    }
    let mut found: BTreeSet<Currency> = change.by.currency().into_iter().collect();
    if let Some(cap) = &change.cap {
        cap.amount
            .visit_literals(&mut |l| found.extend(l.currency()));
    }
    if found.len() > 1 {
        let names: Vec<&str> = found.iter().map(|c| c.as_str()).collect();
        out.push(Diagnostic::error(
            change.by.pos,
            format!("this {what} change mixes {}", names.join(" and ")),
        ));
    }
}

fn expr_currencies_agree(found: BTreeSet<Currency>, at: Pos, out: &mut Vec<Diagnostic>) {
    if found.len() > 1 {
        let names: Vec<&str> = found.iter().map(|c| c.as_str()).collect();
        out.push(
            Diagnostic::error(at, format!("this action mixes {}", names.join(" and ")))
                .with_help("amounts in one action must share one currency"),
        );
    }
}

impl SetTo {
    fn to_currencies(&self) -> BTreeSet<Currency> {
        let mut found = BTreeSet::new();
        self.to.visit_literals(&mut |l| found.extend(l.currency()));
        if let Some(cap) = &self.cap {
            cap.amount
                .visit_literals(&mut |l| found.extend(l.currency()));
        }
        found
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
        c.metrics().into_iter().find(|m| {
            matches!(
                m.metric,
                Metric::Cpa
                    | Metric::Cpc
                    | Metric::CostPerPurchase
                    | Metric::CostPerLead
                    | Metric::CostPerInstall
                    | Metric::CostPerRegistration
            )
        })
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
            Metric::Impressions
                | Metric::Clicks
                | Metric::AllClicks
                | Metric::Spend
                | Metric::Conversions
                | Metric::Purchases
                | Metric::Leads
                | Metric::Installs
                | Metric::Registrations
        ))
    };
    let positive = |e: &Expr| matches!(e, Expr::Lit(l) if l.value > Decimal::ZERO);
    match cmp.op {
        CmpOp::Gt | CmpOp::Ge => volume(&cmp.left) && positive(&cmp.right),
        CmpOp::Lt | CmpOp::Le => positive(&cmp.left) && volume(&cmp.right),
        _ => false,
    }
}

/// `ctr < 1` is almost always meant as 1% (ctr is a fraction: 1 is 100%), and `roas > 200`
/// as 200% (roas is a ratio: 2 is 200%).
fn warn_fraction_as_number(cmp: &Comparison, out: &mut Vec<Diagnostic>) {
    let sides = [(&cmp.left, &cmp.right), (&cmp.right, &cmp.left)];
    for (metric_side, lit_side) in sides {
        let (Expr::Metric(m), Expr::Lit(l)) = (metric_side, lit_side) else {
            continue;
        };
        if l.unit != Unit::Plain {
            continue;
        }
        let v = l.value.normalize();
        if m.metric.is_fraction() && l.value >= Decimal::new(3, 1) {
            // The literal may stand on either side: `1 > ctr` reads "ctr below 1".
            let op = if std::ptr::eq(metric_side, &cmp.left) {
                cmp.op
            } else {
                flip(cmp.op)
            };
            let words = match op {
                CmpOp::Gt => "above",
                CmpOp::Ge => "at least",
                CmpOp::Lt => "below",
                CmpOp::Le => "at most",
                CmpOp::Eq => "exactly",
                CmpOp::Ne => "other than",
            };
            out.push(
                Diagnostic::warning(
                    l.pos,
                    format!(
                        "{} is a fraction: {} {} {v} means {words} {}%",
                        m.metric,
                        m.metric,
                        op.as_str(),
                        (l.value * Decimal::ONE_HUNDRED).normalize()
                    ),
                )
                .with_help(format!("did you mean {v}%?")),
            );
        }
        if matches!(m.metric, Metric::Roas | Metric::PurchaseRoas) && l.value >= Decimal::from(50) {
            out.push(
                Diagnostic::warning(
                    l.pos,
                    format!(
                        "{} is revenue per unit of spend: {v} means {}x ({}%)",
                        m.metric,
                        v,
                        (l.value * Decimal::ONE_HUNDRED).normalize()
                    ),
                )
                .with_help(format!(
                    "for {v}% write {v}% (or {})",
                    (l.value / Decimal::ONE_HUNDRED).normalize()
                )),
            );
        }
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        other => other,
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
            Cond::Always | Cond::DayOfWeek(_) => {}
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
            Action::SetBudget(s) | Action::SetBid(s) => found.extend(s.to_currencies()),
            Action::ChangeBudget(c) | Action::ChangeBid(c) => {
                found.extend(c.by.currency());
                if let Some(cap) = &c.cap {
                    cap.amount
                        .visit_literals(&mut |l| found.extend(l.currency()));
                }
            }
            _ => {}
        }
    }
    found
}

/// In the editor, where the organization's accounts are known: a plain amount means a
/// different sum in each account's currency, so `spend > 200` over EUR and JPY accounts is
/// rarely what the author meant. `accounts` are (platform, external id, currency).
pub fn warn_plain_amounts_across_currencies(
    rule: &Rule,
    accounts: &[(crate::types::Platform, String, Currency)],
) -> Option<Diagnostic> {
    if !rule_currencies(rule).is_empty() {
        return None;
    }
    let scope = rule.scope.as_ref();
    let required_account = scope
        .and_then(|s| s.filter.as_ref())
        .and_then(required_account);
    let in_scope: BTreeSet<Currency> = accounts
        .iter()
        .filter(|(p, id, _)| {
            scope.is_none_or(|s| s.platforms.is_empty() || s.platforms.contains(p))
                && required_account.is_none_or(|a| a == id)
        })
        .map(|(_, _, c)| *c)
        .collect();
    if in_scope.len() < 2 {
        return None;
    }
    let plain = first_plain_amount(rule)?;
    let names: Vec<&str> = in_scope.iter().map(|c| c.as_str()).collect();
    Some(
        Diagnostic::warning(
            plain.pos,
            format!(
                "{} is taken in each account's currency, and the accounts in scope bill in {}",
                super::format::literal_text(plain),
                names.join(", ")
            ),
        )
        .with_help(format!(
            "add a currency ({} {}) to limit the rule to one currency, or split it per currency",
            plain.value.normalize(),
            names[0]
        )),
    )
}

fn required_account(filter: &super::ast::Filter) -> Option<&str> {
    use super::ast::Filter;
    match filter {
        Filter::Account(id) => Some(id),
        Filter::And(a, b) => required_account(a).or_else(|| required_account(b)),
        _ => None,
    }
}

/// The first plain number that stands for money: compared with a money metric, or an amount of
/// a budget or bid action.
fn first_plain_amount(rule: &Rule) -> Option<&Literal> {
    let mut out: Option<&Literal> = None;
    for cmp in rule.comparisons() {
        if cmp.metrics().iter().any(|m| m.metric.is_money()) {
            let mut lits = cmp.literals().into_iter();
            if let Some(l) = lits.find(|l| l.unit == Unit::Plain && !is_factor(cmp, l)) {
                out = out.or(Some(l));
            }
        }
    }
    for a in &rule.actions {
        match a {
            Action::SetBudget(s) | Action::SetBid(s) => {
                if let Expr::Lit(l) = &s.to
                    && l.unit == Unit::Plain
                {
                    out = out.or(Some(l));
                }
            }
            Action::ChangeBudget(c) | Action::ChangeBid(c) if c.by.unit == Unit::Plain => {
                out = out.or(Some(&c.by));
            }
            _ => {}
        }
    }
    out
}

/// `1.5` in `1.5 * daily_budget`: a factor, not an amount.
fn is_factor(cmp: &Comparison, lit: &Literal) -> bool {
    fn in_product(e: &Expr, lit: &Literal) -> bool {
        match e {
            Expr::Bin(super::ast::BinOp::Mul | super::ast::BinOp::Div, a, b) => {
                matches!(&**a, Expr::Lit(l) if std::ptr::eq(l, lit))
                    || matches!(&**b, Expr::Lit(l) if std::ptr::eq(l, lit))
                    || in_product(a, lit)
                    || in_product(b, lit)
            }
            Expr::Bin(_, a, b) => in_product(a, lit) || in_product(b, lit),
            Expr::Neg(e) => in_product(e, lit),
            _ => false,
        }
    }
    in_product(&cmp.left, lit) || in_product(&cmp.right, lit)
}
