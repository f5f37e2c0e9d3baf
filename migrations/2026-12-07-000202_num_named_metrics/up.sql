-- Named conversion metrics and every click, per campaign-day, and the per-type figures they
-- and `conversions`/`revenue` are derived from (analytics::conversions), so that changing an
-- account's conversion settings re-derives history without asking the platform again.
-- `conversion_types`: {"<platform type>": {"count": "<decimal>", "value": "<decimal, major
-- units>"[, "category": "<Google category>"]}}, with "(platform default)" for the platform's
-- own figure. The named metrics are NULL where the platform's answer cannot tell (rows synced
-- before this column existed; Google rows without a per-action breakdown); all_clicks is
-- NULL where the platform has no such figure (TikTok).
ALTER TABLE metrics_daily
  ADD COLUMN all_clicks bigint,
  ADD COLUMN purchases numeric(20, 6),
  ADD COLUMN purchase_value_micros bigint,
  ADD COLUMN leads numeric(20, 6),
  ADD COLUMN installs numeric(20, 6),
  ADD COLUMN registrations numeric(20, 6),
  ADD COLUMN conversion_types jsonb NOT NULL DEFAULT '{}';

-- Which conversion types count as an ad account's conversions and revenue (empty lists: the
-- platform's own definition).
CREATE TABLE account_conversion_settings (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  account_id uuid NOT NULL REFERENCES ad_accounts (id) ON DELETE CASCADE,
  conversion_types text[] NOT NULL DEFAULT '{}',
  revenue_types text[] NOT NULL DEFAULT '{}',
  updated_by uuid,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, account_id)
);
ALTER TABLE account_conversion_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE account_conversion_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY account_conversion_settings_tenant ON account_conversion_settings
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT, UPDATE, DELETE ON account_conversion_settings TO adpilot_app;
