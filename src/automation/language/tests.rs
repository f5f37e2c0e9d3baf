//! The contract (../shared/rules-language.md): what parses, what it means, what is rejected.

use chrono::NaiveTime;
use rust_decimal::Decimal;

use super::ast::*;
use super::checker::check_name_available;
use super::conflicts::{ConflictKind, conflicts};
use super::format::format_rules;
use super::{Diagnostic, Severity, check, check_single};
use crate::types::Platform;

const EXAMPLES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/rules/contract_examples.rules"
));

fn rules(src: &str) -> Vec<Rule> {
    let checked = check(src);
    assert!(
        !checked.has_errors(),
        "unexpected errors: {:#?}",
        checked.diagnostics
    );
    checked.rules
}

fn one(src: &str) -> Rule {
    let mut r = rules(src);
    assert_eq!(r.len(), 1);
    r.remove(0)
}

/// The single error of `src`.
fn error(src: &str) -> Diagnostic {
    let errors: Vec<Diagnostic> = check(src)
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    errors.into_iter().next().expect("one error")
}

fn warnings(src: &str) -> Vec<Diagnostic> {
    let checked = check(src);
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    checked.warnings().cloned().collect()
}

fn at(d: &Diagnostic) -> (usize, usize) {
    (d.line, d.col)
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn cmp(c: &Cond) -> &Comparison {
    match c {
        Cond::Cmp(c) => c,
        other => panic!("not a comparison: {other:?}"),
    }
}

fn metric(e: &Expr) -> (Metric, Option<Window>) {
    match e {
        Expr::Metric(m) => (m.metric, m.window),
        other => panic!("not a metric: {other:?}"),
    }
}

fn last(n: u32) -> Window {
    Window::Last(DayCount {
        n,
        pos: Pos::default(),
    })
}

// ---- the examples ------------------------------------------------------------------------

#[test]
fn every_contract_example_parses_with_only_the_expected_conflict_warning() {
    let checked = check(EXAMPLES);
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    let names: Vec<&str> = checked.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Stop losers",
            "Scale winners",
            "Spend guard",
            "Fading ROAS",
            "EUR cap"
        ]
    );
    // "Scale winners" raises every campaign's budget, "EUR cap" lowers some: they can fight.
    let warnings: Vec<&Diagnostic> = checked.warnings().collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0]
            .message
            .contains("\"Scale winners\" and \"EUR cap\" can undo each other"),
        "{}",
        warnings[0].message
    );
}

#[test]
fn stop_losers_means_cpa_on_each_day_and_a_click_guard() {
    let r = &rules(EXAMPLES)[0];
    let scope = r.scope.as_ref().expect("scope");
    assert_eq!(scope.platforms, [Platform::Google, Platform::Meta]);
    assert_eq!(
        scope.filter,
        Some(Filter::Name(NameFilter::Contains("Prospecting".into())))
    );
    let Cond::And(a, b) = &r.condition else {
        panic!("expected and: {:?}", r.condition)
    };
    let a = cmp(a);
    assert_eq!(metric(&a.left), (Metric::Cpa, None));
    assert_eq!(a.op, CmpOp::Gt);
    assert_eq!(a.each_days.map(|d| d.n), Some(3));
    let b = cmp(b);
    assert_eq!(metric(&b.left), (Metric::Clicks, Some(last(7))));
    assert_eq!(b.op, CmpOp::Ge);
    assert_eq!(r.actions, [Action::Pause]);
    assert_eq!(
        r.notify,
        [NotifyTarget::Email {
            address: "ops@acme.test".into(),
            pos: Pos::default()
        }]
    );
    assert_eq!(r.schedule(), Schedule::EveryMinutes(15));
    assert_eq!(r.cooldown_minutes(), Some(24 * 60));
}

#[test]
fn scale_winners_increases_by_a_percentage_with_a_cap_and_a_three_day_cooldown() {
    let r = &rules(EXAMPLES)[1];
    assert_eq!(r.scope, None);
    let Action::ChangeBudget(c) = &r.actions[0] else {
        panic!("{:?}", r.actions)
    };
    assert_eq!(c.direction, Direction::Increase);
    assert_eq!((c.by.value, c.by.unit), (dec("20"), Unit::Percent));
    let cap = c.cap.as_ref().expect("cap");
    let Expr::Lit(amount) = &cap.amount else {
        panic!("{cap:?}")
    };
    assert_eq!((cap.kind, amount.value), (CapKind::UpTo, dec("500")));
    assert_eq!(r.cooldown_minutes(), Some(3 * 24 * 60));
    assert_eq!(r.schedule(), Schedule::EveryMinutes(15));
}

#[test]
fn spend_guard_compares_today_with_a_multiple_of_the_budget() {
    let r = &rules(EXAMPLES)[2];
    let c = cmp(&r.condition);
    assert_eq!(metric(&c.left), (Metric::Spend, Some(Window::Today)));
    let Expr::Bin(BinOp::Mul, k, b) = &c.right else {
        panic!("{:?}", c.right)
    };
    assert!(matches!(&**k, Expr::Lit(l) if l.value == dec("1.5")));
    assert_eq!(metric(b), (Metric::DailyBudget, None));
    assert_eq!(r.actions.len(), 2);
    assert!(
        matches!(&r.actions[1], Action::Notify(NotifyTarget::Webhook { url, .. }) if url == "https://hooks.example.com/adpilot")
    );
    // Pause/notify rules have no default cooldown.
    assert_eq!(r.cooldown_minutes(), None);
}

#[test]
fn fading_roas_compares_two_periods_and_runs_daily() {
    let r = &rules(EXAMPLES)[3];
    let c = cmp(&r.condition);
    assert_eq!(metric(&c.left), (Metric::Roas, Some(last(7))));
    let Expr::Bin(BinOp::Mul, _, prev) = &c.right else {
        panic!("{:?}", c.right)
    };
    assert_eq!(
        metric(prev),
        (
            Metric::Roas,
            Some(Window::Previous(DayCount {
                n: 7,
                pos: Pos::default()
            }))
        )
    );
    assert_eq!(
        r.schedule(),
        Schedule::DailyAt(NaiveTime::from_hms_opt(9, 0, 0).expect("time"))
    );
}

#[test]
fn eur_cap_groups_the_or_and_negates_only_the_conversions_test() {
    let r = &rules(EXAMPLES)[4];
    let filter = r.scope.as_ref().and_then(|s| s.filter.clone());
    assert_eq!(
        filter,
        Some(Filter::And(
            Box::new(Filter::Status(CampaignStatus::Active)),
            Box::new(Filter::Account("1234567890".into()))
        ))
    );
    let Cond::And(or, not) = &r.condition else {
        panic!("{:?}", r.condition)
    };
    let Cond::Or(spend, cpc) = &**or else {
        panic!("{or:?}")
    };
    assert_eq!(
        cmp(spend).right,
        Expr::Lit(Literal {
            value: dec("200"),
            unit: Unit::Currency("EUR".parse().expect("eur")),
            pos: Pos::default()
        })
    );
    assert_eq!(
        metric(&cmp(cpc).left),
        (Metric::Cpc, Some(Window::Yesterday))
    );
    let Cond::Not(inner) = &**not else {
        panic!("{not:?}")
    };
    assert_eq!(
        metric(&cmp(inner).left),
        (Metric::Conversions, Some(Window::Yesterday))
    );
    let Action::ChangeBudget(c) = &r.actions[0] else {
        panic!("{:?}", r.actions)
    };
    assert_eq!(c.direction, Direction::Decrease);
    let cap = c.cap.as_ref().expect("cap");
    assert_eq!(cap.kind, CapKind::DownTo);
    let Expr::Lit(amount) = &cap.amount else {
        panic!("{cap:?}")
    };
    assert_eq!(amount.currency().map(|c| c.to_string()), Some("EUR".into()));
    // Budget changes cool down for 24 hours by default.
    assert_eq!(r.cooldown_minutes(), Some(24 * 60));
}

// ---- syntax details ----------------------------------------------------------------------

#[test]
fn keywords_ignore_case_and_comments_run_to_the_end_of_the_line() {
    let r = one(
        "# leading comment\nRULE \"Loud\" # trailing\n  FOR Campaigns ON Google WHERE Name Contains \"x\"\n  WHEN CPA In Last 3 Days > 5 # why\n  AND Clicks In Last 3 Days >= 10\n  THEN Pause\n",
    );
    assert_eq!(r.name, "Loud");
    assert_eq!(r.scope.map(|s| s.platforms), Some(vec![Platform::Google]));
    let Cond::And(a, _) = &r.condition else {
        panic!()
    };
    assert_eq!(metric(&cmp(a).left), (Metric::Cpa, Some(last(3))));
}

#[test]
fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
    let r = one("rule \"p\" when not clicks > 1 and spend > 2 or revenue > 3 then pause");
    let Cond::Or(left, right) = &r.condition else {
        panic!("{:?}", r.condition)
    };
    let Cond::And(not, spend) = &**left else {
        panic!("{left:?}")
    };
    assert!(matches!(&**not, Cond::Not(c) if metric(&cmp(c).left).0 == Metric::Clicks));
    assert_eq!(metric(&cmp(spend).left).0, Metric::Spend);
    assert_eq!(metric(&cmp(right).left).0, Metric::Revenue);
}

#[test]
fn multiplication_binds_tighter_than_addition_and_minus_is_left_associative() {
    let r = one("rule \"p\" when spend - clicks - 1 > 2 + 3 * revenue then pause");
    let c = cmp(&r.condition);
    let Expr::Bin(BinOp::Sub, inner, one) = &c.left else {
        panic!("{:?}", c.left)
    };
    assert!(matches!(&**inner, Expr::Bin(BinOp::Sub, _, _)));
    assert!(matches!(&**one, Expr::Lit(_)));
    let Expr::Bin(BinOp::Add, _, mul) = &c.right else {
        panic!("{:?}", c.right)
    };
    assert!(matches!(&**mul, Expr::Bin(BinOp::Mul, _, _)));
}

#[test]
fn percentages_are_fractions_and_every_window_form_parses() {
    let r = one(
        "rule \"w\" when ctr < 0.8% and spend this month > 1 and spend lifetime > 1 and cvr yesterday >= 2% then notify \"a@b.test\"",
    );
    let comparisons = r.comparisons();
    let Expr::Lit(l) = &comparisons[0].right else {
        panic!()
    };
    assert_eq!(l.number(), dec("0.008"));
    assert_eq!(metric(&comparisons[1].left).1, Some(Window::ThisMonth));
    assert_eq!(metric(&comparisons[2].left).1, Some(Window::Lifetime));
}

#[test]
fn every_filter_form_parses() {
    let r = one(
        "rule \"f\" for campaigns where (name starts with \"Br\" or name ends with \"X\") and not name matches \"^T[0-9]+\" and platform is meta and status is paused when clicks > 0 then resume",
    );
    let Some(Filter::And(left, platform_and_status)) = r.scope.and_then(|s| s.filter) else {
        panic!("expected and")
    };
    assert_eq!(*platform_and_status, Filter::Status(CampaignStatus::Paused));
    let Filter::And(left, platform) = *left else {
        panic!()
    };
    assert_eq!(*platform, Filter::Platform(Platform::Meta));
    let Filter::And(or, not) = *left else {
        panic!()
    };
    assert!(matches!(*or, Filter::Or(_, _)));
    assert!(
        matches!(*not, Filter::Not(f) if matches!(&*f, Filter::Name(NameFilter::Matches(p)) if p.source() == "^T[0-9]+"))
    );
}

#[test]
fn an_invalid_regex_is_rejected_where_it_is_written() {
    let d = error(
        "rule \"a\"\n  for campaigns where name matches \"(unclosed\"\n  when spend > 1 then pause\n",
    );
    assert_eq!(at(&d), (2, 36));
    assert_eq!(d.message, "this is not a valid regular expression");
}

// ---- bad input: syntax -------------------------------------------------------------------

#[test]
fn a_missing_window_word_says_what_a_window_looks_like() {
    let src = "rule \"a\"\n  when roas in 7 days > 4\n  then pause\n";
    let d = error(src);
    assert_eq!(at(&d), (2, 16));
    assert_eq!(
        d.message,
        "expected a window such as \"in last 7 days\", found \"7\""
    );
    assert_eq!(
        d.render("a.rules", src),
        "a.rules:2:16: error: expected a window such as \"in last 7 days\", found \"7\"\n  when roas in 7 days > 4\n               ^\nhelp: after \"in\" write \"last N days\" or \"previous N days\"\n"
    );
}

#[test]
fn an_unknown_action_lists_the_actions() {
    let d = error("rule \"a\"\n  when cpa > 5\n  then stop\n");
    assert_eq!(at(&d), (3, 8));
    assert_eq!(d.message, "expected an action, found \"stop\"");
    assert!(
        d.help
            .as_deref()
            .is_some_and(|h| h.contains("increase budget by"))
    );
}

#[test]
fn a_rule_without_then_says_so() {
    let d = error("rule \"a\"\n  when cpa > 5\n");
    assert_eq!(at(&d), (2, 15));
    assert!(d.message.starts_with("expected \"then\""), "{}", d.message);
    assert!(
        d.message.ends_with("found the end of the file"),
        "{}",
        d.message
    );
}

#[test]
fn a_metric_without_a_comparison_asks_for_one() {
    let d = error("rule \"a\" when cpa then pause");
    assert_eq!(at(&d), (1, 19));
    assert!(
        d.message.contains("comparison such as \"> 50\""),
        "{}",
        d.message
    );
}

// ---- bad input: the checker --------------------------------------------------------------

#[test]
fn an_unknown_metric_suggests_the_closest_name() {
    let src = "rule \"a\"\n  when conversion in last 7 days > 5\n  then pause\n";
    let d = error(src);
    assert_eq!(at(&d), (2, 8));
    assert_eq!(d.message, "unknown metric \"conversion\"");
    assert_eq!(d.help.as_deref(), Some("did you mean \"conversions\"?"));
}

#[test]
fn a_window_on_daily_budget_is_rejected() {
    let d = error("rule \"a\"\n  when spend today > daily_budget yesterday\n  then pause\n");
    assert_eq!(at(&d), (2, 22));
    assert_eq!(d.message, "daily_budget takes no window");
}

#[test]
fn on_each_of_around_a_comparison_without_a_metric_is_rejected() {
    let d = error("rule \"a\"\n  when 5 > 3 on each of last 3 days\n  then pause\n");
    assert_eq!(at(&d), (2, 8));
    assert_eq!(d.message, "\"on each of\" needs a metric in its comparison");
}

#[test]
fn day_counts_must_be_between_1_and_365() {
    let d = error("rule \"a\"\n  when spend in last 0 days > 3\n  then pause\n");
    assert_eq!(at(&d), (2, 22));
    assert_eq!(
        d.message,
        "the number of days must be between 1 and 365, not 0"
    );
    let d = error("rule \"a\"\n  when cpa > 3 on each of last 366 days\n  then pause\n");
    assert_eq!(at(&d), (2, 32));
    assert_eq!(
        d.message,
        "the number of days must be between 1 and 365, not 366"
    );
    let d = error("rule \"a\" when spend in previous 400 days > 3 then pause");
    assert_eq!(at(&d), (1, 33));
}

#[test]
fn checking_more_often_than_every_5_minutes_is_rejected() {
    let d = error("rule \"a\"\n  when spend > 3\n  then pause\n  check every 4 minutes\n");
    assert_eq!(at(&d), (4, 15));
    assert_eq!(d.message, "rules are checked at most every 5 minutes");
    // 5 minutes and whole hours are fine.
    rules("rule \"a\" when spend > 3 then pause check every 5 minutes");
    rules("rule \"a\" when spend > 3 then pause check every 1 hour");
}

#[test]
fn up_to_on_a_decrease_and_down_to_on_an_increase_are_rejected() {
    let d = error("rule \"a\"\n  when spend > 3\n  then decrease budget by 10% up to 50\n");
    assert_eq!(at(&d), (3, 31));
    assert_eq!(d.message, "\"up to\" limits an increase, not a decrease");
    let d = error("rule \"a\"\n  when spend > 3\n  then increase budget by 10 down to 50\n");
    assert_eq!(at(&d), (3, 30));
    assert_eq!(d.message, "\"down to\" limits a decrease, not an increase");
}

#[test]
fn two_currencies_in_one_comparison_are_rejected() {
    let d = error("rule \"a\"\n  when spend yesterday > 200 EUR + 5 USD\n  then pause\n");
    assert_eq!(at(&d), (2, 36));
    assert_eq!(d.message, "this comparison mixes EUR and USD");
}

#[test]
fn a_rule_name_used_twice_in_a_file_is_rejected_at_the_second_use() {
    let d = error(
        "rule \"Twice\" when spend > 1 then pause\n\nrule \"twice\"\n  when clicks > 1 then notify \"a@b.test\"\n",
    );
    assert_eq!(at(&d), (3, 6));
    assert_eq!(d.message, "a rule named \"twice\" is already defined");
    assert_eq!(
        d.help.as_deref(),
        Some("the first one is on line 1; rule names must be unique")
    );
}

#[test]
fn a_rule_name_taken_in_the_organization_is_rejected() {
    let r = one("rule \"Stop losers\" when clicks > 1 then notify \"a@b.test\"");
    let d = check_name_available(&r, ["Other", "stop LOSERS "]).expect("taken");
    assert_eq!(at(&d), (1, 6));
    assert_eq!(
        d.message,
        "a rule named \"Stop losers\" already exists in this organization"
    );
    assert!(check_name_available(&r, ["Other"]).is_none());
}

#[test]
fn several_errors_are_reported_together_in_source_order() {
    let checked = check(
        "rule \"a\"\n  when cpx > 3 and spend in last 0 days > 1\n  then increase budget by 5% down to 3\n  check every 1 minutes\n",
    );
    let positions: Vec<(usize, usize)> = checked.diagnostics.iter().map(at).collect();
    assert_eq!(positions, [(2, 8), (2, 34), (3, 30), (4, 15)]);
}

#[test]
fn check_single_wants_exactly_one_rule() {
    assert!(!check_single("rule \"a\" when spend > 1 then pause").has_errors());
    let two =
        check_single("rule \"a\" when spend > 1 then pause rule \"b\" when spend > 1 then resume");
    assert!(two.has_errors());
    assert!(check_single("# nothing\n").has_errors());
}

// ---- warnings ----------------------------------------------------------------------------

#[test]
fn pausing_on_cpa_without_a_minimum_data_guard_warns() {
    let w = warnings("rule \"a\"\n  when cpa in last 7 days > 50\n  then pause\n");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].severity, Severity::Warning);
    assert_eq!(at(&w[0]), (2, 8));
    assert_eq!(
        w[0].message,
        "this rule pauses on cpa without a minimum-data guard"
    );
    assert!(
        warnings("rule \"a\" when cpc > 2 and clicks in last 7 days >= 100 then pause").is_empty()
    );
    // A guard only in one branch of an `or` does not guard.
    assert_eq!(
        warnings("rule \"a\" when cpc > 2 or clicks > 100 then pause").len(),
        1
    );
    // Notifying is harmless.
    assert!(warnings("rule \"a\" when cpa > 50 then notify \"a@b.test\"").is_empty());
}

#[test]
fn rules_that_undo_each_other_warn_over_overlapping_scopes_only() {
    let src = "rule \"off\" for campaigns on google when spend > 100 then pause\n\
               rule \"on\" for campaigns where status is paused when spend < 10 then resume\n\
               rule \"on meta\" for campaigns on meta when spend < 10 then resume\n\
               rule \"down\" for campaigns where account is \"1\" when spend > 1 then decrease budget by 10%\n\
               rule \"up\" for campaigns where account is \"2\" when spend > 1 then increase budget by 10%\n";
    let rs = rules(src);
    let found: Vec<(usize, usize, ConflictKind)> = conflicts(&rs)
        .into_iter()
        .map(|c| (c.first, c.second, c.kind))
        .collect();
    assert_eq!(found, [(0, 1, ConflictKind::PauseResume)]);
    let w = warnings(src);
    assert_eq!(w.len(), 1);
    assert_eq!(at(&w[0]), (2, 6));
}

#[test]
fn comparing_ctr_with_a_whole_number_suggests_a_percentage() {
    let w = warnings("rule \"a\" when ctr < 2 then notify \"a@b.test\"");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].help.as_deref(), Some("did you mean 2%?"));
}

// ---- formatting --------------------------------------------------------------------------

#[test]
fn formatting_the_examples_gives_canonical_text_that_parses_to_the_same_rules() {
    let parsed = rules(EXAMPLES);
    let text = format_rules(&parsed);
    assert_eq!(rules(&text), parsed);
    assert!(text.starts_with(
        "rule \"Stop losers\"\n  for campaigns on google, meta where name contains \"Prospecting\"\n  when cpa > 50 on each of last 3 days and clicks in last 7 days >= 100\n  then pause\n  notify \"ops@acme.test\"\n  check every 15 minutes\n  at most once per 24 hours\n"
    ), "{text}");
    assert!(text.contains(
        "  when (spend yesterday > 200 EUR or cpc yesterday > 3 EUR) and not conversions yesterday > 0\n  then decrease budget by 25% down to 20 EUR\n"
    ), "{text}");
}

#[test]
fn formatting_keeps_parentheses_the_tree_needs() {
    let r = one(
        "rule \"p\" when not (clicks > 1 or spend > 2) and (revenue - (spend - clicks)) * 2 > -(3 + 1) then pause and resume",
    );
    let text = r.to_string();
    assert!(
        text.contains(
            "when not (clicks > 1 or spend > 2) and (revenue - (spend - clicks)) * 2 > -(3 + 1)"
        ),
        "{text}"
    );
    assert_eq!(one(&text), r);
}

mod roundtrip {
    use proptest::prelude::*;

    use super::*;
    use crate::types::Currency;

    fn p() -> Pos {
        Pos::default()
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["EUR", "USD", "JPY"]).prop_map(|c| c.parse().expect("currency"))
    }

    fn literal() -> impl Strategy<Value = Literal> {
        let unit = prop_oneof![
            Just(Unit::Plain),
            Just(Unit::Percent),
            currency().prop_map(Unit::Currency)
        ];
        (0i64..10_000_000, 0u32..5, unit).prop_map(|(n, scale, unit)| Literal {
            value: Decimal::new(n, scale),
            unit,
            pos: p(),
        })
    }

    fn days() -> impl Strategy<Value = DayCount> {
        (0u32..1000).prop_map(|n| DayCount { n, pos: p() })
    }

    fn window() -> impl Strategy<Value = Window> {
        prop_oneof![
            Just(Window::Today),
            Just(Window::Yesterday),
            days().prop_map(Window::Last),
            days().prop_map(Window::Previous),
            Just(Window::ThisMonth),
            Just(Window::Lifetime),
        ]
    }

    fn expr() -> impl Strategy<Value = Expr> {
        let parent = prop_oneof![
            Just(Parent::Campaign),
            Just(Parent::AdGroup(AdGroupWord::Group)),
            Just(Parent::AdGroup(AdGroupWord::Set)),
            Just(Parent::Account),
        ];
        let metric = (
            prop::option::of(parent),
            prop::sample::select(Metric::ALL.to_vec()),
            prop::option::of(window()),
        )
            .prop_map(|(of, metric, window)| {
                Expr::Metric(MetricRef {
                    of,
                    metric,
                    window,
                    pos: p(),
                })
            });
        let leaf = prop_oneof![
            4 => literal().prop_map(Expr::Lit),
            4 => metric,
            1 => Just(Expr::HourOfDay(p())),
        ];
        leaf.prop_recursive(4, 24, 2, |inner| {
            let op = prop::sample::select(vec![BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div]);
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Neg(Box::new(e))),
                (op, inner.clone(), inner).prop_map(|(op, a, b)| Expr::Bin(
                    op,
                    Box::new(a),
                    Box::new(b)
                )),
            ]
        })
    }

    fn cond() -> impl Strategy<Value = Cond> {
        let op = prop::sample::select(vec![
            CmpOp::Gt,
            CmpOp::Ge,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Eq,
            CmpOp::Ne,
        ]);
        let leaf = (expr(), op, expr(), prop::option::of(days())).prop_map(
            |(left, op, right, each_days)| {
                Cond::Cmp(Comparison {
                    left,
                    op,
                    right,
                    each_days,
                    pos: p(),
                })
            },
        );
        let days = prop::collection::vec(
            prop::sample::select(DaySpec::NAMES.to_vec())
                .prop_map(|n| DaySpec::from_name(n).expect("day")),
            1..4,
        )
        .prop_map(|days| Cond::DayOfWeek(DayOfWeek { days, pos: p() }));
        let leaf = prop_oneof![4 => leaf, 1 => days];
        leaf.prop_recursive(3, 12, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
            ]
        })
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 _.#@/:\"\\\\-]{0,12}"
    }

    fn filter() -> impl Strategy<Value = Filter> {
        let name = prop_oneof![
            text().prop_map(NameFilter::Contains),
            text().prop_map(NameFilter::StartsWith),
            text().prop_map(NameFilter::EndsWith),
            prop::sample::select(vec!["^Brand", "(?i)promo", "[0-9]+\\d$", "a\"b"])
                .prop_map(|s| NameFilter::Matches(Pattern::new(s).expect("regex"))),
        ];
        let word = prop::sample::select(vec![AdGroupWord::Group, AdGroupWord::Set]);
        let paused_by = prop_oneof![
            Just(PausedBy::ThisRule),
            Just(PausedBy::AnyRule),
            text().prop_map(PausedBy::Rule),
        ];
        let leaf = prop_oneof![
            name.clone().prop_map(Filter::Name),
            prop::sample::select(vec![
                CampaignStatus::Active,
                CampaignStatus::Paused,
                CampaignStatus::Removed
            ])
            .prop_map(Filter::Status),
            text().prop_map(Filter::Account),
            prop::sample::select(Platform::ALL.to_vec()).prop_map(Filter::Platform),
            text().prop_map(Filter::Id),
            name.clone().prop_map(Filter::CampaignName),
            text().prop_map(Filter::Campaign),
            (word.clone(), name).prop_map(|(w, n)| Filter::AdGroupName(w, n)),
            (word, text()).prop_map(|(w, t)| Filter::AdGroup(w, t)),
            paused_by.prop_map(Filter::PausedBy),
        ];
        leaf.prop_recursive(3, 8, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            ]
        })
    }

    fn notify() -> impl Strategy<Value = NotifyTarget> {
        prop_oneof![
            text().prop_map(|address| NotifyTarget::Email { address, pos: p() }),
            text().prop_map(|url| NotifyTarget::Webhook { url, pos: p() }),
        ]
    }

    fn action() -> impl Strategy<Value = Action> {
        let cap = prop::option::of(
            (
                prop::sample::select(vec![CapKind::UpTo, CapKind::DownTo]),
                expr(),
            )
                .prop_map(|(kind, amount)| Cap {
                    kind,
                    amount,
                    pos: p(),
                }),
        )
        .boxed();
        let set = (expr(), cap.clone())
            .prop_map(|(to, cap)| SetTo { to, cap, pos: p() })
            .boxed();
        let change = (
            prop::sample::select(vec![Direction::Increase, Direction::Decrease]),
            literal(),
            cap,
        )
            .prop_map(|(direction, by, cap)| BudgetChange {
                direction,
                by,
                cap,
                pos: p(),
            })
            .boxed();
        prop_oneof![
            Just(Action::Pause),
            Just(Action::Resume),
            set.clone().prop_map(Action::SetBudget),
            change.clone().prop_map(Action::ChangeBudget),
            set.prop_map(Action::SetBid),
            change.prop_map(Action::ChangeBid),
            notify().prop_map(Action::Notify),
        ]
    }

    fn interval() -> impl Strategy<Value = Interval> {
        (
            0u32..5000,
            prop::sample::select(vec![TimeUnit::Minutes, TimeUnit::Hours, TimeUnit::Days]),
        )
            .prop_map(|(n, unit)| Interval { n, unit, pos: p() })
    }

    fn check_line() -> impl Strategy<Value = Check> {
        prop_oneof![
            interval().prop_map(Check::Every),
            (0u32..24, 0u32..60).prop_map(|(h, m)| Check::DailyAt {
                time: NaiveTime::from_hms_opt(h, m, 0).expect("time"),
                pos: p()
            }),
        ]
    }

    fn scope() -> impl Strategy<Value = Scope> {
        (
            prop::sample::select(vec![
                LevelWord::Campaigns,
                LevelWord::AdGroups,
                LevelWord::AdSets,
                LevelWord::Ads,
            ]),
            prop::collection::vec(prop::sample::select(Platform::ALL.to_vec()), 0..3),
            prop::option::of(filter()),
        )
            .prop_map(|(level, platforms, filter)| Scope {
                level,
                level_pos: p(),
                platforms,
                filter,
            })
    }

    fn rule() -> impl Strategy<Value = Rule> {
        (
            text(),
            prop::option::of(scope()),
            prop::option::of(cond()),
            prop::collection::vec(action(), 1..4),
            prop::collection::vec(notify(), 0..3),
            prop::option::of(check_line()),
            prop::option::of(interval()),
            prop::option::of(
                (0u32..50, prop::option::of(interval())).prop_map(|(n, per)| TimesLimit {
                    n,
                    per,
                    pos: p(),
                }),
            ),
        )
            .prop_map(
                |(name, scope, condition, actions, notify, check, cooldown, times)| Rule {
                    name,
                    pos: p(),
                    name_pos: p(),
                    scope,
                    condition: condition.unwrap_or(Cond::Always),
                    actions,
                    notify,
                    check,
                    // The grammar has one "at most" line.
                    cooldown: if times.is_some() { None } else { cooldown },
                    times,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn parse_format_parse_gives_the_same_tree(rs in prop::collection::vec(rule(), 1..3)) {
            let text = format_rules(&rs);
            let parsed = crate::automation::language::parser::parse(&text);
            prop_assert_eq!(parsed.as_ref().map_err(|d| format!("{d:?}\n{text}")), Ok(&rs));
            let again = format_rules(&parsed.unwrap_or_default());
            prop_assert_eq!(again, text);
        }
    }
}

#[test]
fn other_mistakes_are_rejected_where_they_are_written() {
    let src = "rule \"a\"\n  when spend > 1\n  then set budget to 20% and notify \"nobody\" and notify webhook \"ftp://x\"\n  check every 2 days\n  at most once per 0 hours\n";
    let checked = check(src);
    let errors: Vec<((usize, usize), &str)> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (at(d), d.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            ((3, 22), "a budget is an amount, not a percentage"),
            ((3, 37), "\"nobody\" is not an email address"),
            ((3, 65), "\"ftp://x\" is not an http(s) URL"),
            ((4, 15), "check every takes minutes or hours"),
            ((5, 20), "the cooldown must be at least 1"),
        ]
    );
}

#[test]
fn check_daily_at_needs_a_real_time() {
    let d = error("rule \"a\" when spend > 1 then pause\n  check daily at 24:30\n");
    assert_eq!(at(&d), (2, 18));
    assert_eq!(d.message, "this is not a time of day");
}
