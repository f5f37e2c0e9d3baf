//! Version 2 of the contract: every example runs through `rules eval` against a CSV fixture
//! (tests/fixtures/rules/v2/) and prints exactly the expected output, worked out by hand from
//! the CSV (see the comments in each .rules file); version 1 files print what main printed.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value as Json;

use crate::automation::cli::{RulesCommand, run};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rules");

enum When {
    AsOf(&'static str),
    Now(&'static str),
}

fn eval(rules: PathBuf, csv: PathBuf, when: &When, all: bool) -> (ExitCode, Vec<Json>, String) {
    let (as_of, now) = match when {
        When::AsOf(d) => (Some(d.parse::<NaiveDate>().expect("date")), None),
        When::Now(t) => (None, Some(t.parse::<DateTime<Utc>>().expect("instant"))),
    };
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run(
        RulesCommand::Eval {
            file: rules,
            metrics: csv,
            as_of,
            now,
            all,
        },
        &mut out,
        &mut err,
    );
    let lines = String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (code, lines, String::from_utf8(err).expect("utf8"))
}

fn expected(path: PathBuf) -> Vec<Json> {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("expected JSON"))
        .collect()
}

fn check_v2(name: &str, when: When, all: bool, expected_file: &str) {
    let dir = PathBuf::from(FIXTURES).join("v2");
    let (code, got, err) = eval(
        dir.join(format!("{name}.rules")),
        dir.join(format!("{name}.csv")),
        &when,
        all,
    );
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(!err.contains(": error:"), "{err}");
    let want = expected(dir.join(expected_file));
    assert_eq!(got.len(), want.len(), "{name}: {got:#?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{name}");
    }
}

#[test]
fn an_ad_is_compared_with_its_campaigns_own_rows_or_else_the_sum_of_its_children() {
    // c1 has campaign rows (cpa 10, not its ads' 16.67); c2 has none, so its ads sum (cpa 6).
    check_v2(
        "costly_ads",
        When::AsOf("2026-03-10"),
        true,
        "costly_ads.expected.jsonl",
    );
}

#[test]
fn account_conversions_sum_the_accounts_campaigns_today() {
    check_v2(
        "account_cap",
        When::AsOf("2026-03-10"),
        true,
        "account_cap.expected.jsonl",
    );
}

#[test]
fn hour_and_day_of_week_are_each_accounts_own_with_now() {
    // 06:30 UTC on Saturday 2026-03-14: Friday 23:30 in Los Angeles, Saturday 15:30 in Tokyo.
    check_v2(
        "dayparting",
        When::Now("2026-03-14T06:30:00Z"),
        false,
        "dayparting.now.expected.jsonl",
    );
}

#[test]
fn as_of_means_noon_on_that_day_everywhere() {
    check_v2(
        "dayparting",
        When::AsOf("2026-03-14"),
        false,
        "dayparting.as_of.expected.jsonl",
    );
}

#[test]
fn rules_without_when_act_on_every_object_in_scope_and_paused_by_wakes_only_their_own() {
    check_v2(
        "night_off",
        When::AsOf("2026-03-10"),
        true,
        "night_off.expected.jsonl",
    );
}

#[test]
fn set_budget_takes_an_expression_and_skips_results_not_above_zero() {
    // 22 days are left in March on the 10th, today included.
    check_v2(
        "month_pacing",
        When::AsOf("2026-03-10"),
        true,
        "month_pacing.expected.jsonl",
    );
}

#[test]
fn lifetime_budgets_end_dates_and_age_in_the_accounts_time_zone() {
    check_v2(
        "budget_and_age",
        When::AsOf("2026-03-10"),
        true,
        "budget_and_age.expected.jsonl",
    );
}

#[test]
fn named_conversions_and_their_costs() {
    check_v2(
        "conversions",
        When::AsOf("2026-03-10"),
        true,
        "conversions.expected.jsonl",
    );
}

#[test]
fn id_campaign_ad_group_and_removed_filters() {
    check_v2(
        "filters",
        When::AsOf("2026-03-10"),
        true,
        "filters.expected.jsonl",
    );
}

#[test]
fn bid_actions_and_counted_limits() {
    check_v2(
        "at_most",
        When::AsOf("2026-03-10"),
        true,
        "at_most.expected.jsonl",
    );
}

#[test]
fn version_1_files_print_what_they_printed_before_plus_the_level() {
    for name in [
        "stop_losers",
        "scale_winners",
        "spend_guard",
        "fading_roas",
        "eur_cap",
    ] {
        let dir = PathBuf::from(FIXTURES);
        let (code, got, err) = eval(
            dir.join(format!("{name}.rules")),
            dir.join(format!("{name}.csv")),
            &When::AsOf("2026-03-10"),
            true,
        );
        assert_eq!(code, ExitCode::SUCCESS, "{err}");
        // Printed by main before version 2.
        let want = expected(dir.join("v1_expected").join(format!("{name}.all.jsonl")));
        assert_eq!(got.len(), want.len(), "{name}");
        for (mut g, w) in got.into_iter().zip(want) {
            let level = g.as_object_mut().and_then(|o| o.remove("level"));
            assert_eq!(level, Some(Json::from("campaign")), "{name}");
            assert_eq!(g, w, "{name}");
        }
    }
}

#[test]
fn a_bad_v2_csv_cell_names_its_line() {
    let dir = std::env::temp_dir().join(format!("adpilot-v2csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let csv = dir.join("bad.csv");
    let cases = [
        (
            "level",
            "ad_grp",
            "level \"ad_grp\" is not campaign, ad_group or ad",
        ),
        (
            "time_zone",
            "Mars/Base",
            "time_zone \"Mars/Base\" is not an IANA time zone",
        ),
        (
            "created_at",
            "yesterday",
            "created_at \"yesterday\" is not an RFC 3339 time",
        ),
    ];
    for (column, value, message) in cases {
        std::fs::write(
            &csv,
            format!(
                "platform,account_id,currency,campaign_id,campaign_name,status,daily_budget,date,impressions,clicks,spend,conversions,revenue,{column}\n\
                 google,1,USD,c1,A,active,5,2026-03-09,1,1,1,0,0,{value}\n"
            ),
        )
        .expect("write");
        let (code, _, err) = eval(
            PathBuf::from(FIXTURES).join("v2/account_cap.rules"),
            csv.clone(),
            &When::AsOf("2026-03-10"),
            false,
        );
        assert_eq!(code, ExitCode::from(1));
        assert!(
            err.contains(":2: error: ") && err.contains(message),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rules_check_accepts_version_2_files_and_renders_their_errors() {
    let dir = PathBuf::from(FIXTURES).join("v2");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run(
        RulesCommand::Check {
            files: vec![
                dir.join("contract_v2_examples.rules"),
                dir.join("night_off.rules"),
            ],
        },
        &mut out,
        &mut err,
    );
    assert_eq!(code, ExitCode::SUCCESS);
    let out = String::from_utf8(out).expect("utf8");
    assert!(
        out.contains("contract_v2_examples.rules: 9 rules ok, 2 warnings"),
        "{out}"
    );
    assert!(
        out.contains("night_off.rules: 2 rules ok, 1 warning"),
        "{out}"
    );

    let tmp = std::env::temp_dir().join(format!("adpilot-v2check-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("dir");
    let bad = tmp.join("bad.rules");
    std::fs::write(&bad, "rule \"x\"\n  for ads\n  then set bid to 2 UDS\n").expect("write");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run(
        RulesCommand::Check {
            files: vec![bad.clone()],
        },
        &mut out,
        &mut err,
    );
    assert_eq!(code, ExitCode::from(1));
    assert_eq!(
        String::from_utf8(err).expect("utf8"),
        format!(
            "{p}:3:8: error: ads have no bid\n  then set bid to 2 UDS\n       ^\nhelp: bid actions work on ad groups/ad sets: write \"for ad groups\" or \"for ad sets\"\n\
             {p}:3:21: error: \"UDS\" is not an ISO 4217 currency code\n  then set bid to 2 UDS\n                    ^\nhelp: did you mean USD?\n",
            p = bad.display()
        )
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
