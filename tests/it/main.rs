//! Integration tests: HTTP through the real router, a real PostgreSQL database per test.

mod support;

mod accounts;
mod connections;
mod jobs;
mod migrations;
mod platform_contract;
mod rules;
mod security;
mod tenancy;
