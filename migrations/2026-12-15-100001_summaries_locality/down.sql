-- Back to the first migration's fill order and the default fillfactor (the heap order stays).
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['metric_summaries', 'ad_group_metric_summaries', 'ad_metric_summaries',
                           'account_metric_summaries'] LOOP
    EXECUTE format('ALTER TABLE %I RESET (fillfactor)', t);
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION metric_summaries_rebuild(org uuid) RETURNS void
  LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
DECLARE
  t record;
  sums text := 'sum(impressions), sum(clicks), sum(spend_micros), sum(conversions), sum(revenue_micros)';
  figures text := 'impressions, clicks, spend_micros, conversions, revenue_micros';
BEGIN
  FOR t IN SELECT * FROM (VALUES
      ('metrics_daily', 'metric_summaries', 'campaign_id, account_id'),
      ('ad_group_metrics_daily', 'ad_group_metric_summaries', 'campaign_id, ad_group_id, account_id'),
      ('ad_metrics_daily', 'ad_metric_summaries', 'ad_group_id, ad_id, campaign_id, account_id'))
    AS v(daily, summary, cols) LOOP
    EXECUTE format('DELETE FROM %I WHERE org_id = $1', t.summary) USING org;
    EXECUTE format(
      'INSERT INTO %1$I (org_id, grain, period_start, %3$s, days, %5$s)
       SELECT $1, ''w'', metrics_block_start(date), %3$s, count(*), %4$s
       FROM %2$I WHERE org_id = $1 GROUP BY metrics_block_start(date), %3$s',
      t.summary, t.daily, t.cols, sums, figures) USING org;
    EXECUTE format(
      'INSERT INTO %1$I (org_id, grain, period_start, %2$s, days, %4$s)
       SELECT $1, ''m'', metrics_month_start(period_start), %2$s, sum(days), %3$s
       FROM %1$I WHERE org_id = $1 AND grain = ''w'' GROUP BY metrics_month_start(period_start), %2$s',
      t.summary, t.cols, sums, figures) USING org;
  END LOOP;
  DELETE FROM account_metric_summaries WHERE org_id = org;
  INSERT INTO account_metric_summaries (org_id, grain, period_start, account_id, days, impressions,
                                        clicks, spend_micros, conversions, revenue_micros)
  SELECT org, 'd', date, account_id, count(*), sum(impressions), sum(clicks), sum(spend_micros),
         sum(conversions), sum(revenue_micros)
  FROM metrics_daily WHERE org_id = org GROUP BY date, account_id;
END
$fn$;
REVOKE ALL ON FUNCTION metric_summaries_rebuild(uuid) FROM PUBLIC;
