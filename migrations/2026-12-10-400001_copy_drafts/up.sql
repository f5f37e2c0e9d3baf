-- Ad copy drafts kept from the Ad copy page: the brief as typed and the drafted lines, so a
-- person can reopen them later (or delete them) without asking a model again.
CREATE TABLE copy_drafts (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  -- The form's fields (product, description, audience, tone, benefits, keyword, avoid,
  -- variations, platforms).
  brief jsonb NOT NULL,
  -- Per platform: who wrote it (generator label) and each variation's lines (kind, text).
  drafts jsonb NOT NULL,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id)
);
CREATE INDEX copy_drafts_recent ON copy_drafts (org_id, created_at DESC);
ALTER TABLE copy_drafts ENABLE ROW LEVEL SECURITY;
ALTER TABLE copy_drafts FORCE ROW LEVEL SECURITY;
CREATE POLICY copy_drafts_tenant ON copy_drafts
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT, DELETE ON copy_drafts TO adpilot_app;
