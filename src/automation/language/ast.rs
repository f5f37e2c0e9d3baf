//! The typed rule tree. Built at once by the parser; nothing here refers to pest.

use std::fmt;

use chrono::NaiveTime;
use regex::Regex;
use rust_decimal::Decimal;

use crate::types::{Currency, Platform};

/// Where something starts in the rule text (1-based line and column, in characters).
///
/// Positions are not part of a rule's meaning: the same rule formatted differently must compare
/// equal (the parse → format → parse property relies on it), so every `Pos` equals every other.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl PartialEq for Pos {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Pos {}

impl std::hash::Hash for Pos {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    /// Position of the `rule` keyword.
    pub pos: Pos,
    /// Position of the quoted name.
    pub name_pos: Pos,
    /// `None`: every campaign of the organization.
    pub scope: Option<Scope>,
    pub condition: Cond,
    /// The `then` actions, in order.
    pub actions: Vec<Action>,
    /// `notify ...` lines: a message whenever any action of the rule ran.
    pub notify: Vec<NotifyTarget>,
    pub check: Option<Check>,
    pub cooldown: Option<Interval>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Empty: every platform.
    pub platforms: Vec<Platform>,
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    Active,
    Paused,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Name(NameFilter),
    Status(CampaignStatus),
    Account(String),
    Platform(Platform),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// Text filters on the campaign name. `contains`, `starts with` and `ends with` ignore case
/// (campaign naming is rarely consistent in case); `matches` is a regex taken as written, so
/// authors who want case-insensitive matching write `(?i)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameFilter {
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Matches(Pattern),
}

/// A compiled regex that compares by its source text.
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
}

impl Pattern {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        Ok(Pattern {
            regex: Regex::new(source)?,
        })
    }
    pub fn source(&self) -> &str {
        self.regex.as_str()
    }
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source() == other.source()
    }
}
impl Eq for Pattern {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Cmp(Comparison),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub left: Expr,
    pub op: CmpOp,
    pub right: Expr,
    /// `on each of last N days`: every metric is taken over each single day.
    pub each_days: Option<DayCount>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
        }
    }
}

/// A count of days as written, with where it was written (range-checked by the checker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayCount {
    pub n: u32,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Lit(Literal),
    Metric(MetricRef),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Add | BinOp::Sub => 1,
            BinOp::Mul | BinOp::Div => 2,
        }
    }
}

/// A number as written: plain, a percentage (`20%`) or an amount in a currency (`12.5 EUR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    pub value: Decimal,
    pub unit: Unit,
    pub pos: Pos,
}

impl Literal {
    /// The number the literal stands for: percentages become fractions (`0.8%` → 0.008).
    pub fn number(&self) -> Decimal {
        match self.unit {
            Unit::Percent => self.value / Decimal::ONE_HUNDRED,
            Unit::Plain | Unit::Currency(_) => self.value,
        }
    }
    pub fn currency(&self) -> Option<Currency> {
        match self.unit {
            Unit::Currency(c) => Some(c),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Plain,
    Percent,
    Currency(Currency),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRef {
    pub metric: Metric,
    /// `None` means `today` (and is the only form `daily_budget` takes).
    pub window: Option<Window>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    Impressions,
    Clicks,
    Spend,
    Conversions,
    Revenue,
    Ctr,
    Cpc,
    Cpm,
    Cpa,
    Roas,
    Cvr,
    DailyBudget,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::Impressions,
        Metric::Clicks,
        Metric::Spend,
        Metric::Conversions,
        Metric::Revenue,
        Metric::Ctr,
        Metric::Cpc,
        Metric::Cpm,
        Metric::Cpa,
        Metric::Roas,
        Metric::Cvr,
        Metric::DailyBudget,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Impressions => "impressions",
            Metric::Clicks => "clicks",
            Metric::Spend => "spend",
            Metric::Conversions => "conversions",
            Metric::Revenue => "revenue",
            Metric::Ctr => "ctr",
            Metric::Cpc => "cpc",
            Metric::Cpm => "cpm",
            Metric::Cpa => "cpa",
            Metric::Roas => "roas",
            Metric::Cvr => "cvr",
            Metric::DailyBudget => "daily_budget",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }

    /// Metrics measured in the account's currency.
    pub fn is_money(self) -> bool {
        matches!(
            self,
            Metric::Spend
                | Metric::Revenue
                | Metric::Cpc
                | Metric::Cpm
                | Metric::Cpa
                | Metric::DailyBudget
        )
    }

    /// Fractions that authors usually write as percentages.
    pub fn is_fraction(self) -> bool {
        matches!(self, Metric::Ctr | Metric::Cvr)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    Today,
    Yesterday,
    Last(DayCount),
    Previous(DayCount),
    ThisMonth,
    Lifetime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Pause,
    Resume,
    SetBudget(Literal),
    ChangeBudget(BudgetChange),
    Notify(NotifyTarget),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    Increase,
    Decrease,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetChange {
    pub direction: Direction,
    /// A percentage or an amount.
    pub by: Literal,
    pub cap: Option<Cap>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cap {
    pub kind: CapKind,
    pub amount: Literal,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapKind {
    UpTo,
    DownTo,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NotifyTarget {
    Email { address: String, pos: Pos },
    Webhook { url: String, pos: Pos },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Every(Interval),
    DailyAt { time: NaiveTime, pos: Pos },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    Minutes,
    Hours,
    Days,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    pub n: u32,
    pub unit: TimeUnit,
    pub pos: Pos,
}

impl Interval {
    pub fn minutes(&self) -> u64 {
        let per = match self.unit {
            TimeUnit::Minutes => 1,
            TimeUnit::Hours => 60,
            TimeUnit::Days => 24 * 60,
        };
        u64::from(self.n) * per
    }
}

/// When a rule is checked, from its `check` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    EveryMinutes(u64),
    DailyAt(NaiveTime),
}

pub const DEFAULT_CHECK_MINUTES: u64 = 15;
/// Cooldown for rules that change budgets and say nothing else.
pub const DEFAULT_BUDGET_COOLDOWN_MINUTES: u64 = 24 * 60;

impl Rule {
    pub fn schedule(&self) -> Schedule {
        match &self.check {
            None => Schedule::EveryMinutes(DEFAULT_CHECK_MINUTES),
            Some(Check::Every(i)) => Schedule::EveryMinutes(i.minutes()),
            Some(Check::DailyAt { time, .. }) => Schedule::DailyAt(*time),
        }
    }

    /// Cooldown per campaign for this rule, in minutes: the `at most once per` line, else
    /// 24 hours when the rule changes budgets, else none.
    pub fn cooldown_minutes(&self) -> Option<u64> {
        match &self.cooldown {
            Some(i) => Some(i.minutes()),
            None if self.changes_budget() => Some(DEFAULT_BUDGET_COOLDOWN_MINUTES),
            None => None,
        }
    }

    pub fn changes_budget(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, Action::SetBudget(_) | Action::ChangeBudget(_)))
    }

    pub fn pauses(&self) -> bool {
        self.actions.iter().any(|a| matches!(a, Action::Pause))
    }

    pub fn resumes(&self) -> bool {
        self.actions.iter().any(|a| matches!(a, Action::Resume))
    }

    /// Every comparison in the condition, left to right.
    pub fn comparisons(&self) -> Vec<&Comparison> {
        let mut out = Vec::new();
        self.condition.collect_comparisons(&mut out);
        out
    }
}

impl Cond {
    pub fn collect_comparisons<'a>(&'a self, out: &mut Vec<&'a Comparison>) {
        match self {
            Cond::Cmp(c) => out.push(c),
            Cond::Not(c) => c.collect_comparisons(out),
            Cond::And(a, b) | Cond::Or(a, b) => {
                a.collect_comparisons(out);
                b.collect_comparisons(out);
            }
        }
    }
}

impl Expr {
    pub fn visit_metrics<'a>(&'a self, f: &mut dyn FnMut(&'a MetricRef)) {
        match self {
            Expr::Lit(_) => {}
            Expr::Metric(m) => f(m),
            Expr::Neg(e) => e.visit_metrics(f),
            Expr::Bin(_, a, b) => {
                a.visit_metrics(f);
                b.visit_metrics(f);
            }
        }
    }

    pub fn visit_literals<'a>(&'a self, f: &mut dyn FnMut(&'a Literal)) {
        match self {
            Expr::Lit(l) => f(l),
            Expr::Metric(_) => {}
            Expr::Neg(e) => e.visit_literals(f),
            Expr::Bin(_, a, b) => {
                a.visit_literals(f);
                b.visit_literals(f);
            }
        }
    }
}

impl Comparison {
    pub fn metrics(&self) -> Vec<&MetricRef> {
        let mut out = Vec::new();
        self.left.visit_metrics(&mut |m| out.push(m));
        self.right.visit_metrics(&mut |m| out.push(m));
        out
    }
    pub fn literals(&self) -> Vec<&Literal> {
        let mut out = Vec::new();
        self.left.visit_literals(&mut |l| out.push(l));
        self.right.visit_literals(&mut |l| out.push(l));
        out
    }
}
