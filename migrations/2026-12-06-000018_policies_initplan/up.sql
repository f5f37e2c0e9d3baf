-- Every tenant policy reads the tenant from the transaction's setting through
-- app_current_org() (and app_current_user()). Written as a plain call, the planner inlines it
-- and a scan that filters rather than looks up by index evaluates current_setting() and the
-- uuid cast once per row, for the policy and again for the query's own org_id test. Written
-- as a scalar subquery it is an InitPlan: evaluated once per statement, compared as a constant
-- per row. The policies mean exactly what they meant. On the benchmark's data (an organization
-- with 2,000 campaigns filling most of a month's partition) one period's aggregate went from
-- 61 ms to 26-28 ms.
DO $$
DECLARE
  p record;
  q text;
  c text;
BEGIN
  FOR p IN SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'public'
  LOOP
    q := replace(replace(p.qual, 'app_current_org()', '(SELECT app_current_org())'),
                 'app_current_user()', '(SELECT app_current_user())');
    c := replace(replace(p.with_check, 'app_current_org()', '(SELECT app_current_org())'),
                 'app_current_user()', '(SELECT app_current_user())');
    IF q IS DISTINCT FROM p.qual THEN
      EXECUTE format('ALTER POLICY %I ON %I USING (%s)', p.policyname, p.tablename, q);
    END IF;
    IF c IS DISTINCT FROM p.with_check THEN
      EXECUTE format('ALTER POLICY %I ON %I WITH CHECK (%s)', p.policyname, p.tablename, c);
    END IF;
  END LOOP;
END
$$;
