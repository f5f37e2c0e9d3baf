//! Integration tests: HTTP through the real router, a real PostgreSQL database per test.

mod support;

mod accounts;
mod actions;
mod ai;
mod ai_wiring;
mod alerts;
mod billing;
mod connections;
mod dashboard;
mod faults;
mod jobs;
mod journey;
mod migrations;
mod platform_contract;
mod reports;
mod rules;
mod security;
mod sync;
mod tenancy;
mod webdriver;
