ALTER TABLE billing_accounts DROP COLUMN trial_end, DROP COLUMN cancel_at_period_end;
UPDATE billing_accounts SET status = 'canceled' WHERE status IN ('incomplete', 'paused');
ALTER TABLE billing_accounts DROP CONSTRAINT billing_accounts_status_check;
ALTER TABLE billing_accounts ADD CONSTRAINT billing_accounts_status_check
  CHECK (status IN ('trialing', 'active', 'past_due', 'canceled'));
