//! The rules language: grammar (grammar/rules.pest), typed AST, checker and formatter.
//!
//! [`check`] is the entry point for rule text: it parses, builds the tree and runs every check
//! of the contract (docs: ../shared/rules-language.md), returning diagnostics with positions.

pub mod ast;
pub mod checker;
pub mod conflicts;
pub mod currencies;
pub mod diagnostic;
pub mod format;
pub mod limits;
pub mod parser;
pub mod suggest;
pub mod vocabulary;

#[cfg(test)]
mod robustness;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_v2;

pub use ast::Rule;
pub use diagnostic::{Diagnostic, Severity};

/// Words of the language, lower case, for syntax highlighting in the editor (metrics are in
/// [`ast::Metric::ALL`]).
pub const KEYWORDS: &[&str] = &[
    "rule",
    "for",
    "campaigns",
    "campaign",
    "ad",
    "ads",
    "group",
    "groups",
    "sets",
    "id",
    "removed",
    "any",
    "week",
    "weekday",
    "weekend",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "times",
    "on",
    "where",
    "and",
    "or",
    "not",
    "name",
    "contains",
    "starts",
    "ends",
    "with",
    "matches",
    "status",
    "is",
    "active",
    "paused",
    "account",
    "platform",
    "google",
    "meta",
    "tiktok",
    "when",
    "each",
    "of",
    "last",
    "previous",
    "days",
    "day",
    "today",
    "yesterday",
    "in",
    "this",
    "month",
    "lifetime",
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
    "most",
    "once",
    "per",
    "minutes",
    "minute",
    "hours",
    "hour",
];

/// The result of checking rule text: the rules (meaningful only without errors) and every
/// error and warning, in source order.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub rules: Vec<Rule>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The rules when there is no error; otherwise every diagnostic (warnings included).
    pub fn into_result(self) -> Result<Vec<Rule>, Vec<Diagnostic>> {
        if self.has_errors() {
            Err(self.diagnostics)
        } else {
            Ok(self.rules)
        }
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
}

/// Parses and checks a file of rules: syntax, semantic errors, warnings, duplicate names within
/// the text and conflicts between its rules.
pub fn check(src: &str) -> Checked {
    let (rules, mut diagnostics) = parser::parse_lenient(src);
    diagnostics.extend(rules.iter().flat_map(checker::check_rule));
    diagnostics.extend(checker::check_duplicate_names(&rules));
    diagnostics.extend(
        conflicts::conflicts(&rules)
            .iter()
            .filter_map(|c| c.to_diagnostic(&rules)),
    );
    diagnostics.sort_by_key(|d| (d.line, d.col, d.severity));
    Checked { rules, diagnostics }
}

/// Like [`check`], for text that must hold exactly one rule (a rule saved on the server).
pub fn check_single(src: &str) -> Checked {
    let mut checked = check(src);
    if !checked.has_errors() && checked.rules.len() != 1 {
        let pos = checked
            .rules
            .get(1)
            .map(|r| r.pos)
            .unwrap_or(ast::Pos { line: 1, col: 1 });
        let message = if checked.rules.is_empty() {
            "expected a rule (rule \"NAME\" ... when ... then ...)"
        } else {
            "write one rule here; save the others separately"
        };
        checked
            .diagnostics
            .insert(0, Diagnostic::error(pos, message));
    }
    checked
}
