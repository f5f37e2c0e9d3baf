-- Alerts: raised once per incident, resolved when the condition clears, delivered by the
-- organization's channels (email, Slack-compatible or generic JSON webhooks).

CREATE TABLE alert_channels (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('email', 'slack', 'webhook')),
  target text NOT NULL,
  signing_secret text,
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE alert_channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_channels FORCE ROW LEVEL SECURITY;
CREATE POLICY alert_channels_tenant ON alert_channels
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON alert_channels TO adpilot_app;

-- Monthly budgets to pace against, per ad account or per campaign.
CREATE TABLE budget_targets (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  account_id uuid REFERENCES ad_accounts (id) ON DELETE CASCADE,
  campaign_id uuid REFERENCES campaigns (id) ON DELETE CASCADE,
  monthly_budget_micros bigint NOT NULL CHECK (monthly_budget_micros > 0),
  alert_at_percent integer NOT NULL DEFAULT 80 CHECK (alert_at_percent BETWEEN 1 AND 1000),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((account_id IS NULL) <> (campaign_id IS NULL))
);
ALTER TABLE budget_targets ENABLE ROW LEVEL SECURITY;
ALTER TABLE budget_targets FORCE ROW LEVEL SECURITY;
CREATE POLICY budget_targets_tenant ON budget_targets
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON budget_targets TO adpilot_app;

CREATE TABLE alerts (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('budget_pacing', 'anomaly', 'needs_reconnect', 'sync_failing', 'action_failed')),
  subject_key text NOT NULL,
  title text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
  opened_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz,
  delivered_at timestamptz,
  delivery_error text
);
-- One open incident per (kind, subject): raising again while open only refreshes it.
CREATE UNIQUE INDEX alerts_open_key ON alerts (org_id, kind, subject_key) WHERE state = 'open';
CREATE INDEX alerts_org_idx ON alerts (org_id, opened_at DESC);
ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY alerts_tenant ON alerts
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE ON alerts TO adpilot_app;

CREATE TABLE alert_settings (
  org_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  anomaly_threshold numeric(6, 2) NOT NULL DEFAULT 3.5 CHECK (anomaly_threshold > 0),
  anomaly_min_weeks integer NOT NULL DEFAULT 4 CHECK (anomaly_min_weeks >= 4)
);
ALTER TABLE alert_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY alert_settings_tenant ON alert_settings
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE ON alert_settings TO adpilot_app;
