DROP FUNCTION IF EXISTS ensure_metrics_partitions(date, date);
DROP TABLE IF EXISTS account_sync;
DROP TABLE IF EXISTS metric_revisions;
DROP TABLE IF EXISTS metrics_daily;
DROP TABLE IF EXISTS campaigns;
