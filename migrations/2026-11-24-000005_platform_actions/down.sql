DROP FUNCTION IF EXISTS adpilot_all_org_ids();
DROP TABLE IF EXISTS platform_actions;
