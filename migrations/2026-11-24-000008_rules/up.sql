-- Automation rules (owned by the automation module): the rules an organization wrote, every
-- check of a rule, what each check saw and did per matched campaign, and the organization's
-- safety limits. Platform changes themselves live in platform_actions (the one audited path);
-- a run item points at the intent it created.

CREATE TABLE rules (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  text text NOT NULL,
  mode text NOT NULL DEFAULT 'draft' CHECK (mode IN ('draft', 'dry_run', 'live')),
  paused boolean NOT NULL DEFAULT false,
  -- From the rule's `check` line: every N minutes, or daily at a time of the organization's zone.
  check_every_minutes integer CHECK (check_every_minutes >= 5),
  check_daily_at time,
  owner_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  last_run_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((check_every_minutes IS NULL) <> (check_daily_at IS NULL))
);
-- Names compare ignoring case and surrounding spaces, like the checker's name_key.
CREATE UNIQUE INDEX rules_org_name_idx ON rules (org_id, lower(btrim(name)));
ALTER TABLE rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE rules FORCE ROW LEVEL SECURITY;
CREATE POLICY rules_tenant ON rules
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON rules TO adpilot_app;

CREATE TABLE rule_runs (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  rule_id uuid NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
  mode text NOT NULL CHECK (mode IN ('draft', 'dry_run', 'live')),
  -- The scheduled time this check stands for (retries of one job share it).
  slot timestamptz NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  campaigns_evaluated integer NOT NULL DEFAULT 0,
  campaigns_matched integer NOT NULL DEFAULT 0,
  actions_executed integer NOT NULL DEFAULT 0,
  actions_skipped integer NOT NULL DEFAULT 0,
  actions_failed integer NOT NULL DEFAULT 0,
  error text
);
CREATE INDEX rule_runs_rule_idx ON rule_runs (org_id, rule_id, started_at DESC);
CREATE INDEX rule_runs_org_idx ON rule_runs (org_id, started_at DESC);
ALTER TABLE rule_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE rule_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY rule_runs_tenant ON rule_runs
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON rule_runs TO adpilot_app;

CREATE TABLE rule_run_items (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  run_id uuid NOT NULL REFERENCES rule_runs (id) ON DELETE CASCADE,
  rule_id uuid NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  campaign_name text NOT NULL,
  dry_run boolean NOT NULL,
  -- Some action ran (or, in a dry run, would have): starts the rule's cooldown on the campaign.
  acted boolean NOT NULL,
  -- The values the condition saw, and each action with executed/skipped/failed and why, the
  -- platform's answer and the platform_actions intent id.
  seen jsonb NOT NULL,
  actions jsonb NOT NULL,
  -- An executed budget change (for the per-day increase limit).
  budget_from_micros bigint,
  budget_to_micros bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rule_run_items_run_idx ON rule_run_items (org_id, run_id);
CREATE INDEX rule_run_items_cooldown_idx ON rule_run_items (org_id, rule_id, campaign_id, created_at DESC) WHERE acted;
CREATE INDEX rule_run_items_campaign_idx ON rule_run_items (org_id, campaign_id, created_at DESC);
CREATE INDEX rule_run_items_org_idx ON rule_run_items (org_id, created_at DESC);
ALTER TABLE rule_run_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE rule_run_items FORCE ROW LEVEL SECURITY;
CREATE POLICY rule_run_items_tenant ON rule_run_items
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON rule_run_items TO adpilot_app;

-- One row per organization (absent = defaults).
CREATE TABLE rule_settings (
  org_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  max_actions_per_check integer NOT NULL DEFAULT 50 CHECK (max_actions_per_check BETWEEN 0 AND 100000),
  max_budget_increase_pct integer NOT NULL DEFAULT 100 CHECK (max_budget_increase_pct BETWEEN 0 AND 10000),
  kill_switch boolean NOT NULL DEFAULT false,
  updated_by uuid REFERENCES users (id) ON DELETE SET NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE rule_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE rule_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY rule_settings_tenant ON rule_settings
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE ON rule_settings TO adpilot_app;
