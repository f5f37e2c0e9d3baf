//! Canonical text for a rule: lower-case keywords, one part per line, two-space indent, and
//! parentheses only where the tree needs them. Parsing the output gives the same tree.

use std::fmt::{self, Display, Write as _};

use super::ast::{
    Action, BudgetChange, Cap, CapKind, Check, Comparison, Cond, Direction, Expr, Filter, Interval,
    Literal, MetricRef, NameFilter, NotifyTarget, PausedBy, Rule, Scope, SetTo, TimeUnit, Unit,
    Window,
};

/// Several rules, separated by a blank line, ending with a newline.
pub fn format_rules(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rule {}", quote(&self.name))?;
        if let Some(scope) = &self.scope {
            writeln!(f, "  {}", scope_text(scope))?;
        }
        if self.condition != Cond::Always {
            writeln!(f, "  when {}", cond_text(&self.condition, 0))?;
        }
        let actions: Vec<String> = self.actions.iter().map(action_text).collect();
        writeln!(f, "  then {}", actions.join(" and "))?;
        for target in &self.notify {
            writeln!(f, "  {}", notify_text(target))?;
        }
        match &self.check {
            Some(Check::Every(i)) => writeln!(f, "  check every {}", interval_text(i))?,
            Some(Check::DailyAt { time, .. }) => {
                writeln!(f, "  check daily at {}", time.format("%H:%M"))?
            }
            None => {}
        }
        if let Some(i) = &self.cooldown {
            writeln!(f, "  at most once per {}", interval_text(i))?;
        }
        if let Some(t) = &self.times {
            match &t.per {
                Some(i) => writeln!(f, "  at most {} times per {}", t.n, interval_text(i))?,
                None => writeln!(f, "  at most {} times", t.n)?,
            }
        }
        Ok(())
    }
}

pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn scope_text(scope: &Scope) -> String {
    let mut out = format!("for {}", scope.level.as_str());
    if !scope.platforms.is_empty() {
        let names: Vec<&str> = scope.platforms.iter().map(|p| p.as_str()).collect();
        let _ = write!(out, " on {}", names.join(", "));
    }
    if let Some(filter) = &scope.filter {
        let _ = write!(out, " where {}", filter_text(filter, 0));
    }
    out
}

// Precedence levels shared by filters and conditions: or < and < not < atom.
const OR: u8 = 1;
const AND: u8 = 2;
const NOT: u8 = 3;

fn paren(text: String, needed: bool) -> String {
    if needed { format!("({text})") } else { text }
}

fn filter_text(filter: &Filter, parent: u8) -> String {
    match filter {
        Filter::Or(a, b) => paren(
            format!("{} or {}", filter_text(a, OR), filter_text(b, OR + 1)),
            parent > OR,
        ),
        Filter::And(a, b) => paren(
            format!("{} and {}", filter_text(a, AND), filter_text(b, AND + 1)),
            parent > AND,
        ),
        Filter::Not(inner) => format!("not {}", filter_text(inner, NOT)),
        Filter::Name(n) => format!("name {}", name_filter_text(n)),
        Filter::CampaignName(n) => format!("campaign name {}", name_filter_text(n)),
        Filter::AdGroupName(w, n) => format!("{} name {}", w.as_str(), name_filter_text(n)),
        Filter::Campaign(id) => format!("campaign is {}", quote(id)),
        Filter::AdGroup(w, id) => format!("{} is {}", w.as_str(), quote(id)),
        Filter::Id(id) => format!("id is {}", quote(id)),
        Filter::PausedBy(PausedBy::ThisRule) => "paused by this rule".to_string(),
        Filter::PausedBy(PausedBy::AnyRule) => "paused by any rule".to_string(),
        Filter::PausedBy(PausedBy::Rule(name)) => format!("paused by rule {}", quote(name)),
        Filter::Status(s) => format!("status is {}", s.as_str()),
        Filter::Account(id) => format!("account is {}", quote(id)),
        Filter::Platform(p) => format!("platform is {}", p.as_str()),
    }
}

fn name_filter_text(n: &NameFilter) -> String {
    match n {
        NameFilter::Contains(t) => format!("contains {}", quote(t)),
        NameFilter::StartsWith(t) => format!("starts with {}", quote(t)),
        NameFilter::EndsWith(t) => format!("ends with {}", quote(t)),
        NameFilter::Matches(p) => format!("matches {}", quote(p.source())),
    }
}

pub fn cond_text(cond: &Cond, parent: u8) -> String {
    match cond {
        // Only a whole rule's condition is `Always`; the rule leaves out `when`.
        Cond::Always => String::new(),
        Cond::DayOfWeek(d) => {
            let names: Vec<&str> = d.days.iter().map(|d| d.as_str()).collect();
            format!("day of week is {}", names.join(", "))
        }
        Cond::Or(a, b) => paren(
            format!("{} or {}", cond_text(a, OR), cond_text(b, OR + 1)),
            parent > OR,
        ),
        Cond::And(a, b) => paren(
            format!("{} and {}", cond_text(a, AND), cond_text(b, AND + 1)),
            parent > AND,
        ),
        Cond::Not(inner) => format!("not {}", cond_text(inner, NOT)),
        Cond::Cmp(c) => comparison_text(c),
    }
}

pub fn comparison_text(c: &Comparison) -> String {
    let mut out = format!(
        "{} {} {}",
        expr_text(&c.left, 0),
        c.op.as_str(),
        expr_text(&c.right, 0)
    );
    if let Some(d) = c.each_days {
        let _ = write!(out, " on each of last {} days", d.n);
    }
    out
}

// Arithmetic levels: + - (1) < * / (2) < unary minus (3) < atom.
pub fn expr_text(e: &Expr, parent: u8) -> String {
    match e {
        Expr::Lit(l) => literal_text(l),
        Expr::Metric(m) => metric_text(m),
        Expr::HourOfDay(_) => "hour of day".to_string(),
        Expr::Neg(inner) => format!("-{}", expr_text(inner, 3)),
        Expr::Bin(op, a, b) => {
            let p = op.precedence();
            paren(
                format!(
                    "{} {} {}",
                    expr_text(a, p),
                    op.as_str(),
                    expr_text(b, p + 1)
                ),
                parent > p,
            )
        }
    }
}

pub fn literal_text(l: &Literal) -> String {
    let v = l.value.normalize();
    match l.unit {
        Unit::Plain => v.to_string(),
        Unit::Percent => format!("{v}%"),
        Unit::Currency(c) => format!("{v} {c}"),
    }
}

pub fn metric_text(m: &MetricRef) -> String {
    let name = match m.of {
        Some(p) => format!("{} {}", p.as_str(), m.metric),
        None => m.metric.to_string(),
    };
    match &m.window {
        Some(w) => format!("{name} {}", window_text(w)),
        None => name,
    }
}

pub fn window_text(w: &Window) -> String {
    match w {
        Window::Today => "today".to_string(),
        Window::Yesterday => "yesterday".to_string(),
        Window::Last(d) => format!("in last {} days", d.n),
        Window::Previous(d) => format!("in previous {} days", d.n),
        Window::ThisMonth => "this month".to_string(),
        Window::Lifetime => "lifetime".to_string(),
    }
}

pub fn action_text(a: &Action) -> String {
    match a {
        Action::Pause => "pause".to_string(),
        Action::Resume => "resume".to_string(),
        Action::SetBudget(s) => set_text("budget", s),
        Action::ChangeBudget(c) => change_text("budget", c),
        Action::SetBid(s) => set_text("bid", s),
        Action::ChangeBid(c) => change_text("bid", c),
        Action::Notify(t) => notify_text(t),
    }
}

fn set_text(what: &str, s: &SetTo) -> String {
    let mut out = format!("set {what} to {}", expr_text(&s.to, 0));
    cap_text(&mut out, s.cap.as_ref());
    out
}

fn change_text(what: &str, c: &BudgetChange) -> String {
    let verb = match c.direction {
        Direction::Increase => "increase",
        Direction::Decrease => "decrease",
    };
    let mut out = format!("{verb} {what} by {}", literal_text(&c.by));
    cap_text(&mut out, c.cap.as_ref());
    out
}

fn cap_text(out: &mut String, cap: Option<&Cap>) {
    if let Some(cap) = cap {
        let kind = match cap.kind {
            CapKind::UpTo => "up to",
            CapKind::DownTo => "down to",
        };
        let _ = write!(out, " {kind} {}", expr_text(&cap.amount, 0));
    }
}

fn notify_text(t: &NotifyTarget) -> String {
    match t {
        NotifyTarget::Email { address, .. } => format!("notify {}", quote(address)),
        NotifyTarget::Webhook { url, .. } => format!("notify webhook {}", quote(url)),
    }
}

fn interval_text(i: &Interval) -> String {
    let unit = match i.unit {
        TimeUnit::Minutes => "minutes",
        TimeUnit::Hours => "hours",
        TimeUnit::Days => "days",
    };
    format!("{} {unit}", i.n)
}
