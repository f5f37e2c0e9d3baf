-- The levels below campaigns: ad groups (Google ad groups, Meta ad sets, TikTok ad groups) and
-- ads (owned by the campaigns module), and their daily metrics (owned by analytics).
--
-- Sized for an organization with 2,000 campaigns, 10,000 ad groups and 30,000 ads over two
-- years (about 22 million ad-days, 7 million ad-group-days) among several such tenants:
-- - Every key starts with org_id, and references between tenant tables carry it (the
--   (org_id, id) keys added to ad_accounts and campaigns below exist for that), so the tables
--   can be distributed by organization (Citus) and no row can point into another tenant.
-- - The daily tables are range-partitioned by month on the account-local date like
--   metrics_daily, with the date right after org_id in the key for the same reason given in
--   2026-11-25-000012_analytics_speed: a sync writes a run of days, which in date order is a
--   few contiguous stretches of each index. The parent follows in the key (the campaign of an
--   ad group, the ad group of an ad), so one campaign's ad groups over a period (the campaign
--   page) are found inside the period's key range without a second index, and an old month
--   can be detached or dropped whole.
-- - No foreign keys from the daily tables: each would cost an index probe per ingested row
--   (as on metrics_daily, which has none); rows are only written by ingest, with ids it just
--   read from the structure tables in the same transaction.
-- - Values that a later read changes are appended to the *_metric_revisions tables (what the
--   platform reported, and when), partitioned the same way so a month of history goes with its
--   month of metrics.
-- - The figure columns match metrics_daily's, including those added at the campaign level for
--   comparable clicks and conversions (all_clicks, purchases, purchase_value_micros, leads,
--   installs, registrations, conversion_types). Those are NULL where the platform's report did
--   not provide them, never a made-up zero.

ALTER TABLE ad_accounts ADD CONSTRAINT ad_accounts_org_id_id_key UNIQUE (org_id, id);
ALTER TABLE campaigns ADD CONSTRAINT campaigns_org_id_id_key UNIQUE (org_id, id);

CREATE TABLE ad_groups (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  campaign_id uuid NOT NULL,
  platform text NOT NULL CHECK (platform IN ('google', 'meta', 'tiktok')),
  external_id text NOT NULL,
  name text NOT NULL,
  -- The object's own switch: Google status, Meta status, TikTok operation_status.
  status text NOT NULL CHECK (status IN ('active', 'paused', 'removed')),
  -- The platform's finer state as it spells it (Meta effective_status, TikTok
  -- secondary_status, Google's serving state computed from the parents); NULL when the
  -- platform gave none.
  delivery text,
  budget_period text CHECK (budget_period IN ('daily', 'lifetime')),
  budget_micros bigint,
  bid_micros bigint,
  bid_strategy text,
  starts_at timestamptz,
  ends_at timestamptz,
  platform_created_at timestamptz,
  currency text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_synced_at timestamptz,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, account_id, external_id),
  FOREIGN KEY (org_id, account_id) REFERENCES ad_accounts (org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, campaign_id) REFERENCES campaigns (org_id, id) ON DELETE CASCADE,
  CHECK ((budget_period IS NULL) = (budget_micros IS NULL))
);
CREATE INDEX ad_groups_campaign_idx ON ad_groups (org_id, campaign_id);
ALTER TABLE ad_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_groups FORCE ROW LEVEL SECURITY;
CREATE POLICY ad_groups_tenant ON ad_groups
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON ad_groups TO adpilot_app;

CREATE TABLE ads (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  campaign_id uuid NOT NULL,
  ad_group_id uuid NOT NULL,
  platform text NOT NULL CHECK (platform IN ('google', 'meta', 'tiktok')),
  -- Google ad ids are unique only within their ad group (adGroupAds/{agid}~{adid}), so the
  -- unique key is per ad group on every platform.
  external_id text NOT NULL,
  name text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'paused', 'removed')),
  delivery text,
  ad_type text,
  headlines text[] NOT NULL DEFAULT '{}',
  descriptions text[] NOT NULL DEFAULT '{}',
  primary_text text,
  final_url text,
  platform_created_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_synced_at timestamptz,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, ad_group_id, external_id),
  FOREIGN KEY (org_id, account_id) REFERENCES ad_accounts (org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, campaign_id) REFERENCES campaigns (org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, ad_group_id) REFERENCES ad_groups (org_id, id) ON DELETE CASCADE
);
CREATE INDEX ads_account_idx ON ads (org_id, account_id);
ALTER TABLE ads ENABLE ROW LEVEL SECURITY;
ALTER TABLE ads FORCE ROW LEVEL SECURITY;
CREATE POLICY ads_tenant ON ads
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON ads TO adpilot_app;

CREATE TABLE ad_group_metrics_daily (
  org_id uuid NOT NULL,
  account_id uuid NOT NULL,
  campaign_id uuid NOT NULL,
  ad_group_id uuid NOT NULL,
  date date NOT NULL,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  all_clicks bigint,
  spend_micros bigint NOT NULL,
  conversions numeric(20, 6) NOT NULL,
  revenue_micros bigint NOT NULL,
  purchases numeric(20, 6),
  purchase_value_micros bigint,
  leads numeric(20, 6),
  installs numeric(20, 6),
  registrations numeric(20, 6),
  conversion_types jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, date, campaign_id, ad_group_id)
) PARTITION BY RANGE (date);
CREATE TABLE ad_group_metrics_daily_default PARTITION OF ad_group_metrics_daily DEFAULT;
ALTER TABLE ad_group_metrics_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_group_metrics_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY ad_group_metrics_daily_tenant ON ad_group_metrics_daily
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON ad_group_metrics_daily TO adpilot_app;

CREATE TABLE ad_metrics_daily (
  org_id uuid NOT NULL,
  account_id uuid NOT NULL,
  campaign_id uuid NOT NULL,
  ad_group_id uuid NOT NULL,
  ad_id uuid NOT NULL,
  date date NOT NULL,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  all_clicks bigint,
  spend_micros bigint NOT NULL,
  conversions numeric(20, 6) NOT NULL,
  revenue_micros bigint NOT NULL,
  purchases numeric(20, 6),
  purchase_value_micros bigint,
  leads numeric(20, 6),
  installs numeric(20, 6),
  registrations numeric(20, 6),
  conversion_types jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, date, ad_group_id, ad_id)
) PARTITION BY RANGE (date);
CREATE TABLE ad_metrics_daily_default PARTITION OF ad_metrics_daily DEFAULT;
ALTER TABLE ad_metrics_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_metrics_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY ad_metrics_daily_tenant ON ad_metrics_daily
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON ad_metrics_daily TO adpilot_app;

CREATE TABLE ad_group_metric_revisions (
  org_id uuid NOT NULL,
  ad_group_id uuid NOT NULL,
  date date NOT NULL,
  observed_at timestamptz NOT NULL,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  all_clicks bigint,
  spend_micros bigint NOT NULL,
  conversions numeric(20, 6) NOT NULL,
  revenue_micros bigint NOT NULL,
  PRIMARY KEY (org_id, date, ad_group_id, observed_at)
) PARTITION BY RANGE (date);
CREATE TABLE ad_group_metric_revisions_default PARTITION OF ad_group_metric_revisions DEFAULT;
ALTER TABLE ad_group_metric_revisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_group_metric_revisions FORCE ROW LEVEL SECURITY;
CREATE POLICY ad_group_metric_revisions_tenant ON ad_group_metric_revisions
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT ON ad_group_metric_revisions TO adpilot_app;

CREATE TABLE ad_metric_revisions (
  org_id uuid NOT NULL,
  ad_id uuid NOT NULL,
  date date NOT NULL,
  observed_at timestamptz NOT NULL,
  impressions bigint NOT NULL,
  clicks bigint NOT NULL,
  all_clicks bigint,
  spend_micros bigint NOT NULL,
  conversions numeric(20, 6) NOT NULL,
  revenue_micros bigint NOT NULL,
  PRIMARY KEY (org_id, date, ad_id, observed_at)
) PARTITION BY RANGE (date);
CREATE TABLE ad_metric_revisions_default PARTITION OF ad_metric_revisions DEFAULT;
ALTER TABLE ad_metric_revisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_metric_revisions FORCE ROW LEVEL SECURITY;
CREATE POLICY ad_metric_revisions_tenant ON ad_metric_revisions
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT ON ad_metric_revisions TO adpilot_app;

-- Monthly partitions of the four tables above, created with the owner's rights for ingest
-- (the server role may not create tables), as ensure_metrics_partitions does for
-- metrics_daily.
CREATE FUNCTION ensure_levels_partitions(from_date date, to_date date) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  m date;
  created integer := 0;
  parent text;
  name text;
BEGIN
  IF to_date < from_date OR to_date - from_date > 3660 THEN
    RAISE EXCEPTION 'partition range % to % is not allowed', from_date, to_date;
  END IF;
  FOREACH parent IN ARRAY ARRAY['ad_group_metrics_daily', 'ad_metrics_daily',
                                'ad_group_metric_revisions', 'ad_metric_revisions'] LOOP
    m := date_trunc('month', from_date)::date;
    WHILE m <= to_date LOOP
      name := format('%s_%s', parent, to_char(m, 'YYYY_MM'));
      IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       name, parent, m, (m + interval '1 month')::date);
        created := created + 1;
      END IF;
      m := (m + interval '1 month')::date;
    END LOOP;
  END LOOP;
  RETURN created;
END
$$;
REVOKE ALL ON FUNCTION ensure_levels_partitions(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ensure_levels_partitions(date, date) TO adpilot_app;

SELECT ensure_levels_partitions((current_date - interval '25 months')::date, (current_date + interval '3 months')::date);
