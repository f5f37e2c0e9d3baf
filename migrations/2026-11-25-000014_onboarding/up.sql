-- The dashboard's first-run checklist: dismissed once per organization, by an owner or admin.
CREATE TABLE onboarding_dismissals (
  org_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  dismissed_by uuid REFERENCES users (id) ON DELETE SET NULL,
  dismissed_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE onboarding_dismissals ENABLE ROW LEVEL SECURITY;
ALTER TABLE onboarding_dismissals FORCE ROW LEVEL SECURITY;
CREATE POLICY onboarding_dismissals_tenant ON onboarding_dismissals
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT ON onboarding_dismissals TO adpilot_app;
