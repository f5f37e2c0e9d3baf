DO $$
DECLARE
  p record;
  q text;
  c text;
BEGIN
  FOR p IN SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'public'
  LOOP
    q := replace(replace(p.qual, '( SELECT app_current_org() AS app_current_org)', 'app_current_org()'),
                 '( SELECT app_current_user() AS app_current_user)', 'app_current_user()');
    c := replace(replace(p.with_check, '( SELECT app_current_org() AS app_current_org)', 'app_current_org()'),
                 '( SELECT app_current_user() AS app_current_user)', 'app_current_user()');
    IF q IS DISTINCT FROM p.qual THEN
      EXECUTE format('ALTER POLICY %I ON %I USING (%s)', p.policyname, p.tablename, q);
    END IF;
    IF c IS DISTINCT FROM p.with_check THEN
      EXECUTE format('ALTER POLICY %I ON %I WITH CHECK (%s)', p.policyname, p.tablename, c);
    END IF;
  END LOOP;
END
$$;
