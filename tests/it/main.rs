//! Integration tests: HTTP through the real router, a real PostgreSQL database per test.

mod support;

mod accounts;
mod actions;
mod alerts;
mod ai;
mod connections;
mod dashboard;
mod jobs;
mod migrations;
mod platform_contract;
mod security;
mod sync;
mod tenancy;
