-- Campaigns created from adpilot's form, one row per chosen ad account. The row is written as
-- 'pending' in the same transaction that enqueues the job which calls the platform, then
-- becomes 'created' (with the platform's id and the synced campaign row) or 'error' (with the
-- platform's answer in plain words). One form submission shares a batch_id for the status page.
CREATE TABLE campaign_pushes (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  batch_id uuid NOT NULL,
  account_id uuid NOT NULL REFERENCES ad_accounts (id) ON DELETE CASCADE,
  platform text NOT NULL CHECK (platform IN ('google', 'meta', 'tiktok')),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
  objective text NOT NULL,
  daily_budget_micros bigint NOT NULL CHECK (daily_budget_micros > 0),
  currency text NOT NULL,
  start_status text NOT NULL CHECK (start_status IN ('active', 'paused')),
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'created', 'error')),
  external_id text,
  campaign_id uuid REFERENCES campaigns (id) ON DELETE SET NULL,
  error text,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaign_pushes_batch_idx ON campaign_pushes (org_id, batch_id);
ALTER TABLE campaign_pushes ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_pushes FORCE ROW LEVEL SECURITY;
CREATE POLICY campaign_pushes_tenant ON campaign_pushes
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE ON campaign_pushes TO adpilot_app;
