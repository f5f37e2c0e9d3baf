DROP TABLE campaign_push_steps;
ALTER TABLE campaign_pushes DROP COLUMN spec;
