//! Reports, alerts and webhooks. Owns `alerts`, `alert_channels`, `alert_settings` and
//! `budget_targets`, `report_schedules`, `report_sends` and
//! `report_unsubscribes` (and `alert_mutes`, in `alert_actions`).

pub mod alert_actions;
pub mod alert_routes;
pub mod alerts;
pub mod content;
pub mod routes;
pub mod schedule;
pub mod schedule_store;
pub mod seal;
pub mod send;
pub mod targets;
pub mod webhooks;
