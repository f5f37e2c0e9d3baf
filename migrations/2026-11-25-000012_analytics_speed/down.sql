ALTER TABLE metric_revisions
  DROP CONSTRAINT metric_revisions_pkey,
  ADD CONSTRAINT metric_revisions_pkey PRIMARY KEY (org_id, campaign_id, date, observed_at);
CREATE INDEX metrics_daily_org_date_idx ON metrics_daily (org_id, date);
ALTER TABLE metrics_daily
  DROP CONSTRAINT metrics_daily_pkey,
  ADD CONSTRAINT metrics_daily_pkey PRIMARY KEY (org_id, campaign_id, date);
