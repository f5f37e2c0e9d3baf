//! Automation rules: the text language (parser, checker, formatter), the evaluator that turns
//! window totals into matches and planned actions, and the `rules` CLI.

pub mod cli;
pub mod eval;
pub mod language;
