DROP TABLE IF EXISTS alert_settings;
DROP TABLE IF EXISTS alerts;
DROP TABLE IF EXISTS budget_targets;
DROP TABLE IF EXISTS alert_channels;
