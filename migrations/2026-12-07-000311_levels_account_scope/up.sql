-- A member restricted to some ad accounts (see 2026-12-07-000102_sec_account_scope) sees the
-- ad groups, ads and their figures of those accounts only, enforced by the database as for
-- campaigns and their metrics: pages that join a campaign were already filtered through it,
-- but a read of a level table alone (the dashboard's level table, a rule's facts) must not
-- depend on remembering that join. Unset scope (owners, admins, jobs): one InitPlan, true.
CREATE POLICY ad_groups_scope ON ad_groups AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL OR account_id = ANY ((SELECT app_account_scope())::uuid[]));
CREATE POLICY ads_scope ON ads AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL OR account_id = ANY ((SELECT app_account_scope())::uuid[]));
CREATE POLICY ad_group_metrics_daily_scope ON ad_group_metrics_daily AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL OR account_id = ANY ((SELECT app_account_scope())::uuid[]));
CREATE POLICY ad_metrics_daily_scope ON ad_metrics_daily AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL OR account_id = ANY ((SELECT app_account_scope())::uuid[]));
CREATE POLICY ad_group_metric_revisions_scope ON ad_group_metric_revisions AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL
         OR ad_group_id IN (SELECT g.id FROM ad_groups g));
CREATE POLICY ad_metric_revisions_scope ON ad_metric_revisions AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL
         OR ad_id IN (SELECT a.id FROM ads a));
