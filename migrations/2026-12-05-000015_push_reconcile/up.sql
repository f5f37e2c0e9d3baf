-- No platform offers an idempotency key for creating a campaign, so a create whose answer
-- never arrived (a timeout, a dropped connection, a crash or a lost lease after sending) may
-- or may not have made the campaign. A later attempt must look before it sends again.
--
-- sent_at: when the first create went out (committed before the call); a pending row that
-- has it may already exist on the platform.
-- preexisting_ids: the platform ids of campaigns that already had this name in the account
-- just before that first create, so a later attempt can tell the one its create made.
-- found_after_lost_answer: the campaign was found that way instead of created again (shown on
-- the status page).
ALTER TABLE campaign_pushes
  ADD COLUMN sent_at timestamptz,
  ADD COLUMN preexisting_ids text[] NOT NULL DEFAULT '{}',
  ADD COLUMN found_after_lost_answer boolean NOT NULL DEFAULT false;
