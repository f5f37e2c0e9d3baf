-- Rules at ad-group and ad level (rules language version 2): a run item names the object the
-- rule was evaluated on. `campaign_id` stays the campaign (the object itself, or its parent),
-- so campaign pages keep finding every rule that touched their campaign; `object_id` is the
-- campaign, ad group or ad, and cooldowns and `at most N times` count per rule and object.
ALTER TABLE rule_run_items
  ADD COLUMN level text NOT NULL DEFAULT 'campaign' CHECK (level IN ('campaign', 'ad_group', 'ad')),
  ADD COLUMN object_id uuid;
UPDATE rule_run_items SET object_id = campaign_id;
ALTER TABLE rule_run_items ALTER COLUMN object_id SET NOT NULL;
CREATE INDEX rule_run_items_object_idx ON rule_run_items (org_id, rule_id, object_id, created_at DESC) WHERE acted;
