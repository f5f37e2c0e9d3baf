DROP TABLE IF EXISTS audit_log;
DROP TABLE IF EXISTS invitations;
DROP TABLE IF EXISTS sessions;
DROP POLICY IF EXISTS organizations_tenant ON organizations;
DROP TABLE IF EXISTS memberships;
DROP TABLE IF EXISTS organizations;
DROP TABLE IF EXISTS users;
DROP FUNCTION IF EXISTS app_current_user();
DROP FUNCTION IF EXISTS app_current_org();
REVOKE USAGE ON SCHEMA public FROM adpilot_app;
-- The role is cluster-wide and may serve other databases; it is left in place.
