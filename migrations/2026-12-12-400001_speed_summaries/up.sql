-- Summaries of the daily metric tables, for dashboards that read long ranges and many objects.
--
-- A dashboard range reads whole summary periods where they fit inside it and the raw daily rows
-- only for the days at its edges, so "last 30 days" reads about 4 week-blocks and at most 12
-- days per object instead of 30 days, and two years about 24 months, 8 blocks and 12 days
-- instead of 730 days (analytics::summaries splits a range so).
--
-- Periods (grain):
-- - 'm': a calendar month;
-- - 'd': a day (account_metric_summaries only, per ad account, for the daily chart);
-- - 'w': a block of a month: days 1-7, 8-14, 15-21, 22-28 and 29 to the month's end. Blocks
--   tile each month exactly, so blocks and months never overlap a partial day and one row per
--   object and period is enough; the functions below are the one definition (the Rust split
--   mirrors them and a test compares them).
--
-- Exactness: there are no triggers on the daily tables' inserts and updates (row triggers, and
-- statement triggers fed per 25,000-row statement, made ingest several times slower). Every
-- writer of the daily tables refreshes, in its own transaction, the summary rows of the
-- (object, block) and (object, month) keys it wrote, by recomputing them from the daily rows
-- with metric_summaries_refresh below: the sync's ingest (analytics::ingest, level_ingest) once
-- per transaction after its merges, a conversion-settings change (conversion_settings::rederive)
-- after its updates. Recomputing, not adding deltas, means a refresh repairs its keys whatever
-- they held before. Those writers hold the account's ingest lock, so no two of them refresh one
-- object's keys at once. A DELETE of daily rows (by hand, or any later clean-up) refreshes its
-- keys through a statement-level trigger; the ingest never deletes, so that trigger costs it
-- nothing. Dropping or truncating a partition bypasses it: run metric_summaries_rebuild(org)
-- afterwards. Figures are integers and numeric, so the sums are exact; `days` counts the daily
-- rows in the period, and a period that lost all its rows loses its summary row.
--
-- Only the figures the dashboards show are summarized (impressions, clicks, spend,
-- conversions, revenue); rules and backtests read the daily tables as before.
--
-- Keys start with org_id (distributable by organization, like the daily tables), then the
-- grain and the period, then the daily table's own key order, so one period of an organization,
-- or of one campaign's ad groups, or of one ad group's ads, is one key range.

CREATE FUNCTION metrics_block_start(d date) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT d - (extract(day FROM d)::int - 1) + least((extract(day FROM d)::int - 1) / 7, 4) * 7 $$;

CREATE FUNCTION metrics_month_start(d date) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT d - (extract(day FROM d)::int - 1) $$;

CREATE FUNCTION metrics_block_end(d date) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT CASE WHEN extract(day FROM d) >= 29
                    THEN (metrics_month_start(d) + interval '1 month')::date - 1
                    ELSE metrics_block_start(d) + 6 END $$;

CREATE TABLE metric_summaries (
  org_id uuid NOT NULL,
  grain "char" NOT NULL CHECK (grain IN ('w', 'm')),
  period_start date NOT NULL,
  campaign_id uuid NOT NULL,
  account_id uuid NOT NULL,
  days integer NOT NULL,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  spend_micros bigint NOT NULL,
  conversions numeric(20, 6) NOT NULL,
  revenue_micros bigint NOT NULL,
  PRIMARY KEY (org_id, grain, period_start, campaign_id)
);

CREATE TABLE ad_group_metric_summaries (
  org_id uuid NOT NULL,
  grain "char" NOT NULL CHECK (grain IN ('w', 'm')),
  period_start date NOT NULL,
  campaign_id uuid NOT NULL,
  ad_group_id uuid NOT NULL,
  account_id uuid NOT NULL,
  days integer NOT NULL,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  spend_micros bigint NOT NULL,
  conversions numeric(20, 6) NOT NULL,
  revenue_micros bigint NOT NULL,
  PRIMARY KEY (org_id, grain, period_start, campaign_id, ad_group_id)
);

CREATE TABLE ad_metric_summaries (
  org_id uuid NOT NULL,
  grain "char" NOT NULL CHECK (grain IN ('w', 'm')),
  period_start date NOT NULL,
  ad_group_id uuid NOT NULL,
  ad_id uuid NOT NULL,
  campaign_id uuid NOT NULL,
  account_id uuid NOT NULL,
  days integer NOT NULL,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  spend_micros bigint NOT NULL,
  conversions numeric(20, 6) NOT NULL,
  revenue_micros bigint NOT NULL,
  PRIMARY KEY (org_id, grain, period_start, ad_group_id, ad_id)
);

-- The dashboard's daily chart sums every campaign of the organization per day and currency;
-- per ad account and day ('d', period_start = the date) it reads a row per account and day
-- instead of one per campaign and day (analytics::queries::daily says when it may).
CREATE TABLE account_metric_summaries (
  org_id uuid NOT NULL,
  grain "char" NOT NULL CHECK (grain = 'd'),
  period_start date NOT NULL,
  account_id uuid NOT NULL,
  days integer NOT NULL,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  spend_micros bigint NOT NULL,
  conversions numeric(20, 6) NOT NULL,
  revenue_micros bigint NOT NULL,
  PRIMARY KEY (org_id, grain, period_start, account_id)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['metric_summaries', 'ad_group_metric_summaries', 'ad_metric_summaries',
                           'account_metric_summaries'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I USING (org_id = (SELECT app_current_org())) '
                   'WITH CHECK (org_id = (SELECT app_current_org()))', t || '_tenant', t);
    EXECUTE format('CREATE POLICY %I ON %I AS RESTRICTIVE USING ((SELECT app_account_scope()) IS NULL '
                   'OR account_id = ANY ((SELECT app_account_scope())::uuid[]))', t || '_scope', t);
    -- Written only through the functions below, which run as the writer of the daily rows.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO adpilot_app', t);
  END LOOP;
END
$$;

-- Recomputes, from the daily rows, the block and month summaries of every (object, day) pair
-- given (objects[i] and days[i]; any day of a block stands for its block), for organization
-- `org`, in one statement: the touched blocks from the daily rows of their days, their months
-- from those new blocks plus the month's other blocks as stored. With `prune`, a touched block
-- or month left without daily rows loses its summary row (only a delete can cause that, so the
-- ingest passes false and skips the two anti-joins).
-- The daily rows are read as one key range of the organization over the touched blocks' days
-- and matched to the touched keys by hash, like the ingest's own read of the stored rows.
CREATE FUNCTION metric_summaries_refresh(daily text, org uuid, objects uuid[], days date[],
                                         prune boolean) RETURNS void
  -- Every join here is between thousands to hundreds of thousands of keys, which a hash does
  -- in one pass; misled by unnest's guess of 10 rows and a freshly written partition's missing
  -- statistics, the planner would otherwise loop over the keys for each row (measured: 76 s
  -- instead of 3 s for a sync of 15,000 ads × 14 days).
  LANGUAGE plpgsql SET search_path = public, pg_temp SET enable_nestloop = off SET work_mem = '64MB'
  AS $fn$
DECLARE
  summary text;
  obj text;
  keys text;
  cols text;
  lo date;
  hi date;
  figures text := 'impressions, clicks, spend_micros, conversions, revenue_micros';
  sums text := 'sum(impressions) AS impressions, sum(clicks) AS clicks, '
               'sum(spend_micros) AS spend_micros, sum(conversions) AS conversions, '
               'sum(revenue_micros) AS revenue_micros';
  sets text := 'days = excluded.days, impressions = excluded.impressions, clicks = excluded.clicks, '
               'spend_micros = excluded.spend_micros, conversions = excluded.conversions, '
               'revenue_micros = excluded.revenue_micros '
               'WHERE (s.days, s.impressions, s.clicks, s.spend_micros, s.conversions, s.revenue_micros) '
               'IS DISTINCT FROM (excluded.days, excluded.impressions, excluded.clicks, '
               'excluded.spend_micros, excluded.conversions, excluded.revenue_micros)';
BEGIN
  CASE daily
    WHEN 'metrics_daily' THEN
      summary := 'metric_summaries'; obj := 'campaign_id'; keys := 'campaign_id';
      cols := 'campaign_id, account_id';
    WHEN 'ad_group_metrics_daily' THEN
      summary := 'ad_group_metric_summaries'; obj := 'ad_group_id'; keys := 'campaign_id, ad_group_id';
      cols := 'campaign_id, ad_group_id, account_id';
    WHEN 'ad_metrics_daily' THEN
      summary := 'ad_metric_summaries'; obj := 'ad_id'; keys := 'ad_group_id, ad_id';
      cols := 'ad_group_id, ad_id, campaign_id, account_id';
    ELSE
      RAISE EXCEPTION 'no summaries of %', daily;
  END CASE;
  SELECT min(metrics_block_start(d)), max(metrics_block_end(d)) INTO lo, hi FROM unnest(days) d;
  IF lo IS NULL THEN
    RETURN;
  END IF;
  EXECUTE format(
    'WITH k AS MATERIALIZED (
       SELECT DISTINCT u.obj, metrics_block_start(u.day) AS block
       FROM unnest($2::uuid[], $3::date[]) u(obj, day)
     ), km AS MATERIALIZED (
       SELECT DISTINCT obj, metrics_month_start(block) AS month FROM k
     ), agg AS MATERIALIZED (
       SELECT %3$s, metrics_block_start(d.date) AS period_start, count(*)::int AS days, %6$s
       FROM %1$I d
       WHERE d.org_id = $1 AND d.date BETWEEN $4 AND $5
         AND (d.%4$I, metrics_block_start(d.date)) IN (SELECT obj, block FROM k)
       GROUP BY %3$s, metrics_block_start(d.date)
     ), blocks AS (
       INSERT INTO %2$I AS s (org_id, grain, period_start, %3$s, days, %5$s)
       SELECT $1, ''w'', period_start, %3$s, days, %5$s FROM agg
       ON CONFLICT (org_id, grain, period_start, %7$s) DO UPDATE SET %8$s
     ), mon AS MATERIALIZED (
       SELECT %3$s, metrics_month_start(b.period_start) AS period_start, sum(b.days)::int AS days, %6$s
       FROM (SELECT %3$s, period_start, days, %5$s FROM agg
             UNION ALL
             SELECT %3$s, s.period_start, s.days, %5$s FROM %2$I s
             WHERE s.org_id = $1 AND s.grain = ''w'' AND s.period_start BETWEEN $6 AND $7
               AND s.days > 0
               AND (s.%4$I, metrics_month_start(s.period_start)) IN (SELECT obj, month FROM km)
               AND NOT EXISTS (SELECT 1 FROM k WHERE k.obj = s.%4$I AND k.block = s.period_start)) b
       GROUP BY %3$s, metrics_month_start(b.period_start)
     ), months AS (
       INSERT INTO %2$I AS s (org_id, grain, period_start, %3$s, days, %5$s)
       SELECT $1, ''m'', period_start, %3$s, days, %5$s FROM mon
       ON CONFLICT (org_id, grain, period_start, %7$s) DO UPDATE SET %8$s
     ), gone_blocks AS (
       DELETE FROM %2$I s USING k
       WHERE $8 AND s.org_id = $1 AND s.grain = ''w'' AND s.period_start = k.block AND s.%4$I = k.obj
         AND NOT EXISTS (SELECT 1 FROM agg a WHERE a.%4$I = k.obj AND a.period_start = k.block)
     ), gone_months AS (
       DELETE FROM %2$I s USING km
       WHERE $8 AND s.org_id = $1 AND s.grain = ''m'' AND s.period_start = km.month AND s.%4$I = km.obj
         AND NOT EXISTS (SELECT 1 FROM mon m WHERE m.%4$I = km.obj AND m.period_start = km.month)
     )
     SELECT 1',
    daily, summary, cols, obj, figures, sums, keys, sets)
  USING org, objects, days, lo, hi, metrics_month_start(lo),
        (metrics_month_start(hi) + interval '1 month')::date - 1, prune;
END
$fn$;

-- The per-account days of the daily chart: recomputes, from metrics_daily, the (account, day)
-- pairs given, as metric_summaries_refresh does for its keys.
CREATE FUNCTION account_metric_summaries_refresh(org uuid, accounts uuid[], days date[],
                                                 prune boolean) RETURNS void
  LANGUAGE plpgsql SET search_path = public, pg_temp SET enable_nestloop = off SET work_mem = '64MB'
  AS $fn$
DECLARE
  lo date;
  hi date;
BEGIN
  SELECT min(d), max(d) INTO lo, hi FROM unnest(days) d;
  IF lo IS NULL THEN
    RETURN;
  END IF;
  -- Dynamic so that each call is planned with its own dates (partition pruning).
  EXECUTE
    'WITH k AS MATERIALIZED (
       SELECT DISTINCT u.account_id, u.day FROM unnest($2::uuid[], $3::date[]) u(account_id, day)
     ), agg AS MATERIALIZED (
       SELECT account_id, date, count(*)::int AS days, sum(impressions) AS impressions,
              sum(clicks) AS clicks, sum(spend_micros) AS spend_micros,
              sum(conversions) AS conversions, sum(revenue_micros) AS revenue_micros
       FROM metrics_daily d
       WHERE d.org_id = $1 AND d.date BETWEEN $4 AND $5
         AND (d.account_id, d.date) IN (SELECT account_id, day FROM k)
       GROUP BY account_id, date
     ), up AS (
       INSERT INTO account_metric_summaries AS s (org_id, grain, period_start, account_id, days,
                                                  impressions, clicks, spend_micros, conversions,
                                                  revenue_micros)
       SELECT $1, ''d'', date, account_id, days, impressions, clicks, spend_micros, conversions,
              revenue_micros
       FROM agg
       ON CONFLICT (org_id, grain, period_start, account_id) DO UPDATE SET
         days = excluded.days, impressions = excluded.impressions, clicks = excluded.clicks,
         spend_micros = excluded.spend_micros, conversions = excluded.conversions,
         revenue_micros = excluded.revenue_micros
       WHERE (s.days, s.impressions, s.clicks, s.spend_micros, s.conversions, s.revenue_micros)
             IS DISTINCT FROM (excluded.days, excluded.impressions, excluded.clicks,
                               excluded.spend_micros, excluded.conversions, excluded.revenue_micros)
     ), gone AS (
       DELETE FROM account_metric_summaries s USING k
       WHERE $6 AND s.org_id = $1 AND s.grain = ''d'' AND s.period_start = k.day
         AND s.account_id = k.account_id
         AND NOT EXISTS (SELECT 1 FROM agg a WHERE a.account_id = k.account_id AND a.date = k.day)
     )
     SELECT 1'
  USING org, accounts, days, lo, hi, prune;
END
$fn$;

-- Every summary of `org` recomputed from its daily rows: for this migration's first fill, and
-- after daily rows were removed without a DELETE (a dropped partition). Administrator only.
CREATE FUNCTION metric_summaries_rebuild(org uuid) RETURNS void
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

-- A DELETE of daily rows, whoever runs it, refreshes the keys it removed (see the top).
CREATE FUNCTION metric_summaries_after_delete() RETURNS trigger
  LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
DECLARE
  r record;
  obj text := CASE TG_TABLE_NAME WHEN 'metrics_daily' THEN 'campaign_id'
                                 WHEN 'ad_group_metrics_daily' THEN 'ad_group_id' ELSE 'ad_id' END;
BEGIN
  FOR r IN EXECUTE format('SELECT org_id, array_agg(%I) AS objects, array_agg(account_id) AS accounts,
                                  array_agg(date) AS days
                           FROM old_rows GROUP BY org_id', obj) LOOP
    PERFORM metric_summaries_refresh(TG_TABLE_NAME, r.org_id, r.objects, r.days, true);
    IF TG_TABLE_NAME = 'metrics_daily' THEN
      PERFORM account_metric_summaries_refresh(r.org_id, r.accounts, r.days, true);
    END IF;
  END LOOP;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER metrics_daily_summaries_del AFTER DELETE ON metrics_daily
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION metric_summaries_after_delete();
CREATE TRIGGER ad_group_metrics_daily_summaries_del AFTER DELETE ON ad_group_metrics_daily
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION metric_summaries_after_delete();
CREATE TRIGGER ad_metrics_daily_summaries_del AFTER DELETE ON ad_metrics_daily
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION metric_summaries_after_delete();

-- The rows already stored (this migration runs as the administrator, which row-level security
-- does not restrict). On a large installation this reads each daily table once.
SELECT metric_summaries_rebuild(o.org_id)
FROM (SELECT org_id FROM metrics_daily UNION SELECT org_id FROM ad_group_metrics_daily
      UNION SELECT org_id FROM ad_metrics_daily) o;
