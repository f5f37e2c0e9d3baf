-- Stripe states that grant no paid plan but are not "canceled" (a first payment still
-- pending, a paused subscription), and the two facts the billing page shows about the period.
ALTER TABLE billing_accounts DROP CONSTRAINT billing_accounts_status_check;
ALTER TABLE billing_accounts ADD CONSTRAINT billing_accounts_status_check
  CHECK (status IN ('trialing', 'active', 'past_due', 'canceled', 'incomplete', 'paused'));
ALTER TABLE billing_accounts
  ADD COLUMN cancel_at_period_end boolean NOT NULL DEFAULT false,
  ADD COLUMN trial_end timestamptz;
