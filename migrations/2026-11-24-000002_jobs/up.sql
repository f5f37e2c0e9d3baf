-- Background jobs: one row per unit of work, claimed by workers with FOR UPDATE SKIP LOCKED.
--
-- Tenancy: a job of an organization carries its org_id and is visible inside that
-- organization's tenant transaction (the /jobs page). Workers must see every organization's
-- jobs; they do so only through one named path in src/jobs/store.rs (`system_scope`), which
-- sets the transaction-local flag `app.jobs_worker`. Nothing else in adpilot sets it.
-- System jobs (backups, pruning) have no organization: org_id is NULL.

CREATE FUNCTION app_jobs_worker() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(current_setting('app.jobs_worker', true), '') = 'on' $$;
GRANT EXECUTE ON FUNCTION app_jobs_worker() TO adpilot_app;

CREATE TABLE jobs (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
  org_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
  queue text NOT NULL DEFAULT 'default',
  priority smallint NOT NULL DEFAULT 0,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Deduplication: at most one unfinished job per (kind, organization, key); see the index.
  idempotency_key text,
  -- queued: waiting for run_at; running: leased by a worker; failed: an attempt failed and
  -- another is due at run_at; succeeded / dead: finished (dead = no attempts left).
  state text NOT NULL DEFAULT 'queued'
    CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
  run_at timestamptz NOT NULL DEFAULT now(),
  lease_owner text,
  lease_expires_at timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);

-- The organization is part of the key so one tenant's key never collides with another's;
-- system jobs share the all-zero organization.
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs
  (kind, coalesce(org_id, '00000000-0000-0000-0000-000000000000'::uuid), idempotency_key)
  WHERE idempotency_key IS NOT NULL AND state IN ('queued', 'running', 'failed');
-- What workers look for: due, unleased jobs, highest priority first, oldest first.
CREATE INDEX jobs_due_idx ON jobs (queue, priority DESC, run_at)
  WHERE state IN ('queued', 'failed');
-- What the reaper looks for: leases that ran out.
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE state = 'running';
-- The /jobs page and pruning.
CREATE INDEX jobs_org_idx ON jobs (org_id, created_at DESC);
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY jobs_tenant ON jobs
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
CREATE POLICY jobs_worker ON jobs
  USING (app_jobs_worker()) WITH CHECK (app_jobs_worker());
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO adpilot_app;

-- Cron slots already enqueued: several `adpilot serve` processes tick the same schedule and
-- the primary key lets exactly one of them enqueue each (schedule, slot). No tenant data.
CREATE TABLE job_schedule_slots (
  schedule text NOT NULL,
  slot timestamptz NOT NULL,
  job_id uuid,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (schedule, slot)
);
GRANT SELECT, INSERT, DELETE ON job_schedule_slots TO adpilot_app;
GRANT UPDATE (job_id) ON job_schedule_slots TO adpilot_app;
