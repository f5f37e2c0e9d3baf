-- The one audited path for every change adpilot makes on a platform (pause, resume, budget),
-- whether a person clicked or a rule fired. An intent row is written before the platform is
-- called; its key is unique per organization, so a retry or a crash never applies a change
-- twice. The budget it will move from and to is stored before the call, so recovery can tell
-- whether a call that was cut off had already landed.
CREATE TABLE platform_actions (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('pause', 'resume', 'set_budget')),
  source text NOT NULL CHECK (source IN ('user', 'rule')),
  intent_key text NOT NULL,
  actor_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  rule_id uuid,
  rule_run_id uuid,
  budget_change jsonb,
  from_budget_micros bigint,
  to_budget_micros bigint,
  currency text,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'executing', 'succeeded', 'skipped', 'failed')),
  message text,
  platform_response text,
  attempts integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  UNIQUE (org_id, intent_key)
);
CREATE INDEX platform_actions_campaign_idx ON platform_actions (org_id, campaign_id, created_at DESC);
CREATE INDEX platform_actions_open_idx ON platform_actions (org_id, state) WHERE state IN ('pending', 'executing');
ALTER TABLE platform_actions ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_actions FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_actions_tenant ON platform_actions
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE ON platform_actions TO adpilot_app;

-- The named cross-tenant path for schedulers: every organization's id, nothing else. Runs with
-- its owner's rights because organizations are hidden from the server role outside a tenant.
-- FORCE ROW LEVEL SECURITY applies to the owner too, so the owner (the migrating role, which is
-- never the server role) gets a read policy of its own; a superuser owner ignores it.
DO $$
BEGIN
  EXECUTE format('CREATE POLICY organizations_definer_read ON organizations FOR SELECT TO %I USING (true)', current_user);
END
$$;
CREATE FUNCTION adpilot_all_org_ids() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT id FROM organizations ORDER BY id $$;
REVOKE ALL ON FUNCTION adpilot_all_org_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION adpilot_all_org_ids() TO adpilot_app;
