//! Fuzzes the rules language: any text must give diagnostics (never a panic or a stack
//! overflow), and any text the checker accepts must format to text that parses to the same
//! rules.
//!
//! cargo fuzz run rules_parser -- -dict=fuzz/rules.dict -max_total_time=600

#![no_main]

use adpilot::automation::language::check;
use adpilot::automation::language::format::format_rules;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let checked = check(src);
    for d in &checked.diagnostics {
        assert!(d.line >= 1 && d.col >= 1, "{d:?}");
        let _ = d.render("fuzz.rules", src);
    }
    if checked.has_errors() {
        return;
    }
    let text = format_rules(&checked.rules);
    let again = check(&text);
    assert!(!again.has_errors(), "{:?}\n{text}", again.diagnostics);
    assert_eq!(again.rules, checked.rules, "{text}");
});
