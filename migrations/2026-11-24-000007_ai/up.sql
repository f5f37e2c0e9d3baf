-- AI assistance: a row per model call (what it cost) and a short-lived response cache.
-- Both are tenant tables: an organization sees only its own usage and its own cached answers.

CREATE TABLE ai_usage (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  task text NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  input_tokens bigint NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens bigint NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  -- Estimated from the configured price list, in millionths of a US dollar.
  cost_micros bigint NOT NULL DEFAULT 0 CHECK (cost_micros >= 0),
  -- Served from ai_cache: no tokens spent, recorded so the usage page can show cache hits.
  cached boolean NOT NULL DEFAULT false,
  outcome text NOT NULL DEFAULT 'ok',
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ai_usage_org_at_idx ON ai_usage (org_id, at);
ALTER TABLE ai_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY ai_usage_tenant ON ai_usage
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT ON ai_usage TO adpilot_app;

CREATE TABLE ai_cache (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  -- sha256 of task, model and the rendered prompt.
  key_hash bytea NOT NULL,
  task text NOT NULL,
  model text NOT NULL,
  response text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, key_hash)
);
CREATE INDEX ai_cache_expiry_idx ON ai_cache (expires_at);
ALTER TABLE ai_cache ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_cache FORCE ROW LEVEL SECURITY;
CREATE POLICY ai_cache_tenant ON ai_cache
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON ai_cache TO adpilot_app;
