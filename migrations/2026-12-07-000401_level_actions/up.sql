-- Changes below the campaign (issue 20, "changes at each level") go through the same audited
-- path as campaign changes: one platform_actions row per intent, whatever it targets.
--
-- - `level` says what the row changes; `ad_group_id` is set for an ad group (Google ad group,
--   Meta ad set, TikTok ad group) and for an ad (its ad group), `ad_id` for an ad.
--   `campaign_id` stays the campaign the object belongs to, so the account-scope policy
--   (which reads campaign_id) and the failed-action alert keep working for every level.
-- - The references carry org_id, like those between the level tables, so a row can never
--   point into another tenant and the table can be distributed by organization.
-- - `set_bid` changes an ad group's bid (Google cpc_bid_micros, Meta bid_amount, TikTok
--   bid_price); its amounts use from_budget_micros/to_budget_micros like a budget change
--   (the amount moved from and to, stored before the call so recovery can tell whether a call
--   that was cut off landed). `budget_period` records whether an ad group's budget change was
--   to its daily or its lifetime budget.
ALTER TABLE platform_actions DROP CONSTRAINT platform_actions_kind_check;
ALTER TABLE platform_actions ADD CONSTRAINT platform_actions_kind_check
  CHECK (kind IN ('pause', 'resume', 'set_budget', 'set_bid'));
ALTER TABLE platform_actions
  ADD COLUMN level text NOT NULL DEFAULT 'campaign' CHECK (level IN ('campaign', 'ad_group', 'ad')),
  ADD COLUMN ad_group_id uuid,
  ADD COLUMN ad_id uuid,
  ADD COLUMN budget_period text CHECK (budget_period IN ('daily', 'lifetime'));
ALTER TABLE platform_actions
  ADD CONSTRAINT platform_actions_ad_group_fkey FOREIGN KEY (org_id, ad_group_id)
    REFERENCES ad_groups (org_id, id) ON DELETE CASCADE,
  ADD CONSTRAINT platform_actions_ad_fkey FOREIGN KEY (org_id, ad_id)
    REFERENCES ads (org_id, id) ON DELETE CASCADE,
  ADD CONSTRAINT platform_actions_level_ids CHECK (
    (level = 'campaign' AND ad_group_id IS NULL AND ad_id IS NULL)
    OR (level = 'ad_group' AND ad_group_id IS NOT NULL AND ad_id IS NULL)
    OR (level = 'ad' AND ad_group_id IS NOT NULL AND ad_id IS NOT NULL)),
  ADD CONSTRAINT platform_actions_bid_level CHECK (kind <> 'set_bid' OR level = 'ad_group');
-- An object's page shows its history newest first.
CREATE INDEX platform_actions_ad_group_idx ON platform_actions (org_id, ad_group_id, created_at DESC)
  WHERE ad_group_id IS NOT NULL;
CREATE INDEX platform_actions_ad_idx ON platform_actions (org_id, ad_id, created_at DESC)
  WHERE ad_id IS NOT NULL;
