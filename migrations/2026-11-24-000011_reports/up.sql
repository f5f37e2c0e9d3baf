-- Scheduled email reports: schedules, what was sent to whom, and one-click unsubscribes.
CREATE TABLE report_schedules (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
  frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly')),
  weekday smallint CHECK (weekday BETWEEN 1 AND 7),
  send_time time NOT NULL,
  period text NOT NULL CHECK (period IN ('yesterday', 'last_7_days', 'month_to_date')),
  platform text CHECK (platform IN ('google', 'meta', 'tiktok')),
  -- Empty: every managed ad account.
  account_ids uuid[] NOT NULL DEFAULT '{}',
  -- Only campaigns whose name contains this text (case-insensitive), when set.
  campaign_search text,
  recipients text[] NOT NULL,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  next_send_at timestamptz NOT NULL,
  CHECK ((frequency = 'weekly') = (weekday IS NOT NULL))
);
CREATE INDEX report_schedules_due_idx ON report_schedules (org_id, next_send_at);
ALTER TABLE report_schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_schedules FORCE ROW LEVEL SECURITY;
CREATE POLICY report_schedules_tenant ON report_schedules
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON report_schedules TO adpilot_app;

CREATE TABLE report_sends (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  schedule_id uuid NOT NULL REFERENCES report_schedules (id) ON DELETE CASCADE,
  slot timestamptz NOT NULL,
  recipient text NOT NULL,
  status text NOT NULL CHECK (status IN ('sent', 'failed', 'unsubscribed')),
  error text,
  period_from date NOT NULL,
  period_to date NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, schedule_id, slot, recipient)
);
ALTER TABLE report_sends ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_sends FORCE ROW LEVEL SECURITY;
CREATE POLICY report_sends_tenant ON report_sends
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE ON report_sends TO adpilot_app;

CREATE TABLE report_unsubscribes (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  schedule_id uuid NOT NULL REFERENCES report_schedules (id) ON DELETE CASCADE,
  email text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, schedule_id, email)
);
ALTER TABLE report_unsubscribes ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_unsubscribes FORCE ROW LEVEL SECURITY;
CREATE POLICY report_unsubscribes_tenant ON report_unsubscribes
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, DELETE ON report_unsubscribes TO adpilot_app;
