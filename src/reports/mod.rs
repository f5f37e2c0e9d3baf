//! Reports, alerts and webhooks. Owns `alerts`, `alert_channels`, `alert_settings` and
//! `budget_targets`.

pub mod alerts;
pub mod routes;
pub mod webhooks;
