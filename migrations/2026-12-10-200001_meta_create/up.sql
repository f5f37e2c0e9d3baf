-- Meta creates are five calls, not one atomic request (campaign, ad set, image, creative, ad).
--
-- campaign_push_steps.state 'sending': the step is recorded before its call goes out, so a
-- retry after a lost answer knows to look for the object before sending again.
-- campaign_images: an image uploaded with the create form, kept until its push is done so the
-- job (and any retry) uploads exactly those bytes, and a form shown again after a mistake
-- elsewhere keeps the image without asking for it twice.
ALTER TABLE campaign_push_steps DROP CONSTRAINT campaign_push_steps_state_check;
ALTER TABLE campaign_push_steps ADD CONSTRAINT campaign_push_steps_state_check
  CHECK (state IN ('sending', 'created', 'found', 'error'));
ALTER TABLE campaign_push_steps ADD COLUMN step text;
CREATE UNIQUE INDEX campaign_push_steps_step ON campaign_push_steps (org_id, push_id, step)
  WHERE step IS NOT NULL;

CREATE TABLE campaign_images (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  file_name text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
  mime text NOT NULL CHECK (mime IN ('image/jpeg', 'image/png')),
  width int NOT NULL CHECK (width > 0),
  height int NOT NULL CHECK (height > 0),
  bytes bytea NOT NULL,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id)
);
ALTER TABLE campaign_images ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_images FORCE ROW LEVEL SECURITY;
CREATE POLICY campaign_images_tenant ON campaign_images
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT, DELETE ON campaign_images TO adpilot_app;
