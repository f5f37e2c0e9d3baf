-- A rule check writes one item per matched object (145,000 for 200 ad rules over 30,000 ads),
-- so each index and foreign key of rule_run_items is paid per match.
-- The cooldown index on (rule, campaign) was superseded by rule_run_items_object_idx when items
-- gained object_id (cooldowns and `at most N times` look up by object); nothing reads items by
-- id alone. The item's run carries its organization and rule, and deleting either deletes the
-- run and with it its items, so those two foreign keys only re-checked what the run's does.
DROP INDEX rule_run_items_cooldown_idx;
DROP INDEX rule_run_items_id_idx;
ALTER TABLE rule_run_items DROP CONSTRAINT rule_run_items_org_id_fkey;
ALTER TABLE rule_run_items DROP CONSTRAINT rule_run_items_rule_id_fkey;
