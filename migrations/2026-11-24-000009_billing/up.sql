-- Billing: each organization's plan and Stripe subscription state, and the Stripe events
-- already applied (so a redelivered event changes nothing).

CREATE TABLE billing_accounts (
  org_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  plan text NOT NULL,
  status text NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'canceled')),
  stripe_customer_id text UNIQUE,
  stripe_subscription_id text,
  current_period_end timestamptz,
  -- When payments started failing; the plan's limits hold for a grace period after it.
  past_due_since timestamptz,
  -- `created` of the newest Stripe event applied: older deliveries never override it.
  last_event_created timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE billing_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_accounts_tenant ON billing_accounts
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE ON billing_accounts TO adpilot_app;

-- The event id is globally unique: it is inserted in the same transaction as the event's
-- effect, so a duplicate delivery conflicts here and is skipped.
CREATE TABLE stripe_events (
  event_id text PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  type text NOT NULL,
  created timestamptz NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stripe_events_org_idx ON stripe_events (org_id, created DESC);
ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE stripe_events FORCE ROW LEVEL SECURITY;
CREATE POLICY stripe_events_tenant ON stripe_events
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT ON stripe_events TO adpilot_app;

-- The webhook has no session: this is its one named cross-tenant path. It answers only
-- "which organization owns this Stripe customer"; the work then runs in that organization's
-- tenant transaction.
CREATE FUNCTION adpilot_billing_org_for_customer(customer text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT org_id FROM billing_accounts WHERE stripe_customer_id = customer $$;
-- FORCE ROW LEVEL SECURITY binds the owner too: the owner (the migrating role, never the server
-- role) reads through a policy of its own, so the lookup works without superuser rights.
DO $$
BEGIN
  EXECUTE format('CREATE POLICY billing_accounts_definer_read ON billing_accounts FOR SELECT TO %I USING (true)', current_user);
END
$$;
REVOKE ALL ON FUNCTION adpilot_billing_org_for_customer(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION adpilot_billing_org_for_customer(text) TO adpilot_app;
