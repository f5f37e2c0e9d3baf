-- When adpilot first synced an account successfully: anomaly alerts wait for a real baseline.
ALTER TABLE account_sync ADD COLUMN first_success_at timestamptz;
-- Accounts synced before this column existed have been observed since they were added.
UPDATE account_sync s SET first_success_at = a.created_at
  FROM ad_accounts a WHERE a.id = s.account_id AND s.last_success_at IS NOT NULL;

-- Alerts a person has seen (acknowledged) or put aside for a while (snoozed), and what they are
-- about, for the account column and the link to the object.
ALTER TABLE alerts ADD COLUMN acknowledged_at timestamptz;
ALTER TABLE alerts ADD COLUMN acknowledged_by uuid REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN snoozed_until timestamptz;

-- A kind of alert muted for one ad account: no alert of that kind is raised for it.
CREATE TABLE alert_mutes (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  account_id uuid NOT NULL REFERENCES ad_accounts (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('budget_pacing', 'anomaly', 'needs_reconnect', 'sync_failing', 'action_failed')),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, account_id, kind)
);
ALTER TABLE alert_mutes ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_mutes FORCE ROW LEVEL SECURITY;
CREATE POLICY alert_mutes_tenant ON alert_mutes
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT, DELETE ON alert_mutes TO adpilot_app;
