ALTER TABLE rule_run_items ADD CONSTRAINT rule_run_items_rule_id_fkey FOREIGN KEY (org_id, rule_id) REFERENCES rules(org_id, id) ON DELETE CASCADE;
ALTER TABLE rule_run_items ADD CONSTRAINT rule_run_items_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations(id) ON DELETE CASCADE;
CREATE INDEX rule_run_items_id_idx ON rule_run_items (id);
CREATE INDEX rule_run_items_cooldown_idx ON rule_run_items (org_id, rule_id, campaign_id, created_at DESC) WHERE acted;
