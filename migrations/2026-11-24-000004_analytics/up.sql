-- Campaigns (owned by the campaigns module) and their daily metrics (owned by analytics).
--
-- metrics_daily is range-partitioned by month on the account-local date; every key starts with
-- org_id so the table can later be distributed by organization. Values that change on a later
-- read are also appended to metric_revisions (what the platform reported, and when), so a
-- backtest can replay what was known on a past day.

CREATE TABLE campaigns (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  account_id uuid NOT NULL REFERENCES ad_accounts (id) ON DELETE CASCADE,
  platform text NOT NULL CHECK (platform IN ('google', 'meta', 'tiktok')),
  external_id text NOT NULL,
  name text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'paused', 'removed')),
  daily_budget_micros bigint,
  currency text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_synced_at timestamptz,
  UNIQUE (org_id, account_id, external_id)
);
CREATE INDEX campaigns_org_idx ON campaigns (org_id, platform, status);
ALTER TABLE campaigns ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaigns FORCE ROW LEVEL SECURITY;
CREATE POLICY campaigns_tenant ON campaigns
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON campaigns TO adpilot_app;

CREATE TABLE metrics_daily (
  org_id uuid NOT NULL,
  account_id uuid NOT NULL,
  campaign_id uuid NOT NULL,
  date date NOT NULL,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  spend_micros bigint NOT NULL,
  conversions numeric(20, 6) NOT NULL,
  revenue_micros bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, campaign_id, date)
) PARTITION BY RANGE (date);
CREATE INDEX metrics_daily_org_date_idx ON metrics_daily (org_id, date);
-- Rows outside every monthly partition land here rather than being refused; upkeep keeps it
-- empty by creating partitions ahead.
CREATE TABLE metrics_daily_default PARTITION OF metrics_daily DEFAULT;
ALTER TABLE metrics_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY metrics_daily_tenant ON metrics_daily
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON metrics_daily TO adpilot_app;

CREATE TABLE metric_revisions (
  org_id uuid NOT NULL,
  campaign_id uuid NOT NULL,
  date date NOT NULL,
  observed_at timestamptz NOT NULL,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  spend_micros bigint NOT NULL,
  conversions numeric(20, 6) NOT NULL,
  revenue_micros bigint NOT NULL,
  PRIMARY KEY (org_id, campaign_id, date, observed_at)
);
ALTER TABLE metric_revisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE metric_revisions FORCE ROW LEVEL SECURITY;
CREATE POLICY metric_revisions_tenant ON metric_revisions
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT ON metric_revisions TO adpilot_app;

-- Sync progress per ad account.
CREATE TABLE account_sync (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  account_id uuid NOT NULL REFERENCES ad_accounts (id) ON DELETE CASCADE,
  lookback_days integer NOT NULL DEFAULT 7 CHECK (lookback_days BETWEEN 1 AND 90),
  backfill_days integer NOT NULL DEFAULT 90 CHECK (backfill_days BETWEEN 1 AND 730),
  backfill_from date,
  backfilled_from date,
  backfill_done boolean NOT NULL DEFAULT false,
  last_success_at timestamptz,
  last_attempt_at timestamptz,
  last_error text,
  failing_since timestamptz,
  rate_limited_until timestamptz,
  rows_synced bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, account_id)
);
ALTER TABLE account_sync ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_sync FORCE ROW LEVEL SECURITY;
CREATE POLICY account_sync_tenant ON account_sync
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON account_sync TO adpilot_app;

-- Monthly partitions are created by this function, which runs with its owner's rights: the
-- server role may not create tables, but may ask for the partitions ingest needs.
CREATE FUNCTION ensure_metrics_partitions(from_date date, to_date date) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  m date := date_trunc('month', from_date)::date;
  created integer := 0;
  name text;
BEGIN
  IF to_date < from_date OR to_date - from_date > 3660 THEN
    RAISE EXCEPTION 'partition range % to % is not allowed', from_date, to_date;
  END IF;
  WHILE m <= to_date LOOP
    name := format('metrics_daily_%s', to_char(m, 'YYYY_MM'));
    IF to_regclass(name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF metrics_daily FOR VALUES FROM (%L) TO (%L)',
                     name, m, (m + interval '1 month')::date);
      created := created + 1;
    END IF;
    m := (m + interval '1 month')::date;
  END LOOP;
  RETURN created;
END
$$;
REVOKE ALL ON FUNCTION ensure_metrics_partitions(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_metrics_partitions(date, date) TO adpilot_app;

SELECT ensure_metrics_partitions((current_date - interval '25 months')::date, (current_date + interval '3 months')::date);
