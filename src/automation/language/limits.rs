//! Size limits checked before parsing.
//!
//! The parser, the tree builder, the formatter and the evaluator all recurse on nesting, and
//! rule text comes from users over the web: a few kilobytes of `((((` or `not not not` must
//! give an error, not overflow the stack and abort the server.

use super::ast::Pos;
use super::diagnostic::Diagnostic;

/// Parentheses open at once.
pub const MAX_DEPTH: usize = 32;
/// `and`, `or`, `not` and arithmetic operators in one rule (bounds the tree's depth).
pub const MAX_OPERATORS: usize = 256;
/// Bytes of rule text in one file.
pub const MAX_BYTES: usize = 256 * 1024;

pub fn check_limits(src: &str) -> Option<Diagnostic> {
    if src.len() > MAX_BYTES {
        return Some(Diagnostic::error(
            Pos { line: 1, col: 1 },
            format!(
                "this text is {} KiB; rule files are limited to {} KiB",
                src.len() / 1024,
                MAX_BYTES / 1024
            ),
        ));
    }
    let mut depth = 0usize;
    let mut operators = 0usize;
    let mut word = String::new();
    let mut word_pos = Pos { line: 1, col: 1 };
    let (mut line, mut col) = (1usize, 0usize);
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        col += 1;
        let here = Pos { line, col };
        if c.is_alphanumeric() || c == '_' {
            if word.is_empty() {
                word_pos = here;
            }
            word.push(c.to_ascii_lowercase());
            continue;
        }
        if !word.is_empty() {
            match word.as_str() {
                "rule" => operators = 0,
                "and" | "or" | "not" => operators += 1,
                _ => {}
            }
            word.clear();
            if operators > MAX_OPERATORS {
                return Some(too_many(word_pos));
            }
        }
        match c {
            '\n' => {
                line += 1;
                col = 0;
            }
            '#' => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        line += 1;
                        col = 0;
                        break;
                    }
                }
            }
            '"' => {
                while let Some(n) = chars.next() {
                    col += 1;
                    match n {
                        '\\' => {
                            chars.next();
                            col += 1;
                        }
                        '"' => break,
                        '\n' => {
                            // The grammar reports the unclosed string.
                            line += 1;
                            col = 0;
                            break;
                        }
                        _ => {}
                    }
                }
            }
            '(' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(Diagnostic::error(
                        here,
                        format!("parentheses are nested more than {MAX_DEPTH} deep"),
                    ));
                }
            }
            ')' => depth = depth.saturating_sub(1),
            '+' | '-' | '*' | '/' => {
                operators += 1;
                if operators > MAX_OPERATORS {
                    return Some(too_many(here));
                }
            }
            _ => {}
        }
    }
    if operators > MAX_OPERATORS {
        return Some(too_many(word_pos));
    }
    None
}

fn too_many(at: Pos) -> Diagnostic {
    Diagnostic::error(
        at,
        format!("this rule has more than {MAX_OPERATORS} operators (and, or, not, + - * /)"),
    )
    .with_help("split it into several rules")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::language::check;

    #[test]
    fn deep_parentheses_are_an_error_not_a_stack_overflow() {
        let src = format!(
            "rule \"a\" when {}spend > 1{} then pause",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        let checked = check(&src);
        assert_eq!(checked.diagnostics.len(), 1);
        let d = &checked.diagnostics[0];
        assert_eq!((d.line, d.col), (1, 15 + MAX_DEPTH));
        assert_eq!(d.message, "parentheses are nested more than 32 deep");
    }

    #[test]
    fn long_operator_chains_are_an_error_not_a_stack_overflow() {
        let nots = format!(
            "rule \"a\" when {}spend > 1 then pause",
            "not ".repeat(10_000)
        );
        assert!(
            check(&nots).diagnostics[0]
                .message
                .contains("more than 256 operators")
        );
        let minus = format!("rule \"a\" when {}5 > 1 then pause", "-".repeat(100_000));
        assert!(
            check(&minus).diagnostics[0]
                .message
                .contains("more than 256 operators")
        );
        let ands = format!(
            "rule \"a\" when spend > 1{} then pause",
            " and clicks > 1".repeat(300)
        );
        assert!(check(&ands).has_errors());
    }

    #[test]
    fn the_limit_counts_per_rule_and_ignores_strings_and_comments() {
        let one = format!(
            "# {}\nrule \"a ((((((((((((((((((((((((((((((((((((\" when spend > 1{} then pause\n",
            "(".repeat(100),
            " and clicks > 1".repeat(200)
        );
        let src = format!("{one}{}", one.replace("rule \"a", "rule \"b"));
        let checked = check(&src);
        assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    }
}
