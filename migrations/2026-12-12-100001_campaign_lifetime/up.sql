-- Campaign figures without a window (rules language version 2 at campaign level): the lifetime
-- budget, what the platform says is left of it, the flight's start and end, and when the
-- platform created the campaign. NULL where the platform has no such figure for the campaign
-- (a daily budget, no end date, Google's missing creation time), never a made-up value.
ALTER TABLE campaigns
  ADD COLUMN lifetime_budget_micros bigint,
  -- Meta's own budget_remaining for a lifetime budget; elsewhere the rules compute it.
  ADD COLUMN budget_remaining_micros bigint,
  ADD COLUMN starts_at timestamptz,
  ADD COLUMN ends_at timestamptz,
  ADD COLUMN platform_created_at timestamptz;
