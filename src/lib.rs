//! adpilot: a self-hosted ad automation server.
//!
//! One crate, one binary. See `design.md` for the shape: each module owns its tables, routes
//! and service functions.

pub mod ai;
pub mod analytics;
pub mod app;
pub mod audit;
pub mod auth;
pub mod automation;
pub mod billing;
pub mod campaigns;
pub mod config;
pub mod connections;
pub mod db;
pub mod jobs;
pub mod mailer;
pub mod platforms;
pub mod reports;
pub mod router;
pub mod sandbox;
pub mod server;
pub mod types;
pub mod web;
