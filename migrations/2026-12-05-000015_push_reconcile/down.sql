ALTER TABLE campaign_pushes
  DROP COLUMN IF EXISTS sent_at,
  DROP COLUMN IF EXISTS preexisting_ids,
  DROP COLUMN IF EXISTS found_after_lost_answer;
