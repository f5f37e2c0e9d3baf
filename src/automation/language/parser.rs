//! Text → typed AST. The only place that sees pest pairs.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::NaiveTime;
use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation, LineColLocation};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use rust_decimal::Decimal;

use super::ast::{
    self, Action, AdGroupWord, BinOp, BudgetChange, CampaignStatus, Cap, CapKind, Check, CmpOp,
    Comparison, Cond, DayCount, DayOfWeek, DaySpec, Direction, Expr, Filter, Interval, LevelWord,
    Literal, Metric, MetricRef, NameFilter, NotifyTarget, Parent, Pattern, PausedBy, Pos, Scope,
    SetTo, TimeUnit, TimesLimit, Unit, Window,
};
use super::diagnostic::Diagnostic;
use super::suggest::{closest, did_you_mean};
use crate::types::{Currency, Platform};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/rules.pest"]
struct RulesGrammar;

// Pest's generated enum is called `Rule`; keep that name local to this file.
type G = Rule;

static LOGIC: LazyLock<PrattParser<G>> = LazyLock::new(|| {
    // `not` binds tighter than `and`, `and` tighter than `or`.
    PrattParser::new()
        .op(Op::infix(G::kw_or, Assoc::Left))
        .op(Op::infix(G::kw_and, Assoc::Left))
        .op(Op::prefix(G::kw_not))
});

static ARITH: LazyLock<PrattParser<G>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(G::add, Assoc::Left) | Op::infix(G::sub, Assoc::Left))
        .op(Op::infix(G::mul, Assoc::Left) | Op::infix(G::div, Assoc::Left))
        .op(Op::prefix(G::neg))
});

/// Parses every rule in `src`. Syntax errors stop at the first one; errors found while
/// building the tree (unknown metrics, bad numbers, bad regexes) are all reported.
pub fn parse(src: &str) -> Result<Vec<ast::Rule>, Vec<Diagnostic>> {
    let (rules, errors) = parse_lenient(src);
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

/// Like [`parse`], but after a build error still returns the rules, with a stand-in where the
/// error was (`spend` for an unknown metric, 0 for a bad number), so the checker can report
/// the rest of the file's problems at once. The rules are empty after a syntax error.
pub(crate) fn parse_lenient(src: &str) -> (Vec<ast::Rule>, Vec<Diagnostic>) {
    if let Some(d) = super::limits::check_limits(src) {
        return (Vec::new(), vec![d]);
    }
    let pairs = match RulesGrammar::parse(G::file, src) {
        Ok(p) => p,
        Err(e) => return (Vec::new(), vec![syntax_error(src, &e)]),
    };
    let mut b = Builder { errors: Vec::new() };
    let mut rules = Vec::new();
    for pair in pairs.flatten().filter(|p| p.as_rule() == G::rule_def) {
        rules.push(b.rule(pair));
    }
    (rules, b.errors)
}

fn pos(pair: &Pair<'_, G>) -> Pos {
    let (line, col) = pair.line_col();
    Pos { line, col }
}

fn is_keyword(rule: G) -> bool {
    // Keywords carry no data once the grammar has picked the branch.
    format!("{rule:?}").starts_with("kw_")
}

/// Children that carry data (keywords dropped).
fn parts<'i>(pair: Pair<'i, G>) -> impl Iterator<Item = Pair<'i, G>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

struct Builder {
    errors: Vec<Diagnostic>,
}

impl Builder {
    fn rule(&mut self, pair: Pair<'_, G>) -> ast::Rule {
        let at = pos(&pair);
        let mut rule = ast::Rule {
            name: String::new(),
            pos: at,
            name_pos: at,
            scope: None,
            condition: Cond::Always,
            actions: Vec::new(),
            notify: Vec::new(),
            check: None,
            cooldown: None,
            times: None,
        };
        for p in parts(pair) {
            match p.as_rule() {
                G::string => {
                    rule.name_pos = pos(&p);
                    rule.name = string_value(&p);
                }
                G::scope => rule.scope = Some(self.scope(p)),
                G::when_clause => {
                    if let Some(c) = parts(p).next() {
                        rule.condition = self.cond(c.into_inner());
                    }
                }
                G::then_clause => {
                    rule.actions = parts(p).map(|a| self.action(a)).collect();
                }
                G::notify_line => rule.notify.push(notify_target(p)),
                G::check_line => rule.check = Some(self.check(p)),
                G::cooldown_line => match p
                    .clone()
                    .into_inner()
                    .find(|x| x.as_rule() == G::times_limit)
                {
                    Some(t) => rule.times = Some(self.times_limit(t)),
                    None => rule.cooldown = Some(self.interval(p)),
                },
                _ => {}
            }
        }
        rule
    }

    fn scope(&mut self, pair: Pair<'_, G>) -> Scope {
        let mut scope = Scope {
            level: LevelWord::Campaigns,
            level_pos: pos(&pair),
            platforms: Vec::new(),
            filter: None,
        };
        for p in parts(pair) {
            match p.as_rule() {
                G::level => {
                    scope.level_pos = pos(&p);
                    scope.level = self.level(p);
                }
                G::platform_list => {
                    scope.platforms = parts(p).map(|x| platform(&x)).collect();
                }
                G::filter => scope.filter = Some(self.filter(p.into_inner())),
                _ => {}
            }
        }
        scope
    }

    fn level(&mut self, pair: Pair<'_, G>) -> LevelWord {
        let kws: Vec<G> = pair.clone().into_inner().map(|p| p.as_rule()).collect();
        if kws.contains(&G::kw_groups) {
            LevelWord::AdGroups
        } else if kws.contains(&G::kw_sets) {
            LevelWord::AdSets
        } else if kws.contains(&G::kw_ads) {
            LevelWord::Ads
        } else if kws.contains(&G::unknown_level) {
            let word = pair.as_str();
            let levels = ["campaigns", "ad groups", "ad sets", "ads"];
            let squashed: Vec<String> = levels.iter().map(|l| l.replace(' ', "")).collect();
            let lower = word.to_ascii_lowercase();
            let mut d = Diagnostic::error(
                pos(&pair),
                format!("\"{word}\" is not a level rules can act on"),
            );
            let near = closest(&lower, squashed.iter().map(String::as_str));
            d = match near.first() {
                Some(n) => {
                    let i = squashed.iter().position(|s| s == n).unwrap_or(0);
                    d.with_help(format!(
                        "did you mean \"{}\"? levels are campaigns, ad groups, ad sets, ads",
                        levels[i]
                    ))
                }
                None => d.with_help("levels are campaigns, ad groups (= ad sets) and ads"),
            };
            self.errors.push(d);
            LevelWord::Campaigns
        } else {
            LevelWord::Campaigns
        }
    }

    fn filter(&mut self, pairs: Pairs<'_, G>) -> Filter {
        LOGIC
            .map_primary(|p| match p.as_rule() {
                G::filter => self.filter(p.into_inner()),
                G::name_filter => Filter::Name(self.name_filter(p)),
                G::campaign_name_filter => Filter::CampaignName(self.name_filter(p)),
                G::ad_group_name_filter => {
                    let w = ad_group_word(&p);
                    Filter::AdGroupName(w, self.name_filter(p))
                }
                G::campaign_filter => Filter::Campaign(first_string(p)),
                G::ad_group_filter => {
                    let w = ad_group_word(&p);
                    Filter::AdGroup(w, first_string(p))
                }
                G::id_filter => Filter::Id(first_string(p)),
                G::paused_by_filter => {
                    let kws: Vec<G> = p.clone().into_inner().map(|x| x.as_rule()).collect();
                    if kws.contains(&G::kw_this) {
                        Filter::PausedBy(PausedBy::ThisRule)
                    } else if kws.contains(&G::kw_any) {
                        Filter::PausedBy(PausedBy::AnyRule)
                    } else {
                        Filter::PausedBy(PausedBy::Rule(first_string(p)))
                    }
                }
                G::status_filter => Filter::Status(status(parts(p).next())),
                G::account_filter => Filter::Account(
                    parts(p)
                        .next()
                        .map(|s| string_value(&s))
                        .unwrap_or_default(),
                ),
                G::platform_filter => Filter::Platform(
                    parts(p)
                        .next()
                        .map(|x| platform(&x))
                        .unwrap_or(Platform::Google),
                ),
                _ => unmatched_filter(),
            })
            .map_prefix(|_, f| Filter::Not(Box::new(f)))
            .map_infix(|a, op, b| match op.as_rule() {
                G::kw_or => Filter::Or(Box::new(a), Box::new(b)),
                _ => Filter::And(Box::new(a), Box::new(b)),
            })
            .parse(pairs)
    }

    fn name_filter(&mut self, pair: Pair<'_, G>) -> NameFilter {
        let mut op = Vec::new();
        let mut text = String::new();
        let mut text_pos = pos(&pair);
        for p in pair.into_inner() {
            match p.as_rule() {
                G::text_op => op = p.into_inner().map(|k| k.as_rule()).collect(),
                G::string => {
                    text_pos = pos(&p);
                    text = string_value(&p);
                }
                _ => {}
            }
        }
        match op.first() {
            Some(G::kw_starts) => NameFilter::StartsWith(text),
            Some(G::kw_ends) => NameFilter::EndsWith(text),
            Some(G::kw_matches) => match Pattern::new(&text) {
                Ok(p) => NameFilter::Matches(p),
                Err(e) => {
                    self.errors.push(
                        Diagnostic::error(text_pos, "this is not a valid regular expression")
                            .with_help(first_line(&e.to_string())),
                    );
                    NameFilter::Contains(text)
                }
            },
            _ => NameFilter::Contains(text),
        }
    }

    fn cond(&mut self, pairs: Pairs<'_, G>) -> Cond {
        LOGIC
            .map_primary(|p| match p.as_rule() {
                G::cond => self.cond(p.into_inner()),
                G::day_of_week => Cond::DayOfWeek(self.day_of_week(p)),
                _ => Cond::Cmp(self.comparison(p)),
            })
            .map_prefix(|_, c| Cond::Not(Box::new(c)))
            .map_infix(|a, op, b| match op.as_rule() {
                G::kw_or => Cond::Or(Box::new(a), Box::new(b)),
                _ => Cond::And(Box::new(a), Box::new(b)),
            })
            .parse(pairs)
    }

    fn day_of_week(&mut self, pair: Pair<'_, G>) -> DayOfWeek {
        let at = pos(&pair);
        let mut days = Vec::new();
        for p in pair.into_inner().filter(|p| p.as_rule() == G::day_name) {
            match DaySpec::from_name(p.as_str()) {
                Some(d) => days.push(d),
                None => {
                    let lower = p.as_str().to_ascii_lowercase();
                    let near = closest(&lower, DaySpec::NAMES.iter().copied());
                    let d = Diagnostic::error(
                        pos(&p),
                        format!("\"{}\" is not a day of the week", p.as_str()),
                    );
                    self.errors.push(match did_you_mean(&near) {
                        Some(h) => d.with_help(h),
                        None => d.with_help(
                            "days are monday .. sunday, weekday (monday..friday) and weekend",
                        ),
                    });
                    days.push(DaySpec::Weekday);
                }
            }
        }
        DayOfWeek { days, pos: at }
    }

    fn comparison(&mut self, pair: Pair<'_, G>) -> Comparison {
        let at = pos(&pair);
        let mut exprs = Vec::new();
        let mut op = CmpOp::Eq;
        let mut each_days = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                G::expr => exprs.push(self.expr(p.into_inner())),
                G::bad_cmp_op => {
                    let (fixed, write) = match p.as_str() {
                        "=>" => (CmpOp::Ge, ">="),
                        "=<" => (CmpOp::Le, "<="),
                        _ => (CmpOp::Eq, "="),
                    };
                    op = fixed;
                    self.errors.push(
                        Diagnostic::error(
                            pos(&p),
                            format!("\"{}\" is not a comparison", p.as_str()),
                        )
                        .with_help(format!("write {write} (comparisons are > >= < <= = !=)")),
                    );
                }
                G::cmp_op => {
                    op = match p.as_str() {
                        ">" => CmpOp::Gt,
                        ">=" => CmpOp::Ge,
                        "<" => CmpOp::Lt,
                        "<=" => CmpOp::Le,
                        "!=" => CmpOp::Ne,
                        _ => CmpOp::Eq,
                    }
                }
                G::each_days => {
                    each_days = parts(p).next().map(|n| self.day_count(&n));
                }
                _ => {}
            }
        }
        let mut exprs = exprs.into_iter();
        let left = exprs.next().unwrap_or(Expr::Lit(lit0()));
        let right = exprs.next().unwrap_or(Expr::Lit(lit0()));
        Comparison {
            left,
            op,
            right,
            each_days,
            pos: at,
        }
    }

    fn expr(&mut self, pairs: Pairs<'_, G>) -> Expr {
        ARITH
            .map_primary(|p| match p.as_rule() {
                G::expr => self.expr(p.into_inner()),
                G::literal => Expr::Lit(self.literal(p)),
                G::hour_of_day => Expr::HourOfDay(pos(&p)),
                _ => Expr::Metric(self.metric_ref(p)),
            })
            .map_prefix(|_, e| Expr::Neg(Box::new(e)))
            .map_infix(|a, op, b| {
                let op = match op.as_rule() {
                    G::add => BinOp::Add,
                    G::sub => BinOp::Sub,
                    G::mul => BinOp::Mul,
                    _ => BinOp::Div,
                };
                Expr::Bin(op, Box::new(a), Box::new(b))
            })
            .parse(pairs)
    }

    fn metric_ref(&mut self, pair: Pair<'_, G>) -> MetricRef {
        let at = pos(&pair);
        let mut metric = Metric::Spend;
        let mut window = None;
        let mut of = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                G::metric_prefix => {
                    of = Some(match p.clone().into_inner().next().map(|x| x.as_rule()) {
                        Some(G::kw_campaign) => Parent::Campaign,
                        Some(G::ad_parent) => Parent::AdGroup(ad_group_word(&p)),
                        _ => Parent::Account,
                    })
                }
                G::metric_name => match Metric::from_name(p.as_str()) {
                    Some(m) => metric = m,
                    None => self.errors.push(unknown_metric(p.as_str(), pos(&p))),
                },
                G::window => window = Some(self.window(p)),
                _ => {}
            }
        }
        MetricRef {
            of,
            metric,
            window,
            pos: at,
        }
    }

    fn window(&mut self, pair: Pair<'_, G>) -> Window {
        let mut kws = Vec::new();
        let mut count = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                G::int => count = Some(self.day_count(&p)),
                r => kws.push(r),
            }
        }
        let count = count.unwrap_or(DayCount {
            n: 1,
            pos: Pos::default(),
        });
        if kws.contains(&G::kw_today) {
            Window::Today
        } else if kws.contains(&G::kw_yesterday) {
            Window::Yesterday
        } else if kws.contains(&G::kw_last) {
            Window::Last(count)
        } else if kws.contains(&G::kw_previous) {
            Window::Previous(count)
        } else if kws.contains(&G::kw_this) {
            Window::ThisMonth
        } else {
            Window::Lifetime
        }
    }

    fn literal(&mut self, pair: Pair<'_, G>) -> Literal {
        let at = pos(&pair);
        let mut value = Decimal::ZERO;
        let mut unit = Unit::Plain;
        for p in pair.into_inner() {
            match p.as_rule() {
                G::number => match Decimal::from_str(p.as_str()) {
                    Ok(d) => value = d,
                    Err(_) => self
                        .errors
                        .push(Diagnostic::error(pos(&p), "this number is too large")),
                },
                G::percent => unit = Unit::Percent,
                G::currency => match super::currencies::iso_currency(p.as_str(), pos(&p)) {
                    Ok(c) => unit = Unit::Currency(c),
                    Err(d) => {
                        self.errors.push(d);
                        if let Ok(c) = Currency::from_str(p.as_str()) {
                            unit = Unit::Currency(c);
                        }
                    }
                },
                _ => {}
            }
        }
        Literal {
            value,
            unit,
            pos: at,
        }
    }

    fn day_count(&mut self, pair: &Pair<'_, G>) -> DayCount {
        DayCount {
            n: self.int(pair),
            pos: pos(pair),
        }
    }

    fn int(&mut self, pair: &Pair<'_, G>) -> u32 {
        match pair.as_str().parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                self.errors
                    .push(Diagnostic::error(pos(pair), "this number is too large"));
                0
            }
        }
    }

    fn action(&mut self, pair: Pair<'_, G>) -> Action {
        let at = pos(&pair);
        match pair.as_rule() {
            G::pause => Action::Pause,
            G::resume => Action::Resume,
            G::set_budget => Action::SetBudget(self.set_to(pair)),
            G::set_bid => Action::SetBid(self.set_to(pair)),
            G::change_budget | G::change_bid => {
                let bid = pair.as_rule() == G::change_bid;
                let mut direction = Direction::Increase;
                let mut by = lit0();
                let mut cap = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        G::kw_decrease => direction = Direction::Decrease,
                        G::literal => by = self.literal(p),
                        G::budget_cap => cap = Some(self.cap(p)),
                        _ => {}
                    }
                }
                let change = BudgetChange {
                    direction,
                    by,
                    cap,
                    pos: at,
                };
                if bid {
                    Action::ChangeBid(change)
                } else {
                    Action::ChangeBudget(change)
                }
            }
            _ => Action::Notify(notify_target(pair)),
        }
    }

    fn set_to(&mut self, pair: Pair<'_, G>) -> SetTo {
        let at = pos(&pair);
        let mut to = Expr::Lit(lit0());
        let mut cap = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                G::expr => to = self.expr(p.into_inner()),
                G::budget_cap => cap = Some(self.cap(p)),
                _ => {}
            }
        }
        SetTo { to, cap, pos: at }
    }

    fn times_limit(&mut self, pair: Pair<'_, G>) -> TimesLimit {
        let at = pos(&pair);
        let mut n = 0;
        let mut per = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                G::int => n = self.int(&p),
                G::interval => per = Some(self.interval(p)),
                _ => {}
            }
        }
        TimesLimit { n, per, pos: at }
    }

    fn cap(&mut self, pair: Pair<'_, G>) -> Cap {
        let at = pos(&pair);
        let mut kind = CapKind::UpTo;
        let mut amount = Expr::Lit(lit0());
        for p in pair.into_inner() {
            match p.as_rule() {
                G::kw_down => kind = CapKind::DownTo,
                G::expr => amount = self.expr(p.into_inner()),
                _ => {}
            }
        }
        Cap {
            kind,
            amount,
            pos: at,
        }
    }

    fn check(&mut self, pair: Pair<'_, G>) -> Check {
        let at = pos(&pair);
        if let Some(clock) = pair.clone().into_inner().find(|p| p.as_rule() == G::clock) {
            let time = match NaiveTime::parse_from_str(clock.as_str(), "%H:%M") {
                Ok(t) => t,
                Err(_) => {
                    self.errors.push(
                        Diagnostic::error(pos(&clock), "this is not a time of day")
                            .with_help("write the time as HH:MM between 00:00 and 23:59"),
                    );
                    NaiveTime::MIN
                }
            };
            return Check::DailyAt { time, pos: at };
        }
        Check::Every(self.interval(pair))
    }

    fn interval(&mut self, pair: Pair<'_, G>) -> Interval {
        let mut n = 0;
        let mut unit = TimeUnit::Minutes;
        let mut at = pos(&pair);
        for p in pair.into_inner() {
            match p.as_rule() {
                G::int => {
                    at = pos(&p);
                    n = self.int(&p);
                }
                G::time_unit => {
                    let u = p.as_str().to_ascii_lowercase();
                    unit = if u.starts_with("hour") {
                        TimeUnit::Hours
                    } else if u.starts_with("day") {
                        TimeUnit::Days
                    } else {
                        TimeUnit::Minutes
                    };
                }
                _ => {}
            }
        }
        Interval { n, unit, pos: at }
    }
}

fn ad_group_word(pair: &Pair<'_, G>) -> AdGroupWord {
    let set = pair
        .clone()
        .into_inner()
        .flatten()
        .any(|p| p.as_rule() == G::kw_set);
    if set {
        AdGroupWord::Set
    } else {
        AdGroupWord::Group
    }
}

fn first_string(pair: Pair<'_, G>) -> String {
    pair.into_inner()
        .find(|p| p.as_rule() == G::string)
        .map(|s| string_value(&s))
        .unwrap_or_default()
}

fn unmatched_filter() -> Filter {
    // The grammar gives filter primaries only of the kinds matched above.
    Filter::Account(String::new())
}

fn lit0() -> Literal {
    Literal {
        value: Decimal::ZERO,
        unit: Unit::Plain,
        pos: Pos::default(),
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

fn string_value(pair: &Pair<'_, G>) -> String {
    let raw = pair
        .clone()
        .into_inner()
        .next()
        .map(|p| p.as_str())
        .unwrap_or("");
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn platform(pair: &Pair<'_, G>) -> Platform {
    pair.as_str().parse().unwrap_or(Platform::Google)
}

fn status(pair: Option<Pair<'_, G>>) -> CampaignStatus {
    match pair.map(|p| p.as_str().to_ascii_lowercase()) {
        Some(s) if s == "paused" => CampaignStatus::Paused,
        Some(s) if s == "removed" => CampaignStatus::Removed,
        _ => CampaignStatus::Active,
    }
}

fn notify_target(pair: Pair<'_, G>) -> NotifyTarget {
    let mut webhook = false;
    let mut value = String::new();
    let mut at = pos(&pair);
    for p in pair.into_inner() {
        match p.as_rule() {
            G::kw_webhook => webhook = true,
            G::string => {
                at = pos(&p);
                value = string_value(&p);
            }
            _ => {}
        }
    }
    if webhook {
        NotifyTarget::Webhook {
            url: value,
            pos: at,
        }
    } else {
        NotifyTarget::Email {
            address: value,
            pos: at,
        }
    }
}

pub(crate) fn unknown_metric(name: &str, at: Pos) -> Diagnostic {
    let lower = name.to_ascii_lowercase();
    let near = closest(&lower, Metric::ALL.iter().map(|m| m.as_str()));
    let d = Diagnostic::error(at, format!("unknown metric \"{name}\""));
    match did_you_mean(&near) {
        Some(h) => d.with_help(h),
        None => d.with_help(format!(
            "metrics are {}",
            Metric::ALL.map(|m| m.as_str()).join(", ")
        )),
    }
}

// ---- syntax errors ------------------------------------------------------------------------

fn syntax_error(src: &str, e: &pest::error::Error<G>) -> Diagnostic {
    let (line, col) = match e.line_col {
        LineColLocation::Pos(p) | LineColLocation::Span(p, _) => p,
    };
    let offset = match e.location {
        InputLocation::Pos(p) | InputLocation::Span((p, _)) => p,
    };
    let found = describe_found(src, offset);
    let at = end_of_text(src, offset).unwrap_or(Pos { line, col });
    match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let expected: BTreeSet<Expected> =
                positives.iter().filter_map(|r| expected(*r)).collect();
            let (message, help) = expected_message(&expected);
            let d = Diagnostic::error(at, format!("{message}, found {found}"));
            match help {
                Some(h) => d.with_help(h),
                None => d,
            }
        }
        ErrorVariant::CustomError { message } => Diagnostic::error(at, message.clone()),
    }
}

/// At the end of the input, point just after the last word rather than at an empty line.
fn end_of_text(src: &str, offset: usize) -> Option<Pos> {
    let rest = src.get(offset..)?;
    if !rest.trim().is_empty() {
        return None;
    }
    let text = src.trim_end();
    let line = text.lines().count().max(1);
    let col = text.lines().last().map_or(0, |l| l.chars().count()) + 1;
    Some(Pos { line, col })
}

fn describe_found(src: &str, offset: usize) -> String {
    let rest = src.get(offset..).unwrap_or("");
    if rest.is_empty() {
        return "the end of the file".to_string();
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .take(24)
        .collect();
    if !word.is_empty() {
        return format!("\"{word}\"");
    }
    match rest.chars().next() {
        Some('\n') | Some('\r') => "the end of the line".to_string(),
        Some(c) => format!("\"{c}\""),
        None => "the end of the file".to_string(),
    }
}

/// What people read for a group of grammar rules, in the order messages list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Expected {
    Rule,
    Scope,
    When,
    Condition,
    Operator,
    Window,
    Last,
    Previous,
    Value,
    Days,
    Number,
    Unit,
    EachOf,
    Then,
    Action,
    AndAction,
    Budget,
    By,
    To,
    Cap,
    Text,
    TextOp,
    FilterKind,
    Status,
    Platform,
    Is,
    With,
    Campaigns,
    Optional,
    TimeUnit,
    Clock,
    CheckKind,
    CooldownWords,
}

fn expected(r: G) -> Option<Expected> {
    use Expected as E;
    Some(match r {
        G::kw_rule | G::EOI => E::Rule,
        G::scope | G::kw_for => E::Scope,
        G::when_clause | G::kw_when => E::When,
        G::cond | G::kw_not | G::comparison => E::Condition,
        G::expr | G::literal | G::metric_ref | G::metric_name | G::neg => E::Value,
        G::cmp_op => E::Operator,
        G::add | G::sub | G::mul | G::div => E::Operator,
        G::window | G::kw_today | G::kw_yesterday | G::kw_in | G::kw_this | G::kw_lifetime => {
            E::Window
        }
        G::kw_last => E::Last,
        G::kw_previous => E::Previous,
        G::kw_days => E::Days,
        G::int | G::number => E::Number,
        G::percent | G::currency => E::Unit,
        G::each_days | G::kw_each | G::kw_of => E::EachOf,
        G::then_clause | G::kw_then => E::Then,
        G::pause
        | G::resume
        | G::set_budget
        | G::change_budget
        | G::notify_action
        | G::kw_pause
        | G::kw_resume
        | G::kw_set
        | G::kw_increase
        | G::kw_decrease => E::Action,
        G::kw_and | G::kw_or => E::AndAction,
        G::kw_budget => E::Budget,
        G::kw_by => E::By,
        G::kw_to => E::To,
        G::budget_cap | G::kw_up | G::kw_down => E::Cap,
        G::string | G::string_inner => E::Text,
        G::text_op | G::kw_contains | G::kw_starts | G::kw_ends | G::kw_matches => E::TextOp,
        G::filter
        | G::name_filter
        | G::status_filter
        | G::account_filter
        | G::platform_filter
        | G::kw_name
        | G::kw_status
        | G::kw_account
        | G::kw_platform => E::FilterKind,
        G::status => E::Status,
        G::platform | G::platform_list | G::kw_on => E::Platform,
        G::kw_is => E::Is,
        G::kw_with => E::With,
        G::kw_campaigns | G::level | G::kw_ads | G::kw_ad | G::unknown_level => E::Campaigns,
        G::notify_line | G::check_line | G::cooldown_line | G::kw_notify | G::kw_check => {
            E::Optional
        }
        G::kw_webhook => E::Text,
        G::time_unit => E::TimeUnit,
        G::clock => E::Clock,
        G::kw_every | G::kw_daily => E::CheckKind,
        G::kw_at
        | G::kw_most
        | G::kw_once
        | G::kw_per
        | G::kw_times
        | G::times_limit
        | G::interval => E::CooldownWords,
        G::kw_where => E::FilterKind,
        G::kw_month => E::Window,
        _ => return None,
    })
}

fn expected_message(set: &BTreeSet<Expected>) -> (String, Option<String>) {
    use Expected as E;
    let has = |e: E| set.contains(&e);
    let window_help = Some(
        "windows are today, yesterday, in last N days, in previous N days, this month, lifetime"
            .to_string(),
    );
    if has(E::Last) && !has(E::Previous) {
        return (
            "expected \"last N days\"".to_string(),
            Some("for example: cpa > 50 on each of last 3 days".to_string()),
        );
    }
    if has(E::Previous) {
        return (
            "expected a window such as \"in last 7 days\"".to_string(),
            Some("after \"in\" write \"last N days\" or \"previous N days\"".to_string()),
        );
    }
    if has(E::Window) && has(E::Operator) {
        return (
            "expected a window such as \"in last 7 days\" or a comparison such as \"> 50\""
                .to_string(),
            window_help,
        );
    }
    if has(E::Window) {
        return (
            "expected a window such as \"in last 7 days\"".to_string(),
            window_help,
        );
    }
    if has(E::Then) && has(E::When) {
        let scope = if has(E::Scope) {
            "\"for campaigns|ad groups|ad sets|ads ...\", "
        } else {
            ""
        };
        return (
            format!("expected {scope}\"when\" and a condition, or \"then\" and the actions"),
            Some(
                "a rule reads: rule \"NAME\" [for LEVEL ...] [when CONDITION] then ACTIONS"
                    .to_string(),
            ),
        );
    }
    if has(E::Then) {
        return (
            "expected \"then\" and the actions, or \"and\"/\"or\" and another condition"
                .to_string(),
            None,
        );
    }
    if has(E::AndAction) && !has(E::Rule) {
        // Inside parentheses: pest does not report the literal ")" it also tried.
        return (
            "expected \")\" to close the parenthesis, or \"and\"/\"or\"".to_string(),
            None,
        );
    }
    if has(E::Operator) {
        return (
            "expected a comparison such as \"> 50\" or an operator (+ - * /)".to_string(),
            Some("comparisons are > >= < <= = !=".to_string()),
        );
    }
    if has(E::Condition) {
        return (
            "expected a condition such as \"cpa in last 7 days > 50\"".to_string(),
            Some(format!(
                "metrics are {}",
                Metric::ALL.map(|m| m.as_str()).join(", ")
            )),
        );
    }
    if has(E::Value) {
        return (
            "expected a number, an amount or a metric".to_string(),
            Some(format!(
                "metrics are {}",
                Metric::ALL.map(|m| m.as_str()).join(", ")
            )),
        );
    }
    expected_part(set)
}

/// The message for a missing word or part of a clause, once the rule's shape is not in doubt.
fn expected_part(set: &BTreeSet<Expected>) -> (String, Option<String>) {
    use Expected as E;
    let has = |e: E| set.contains(&e);
    if has(E::Days) {
        return ("expected \"days\"".to_string(), None);
    }
    if has(E::Number) {
        return ("expected a number".to_string(), None);
    }
    if has(E::Action) {
        return (
            "expected an action".to_string(),
            Some(
                "actions are pause, resume, set budget to AMOUNT, increase budget by PERCENT|AMOUNT, decrease budget by PERCENT|AMOUNT, notify \"EMAIL\", notify webhook \"URL\""
                    .to_string(),
            ),
        );
    }
    if has(E::When) && has(E::Scope) {
        return (
            "expected \"for campaigns|ad groups|ad sets|ads ...\" or \"when\"".to_string(),
            Some(
                "a rule reads: rule \"NAME\" [for campaigns ...] when CONDITION then ACTIONS"
                    .to_string(),
            ),
        );
    }
    if has(E::When) {
        return ("expected \"when\" and a condition".to_string(), None);
    }
    if has(E::Budget) {
        return ("expected \"budget\"".to_string(), None);
    }
    if has(E::By) {
        return (
            "expected \"by\" and a percentage or an amount".to_string(),
            None,
        );
    }
    if has(E::To) {
        return ("expected \"to\" and an amount".to_string(), None);
    }
    if has(E::EachOf) {
        return ("expected \"on each of last N days\"".to_string(), None);
    }
    if has(E::TextOp) {
        return (
            "expected contains, starts with, ends with or matches".to_string(),
            None,
        );
    }
    if has(E::With) {
        return ("expected \"with\"".to_string(), None);
    }
    expected_in_scope_or_schedule(set)
}

/// The message for a missing part of a scope, a check schedule or a cooldown.
fn expected_in_scope_or_schedule(set: &BTreeSet<Expected>) -> (String, Option<String>) {
    use Expected as E;
    let has = |e: E| set.contains(&e);
    if has(E::FilterKind) {
        return (
            "expected a filter".to_string(),
            Some(
                "filters are name contains|starts with|ends with|matches \"TEXT\", status is active|paused|removed, account is \"ID\", platform is NAME, id is \"ID\", campaign name ..., campaign is \"ID\", ad group name ..., ad group is \"ID\", paused by this rule|rule \"NAME\"|any rule"
                    .to_string(),
            ),
        );
    }
    if has(E::Status) {
        return ("expected active or paused".to_string(), None);
    }
    if has(E::Platform) && !has(E::Rule) {
        return (
            "expected a platform: google, meta or tiktok".to_string(),
            None,
        );
    }
    if has(E::Is) {
        return ("expected \"is\"".to_string(), None);
    }
    if has(E::Campaigns) {
        return (
            "expected a level: campaigns, ad groups, ad sets or ads".to_string(),
            None,
        );
    }
    if has(E::Text) {
        return ("expected text in double quotes".to_string(), None);
    }
    if has(E::TimeUnit) {
        return ("expected minutes, hours or days".to_string(), None);
    }
    if has(E::Clock) {
        return ("expected a time such as 09:00".to_string(), None);
    }
    if has(E::CheckKind) {
        return (
            "expected \"every N minutes|hours\" or \"daily at HH:MM\"".to_string(),
            None,
        );
    }
    if has(E::CooldownWords) && !has(E::Rule) {
        return (
            "expected \"at most once per N minutes|hours|days\" or \"at most N times [per M minutes|hours|days]\"".to_string(),
            None,
        );
    }
    if has(E::Rule) {
        let extra = if has(E::AndAction) || has(E::Optional) {
            "another action (\"and ...\"), a notify, check or \"at most once per\" line, or "
        } else {
            ""
        };
        return (format!("expected {extra}a new rule (rule \"NAME\")"), None);
    }
    ("unexpected input".to_string(), None)
}
