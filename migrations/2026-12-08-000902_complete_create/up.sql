-- A create makes the whole tree that serves (ad group or ad set, targeting, keywords, ads), not
-- only the campaign.
--
-- spec: what the form asked for beyond the campaign (final URL, locations as the platform's
-- look-up resolved them, languages, keywords, ads from the kept copy), so the job and any
-- retry build exactly what was asked. '{}' for a campaign-only push.
-- campaign_push_steps: every object the platform made for a push, recorded as soon as its id
-- is known, so the status page shows what exists and a retry never makes it twice.
ALTER TABLE campaign_pushes ADD COLUMN spec jsonb NOT NULL DEFAULT '{}';

CREATE TABLE campaign_push_steps (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  push_id uuid NOT NULL REFERENCES campaign_pushes (id) ON DELETE CASCADE,
  position int NOT NULL CHECK (position >= 0),
  kind text NOT NULL,
  label text NOT NULL,
  state text NOT NULL CHECK (state IN ('created', 'found', 'error')),
  external_id text,
  error text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, push_id, position)
);
ALTER TABLE campaign_push_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_push_steps FORCE ROW LEVEL SECURITY;
CREATE POLICY campaign_push_steps_tenant ON campaign_push_steps
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT, UPDATE ON campaign_push_steps TO adpilot_app;
