//! Automation rules: the text language (parser, checker, formatter), the evaluator that turns
//! window totals into matches and planned actions, the `rules` CLI, and on the server: saved
//! rules, scheduled checks through the job table, actions through the one audited action path,
//! history, backtests and the editor pages.

pub mod backtest;
pub mod cli;
pub mod counts;
pub mod describe;
pub mod eval;
pub mod facts;
pub mod golive;
pub mod highlight;
pub mod history;
pub mod history_view;
pub mod jobs;
pub mod language;
pub mod level_facts;
pub mod routes;
pub mod runner;
pub mod schema;
pub mod store;
