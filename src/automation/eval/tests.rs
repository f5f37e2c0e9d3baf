//! The contract's examples behave as described: each runs through `rules eval` against a CSV
//! fixture (tests/fixtures/rules/) with today = 2026-03-10.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use serde_json::Value as Json;

use crate::automation::cli::{RulesCommand, run};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rules");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(FIXTURES).join(name)
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 10).expect("date")
}

struct Output {
    code: ExitCode,
    lines: Vec<Json>,
    err: String,
}

impl Output {
    /// Output lines by campaign id.
    fn by_campaign(&self) -> BTreeMap<String, Json> {
        self.lines
            .iter()
            .map(|l| {
                (
                    l["campaign_id"].as_str().expect("id").to_string(),
                    l.clone(),
                )
            })
            .collect()
    }

    fn ids(&self) -> Vec<String> {
        self.by_campaign().into_keys().collect()
    }
}

fn eval(example: &str, all: bool) -> Output {
    let cmd = RulesCommand::Eval {
        file: fixture(&format!("{example}.rules")),
        metrics: fixture(&format!("{example}.csv")),
        as_of: Some(as_of()),
        now: None,
        all,
    };
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run(cmd, &mut out, &mut err);
    let text = String::from_utf8(out).expect("utf8");
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    Output {
        code,
        lines,
        err: String::from_utf8(err).expect("utf8"),
    }
}

fn actions(line: &Json) -> Vec<(String, Json, Json, Json)> {
    line["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().expect("kind").to_string(),
                a["from"].clone(),
                a["to"].clone(),
                a["skipped"].clone(),
            )
        })
        .collect()
}

#[test]
fn stop_losers_pauses_campaigns_bad_on_each_of_the_last_3_days_with_enough_clicks() {
    let o = eval("stop_losers", false);
    assert_eq!(o.code, ExitCode::SUCCESS, "{}", o.err);
    // Not: one good day (g-one-good-day), undefined cpa (m-idle), too few clicks
    // (g-little-data), bad only counting today (g-bad-today), out of scope (tiktok, name).
    assert_eq!(o.ids(), ["g-loser", "g-paused", "m-no-conversions"]);
    let by = o.by_campaign();
    let loser = &by["g-loser"];
    assert_eq!(loser["rule"], "Stop losers");
    assert_eq!(loser["platform"], "google");
    assert_eq!(loser["matched"], true);
    assert_eq!(loser["values"]["cpa on 2026-03-07"], "60");
    assert_eq!(loser["values"]["cpa on 2026-03-09"], "60");
    assert_eq!(loser["values"]["clicks in last 7 days"], "140");
    assert_eq!(loser["actions"][1]["target"], "ops@acme.test");
    assert_eq!(
        actions(loser),
        [
            ("pause".into(), Json::Null, Json::Null, Json::Null),
            ("notify".into(), Json::Null, Json::Null, Json::Null),
        ]
    );
    // Spent and converted nothing: cpa is infinite, so "cpa > 50" holds.
    assert_eq!(by["m-no-conversions"]["values"]["cpa on 2026-03-08"], "inf");
    // Already paused: the pause is skipped, and the notify line with it.
    let paused = actions(&by["g-paused"]);
    assert_eq!(paused[0].3, "campaign is already paused");
    assert_eq!(paused[1].3, "no action of the rule ran");
}

#[test]
fn stop_losers_with_all_also_prints_unmatched_campaigns_in_scope_only() {
    let o = eval("stop_losers", true);
    assert_eq!(
        o.ids(),
        [
            "g-bad-today",
            "g-little-data",
            "g-loser",
            "g-one-good-day",
            "g-paused",
            "m-idle",
            "m-no-conversions"
        ]
    );
    let by = o.by_campaign();
    assert_eq!(by["g-one-good-day"]["matched"], false);
    assert_eq!(by["g-one-good-day"]["values"]["cpa on 2026-03-08"], "40");
    assert_eq!(by["g-one-good-day"]["actions"], serde_json::json!([]));
    // 0 spent / 0 conversions is undefined: shown as null, and the comparison is false.
    assert_eq!(by["m-idle"]["values"]["cpa on 2026-03-09"], Json::Null);
    assert_eq!(by["g-little-data"]["values"]["clicks in last 7 days"], "56");
}

#[test]
fn scale_winners_raises_budgets_by_20_percent_never_past_500() {
    let o = eval("scale_winners", false);
    assert_eq!(o.code, ExitCode::SUCCESS, "{}", o.err);
    // Not: too little spend, good only counting today.
    assert_eq!(
        o.ids(),
        ["w-at-cap", "w-cents", "w-grow", "w-near-cap", "w-yen"]
    );
    let by = o.by_campaign();
    assert_eq!(by["w-grow"]["values"]["roas in last 3 days"], "5");
    assert_eq!(by["w-grow"]["values"]["spend in last 3 days"], "150");
    let set = |id: &str| actions(&by[id]).remove(0);
    assert_eq!(
        set("w-grow"),
        ("set_budget".into(), "100".into(), "120".into(), Json::Null)
    );
    assert_eq!(by["w-grow"]["actions"][0]["currency"], "USD");
    assert_eq!(
        set("w-near-cap"),
        ("set_budget".into(), "450".into(), "500".into(), Json::Null)
    );
    // 33.33 * 1.2 = 39.996, rounded to the cent.
    assert_eq!(set("w-cents").2, "40");
    assert_eq!(
        set("w-at-cap").3,
        "budget 500.00 USD is already at or above the limit 500.00 USD"
    );
    // Plain amounts are in each account's currency: 500 JPY for the yen account.
    assert_eq!(
        set("w-yen").3,
        "budget 10,000 JPY is already at or above the limit 500 JPY"
    );
}

#[test]
fn spend_guard_pauses_tiktok_campaigns_that_spent_over_1_5_times_their_budget_today() {
    let o = eval("spend_guard", false);
    assert_eq!(o.ids(), ["t-over", "t-paused"]);
    let by = o.by_campaign();
    assert_eq!(by["t-over"]["values"]["spend today"], "150.01");
    assert_eq!(by["t-over"]["values"]["daily_budget"], "100");
    let a = &by["t-over"]["actions"];
    assert_eq!(a[0]["kind"], "pause");
    assert_eq!(a[1]["kind"], "notify");
    assert_eq!(a[1]["via"], "webhook");
    assert_eq!(a[1]["target"], "https://hooks.example.com/adpilot");
    assert_eq!(a[1]["skipped"], Json::Null);
    assert_eq!(
        by["t-paused"]["actions"][0]["skipped"],
        "campaign is already paused"
    );
}

#[test]
fn fading_roas_compares_the_last_7_days_with_the_7_before() {
    let o = eval("fading_roas", true);
    let by = o.by_campaign();
    let matched: Vec<&str> = by
        .iter()
        .filter(|(_, l)| l["matched"] == true)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(matched, ["f-fading"]);
    let v = &by["f-fading"]["values"];
    // Today's and 15-days-ago's big revenue fall outside both windows.
    assert_eq!(v["roas in last 7 days"], "2");
    assert_eq!(v["roas in previous 7 days"], "4");
    assert_eq!(by["f-steady"]["values"]["roas in last 7 days"], "3");
    // No spend before: undefined, so the comparison is false.
    assert_eq!(by["f-new"]["values"]["roas in previous 7 days"], Json::Null);
    assert_eq!(by["f-fading"]["actions"][0]["target"], "team@acme.test");
}

#[test]
fn eur_cap_decreases_eur_campaigns_down_to_20_and_skips_other_currencies() {
    let o = eval("eur_cap", false);
    assert_eq!(o.code, ExitCode::SUCCESS, "{}", o.err);
    assert_eq!(o.ids(), ["e-at-floor", "e-expensive-clicks", "e-overspend"]);
    let by = o.by_campaign();
    let set = |id: &str| actions(&by[id]).remove(0);
    assert_eq!(
        set("e-overspend"),
        ("set_budget".into(), "100".into(), "75".into(), Json::Null)
    );
    assert_eq!(by["e-overspend"]["actions"][0]["currency"], "EUR");
    assert_eq!(by["e-expensive-clicks"]["values"]["cpc yesterday"], "4");
    assert_eq!(set("e-expensive-clicks").2, "20");
    assert_eq!(
        set("e-at-floor").3,
        "budget 20.00 EUR is already at or below the limit 20.00 EUR"
    );

    let all = eval("eur_cap", true).by_campaign();
    assert_eq!(all["e-converting"]["matched"], false);
    assert_eq!(
        all["e-converting"]["values"]["conversions yesterday"],
        "0.5"
    );
    assert_eq!(all["u-dollars"]["matched"], false);
    assert_eq!(
        all["u-dollars"]["skipped"],
        "the rule's amounts are in EUR but account 1234567890 bills in USD"
    );
    assert!(!all.contains_key("e-paused"));
    assert!(!all.contains_key("e-other-account"));
}

#[test]
fn eval_refuses_an_invalid_rule_file_and_a_bad_csv_row_with_its_line() {
    let dir = std::env::temp_dir().join(format!("adpilot-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad_rules = dir.join("bad.rules");
    std::fs::write(&bad_rules, "rule \"x\"\n  when cpx > 1\n  then pause\n").expect("write");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run(
        RulesCommand::Eval {
            file: bad_rules.clone(),
            metrics: fixture("eur_cap.csv"),
            as_of: Some(as_of()),
            now: None,
            all: false,
        },
        &mut out,
        &mut err,
    );
    assert_eq!(code, ExitCode::from(1));
    let err = String::from_utf8(err).expect("utf8");
    assert!(
        err.starts_with(&format!(
            "{}:2:8: error: unknown metric \"cpx\"\n",
            bad_rules.display()
        )),
        "{err}"
    );
    assert!(out.is_empty());

    let bad_csv = dir.join("bad.csv");
    let mut csv = std::fs::read_to_string(fixture("eur_cap.csv")).expect("fixture");
    csv.push_str("google,1,EUR,c9,X,active,10,2026-03-09,1,1,lots,0,0\n");
    std::fs::write(&bad_csv, csv).expect("write");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run(
        RulesCommand::Eval {
            file: fixture("eur_cap.rules"),
            metrics: bad_csv.clone(),
            as_of: Some(as_of()),
            now: None,
            all: false,
        },
        &mut out,
        &mut err,
    );
    assert_eq!(code, ExitCode::from(1));
    assert_eq!(
        String::from_utf8(err).expect("utf8"),
        format!(
            "{}:9: error: spend \"lots\" is not a number\n",
            bad_csv.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_exits_0_for_valid_files_with_warnings_on_stderr_and_1_with_diagnostics() {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run(
        RulesCommand::Check {
            files: vec![
                fixture("contract_examples.rules"),
                fixture("stop_losers.rules"),
            ],
        },
        &mut out,
        &mut err,
    );
    assert_eq!(code, ExitCode::SUCCESS);
    let out = String::from_utf8(out).expect("utf8");
    assert!(
        out.contains("contract_examples.rules: 5 rules ok, 1 warning"),
        "{out}"
    );
    let err = String::from_utf8(err).expect("utf8");
    assert!(
        err.contains(": warning: rules \"Scale winners\" and \"EUR cap\" can undo each other"),
        "{err}"
    );

    let dir = std::env::temp_dir().join(format!("adpilot-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.rules");
    std::fs::write(
        &bad,
        "rule \"x\"\n  when spend in last 7 days > 1\n  then decrease budget by 5% up to 3\n",
    )
    .expect("write");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run(
        RulesCommand::Check {
            files: vec![bad.clone(), dir.join("missing.rules")],
        },
        &mut out,
        &mut err,
    );
    assert_eq!(code, ExitCode::from(1));
    let err = String::from_utf8(err).expect("utf8");
    assert!(
        err.starts_with(&format!(
            "{}:3:30: error: \"up to\" limits an increase, not a decrease\n  then decrease budget by 5% up to 3\n                             ^\nhelp: write \"down to AMOUNT\" for the lowest budget\n",
            bad.display()
        )),
        "{err}"
    );
    assert!(err.contains("missing.rules: error: cannot read"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
