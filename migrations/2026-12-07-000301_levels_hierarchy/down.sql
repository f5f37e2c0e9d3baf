DROP FUNCTION IF EXISTS ensure_levels_partitions(date, date);
DROP TABLE IF EXISTS ad_metric_revisions;
DROP TABLE IF EXISTS ad_group_metric_revisions;
DROP TABLE IF EXISTS ad_metrics_daily;
DROP TABLE IF EXISTS ad_group_metrics_daily;
DROP TABLE IF EXISTS ads;
DROP TABLE IF EXISTS ad_groups;
ALTER TABLE campaigns DROP CONSTRAINT IF EXISTS campaigns_org_id_id_key;
ALTER TABLE ad_accounts DROP CONSTRAINT IF EXISTS ad_accounts_org_id_id_key;
