DROP POLICY ad_metric_revisions_scope ON ad_metric_revisions;
DROP POLICY ad_group_metric_revisions_scope ON ad_group_metric_revisions;
DROP POLICY ad_metrics_daily_scope ON ad_metrics_daily;
DROP POLICY ad_group_metrics_daily_scope ON ad_group_metrics_daily;
DROP POLICY ads_scope ON ads;
DROP POLICY ad_groups_scope ON ad_groups;
