//! Canonical text for a rule: lower-case keywords, one part per line, two-space indent, and
//! parentheses only where the tree needs them. Parsing the output gives the same tree.

use std::fmt::{self, Display, Write as _};

use super::ast::{
    Action, BudgetChange, CapKind, Check, Comparison, Cond, Direction, Expr, Filter, Interval,
    Literal, MetricRef, NameFilter, NotifyTarget, Rule, Scope, TimeUnit, Unit, Window,
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
        writeln!(f, "  when {}", cond_text(&self.condition, 0))?;
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
    let mut out = "for campaigns".to_string();
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
        Filter::Name(n) => match n {
            NameFilter::Contains(t) => format!("name contains {}", quote(t)),
            NameFilter::StartsWith(t) => format!("name starts with {}", quote(t)),
            NameFilter::EndsWith(t) => format!("name ends with {}", quote(t)),
            NameFilter::Matches(p) => format!("name matches {}", quote(p.source())),
        },
        Filter::Status(s) => format!("status is {}", s.as_str()),
        Filter::Account(id) => format!("account is {}", quote(id)),
        Filter::Platform(p) => format!("platform is {}", p.as_str()),
    }
}

pub fn cond_text(cond: &Cond, parent: u8) -> String {
    match cond {
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
    match &m.window {
        Some(w) => format!("{} {}", m.metric, window_text(w)),
        None => m.metric.to_string(),
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
        Action::SetBudget(l) => format!("set budget to {}", literal_text(l)),
        Action::ChangeBudget(c) => change_text(c),
        Action::Notify(t) => notify_text(t),
    }
}

fn change_text(c: &BudgetChange) -> String {
    let verb = match c.direction {
        Direction::Increase => "increase",
        Direction::Decrease => "decrease",
    };
    let mut out = format!("{verb} budget by {}", literal_text(&c.by));
    if let Some(cap) = &c.cap {
        let kind = match cap.kind {
            CapKind::UpTo => "up to",
            CapKind::DownTo => "down to",
        };
        let _ = write!(out, " {kind} {}", literal_text(&cap.amount));
    }
    out
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
