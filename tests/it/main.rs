//! Integration tests: HTTP through the real router, a real PostgreSQL database per test.

mod support;

mod accounts;
mod jobs;
mod security;
mod tenancy;
