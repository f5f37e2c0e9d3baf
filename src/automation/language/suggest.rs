//! "Did you mean ...?" for unknown words: metrics, levels, day names, currency codes.

/// The candidates nearest to `word` (Damerau–Levenshtein, so a swap of two letters counts
/// once), all of them when several are equally near; empty when none is near enough to help.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = 3.max(word.chars().count() / 2);
    let mut best: Vec<&'a str> = Vec::new();
    let mut best_dist = usize::MAX;
    for c in candidates {
        let d = strsim::damerau_levenshtein(word, c);
        if d > limit || d > best_dist {
            continue;
        }
        if d < best_dist {
            best.clear();
            best_dist = d;
        }
        if !best.contains(&c) {
            best.push(c);
        }
    }
    best
}

/// `did you mean "a"?`, `did you mean "a" or "b"?`; `None` for no candidate.
pub fn did_you_mean(near: &[&str]) -> Option<String> {
    let quoted: Vec<String> = near.iter().map(|n| format!("\"{n}\"")).collect();
    match quoted.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [init @ .., last] => Some(format!("did you mean {} or {last}?", init.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equally_near_names_are_all_named() {
        assert_eq!(
            closest("cpx", ["cpa", "cpc", "cpm", "roas"]),
            ["cpa", "cpc", "cpm"]
        );
        assert_eq!(
            did_you_mean(&["cpa", "cpc"]).as_deref(),
            Some("did you mean \"cpa\" or \"cpc\"?")
        );
        assert_eq!(closest("spnd", ["spend", "cpa"]), ["spend"]);
        assert!(closest("zzzzzzzzzzzz", ["cpa"]).is_empty());
    }
}
