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
    /// [`Cond::Always`] for a rule without `when`.
    pub condition: Cond,
    /// The `then` actions, in order.
    pub actions: Vec<Action>,
    /// `notify ...` lines: a message whenever any action of the rule ran.
    pub notify: Vec<NotifyTarget>,
    pub check: Option<Check>,
    /// `at most once per N ...`.
    pub cooldown: Option<Interval>,
    /// `at most N times [per M ...]`.
    pub times: Option<TimesLimit>,
}

/// `at most N times per M minutes|hours|days`, or `at most N times` (ever), per rule and object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimesLimit {
    pub n: u32,
    pub per: Option<Interval>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub level: LevelWord,
    pub level_pos: Pos,
    /// Empty: every platform.
    pub platforms: Vec<Platform>,
    pub filter: Option<Filter>,
}

/// What one object of a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Account,
    Campaign,
    AdGroup,
    Ad,
}

impl Level {
    /// The name in `rules eval` input and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Account => "account",
            Level::Campaign => "campaign",
            Level::AdGroup => "ad_group",
            Level::Ad => "ad",
        }
    }
}

/// The level as written after `for`: `ad groups` and `ad sets` are one level, but the formatter
/// and messages keep the author's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LevelWord {
    Campaigns,
    AdGroups,
    AdSets,
    Ads,
}

impl LevelWord {
    pub fn level(self) -> Level {
        match self {
            LevelWord::Campaigns => Level::Campaign,
            LevelWord::AdGroups | LevelWord::AdSets => Level::AdGroup,
            LevelWord::Ads => Level::Ad,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            LevelWord::Campaigns => "campaigns",
            LevelWord::AdGroups => "ad groups",
            LevelWord::AdSets => "ad sets",
            LevelWord::Ads => "ads",
        }
    }
    /// "ad-set", "campaign": for messages such as "ad-set rules can ...".
    pub fn singular(self) -> &'static str {
        match self {
            LevelWord::Campaigns => "campaign",
            LevelWord::AdGroups => "ad-group",
            LevelWord::AdSets => "ad-set",
            LevelWord::Ads => "ad",
        }
    }
}

/// `ad group` or `ad set`, as written (same meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdGroupWord {
    Group,
    Set,
}

impl AdGroupWord {
    pub fn as_str(self) -> &'static str {
        match self {
            AdGroupWord::Group => "ad group",
            AdGroupWord::Set => "ad set",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    Active,
    Paused,
    Removed,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Name(NameFilter),
    Status(CampaignStatus),
    Account(String),
    Platform(Platform),
    /// `id is "ID"`: the object's own id.
    Id(String),
    CampaignName(NameFilter),
    /// `campaign is "ID"`.
    Campaign(String),
    AdGroupName(AdGroupWord, NameFilter),
    /// `ad group is "ID"`.
    AdGroup(AdGroupWord, String),
    PausedBy(PausedBy),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// `paused by this rule | paused by rule "NAME" | paused by any rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PausedBy {
    ThisRule,
    Rule(String),
    AnyRule,
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
    /// A rule without `when`: every object in scope.
    Always,
    Cmp(Comparison),
    DayOfWeek(DayOfWeek),
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

/// `day of week is saturday, sunday` (or `weekday`, `weekend`), in the account's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOfWeek {
    pub days: Vec<DaySpec>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaySpec {
    Day(chrono::Weekday),
    /// monday..friday
    Weekday,
    /// saturday, sunday
    Weekend,
}

impl DaySpec {
    pub const NAMES: [&'static str; 9] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "weekday",
        "weekend",
    ];

    pub fn from_name(name: &str) -> Option<DaySpec> {
        use chrono::Weekday::*;
        Some(match name.to_ascii_lowercase().as_str() {
            "monday" => DaySpec::Day(Mon),
            "tuesday" => DaySpec::Day(Tue),
            "wednesday" => DaySpec::Day(Wed),
            "thursday" => DaySpec::Day(Thu),
            "friday" => DaySpec::Day(Fri),
            "saturday" => DaySpec::Day(Sat),
            "sunday" => DaySpec::Day(Sun),
            "weekday" => DaySpec::Weekday,
            "weekend" => DaySpec::Weekend,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        use chrono::Weekday::*;
        match self {
            DaySpec::Day(Mon) => "monday",
            DaySpec::Day(Tue) => "tuesday",
            DaySpec::Day(Wed) => "wednesday",
            DaySpec::Day(Thu) => "thursday",
            DaySpec::Day(Fri) => "friday",
            DaySpec::Day(Sat) => "saturday",
            DaySpec::Day(Sun) => "sunday",
            DaySpec::Weekday => "weekday",
            DaySpec::Weekend => "weekend",
        }
    }

    pub fn holds(self, day: chrono::Weekday) -> bool {
        use chrono::Weekday::*;
        match self {
            DaySpec::Day(d) => d == day,
            DaySpec::Weekday => !matches!(day, Sat | Sun),
            DaySpec::Weekend => matches!(day, Sat | Sun),
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
    /// `hour of day`: 0..23 in the account's time zone, at the check.
    HourOfDay(Pos),
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
    /// `campaign`, `ad group`/`ad set` or `account` before the metric: the same metric and
    /// window for the object's parent or its whole ad account.
    pub of: Option<Parent>,
    pub metric: Metric,
    /// `None` means `today` (and is the only form `daily_budget` takes).
    pub window: Option<Window>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parent {
    Campaign,
    AdGroup(AdGroupWord),
    Account,
}

impl Parent {
    pub fn level(self) -> Level {
        match self {
            Parent::Campaign => Level::Campaign,
            Parent::AdGroup(_) => Level::AdGroup,
            Parent::Account => Level::Account,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Parent::Campaign => "campaign",
            Parent::AdGroup(w) => w.as_str(),
            Parent::Account => "account",
        }
    }
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
    AllClicks,
    Purchases,
    PurchaseValue,
    Leads,
    Installs,
    Registrations,
    CostPerPurchase,
    PurchaseRoas,
    CostPerLead,
    CostPerInstall,
    CostPerRegistration,
    LifetimeBudget,
    BudgetRemaining,
    Bid,
    DaysSinceCreated,
    DaysLeft,
    DaysLeftInMonth,
}

impl Metric {
    pub const ALL: [Metric; 29] = [
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
        Metric::AllClicks,
        Metric::Purchases,
        Metric::PurchaseValue,
        Metric::Leads,
        Metric::Installs,
        Metric::Registrations,
        Metric::CostPerPurchase,
        Metric::PurchaseRoas,
        Metric::CostPerLead,
        Metric::CostPerInstall,
        Metric::CostPerRegistration,
        Metric::LifetimeBudget,
        Metric::BudgetRemaining,
        Metric::Bid,
        Metric::DaysSinceCreated,
        Metric::DaysLeft,
        Metric::DaysLeftInMonth,
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
            Metric::AllClicks => "all_clicks",
            Metric::Purchases => "purchases",
            Metric::PurchaseValue => "purchase_value",
            Metric::Leads => "leads",
            Metric::Installs => "installs",
            Metric::Registrations => "registrations",
            Metric::CostPerPurchase => "cost_per_purchase",
            Metric::PurchaseRoas => "purchase_roas",
            Metric::CostPerLead => "cost_per_lead",
            Metric::CostPerInstall => "cost_per_install",
            Metric::CostPerRegistration => "cost_per_registration",
            Metric::LifetimeBudget => "lifetime_budget",
            Metric::BudgetRemaining => "budget_remaining",
            Metric::Bid => "bid",
            Metric::DaysSinceCreated => "days_since_created",
            Metric::DaysLeft => "days_left",
            Metric::DaysLeftInMonth => "days_left_in_month",
        }
    }

    /// Figures of the object itself rather than sums over days: they take no window.
    pub fn takes_no_window(self) -> bool {
        matches!(
            self,
            Metric::DailyBudget
                | Metric::LifetimeBudget
                | Metric::BudgetRemaining
                | Metric::Bid
                | Metric::DaysSinceCreated
                | Metric::DaysLeft
                | Metric::DaysLeftInMonth
        )
    }

    /// Metrics version 1 had. `days_left_in_month` needs only the date.
    pub fn is_version1(self) -> bool {
        (self as u8) <= (Metric::DailyBudget as u8) || self == Metric::DaysLeftInMonth
    }

    /// Whether adpilot keeps this figure for objects of `level` (see [`Rule::live_blocker`]).
    /// Figures an object of that level never has (an ad's budget, an account's bid) are
    /// undefined rather than refused, as in `rules eval`. Since campaign sync keeps lifetime
    /// budgets, flight dates and creation times, every figure is kept at every level; a figure
    /// added to the language before its sync would be refused here.
    pub fn is_live_at(self, _level: Level) -> bool {
        true
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
                | Metric::PurchaseValue
                | Metric::CostPerPurchase
                | Metric::CostPerLead
                | Metric::CostPerInstall
                | Metric::CostPerRegistration
                | Metric::LifetimeBudget
                | Metric::BudgetRemaining
                | Metric::Bid
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
    SetBudget(SetTo),
    ChangeBudget(BudgetChange),
    SetBid(SetTo),
    ChangeBid(BudgetChange),
    Notify(NotifyTarget),
}

/// `set budget|bid to EXPR [up to|down to EXPR]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetTo {
    pub to: Expr,
    pub cap: Option<Cap>,
    pub pos: Pos,
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
    /// An expression since version 2 (`down to 10`, `up to 2 * daily_budget`).
    pub amount: Expr,
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
            // `at most N times ...` says how often on its own; the default would override it.
            None if self.changes_budget() && self.times.is_none() => {
                Some(DEFAULT_BUDGET_COOLDOWN_MINUTES)
            }
            None => None,
        }
    }

    pub fn changes_budget(&self) -> bool {
        self.actions.iter().any(|a| {
            matches!(
                a,
                Action::SetBudget(_)
                    | Action::ChangeBudget(_)
                    | Action::SetBid(_)
                    | Action::ChangeBid(_)
            )
        })
    }

    pub fn level(&self) -> Level {
        self.scope
            .as_ref()
            .map_or(Level::Campaign, |s| s.level.level())
    }

    pub fn level_word(&self) -> LevelWord {
        self.scope
            .as_ref()
            .map_or(LevelWord::Campaigns, |s| s.level)
    }

    /// Every metric reference: condition, then action amounts and limits.
    pub fn metric_refs(&self) -> Vec<&MetricRef> {
        let mut out = Vec::new();
        for c in self.comparisons() {
            out.extend(c.metrics());
        }
        for e in self.action_exprs() {
            e.visit_metrics(&mut |m| out.push(m));
        }
        out
    }

    /// The expressions in actions (`set ... to`, limits), in order.
    pub fn action_exprs(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        for a in &self.actions {
            match a {
                Action::SetBudget(s) | Action::SetBid(s) => {
                    out.push(&s.to);
                    out.extend(s.cap.as_ref().map(|c| &c.amount));
                }
                Action::ChangeBudget(c) | Action::ChangeBid(c) => {
                    out.extend(c.cap.as_ref().map(|c| &c.amount));
                }
                _ => {}
            }
        }
        out
    }

    /// Whether the rule reads the account's clock (`hour of day`, `day of week`).
    pub fn uses_hour_or_day(&self) -> bool {
        fn cond(c: &Cond) -> bool {
            match c {
                Cond::DayOfWeek(_) => true,
                Cond::Cmp(c) => c.left.has_hour() || c.right.has_hour(),
                Cond::Not(c) => cond(c),
                Cond::And(a, b) | Cond::Or(a, b) => cond(a) || cond(b),
                Cond::Always => false,
            }
        }
        cond(&self.condition) || self.action_exprs().iter().any(|e| e.has_hour())
    }

    /// Why the server (dry run, live, preview, backtest against the database) cannot run this
    /// rule yet: version 2 figures adpilot does not keep at the level they are read at. `None`
    /// when it can. The text is the same in the editor, on activation and in the CLI.
    pub fn live_blocker(&self) -> Option<String> {
        let level = self.level();
        for m in self.metric_refs() {
            let at = m.of.map_or(level, Parent::level);
            if !m.metric.is_live_at(at) {
                let whose = match at {
                    Level::Campaign | Level::Account => "campaign",
                    Level::AdGroup => "ad-group",
                    Level::Ad => "ad",
                };
                return Some(format!(
                    "{}{} can be checked and evaluated on CSV; running it against your accounts needs {whose} data this version does not sync yet",
                    m.of.map(|p| format!("{} ", p.as_str())).unwrap_or_default(),
                    m.metric
                ));
            }
        }
        None
    }

    /// Whether a metric is prefixed with `account`.
    pub fn reads_account_figures(&self) -> bool {
        self.metric_refs()
            .iter()
            .any(|m| m.of == Some(Parent::Account))
    }

    /// Whether the scope filters on who paused the object.
    pub fn scope_reads_paused_by(&self) -> bool {
        self.filter()
            .is_some_and(|f| f.any(&|f| matches!(f, Filter::PausedBy(_))))
    }

    /// Whether the scope names removed objects (`status is removed`, also under `not`): only
    /// such rules see them, as removed objects can be neither paused nor resumed.
    pub fn reaches_removed(&self) -> bool {
        self.filter()
            .is_some_and(|f| f.any(&|f| matches!(f, Filter::Status(CampaignStatus::Removed))))
    }

    pub fn filter(&self) -> Option<&Filter> {
        self.scope.as_ref().and_then(|s| s.filter.as_ref())
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

impl Filter {
    /// Whether `f` holds for this filter or any part of it.
    pub fn any(&self, f: &dyn Fn(&Filter) -> bool) -> bool {
        if f(self) {
            return true;
        }
        match self {
            Filter::Not(a) => a.any(f),
            Filter::And(a, b) | Filter::Or(a, b) => a.any(f) || b.any(f),
            _ => false,
        }
    }
}

impl Cond {
    pub fn collect_comparisons<'a>(&'a self, out: &mut Vec<&'a Comparison>) {
        match self {
            Cond::Always | Cond::DayOfWeek(_) => {}
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
    pub fn has_hour(&self) -> bool {
        match self {
            Expr::HourOfDay(_) => true,
            Expr::Lit(_) | Expr::Metric(_) => false,
            Expr::Neg(e) => e.has_hour(),
            Expr::Bin(_, a, b) => a.has_hour() || b.has_hour(),
        }
    }

    pub fn visit_metrics<'a>(&'a self, f: &mut dyn FnMut(&'a MetricRef)) {
        match self {
            Expr::Lit(_) | Expr::HourOfDay(_) => {}
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
            Expr::Metric(_) | Expr::HourOfDay(_) => {}
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
