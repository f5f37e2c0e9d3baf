-- Members restricted to some ad accounts (an agency's customers): which accounts each sees,
-- and a second, restrictive policy on every table that carries an ad account's objects.
--
-- The web layer sets `app.account_scope` in the tenant transaction of a restricted member's
-- request to the array of their accounts ('{}' when none); a report sets it to its accounts.
-- Unset (owners, admins, unrestricted members, jobs) the policies are true after one InitPlan
-- per statement: nothing changes for them.

-- 'all': sees every account (owners, admins, members by default); 'granted': only those in
-- membership_accounts. Clients always see only granted accounts, whatever this says.
ALTER TABLE memberships ADD COLUMN account_scope text NOT NULL DEFAULT 'all'
  CHECK (account_scope IN ('all', 'granted'));

CREATE TABLE membership_accounts (
  org_id uuid NOT NULL,
  user_id uuid NOT NULL,
  account_id uuid NOT NULL REFERENCES ad_accounts (id) ON DELETE CASCADE,
  granted_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id, account_id),
  FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);
ALTER TABLE membership_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE membership_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY membership_accounts_tenant ON membership_accounts
  USING (org_id = (SELECT app_current_org())) WITH CHECK (org_id = (SELECT app_current_org()));
GRANT SELECT, INSERT, DELETE ON membership_accounts TO adpilot_app;

CREATE FUNCTION app_account_scope() RETURNS uuid[]
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('app.account_scope', true), '')::uuid[] $$;
GRANT EXECUTE ON FUNCTION app_account_scope() TO adpilot_app;

-- Alerts name their ad account (NULL: organization-wide, e.g. a connection to reconnect),
-- derived from what the alert is about so the code that raises alerts need not know.
ALTER TABLE alerts ADD COLUMN account_id uuid;
CREATE FUNCTION alerts_set_account() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.account_id IS NULL THEN
    NEW.account_id := COALESCE(
      (SELECT a.id FROM ad_accounts a WHERE a.id::text = NEW.details->>'account_id'),
      (SELECT c.account_id FROM campaigns c WHERE c.id::text = NEW.details->>'campaign_id'),
      (SELECT COALESCE(b.account_id, c.account_id) FROM budget_targets b
         LEFT JOIN campaigns c ON c.id = b.campaign_id
        WHERE b.id::text = NEW.details->>'target_id'));
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER alerts_set_account BEFORE INSERT ON alerts
  FOR EACH ROW EXECUTE FUNCTION alerts_set_account();
UPDATE alerts SET account_id = COALESCE(
  (SELECT a.id FROM ad_accounts a WHERE a.id::text = alerts.details->>'account_id'),
  (SELECT c.account_id FROM campaigns c WHERE c.id::text = alerts.details->>'campaign_id'),
  (SELECT COALESCE(b.account_id, c.account_id) FROM budget_targets b
     LEFT JOIN campaigns c ON c.id = b.campaign_id
    WHERE b.id::text = alerts.details->>'target_id'));

-- The restrictive policies (ANDed with each table's tenant policy).
CREATE POLICY ad_accounts_scope ON ad_accounts AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL OR id = ANY ((SELECT app_account_scope())::uuid[]));
CREATE POLICY campaigns_scope ON campaigns AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL OR account_id = ANY ((SELECT app_account_scope())::uuid[]));
CREATE POLICY metrics_daily_scope ON metrics_daily AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL OR account_id = ANY ((SELECT app_account_scope())::uuid[]));
CREATE POLICY metric_revisions_scope ON metric_revisions AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL
         OR campaign_id IN (SELECT c.id FROM campaigns c));
CREATE POLICY account_sync_scope ON account_sync AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL OR account_id = ANY ((SELECT app_account_scope())::uuid[]));
CREATE POLICY platform_actions_scope ON platform_actions AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL
         OR campaign_id IN (SELECT c.id FROM campaigns c));
CREATE POLICY campaign_pushes_scope ON campaign_pushes AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL OR account_id = ANY ((SELECT app_account_scope())::uuid[]));
CREATE POLICY campaign_copy_scope ON campaign_copy AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL
         OR push_id IN (SELECT p.id FROM campaign_pushes p));
-- A rule run's counts cover every account: restricted members see only the per-campaign items.
CREATE POLICY rule_runs_scope ON rule_runs AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL);
CREATE POLICY rule_run_items_scope ON rule_run_items AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL
         OR campaign_id IN (SELECT c.id FROM campaigns c));
CREATE POLICY budget_targets_scope ON budget_targets AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL
         OR account_id = ANY ((SELECT app_account_scope())::uuid[])
         OR campaign_id IN (SELECT c.id FROM campaigns c));
CREATE POLICY alerts_scope ON alerts AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL OR account_id = ANY ((SELECT app_account_scope())::uuid[]));
-- A schedule is visible to a restricted member when all its accounts are theirs (an empty
-- list means every account).
CREATE POLICY report_schedules_scope ON report_schedules AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL
         OR (account_ids <> '{}' AND account_ids <@ (SELECT app_account_scope())));
CREATE POLICY report_sends_scope ON report_sends AS RESTRICTIVE
  USING ((SELECT app_account_scope()) IS NULL
         OR schedule_id IN (SELECT s.id FROM report_schedules s));
