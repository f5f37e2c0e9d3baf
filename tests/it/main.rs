//! Integration tests: HTTP through the real router, a real PostgreSQL database per test.

#[path = "../shared/scratch_db.rs"]
mod scratch_db;
mod support;

mod accounts;
mod actions;
mod ai;
mod ai_wiring;
mod alerts;
mod architecture;
mod billing;
mod campaign_create;
mod campaign_create_meta;
mod campaign_create_tiktok;
mod connections;
mod control_chars;
mod dashboard;
mod faults;
mod first_hour;
mod hardening;
mod html_valid;
mod jobs;
mod journey;
mod level_actions;
mod levels;
mod migrations;
mod onboarding;
mod platform_contract;
mod reports;
mod rules;
mod rules_campaign_flight;
mod rules_levels_live;
mod rules_v2;
mod security;
mod security_probe;
mod summaries;
mod sync;
mod tenancy;
mod ux_helpers;
mod webdriver;
