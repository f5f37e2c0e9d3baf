ALTER TABLE campaigns
  DROP COLUMN platform_created_at,
  DROP COLUMN ends_at,
  DROP COLUMN starts_at,
  DROP COLUMN budget_remaining_micros,
  DROP COLUMN lifetime_budget_micros;
