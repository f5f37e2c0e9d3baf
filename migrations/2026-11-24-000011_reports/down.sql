DROP TABLE IF EXISTS report_unsubscribes;
DROP TABLE IF EXISTS report_sends;
DROP TABLE IF EXISTS report_schedules;
