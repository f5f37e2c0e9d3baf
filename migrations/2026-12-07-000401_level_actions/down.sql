DELETE FROM platform_actions WHERE level <> 'campaign' OR kind = 'set_bid';
DROP INDEX IF EXISTS platform_actions_ad_idx;
DROP INDEX IF EXISTS platform_actions_ad_group_idx;
ALTER TABLE platform_actions
  DROP CONSTRAINT IF EXISTS platform_actions_bid_level,
  DROP CONSTRAINT IF EXISTS platform_actions_level_ids,
  DROP CONSTRAINT IF EXISTS platform_actions_ad_fkey,
  DROP CONSTRAINT IF EXISTS platform_actions_ad_group_fkey,
  DROP COLUMN IF EXISTS budget_period,
  DROP COLUMN IF EXISTS ad_id,
  DROP COLUMN IF EXISTS ad_group_id,
  DROP COLUMN IF EXISTS level;
ALTER TABLE platform_actions DROP CONSTRAINT platform_actions_kind_check;
ALTER TABLE platform_actions ADD CONSTRAINT platform_actions_kind_check
  CHECK (kind IN ('pause', 'resume', 'set_budget'));
