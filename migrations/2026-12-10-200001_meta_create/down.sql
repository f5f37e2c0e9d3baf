DROP TABLE campaign_images;
DROP INDEX campaign_push_steps_step;
ALTER TABLE campaign_push_steps DROP COLUMN step;
DELETE FROM campaign_push_steps WHERE state = 'sending';
ALTER TABLE campaign_push_steps DROP CONSTRAINT campaign_push_steps_state_check;
ALTER TABLE campaign_push_steps ADD CONSTRAINT campaign_push_steps_state_check
  CHECK (state IN ('created', 'found', 'error'));
