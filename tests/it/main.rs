//! Integration tests: HTTP through the real router, a real PostgreSQL database per test.

mod support;

mod accounts;
mod ai;
mod connections;
mod jobs;
mod migrations;
mod platform_contract;
mod security;
mod tenancy;
