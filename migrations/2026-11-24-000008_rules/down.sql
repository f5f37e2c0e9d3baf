DROP TABLE rule_settings;
DROP TABLE rule_run_items;
DROP TABLE rule_runs;
DROP TABLE rules;
