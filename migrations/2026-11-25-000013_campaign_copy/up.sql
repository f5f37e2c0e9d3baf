-- Ad copy the user picked in the campaign create flow, one row per line, kept with the push it
-- was saved with (so it follows the campaign once the platform created it). No adapter creates
-- ads yet, so the campaign page shows these lines for copy-paste into the platform's ad editor.
CREATE TABLE campaign_copy (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  push_id uuid NOT NULL REFERENCES campaign_pushes (id) ON DELETE CASCADE,
  platform text NOT NULL CHECK (platform IN ('google', 'meta', 'tiktok')),
  variation integer NOT NULL CHECK (variation BETWEEN 1 AND 5),
  position integer NOT NULL CHECK (position >= 0),
  kind text NOT NULL CHECK (kind IN ('google_headline', 'google_description', 'meta_primary_text',
    'meta_headline', 'meta_description', 'tiktok_ad_text')),
  text text NOT NULL CHECK (length(text) BETWEEN 1 AND 500),
  -- Which generator drafted it ("offline drafts ..." or provider/model), before the user's edits.
  generator text NOT NULL,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (push_id, variation, position)
);
CREATE INDEX campaign_copy_push_idx ON campaign_copy (org_id, push_id);
ALTER TABLE campaign_copy ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_copy FORCE ROW LEVEL SECURITY;
CREATE POLICY campaign_copy_tenant ON campaign_copy
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT ON campaign_copy TO adpilot_app;

-- Targeting notes the user wrote or accepted from the AI's suggestions on the create form,
-- kept with the push (no adapter sets targeting yet) and shown on the campaign page.
ALTER TABLE campaign_pushes ADD COLUMN notes text NOT NULL DEFAULT ''
  CHECK (length(notes) <= 5000);
