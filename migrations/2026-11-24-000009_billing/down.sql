DROP FUNCTION IF EXISTS adpilot_billing_org_for_customer(text);
DROP TABLE IF EXISTS stripe_events;
DROP TABLE IF EXISTS billing_accounts;
