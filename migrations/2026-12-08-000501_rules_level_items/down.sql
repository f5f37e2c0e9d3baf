DROP INDEX IF EXISTS rule_run_items_object_idx;
ALTER TABLE rule_run_items DROP COLUMN object_id, DROP COLUMN level;
