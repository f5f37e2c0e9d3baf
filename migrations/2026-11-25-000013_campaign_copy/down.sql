ALTER TABLE campaign_pushes DROP COLUMN IF EXISTS notes;
DROP TABLE IF EXISTS campaign_copy;
