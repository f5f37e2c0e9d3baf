-- Scheduled checks are queued as one job per organization and tick holding every due rule
-- (one facts query for all of them) instead of one job per rule. The job table's dedupe key
-- kept a rule's slot from being queued twice; this column does it now: the tick advances it
-- in the transaction that enqueues the batch, and only rules whose slot is later than it are
-- queued.
ALTER TABLE rules ADD COLUMN queued_slot timestamptz;
