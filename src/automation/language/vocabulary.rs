//! The words of the language as the editor's helper lists them: every metric (from
//! [`Metric::ALL`]), every window and action (written by the formatter from the tree's own
//! variants), the levels, and the other lines of a rule, each with a snippet to insert and
//! what it means. The tests below parse every snippet in its place, so the helper cannot offer
//! something the language refuses.

use super::ast::{DayCount, Level, LevelWord, Metric, Pos, Window};
use super::format::window_text;

/// One entry of the helper: the text inserted into the rule and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// What the button says.
    pub label: String,
    /// What a click inserts.
    pub snippet: String,
    pub meaning: String,
}

impl Word {
    fn new(
        label: impl Into<String>,
        snippet: impl Into<String>,
        meaning: impl Into<String>,
    ) -> Word {
        Word {
            label: label.into(),
            snippet: snippet.into(),
            meaning: meaning.into(),
        }
    }
}

/// A heading of the helper and its words.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: &'static str,
    pub title: &'static str,
    /// Where the words go in a rule, in one line.
    pub note: &'static str,
    pub words: Vec<Word>,
}

/// Which heading a metric is listed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetricKind {
    Delivery,
    Results,
    ConversionType,
    Object,
}

/// What each metric means and where the helper lists it. The match has no default arm: a
/// metric added to the language does not compile until it is described here.
fn metric_meaning(m: Metric) -> (MetricKind, &'static str) {
    use MetricKind::*;
    match m {
        Metric::Impressions => (Delivery, "times the ads were shown"),
        Metric::Clicks => (
            Delivery,
            "clicks to the ad's destination (Meta: link clicks)",
        ),
        Metric::AllClicks => (Delivery, "every click the platform counts"),
        Metric::Spend => (Delivery, "money spent, in the account's currency"),
        Metric::Ctr => (
            Delivery,
            "clicks / impressions; write it as a percentage (ctr < 0.8%)",
        ),
        Metric::Cpc => (Delivery, "spend / clicks"),
        Metric::Cpm => (Delivery, "1000 × spend / impressions"),
        Metric::Conversions => (
            Results,
            "the conversions this ad account counts (its conversion settings)",
        ),
        Metric::Revenue => (Results, "the conversion value this ad account counts"),
        Metric::Cpa => (Results, "spend / conversions"),
        Metric::Roas => (Results, "revenue / spend"),
        Metric::Cvr => (Results, "conversions / clicks; a percentage like ctr"),
        Metric::Purchases => (
            ConversionType,
            "purchases (Meta omni_purchase, TikTok complete_payment)",
        ),
        Metric::PurchaseValue => (ConversionType, "value of the purchases"),
        Metric::Leads => (ConversionType, "leads"),
        Metric::Installs => (ConversionType, "app installs"),
        Metric::Registrations => (ConversionType, "completed registrations"),
        Metric::CostPerPurchase => (ConversionType, "spend / purchases"),
        Metric::PurchaseRoas => (ConversionType, "purchase_value / spend"),
        Metric::CostPerLead => (ConversionType, "spend / leads"),
        Metric::CostPerInstall => (ConversionType, "spend / installs"),
        Metric::CostPerRegistration => (ConversionType, "spend / registrations"),
        Metric::DailyBudget => (Object, "the daily budget"),
        Metric::LifetimeBudget => (Object, "the lifetime budget"),
        Metric::BudgetRemaining => (Object, "lifetime budget minus lifetime spend"),
        Metric::Bid => (Object, "the bid (ad groups and ad sets)"),
        Metric::DaysSinceCreated => (Object, "whole days since the object was created"),
        Metric::DaysLeft => (Object, "days to the end date, today included"),
        Metric::DaysLeftInMonth => (Object, "days left in this month, today included"),
    }
}

/// A metric as inserted: with a window where it takes one (`spend in last 7 days`).
fn metric_word(m: Metric) -> Word {
    let (_, meaning) = metric_meaning(m);
    let snippet = if m.takes_no_window() {
        m.as_str().to_string()
    } else {
        format!("{} {}", m.as_str(), window_text(&Window::Last(seven())))
    };
    let mut meaning = meaning.to_string();
    if m.takes_no_window() {
        meaning.push_str("; takes no window");
    }
    if !m.is_live_at(Level::Campaign) {
        meaning.push_str("; ad groups and ads only");
    }
    Word::new(m.as_str(), snippet, meaning)
}

fn seven() -> DayCount {
    DayCount {
        n: 7,
        pos: Pos::default(),
    }
}

fn metrics_of(kind: MetricKind) -> Vec<Word> {
    Metric::ALL
        .into_iter()
        .filter(|m| metric_meaning(*m).0 == kind)
        .map(metric_word)
        .collect()
}

/// What each window means. No default arm, as for metrics.
fn window_meaning(w: &Window) -> &'static str {
    match w {
        Window::Today => "so far today, in the ad account's time zone (no window means today)",
        Window::Yesterday => "yesterday",
        Window::Last(_) => "the N complete days before today",
        Window::Previous(_) => "the N days before those (to compare periods)",
        Window::ThisMonth => "the 1st of the month through today",
        Window::Lifetime => "every day through today",
    }
}

fn windows() -> Vec<Word> {
    let mut out: Vec<Word> = [
        Window::Today,
        Window::Yesterday,
        Window::Last(seven()),
        Window::Previous(seven()),
        Window::ThisMonth,
        Window::Lifetime,
    ]
    .iter()
    .map(|w| {
        let text = window_text(w);
        Word::new(text.clone(), format!(" {text}"), window_meaning(w))
    })
    .collect();
    out.push(Word::new(
        "on each of last 3 days",
        " on each of last 3 days",
        "after a comparison: it held on each of the 3 complete days",
    ));
    out
}

/// What each level word means. No default arm.
fn level_meaning(l: LevelWord) -> &'static str {
    match l {
        LevelWord::Campaigns => "each campaign (a rule without a for line looks at every campaign)",
        LevelWord::AdGroups => "each ad group (Google, TikTok; same as ad sets)",
        LevelWord::AdSets => "each ad set (Meta; same as ad groups)",
        LevelWord::Ads => "each ad",
    }
}

fn levels() -> Vec<Word> {
    let mut out: Vec<Word> = [
        LevelWord::Campaigns,
        LevelWord::AdGroups,
        LevelWord::AdSets,
        LevelWord::Ads,
    ]
    .into_iter()
    .map(|l| {
        Word::new(
            format!("for {}", l.as_str()),
            format!("  for {}\n", l.as_str()),
            level_meaning(l),
        )
    })
    .collect();
    out.push(Word::new(
        "on google, meta",
        " on google, meta",
        "after the level: only these platforms (google, meta, tiktok)",
    ));
    out.push(Word::new(
        "where name contains",
        " where name contains \"Brand\"",
        "filters: name contains | starts with | ends with | matches, status is, account is, campaign name …, paused by this rule",
    ));
    out.push(Word::new(
        "where paused by this rule",
        " where paused by this rule",
        "only objects this rule paused and nobody resumed since",
    ));
    out
}

/// The actions, written as the formatter writes them (the tests check the round trip).
pub const ACTIONS: &[(&str, &str)] = &[
    ("pause", "pause the object"),
    ("resume", "resume it"),
    ("set budget to 50", "an amount or an expression"),
    (
        "increase budget by 20% up to 500",
        "a percentage or an amount, with an optional ceiling",
    ),
    (
        "decrease budget by 25% down to 20",
        "with an optional floor",
    ),
    ("set bid to 1.5", "ad groups and ad sets only"),
    ("increase bid by 10% up to 3", "ad groups and ad sets only"),
    (
        "decrease bid by 10% down to 0.5",
        "ad groups and ad sets only",
    ),
    ("notify \"ops@example.com\"", "an email"),
    (
        "notify webhook \"https://hooks.example.com/adpilot\"",
        "a webhook (Slack and others)",
    ),
];

fn actions() -> Vec<Word> {
    ACTIONS
        .iter()
        .map(|(a, m)| Word::new(*a, format!("  then {a}\n"), *m))
        .collect()
}

/// Lines after `then`, and conditions that are not comparisons.
pub const LINES: &[(&str, &str, &str)] = &[
    (
        "check every 15 minutes",
        "  check every 15 minutes\n",
        "how often (at least 5 minutes; default 15)",
    ),
    (
        "check daily at 09:00",
        "  check daily at 09:00\n",
        "once a day, in the organization's time zone",
    ),
    (
        "at most once per 24 hours",
        "  at most once per 24 hours\n",
        "cooldown per object (budget changes default to 24 hours)",
    ),
    (
        "at most 3 times per 7 days",
        "  at most 3 times per 7 days\n",
        "a count per object",
    ),
    (
        "notify (own line)",
        "  notify \"ops@example.com\"\n",
        "a message whenever any action ran",
    ),
    (
        "hour of day >= 20",
        " hour of day >= 20",
        "a condition: 0..23 in the account's time zone",
    ),
    (
        "day of week is weekend",
        " day of week is weekend",
        "a condition: monday … sunday, weekday, weekend",
    ),
];

fn lines() -> Vec<Word> {
    LINES
        .iter()
        .map(|(l, s, m)| Word::new(*l, *s, *m))
        .collect()
}

/// Every heading of the helper, in the order a rule is written.
pub fn groups() -> Vec<Group> {
    vec![
        Group {
            id: "levels",
            title: "Levels and scope",
            note: "for LEVEL [on PLATFORMS] [where FILTER], the second line",
            words: levels(),
        },
        Group {
            id: "delivery",
            title: "Metrics: delivery",
            note: "when METRIC WINDOW > VALUE",
            words: metrics_of(MetricKind::Delivery),
        },
        Group {
            id: "results",
            title: "Metrics: results",
            note: "as the account's conversion settings count them",
            words: metrics_of(MetricKind::Results),
        },
        Group {
            id: "conversions",
            title: "Conversion types",
            note: "the platform's own action types",
            words: metrics_of(MetricKind::ConversionType),
        },
        Group {
            id: "object",
            title: "Budgets, bids and dates",
            note: "figures of the object itself: no window",
            words: metrics_of(MetricKind::Object),
        },
        Group {
            id: "windows",
            title: "Windows",
            note: "after a metric; N from 1 to 365",
            words: windows(),
        },
        Group {
            id: "actions",
            title: "Actions",
            note: "then ACTION [and ACTION]",
            words: actions(),
        },
        Group {
            id: "lines",
            title: "Schedule, limits and time",
            note: "optional lines after then",
            words: lines(),
        },
    ]
}

/// What a new rule starts from: a complete rule that checks, with comments that say what to
/// change.
pub const TEMPLATE: &str = "# A new rule: change what you need.
# The helper lists every word.
rule \"My new rule\"
  # which objects
  for campaigns
    where name contains \"Prospecting\"
  # when: a metric over a window
  when cpa in last 7 days > 50
    and clicks in last 7 days >= 100
  # what it does
  then pause
  check every 30 minutes
  at most once per 24 hours
";

#[cfg(test)]
mod tests {
    use super::super::ast::Action;
    use super::super::format::action_text;
    use super::*;

    fn parses(text: &str) -> super::super::Checked {
        let checked = super::super::check_single(text);
        assert!(!checked.has_errors(), "{text}\n{:?}", checked.diagnostics);
        checked
    }

    #[test]
    fn the_template_checks_without_errors() {
        parses(TEMPLATE);
    }

    #[test]
    fn every_metric_is_listed_once_and_parses_in_a_comparison() {
        let listed: Vec<String> = groups()
            .into_iter()
            .filter(|g| matches!(g.id, "delivery" | "results" | "conversions" | "object"))
            .flat_map(|g| g.words)
            .map(|w| w.label)
            .collect();
        assert_eq!(listed.len(), Metric::ALL.len());
        for m in Metric::ALL {
            assert!(listed.iter().any(|l| l == m.as_str()), "{m}");
            let w = metric_word(m);
            // Object figures are read at the ad-group level, where each of them exists.
            let text = format!(
                "rule \"x\"\n  for ad groups\n  when {} > 1\n  then pause\n",
                w.snippet
            );
            parses(&text);
        }
    }

    #[test]
    fn every_window_and_line_parses_in_its_place() {
        for w in windows() {
            let when = if w.label.starts_with("on each") {
                format!("spend > 1{}", w.snippet)
            } else {
                format!("spend{} > 1", w.snippet)
            };
            parses(&format!("rule \"x\"\n  when {when}\n  then pause\n"));
        }
        for (label, snippet, _) in LINES {
            let text = if snippet.starts_with("  ") {
                format!("rule \"x\"\n  when spend > 1\n  then pause\n{snippet}")
            } else {
                format!("rule \"x\"\n  when spend > 1 and{snippet}\n  then pause\n")
            };
            assert!(!super::super::check_single(&text).has_errors(), "{label}");
        }
        for w in levels() {
            let text = if w.snippet.starts_with("  for") {
                format!("rule \"x\"\n{}  when spend > 1\n  then pause\n", w.snippet)
            } else {
                format!(
                    "rule \"x\"\n  for ads{}\n  when spend > 1\n  then pause\n",
                    w.snippet
                )
            };
            parses(&text);
        }
    }

    #[test]
    fn every_action_is_written_as_the_formatter_writes_it_and_each_kind_is_offered() {
        let mut kinds = std::collections::HashSet::new();
        for (a, _) in ACTIONS {
            let level = if a.contains("bid") {
                "ad groups"
            } else {
                "campaigns"
            };
            let checked = parses(&format!(
                "rule \"x\"\n  for {level}\n  when spend > 1\n  then {a}\n"
            ));
            let action = &checked.rules[0].actions[0];
            assert_eq!(action_text(action), *a);
            kinds.insert(match action {
                Action::Pause => 0,
                Action::Resume => 1,
                Action::SetBudget(_) => 2,
                Action::ChangeBudget(_) => 3,
                Action::SetBid(_) => 4,
                Action::ChangeBid(_) => 5,
                Action::Notify(_) => 6,
            });
        }
        assert_eq!(kinds.len(), 7, "every kind of action has a snippet");
    }
}
