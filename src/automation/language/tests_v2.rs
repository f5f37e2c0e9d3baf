//! Version 2 of the contract (../shared/rules-language.md): what parses and what it means, and
//! every item of "Bad input added", case by case, with its position and fix.

use super::ast::*;
use super::conflicts::{ConflictKind, conflicts};
use super::format::format_rules;
use super::{Diagnostic, Severity, check};

const V2_EXAMPLES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/rules/v2/contract_v2_examples.rules"
));

fn rules(src: &str) -> Vec<Rule> {
    let checked = check(src);
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    checked.rules
}

fn one(src: &str) -> Rule {
    let mut r = rules(src);
    assert_eq!(r.len(), 1);
    r.remove(0)
}

/// The only error of `src`.
fn error(src: &str) -> Diagnostic {
    let errors: Vec<Diagnostic> = check(src)
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    assert_eq!(errors.len(), 1, "{src}: {errors:#?}");
    errors.into_iter().next().expect("one error")
}

fn warnings(src: &str) -> Vec<Diagnostic> {
    let checked = check(src);
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    checked
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect()
}

/// Line, column, message and help of a diagnostic.
fn parts(d: &Diagnostic) -> (usize, usize, &str, &str) {
    (
        d.line,
        d.col,
        d.message.as_str(),
        d.help.as_deref().unwrap_or(""),
    )
}

// ---- what parses, what it means -------------------------------------------------------

#[test]
fn every_version_2_example_of_the_contract_parses_and_formats_to_the_same_rules() {
    let parsed = rules(V2_EXAMPLES);
    assert_eq!(parsed.len(), 9);
    let text = format_rules(&parsed);
    assert_eq!(rules(&text), parsed, "{text}");
}

#[test]
fn levels_ad_groups_and_ad_sets_are_one_level_but_keep_their_word() {
    let levels: Vec<(Level, LevelWord)> = rules(
        "rule \"a\" for campaigns then pause\n\
         rule \"b\" for ad groups then pause\n\
         rule \"c\" for AD SETS then pause\n\
         rule \"d\" for ads on meta then pause\n\
         rule \"e\" then notify \"a@b.test\"\n",
    )
    .iter()
    .map(|r| (r.level(), r.level_word()))
    .collect();
    assert_eq!(
        levels,
        [
            (Level::Campaign, LevelWord::Campaigns),
            (Level::AdGroup, LevelWord::AdGroups),
            (Level::AdGroup, LevelWord::AdSets),
            (Level::Ad, LevelWord::Ads),
            (Level::Campaign, LevelWord::Campaigns),
        ]
    );
}

#[test]
fn a_rule_without_when_acts_on_every_object_in_scope() {
    let r = one(
        "rule \"Night off\" for ad sets where name contains \"Local\" then pause check daily at 20:00",
    );
    assert_eq!(r.condition, Cond::Always);
    assert_eq!(r.actions, [Action::Pause]);
    assert_eq!(
        r.to_string(),
        "rule \"Night off\"\n  for ad sets where name contains \"Local\"\n  then pause\n  check daily at 20:00\n"
    );
}

#[test]
fn the_new_filters_parse_into_their_own_kinds() {
    let r = one(
        "rule \"a\" for ads where id is \"1\" and campaign name matches \"^B\" and campaign is \"2\" \
         and ad set name ends with \"x\" and ad group is \"3\" and status is removed \
         and (paused by this rule or paused by rule \"Night off\" or paused by any rule) then resume",
    );
    let Some(Filter::And(_, last)) = r.scope.as_ref().and_then(|s| s.filter.clone()) else {
        panic!("{:?}", r.scope)
    };
    let Filter::Or(a, any) = *last else {
        panic!("{last:?}")
    };
    assert_eq!(*any, Filter::PausedBy(PausedBy::AnyRule));
    assert_eq!(
        *a,
        Filter::Or(
            Box::new(Filter::PausedBy(PausedBy::ThisRule)),
            Box::new(Filter::PausedBy(PausedBy::Rule("Night off".into())))
        )
    );
    let text = r.to_string();
    assert!(
        text.contains("id is \"1\" and campaign name matches \"^B\" and campaign is \"2\" and ad set name ends with \"x\" and ad group is \"3\" and status is removed"),
        "{text}"
    );
}

#[test]
fn parent_and_account_prefixes_name_the_same_metric_and_window() {
    let r = one(
        "rule \"a\" for ads when cpa in last 7 days > 2 * campaign cpa in last 7 days \
         and ad set spend today > 1 and account conversions today >= 37 then pause",
    );
    let refs: Vec<(Option<Parent>, Metric, Option<Window>)> = r
        .metric_refs()
        .into_iter()
        .map(|m| (m.of, m.metric, m.window))
        .collect();
    let last7 = |n| {
        Some(Window::Last(DayCount {
            n,
            pos: Pos::default(),
        }))
    };
    assert_eq!(
        refs,
        [
            (None, Metric::Cpa, last7(7)),
            (Some(Parent::Campaign), Metric::Cpa, last7(7)),
            (
                Some(Parent::AdGroup(AdGroupWord::Set)),
                Metric::Spend,
                Some(Window::Today)
            ),
            (
                Some(Parent::Account),
                Metric::Conversions,
                Some(Window::Today)
            ),
        ]
    );
}

#[test]
fn hour_of_day_is_a_value_and_day_of_week_a_condition() {
    let r = one(
        "rule \"a\" when hour of day >= 20 and not day of week is saturday, sunday \
         or day of week is weekday then pause",
    );
    let Cond::Or(a, b) = &r.condition else {
        panic!("{:?}", r.condition)
    };
    let Cond::And(hour, not_weekend) = &**a else {
        panic!("{a:?}")
    };
    assert!(matches!(&**hour, Cond::Cmp(c) if matches!(c.left, Expr::HourOfDay(_))));
    assert!(
        matches!(&**not_weekend, Cond::Not(d) if matches!(&**d, Cond::DayOfWeek(w)
        if w.days == [DaySpec::Day(chrono::Weekday::Sat), DaySpec::Day(chrono::Weekday::Sun)]))
    );
    assert!(matches!(&**b, Cond::DayOfWeek(w) if w.days == [DaySpec::Weekday]));
    assert!(DaySpec::Weekend.holds(chrono::Weekday::Sun));
    assert!(!DaySpec::Weekday.holds(chrono::Weekday::Sat));
}

#[test]
fn bid_actions_and_expressions_in_set_and_limits() {
    let r = one(
        "rule \"a\" for ad groups then set bid to 2 * bid up to 3 and increase bid by 10% up to 2 * bid \
         and set budget to (5000 - spend this month) / days_left_in_month down to 10",
    );
    assert!(
        matches!(&r.actions[0], Action::SetBid(s) if matches!(s.to, Expr::Bin(BinOp::Mul, ..))
        && s.cap.as_ref().is_some_and(|c| c.kind == CapKind::UpTo))
    );
    assert!(
        matches!(&r.actions[1], Action::ChangeBid(c) if c.direction == Direction::Increase
        && c.cap.as_ref().is_some_and(|c| matches!(c.amount, Expr::Bin(..))))
    );
    assert!(
        matches!(&r.actions[2], Action::SetBudget(s) if matches!(s.to, Expr::Bin(BinOp::Div, ..)))
    );
    // The metrics of actions are summed too: "spend this month".
    assert!(
        r.required_windows()
            .contains(&crate::automation::eval::WindowKey::ThisMonth)
    );
}

#[test]
fn at_most_n_times_per_period_and_ever() {
    let r = rules(
        "rule \"a\" then pause at most 3 times per 2 days\n\
         rule \"b\" then pause at most 2 times\n\
         rule \"c\" then pause at most once per 5 hours\n",
    );
    assert_eq!(
        r[0].times.map(|t| (t.n, t.per.map(|p| p.minutes()))),
        Some((3, Some(2880)))
    );
    assert_eq!(r[1].times.map(|t| (t.n, t.per)), Some((2, None)));
    assert_eq!((r[2].times, r[2].cooldown_minutes()), (None, Some(300)));
}

#[test]
fn version_2_words_are_highlighted() {
    let t = crate::automation::highlight::tokens(
        "rule \"a\" for ad sets when hour of day >= 20 and day of week is weekend then set bid to 1",
    );
    let class_of = |s: &str| t.iter().find(|t| t.text == s).map(|t| t.class);
    assert_eq!(class_of("sets"), Some("kw"));
    assert_eq!(class_of("week"), Some("kw"));
    assert_eq!(class_of("weekend"), Some("kw"));
    assert_eq!(class_of("hour"), Some("kw"));
    assert_eq!(class_of("bid"), Some("metric"));
}

// ---- Bad input added: errors, case by case -----------------------------------------------

#[test]
fn a_currency_that_is_not_an_iso_code_names_the_code_meant() {
    let d = error("rule \"a\"\n  when spend today > 200 UDS\n  then pause");
    assert_eq!(
        parts(&d),
        (
            2,
            26,
            "\"UDS\" is not an ISO 4217 currency code",
            "did you mean USD?"
        )
    );
    assert!(
        d.render(
            "f.rules",
            "rule \"a\"\n  when spend today > 200 UDS\n  then pause"
        )
        .contains("  when spend today > 200 UDS\n                         ^\n")
    );
}

#[test]
fn arrow_and_double_equals_comparisons_say_what_to_write() {
    for (op, fix) in [("=>", ">="), ("=<", "<="), ("==", "=")] {
        let d = error(&format!("rule \"a\" when spend {op} 5 then pause"));
        assert_eq!((d.line, d.col), (1, 21), "{op}");
        assert_eq!(d.message, format!("\"{op}\" is not a comparison"));
        assert_eq!(
            d.help.as_deref(),
            Some(format!("write {fix} (comparisons are > >= < <= = !=)").as_str())
        );
    }
}

#[test]
fn a_level_the_platforms_lack_lists_the_levels() {
    let d = error("rule \"a\" for keywords when clicks > 1 then pause");
    assert_eq!(
        parts(&d),
        (
            1,
            14,
            "\"keywords\" is not a level rules can act on",
            "levels are campaigns, ad groups (= ad sets) and ads"
        )
    );
    let d = error("rule \"a\" for adsets then pause");
    assert_eq!(
        d.help.as_deref(),
        Some("did you mean \"ad sets\"? levels are campaigns, ad groups, ad sets, ads")
    );
}

#[test]
fn a_prefix_at_or_below_the_rules_level_is_rejected() {
    let d = error("rule \"a\" for campaigns when cpa > 2 * campaign cpa then pause");
    assert_eq!((d.line, d.col), (1, 39));
    assert_eq!(
        d.message,
        "\"campaign cpa\" in a \"for campaigns\" rule: campaign figures are for rules below that level"
    );
    assert!(d.help.as_deref().is_some_and(|h| h.contains("account cpa")));
    // No scope means campaigns.
    error("rule \"a\" when campaign spend > 1 then pause");
    error("rule \"a\" for ad sets when ad group spend > 1 then pause");
    error("rule \"a\" for campaigns when ad set spend > 1 then pause");
    // Above the level, and the account at every level, are fine.
    rules(
        "rule \"a\" for ads when ad group spend > 1 and campaign spend > 1 and account spend > 1 then pause",
    );
}

#[test]
fn a_window_on_a_no_window_metric_is_rejected() {
    for m in [
        "daily_budget",
        "lifetime_budget",
        "budget_remaining",
        "days_since_created",
        "days_left",
        "days_left_in_month",
    ] {
        let d = error(&format!(
            "rule \"a\" when {m} in last 7 days > 1 then pause"
        ));
        assert_eq!(parts(&d).0..=parts(&d).1, 1..=15, "{m}");
        assert_eq!(d.message, format!("{m} takes no window"));
        assert!(
            d.help
                .as_deref()
                .is_some_and(|h| h.ends_with("write it alone"))
        );
    }
    let d = error("rule \"a\" for ad sets when bid today > 1 then pause");
    assert_eq!(d.message, "bid takes no window");
}

#[test]
fn figures_that_can_never_be_defined_at_the_level_are_rejected() {
    for (src, message) in [
        (
            "rule \"a\" for ads when daily_budget > 5 then pause",
            "ads have no daily_budget",
        ),
        (
            "rule \"a\" for ads when budget_remaining > 5 then pause",
            "ads have no budget_remaining",
        ),
        (
            "rule \"a\" when bid > 5 then pause",
            "campaigns have no bid",
        ),
        (
            "rule \"a\" for ads when bid > 5 then pause",
            "ads have no bid",
        ),
        (
            "rule \"a\" when account daily_budget > 5 then pause",
            "an ad account has no daily_budget",
        ),
    ] {
        assert_eq!(error(src).message, message, "{src}");
    }
    // A parent that has them is fine, and so is days_left_in_month anywhere.
    rules(
        "rule \"a\" for ads when ad set bid > 1 and campaign daily_budget > 1 and account days_left_in_month < 5 then pause",
    );
}

#[test]
fn bid_actions_on_campaigns_or_ads_and_budget_actions_on_ads_are_rejected() {
    let d = error("rule \"a\" for campaigns when spend > 1 then set bid to 2");
    assert_eq!(
        parts(&d),
        (
            1,
            44,
            "campaigns have no bid",
            "bid actions work on ad groups/ad sets: write \"for ad groups\" or \"for ad sets\""
        )
    );
    assert_eq!(
        error("rule \"a\" for ads then increase bid by 10%").message,
        "ads have no bid"
    );
    assert_eq!(
        error("rule \"a\" then decrease bid by 5%").message,
        "campaigns have no bid"
    );
    let d = error("rule \"a\" for ads then decrease budget by 10%");
    assert_eq!((d.col, d.message.as_str()), (23, "ads have no budget"));
    assert_eq!(
        error("rule \"a\" for ads then set budget to 5").message,
        "ads have no budget"
    );
    rules("rule \"a\" for ad sets then set bid to 2 and increase budget by 5%");
}

#[test]
fn hour_of_day_outside_0_to_23_is_rejected() {
    let d = error("rule \"a\" when hour of day >= 24 then pause");
    assert_eq!(
        parts(&d),
        (
            1,
            30,
            "hour of day is a whole hour from 0 to 23, not 24",
            "for example: hour of day >= 20"
        )
    );
    error("rule \"a\" when 7.5 < hour of day then pause");
    error("rule \"a\" when hour of day = 5% then pause");
    rules("rule \"a\" when hour of day >= 0 and hour of day <= 23 then pause");
}

#[test]
fn an_unknown_day_name_suggests_the_day() {
    let d = error("rule \"a\" when day of week is saturday, sundy then pause");
    assert_eq!(
        parts(&d),
        (
            1,
            40,
            "\"sundy\" is not a day of the week",
            "did you mean \"sunday\"?"
        )
    );
    let d = error("rule \"a\" when day of week is xyz then pause");
    assert_eq!(
        d.help.as_deref(),
        Some("days are monday .. sunday, weekday (monday..friday) and weekend")
    );
}

#[test]
fn an_unknown_metric_names_every_equally_close_one() {
    let d = error("rule \"a\" when cpx > 5 then pause");
    assert_eq!(
        d.help.as_deref(),
        Some("did you mean \"cpc\", \"cpm\" or \"cpa\"?")
    );
    let d = error("rule \"a\" when costperlead > 5 then pause");
    assert_eq!(d.help.as_deref(), Some("did you mean \"cost_per_lead\"?"));
}

#[test]
fn at_most_0_times_is_rejected() {
    let d = error("rule \"a\" then pause\n  at most 0 times");
    assert_eq!((d.line, d.col), (2, 11));
    error("rule \"a\" then pause at most 2 times per 0 days");
}

// ---- Bad input added: warnings -------------------------------------------------------------

#[test]
fn a_fraction_compared_with_a_bare_number_of_0_3_or_more_warns() {
    let w = warnings("rule \"a\" when ctr < 1 then notify \"a@b.test\"");
    assert_eq!(
        parts(&w[0]),
        (
            1,
            21,
            "ctr is a fraction: ctr < 1 means below 100%",
            "did you mean 1%?"
        )
    );
    let w = warnings("rule \"a\" when 0.3 < cvr then notify \"a@b.test\"");
    assert_eq!(w[0].message, "cvr is a fraction: cvr > 0.3 means above 30%");
    assert!(warnings("rule \"a\" when ctr < 0.29 or ctr < 1% then notify \"a@b.test\"").is_empty());
}

#[test]
fn roas_compared_with_a_bare_number_of_50_or_more_warns() {
    let w = warnings("rule \"a\" when roas in last 7 days > 200 then notify \"a@b.test\"");
    assert_eq!(w.len(), 1);
    assert_eq!((w[0].line, w[0].col), (1, 37));
    assert_eq!(
        w[0].message,
        "roas is revenue per unit of spend: 200 means 200x (20000%)"
    );
    assert_eq!(w[0].help.as_deref(), Some("for 200% write 200% (or 2)"));
    assert_eq!(
        warnings("rule \"a\" when purchase_roas < 50 then notify \"a@b.test\"").len(),
        1
    );
    assert!(
        warnings("rule \"a\" when roas > 49 or roas > 400% then notify \"a@b.test\"").is_empty()
    );
}

#[test]
fn changing_a_budget_or_bid_by_a_plain_number_warns() {
    let w = warnings("rule \"a\" when spend > 1 then increase budget by 20");
    assert_eq!(
        parts(&w[0]),
        (
            1,
            49,
            "\"by 20\" changes the budget by 20 in the account's currency, not by a percentage",
            "write 20% for a percentage, or 20 USD (any currency code) to say it is an amount"
        )
    );
    let w = warnings("rule \"a\" for ad sets then decrease bid by 0.1");
    assert!(
        w[0].message
            .starts_with("\"by 0.1\" changes the bid by 0.1")
    );
    assert!(
        warnings("rule \"a\" for ad sets then decrease bid by 10% and increase budget by 5 EUR")
            .is_empty()
    );
}

#[test]
fn the_editor_warns_when_a_plain_amount_meets_accounts_in_several_currencies() {
    use super::checker::warn_plain_amounts_across_currencies;
    use crate::types::Platform;
    let accounts = [
        (
            Platform::Google,
            "1".to_string(),
            "EUR".parse().expect("eur"),
        ),
        (Platform::Meta, "2".to_string(), "JPY".parse().expect("jpy")),
    ];
    let r = one("rule \"a\" when spend > 200 and clicks > 5 then pause");
    let d = warn_plain_amounts_across_currencies(&r, &accounts).expect("warning");
    assert_eq!(
        parts(&d),
        (
            1,
            23,
            "200 is taken in each account's currency, and the accounts in scope bill in EUR, JPY",
            "add a currency (200 EUR) to limit the rule to one currency, or split it per currency"
        )
    );
    // One currency in scope, a named currency, or a factor: no warning.
    for src in [
        "rule \"a\" for campaigns on google when spend > 200 then pause",
        "rule \"a\" when spend > 200 EUR then pause",
        "rule \"a\" when spend > 1.5 * daily_budget then pause",
        "rule \"a\" when clicks > 200 then pause",
    ] {
        assert_eq!(
            warn_plain_amounts_across_currencies(&one(src), &accounts),
            None,
            "{src}"
        );
    }
}

// ---- conflicts ------------------------------------------------------------------------------

#[test]
fn conflicts_cover_bids_and_schedules_with_one_warning_per_pair_of_rules() {
    let src = "rule \"Night off\" for ad sets then pause check daily at 20:00\n\
               rule \"Morning on\" for ad sets where paused by any rule then resume check daily at 08:00\n\
               rule \"Bids up\" for ad sets when cpc < 1 then increase bid by 10% and increase budget by 5%\n\
               rule \"Bids down\" for ad sets when cpc > 2 or cpa > 3 then decrease bid by 10% and decrease budget by 5%\n\
               rule \"Campaigns on\" for campaigns then resume\n\
               rule \"Wake mine\" for ad sets where paused by this rule then resume\n\
               rule \"Wake other\" for ad sets where paused by rule \"Someone\" then resume\n";
    let rs = rules(src);
    let found: Vec<(usize, usize, Vec<ConflictKind>)> = conflicts(&rs)
        .into_iter()
        .map(|c| (c.first, c.second, c.kinds))
        .collect();
    assert_eq!(
        found,
        [
            (0, 1, vec![ConflictKind::PauseResume]),
            (
                2,
                3,
                vec![ConflictKind::RaiseLower, ConflictKind::BidUpDown]
            ),
        ]
    );
    let w: Vec<String> = check(src).warnings().map(|d| d.message.clone()).collect();
    assert_eq!(
        w,
        [
            "rules \"Night off\" and \"Morning on\" can undo each other: \"Night off\" pauses ad sets at 20:00 that \"Morning on\" resumes at 08:00",
            "rules \"Bids up\" and \"Bids down\" can undo each other: one raises budgets the other lowers; one raises bids the other lowers",
        ]
    );
}

// ---- the live runner ------------------------------------------------------------------------

#[test]
fn what_the_live_runner_cannot_run_yet_says_why() {
    let blocker = |src: &str| one(src).live_blocker();
    // Level rules change their ad groups and ads live, through the level actions.
    for src in [
        "rule \"a\" for ad sets then pause",
        "rule \"a\" for ads then pause",
        "rule \"a\" for ad groups on google then increase bid by 10% up to 2",
        "rule \"a\" for ad sets on meta then decrease budget by 20%",
    ] {
        assert_eq!(blocker(src), None, "{src}");
    }
    assert_eq!(
        blocker("rule \"a\" for ads when purchases in last 7 days > campaign purchases then pause"),
        None
    );
    // Campaign sync keeps lifetime budgets, flight ends and creation times.
    assert_eq!(
        blocker("rule \"a\" for ads when campaign days_left < 3 then pause"),
        None
    );
    // Who paused an ad set or ad is recorded at its level.
    assert_eq!(
        blocker("rule \"a\" for ad sets where paused by any rule then resume"),
        None
    );
    assert_eq!(
        blocker("rule \"a\" for ads where paused by rule \"b\" then resume"),
        None
    );
    assert_eq!(
        blocker(
            "rule \"a\" for ad sets when budget_remaining < 10 and days_left > 2 and campaign cpa > 1 then pause"
        ),
        None
    );
    assert_eq!(
        blocker("rule \"a\" when lifetime_budget > 1 then pause"),
        None
    );
    // Version 1 and what needs no new storage run live.
    for src in [
        "rule \"a\" for campaigns on meta where name contains \"x\" when cpa > 5 and clicks > 100 then pause",
        "rule \"a\" then set budget to (5000 - spend this month) / days_left_in_month down to 10",
        "rule \"a\" when spend today > 1.5 * daily_budget then pause at most once per 2 hours",
        "rule \"a\" when hour of day >= 20 and day of week is weekday then pause",
        "rule \"a\" when purchases > 1 and cost_per_lead in last 7 days < 3 then pause",
        "rule \"a\" when account spend > 1 then pause",
        "rule \"a\" then pause at most 2 times",
        "rule \"a\" then pause at most 2 times per 3 days",
        "rule \"a\" for campaigns where paused by any rule or status is removed or id is \"1\" then resume",
    ] {
        assert_eq!(blocker(src), None, "{src}");
    }
}

#[test]
fn syntax_errors_name_the_version_2_forms() {
    let d = error("rule \"a\" whn cpa > 5 then pause");
    assert_eq!(
        (d.col, d.message.as_str()),
        (
            10,
            "expected \"for campaigns|ad groups|ad sets|ads ...\", \"when\" and a condition, or \"then\" and the actions, found \"whn\""
        )
    );
    let d = error("rule \"a\" then pause at most 3");
    assert!(
        d.message
            .contains("\"at most N times [per M minutes|hours|days]\""),
        "{}",
        d.message
    );
    let d = error("rule \"a\" when day of week saturday then pause");
    assert_eq!(d.message, "expected \"is\", found \"saturday\"");
}
