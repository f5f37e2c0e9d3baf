DROP TABLE alert_mutes;
ALTER TABLE alerts DROP COLUMN snoozed_until;
ALTER TABLE alerts DROP COLUMN acknowledged_by;
ALTER TABLE alerts DROP COLUMN acknowledged_at;
ALTER TABLE account_sync DROP COLUMN first_success_at;
