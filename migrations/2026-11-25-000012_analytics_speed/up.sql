-- metrics_daily had two indexes, the primary key (org_id, campaign_id, date) and
-- (org_id, date) for the dashboard's date ranges. Every ingested row paid for both. Ordering
-- the primary key (org_id, date, campaign_id) serves the date ranges itself (dashboard,
-- month-to-date spend, same-weekday history) and still serves per-campaign reads, which
-- always come with a date range too; so the second index goes and each row costs one index
-- insert less. ON CONFLICT (org_id, campaign_id, date) infers the key by its columns, so the
-- ingest statement is unchanged.
--
-- Rebuilding the key rewrites the index of every partition and holds an exclusive lock on
-- metrics_daily meanwhile: on a large installation run this migration at a quiet hour.
ALTER TABLE metrics_daily
  DROP CONSTRAINT metrics_daily_pkey,
  ADD CONSTRAINT metrics_daily_pkey PRIMARY KEY (org_id, date, campaign_id);
DROP INDEX metrics_daily_org_date_idx;
