//! Analytics: metrics sync and storage, dashboard queries, charts and CSV. Owns
//! `metrics_daily`, `metric_revisions` and `account_sync`.

pub mod chart;
pub mod conversion_routes;
pub mod conversion_settings;
pub mod conversions;
pub mod format;
pub mod history;
pub mod ingest;
pub mod insights;
pub mod jobs;
pub mod level_ingest;
pub mod level_queries;
pub mod level_sync;
pub mod level_table;
pub mod level_views;
pub mod onboarding;
pub mod queries;
pub mod range;
pub mod routes;
pub mod signals;
pub mod summaries;
pub mod sync;
pub mod views;
