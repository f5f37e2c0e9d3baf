DROP FUNCTION IF EXISTS adpilot_all_org_ids();
DROP POLICY IF EXISTS organizations_definer_read ON organizations;
DROP TABLE IF EXISTS platform_actions;
