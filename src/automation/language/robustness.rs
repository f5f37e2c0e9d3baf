//! Arbitrary text never panics the checker, and whatever it accepts formats and evaluates.
//! (A stand-in for the cargo-fuzz target while that cannot run here; see fuzz/.)

use std::collections::HashMap;

use chrono::NaiveDate;
use proptest::prelude::*;

use super::ast::{CampaignStatus, Level};
use super::check;
use super::format::format_rules;
use crate::automation::eval::{
    CampaignFacts, Clock, Detail, ObjectDetails, ParentFigures, Totals, WindowKey, evaluate,
};
use crate::types::{Money, Platform};

const VOCAB: &[&str] = &[
    "rule",
    "\"n\"",
    "\"x@y.test\"",
    "\"https://h.test/x\"",
    "for",
    "campaigns",
    "on",
    "google",
    "meta",
    ",",
    "where",
    "name",
    "contains",
    "matches",
    "\"(\"",
    "status",
    "is",
    "active",
    "account",
    "when",
    "then",
    "pause",
    "resume",
    "set",
    "budget",
    "to",
    "increase",
    "decrease",
    "by",
    "up",
    "down",
    "notify",
    "webhook",
    "check",
    "every",
    "daily",
    "at",
    "09:00",
    "99:99",
    "most",
    "once",
    "per",
    "minutes",
    "hours",
    "days",
    "cpa",
    "spend",
    "clicks",
    "ctr",
    "roas",
    "daily_budget",
    "cpx",
    "in",
    "last",
    "previous",
    "today",
    "yesterday",
    "this",
    "month",
    "lifetime",
    "each",
    "of",
    "and",
    "or",
    "not",
    "(",
    ")",
    "+",
    "-",
    "*",
    "/",
    ">",
    ">=",
    "<",
    "=",
    "!=",
    "5",
    "0",
    "366",
    "2.5",
    "20%",
    "10 EUR",
    "3 USD",
    "USD",
    "\n",
    "# c\n",
    "99999999999999999999999999999999",
    "é",
    "\"",
    "ad",
    "ads",
    "groups",
    "sets",
    "group",
    "hour",
    "day",
    "week",
    "weekend",
    "friday",
    "bid",
    "times",
    "campaign",
    "paused",
    "by",
    "any",
    "removed",
    "id",
    "=>",
    "==",
    "UDS",
    "days_left",
    "days_left_in_month",
    "budget_remaining",
    "purchase_roas",
    "lifetime_budget",
];

const BASE: &str = "rule \"a\"\n  for campaigns on google where name contains \"P\"\n  when cpa > 50 on each of last 3 days and clicks in last 7 days >= 100\n  then increase budget by 20% up to 500 and notify \"o@a.test\"\n  check every 15 minutes\n  at most once per 3 days\n";

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..60).prop_map(|t| t.join(" "))
}

fn mutated_base() -> impl Strategy<Value = String> {
    (0..BASE.len(), 0..3usize, any::<char>()).prop_map(|(i, kind, c)| {
        let mut s = BASE.to_string();
        let i = (0..=i).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        match kind {
            0 => {
                s.remove(i);
            }
            1 => s.insert(i, c),
            _ => s.truncate(i),
        }
        s
    })
}

fn facts() -> CampaignFacts {
    let mut totals = HashMap::new();
    for k in 0..400 {
        totals.insert(
            WindowKey::Day(k),
            Totals {
                impressions: 10,
                clicks: 1,
                spend_micros: 5_000_000,
                ..Totals::default()
            },
        );
    }
    CampaignFacts {
        platform: Platform::Google,
        account_id: "1".into(),
        currency: "USD".parse().expect("usd"),
        campaign_id: "c".into(),
        name: "P".into(),
        status: CampaignStatus::Active,
        daily_budget: Money::new(50_000_000, "USD".parse().expect("usd")),
        totals: totals.clone(),
        // Version 2 paths too: a clock, parents and an account, a bid and a lifetime budget.
        details: ObjectDetails {
            clock: Some(Clock {
                today: NaiveDate::from_ymd_opt(2026, 3, 10).expect("date"),
                hour: 21,
                weekday: chrono::Weekday::Tue,
            }),
            bid: Some(Money::new(1_500_000, "USD".parse().expect("usd"))),
            lifetime_budget: Some(Money::new(900_000_000, "USD".parse().expect("usd"))),
            campaign: Some(Box::new(ParentFigures {
                totals: totals.clone(),
                ..ParentFigures::default()
            })),
            account: Some(Box::new(ParentFigures {
                totals,
                ..ParentFigures::default()
            })),
            ..ObjectDetails::default()
        },
    }
}

fn holds_for(src: &str) -> Result<(), TestCaseError> {
    let checked = check(src);
    let lines = src.lines().count().max(1);
    for d in &checked.diagnostics {
        prop_assert!(
            d.line >= 1 && d.line <= lines + 1 && d.col >= 1,
            "{d:?} in {src:?}"
        );
        let _ = d.render("f", src);
    }
    if checked.has_errors() {
        return Ok(());
    }
    let text = format_rules(&checked.rules);
    let again = check(&text);
    prop_assert!(!again.has_errors(), "{:?}\n{text}", again.diagnostics);
    prop_assert_eq!(&again.rules, &checked.rules);
    let as_of = NaiveDate::from_ymd_opt(2026, 3, 10).expect("date");
    for rule in &checked.rules {
        let _ = rule.required_windows();
        let _ = rule.live_blocker();
        let mut f = facts();
        // Every level, so scoped rules of each level are evaluated too.
        for level in [Level::Campaign, Level::AdGroup, Level::Ad] {
            f.details.level = Some(level);
            f.details.ad_group_id = Some("g".into());
            f.details.ad_id = Some("a".into());
            let _ = evaluate(rule, &f, as_of, Detail::Always);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn token_soup_never_panics(src in token_soup()) {
        holds_for(&src)?;
    }

    #[test]
    fn mutated_rules_never_panic(src in mutated_base()) {
        holds_for(&src)?;
    }

    #[test]
    fn any_text_never_panics(src in "\\PC{0,80}") {
        holds_for(&src)?;
    }
}

#[test]
fn the_largest_accepted_nesting_formats_and_evaluates() {
    let src = format!(
        "rule \"deep\" when {}{}spend > 1{}{} then pause",
        "not ".repeat(200),
        "(".repeat(32),
        " and clicks > -----1".repeat(9),
        ")".repeat(32)
    );
    let checked = check(&src);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    holds_for(&src).expect("holds");
}
