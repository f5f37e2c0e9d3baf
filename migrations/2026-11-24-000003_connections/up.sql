-- Connections to ad platforms, the ad accounts they reach, one-time OAuth states, and the
-- vault's data keys (wrapped under the master key; no plaintext key is ever stored).

CREATE TABLE vault_keys (
  version integer PRIMARY KEY,
  wrapped_key bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);
GRANT SELECT, INSERT, UPDATE ON vault_keys TO adpilot_app;

CREATE TABLE connections (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  platform text NOT NULL CHECK (platform IN ('google', 'meta', 'tiktok')),
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'healthy', 'refreshing', 'needs_reconnect', 'rate_limited', 'removed')),
  access_token_enc text,
  refresh_token_enc text,
  token_expires_at timestamptz,
  scope text,
  key_version integer,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_refreshed_at timestamptz,
  last_checked_at timestamptz,
  last_error text,
  rate_limited_until timestamptz,
  reconnect_notified_at timestamptz,
  removed_at timestamptz,
  settings jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX connections_org_idx ON connections (org_id, platform);
CREATE INDEX connections_expiry_idx ON connections (token_expires_at) WHERE removed_at IS NULL;
ALTER TABLE connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE connections FORCE ROW LEVEL SECURITY;
CREATE POLICY connections_tenant ON connections
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON connections TO adpilot_app;

CREATE TABLE ad_accounts (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  connection_id uuid REFERENCES connections (id) ON DELETE SET NULL,
  platform text NOT NULL CHECK (platform IN ('google', 'meta', 'tiktok')),
  external_id text NOT NULL,
  name text NOT NULL,
  currency text NOT NULL,
  time_zone text NOT NULL,
  status text NOT NULL,
  managed boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  connection_removed_at timestamptz,
  UNIQUE (org_id, platform, external_id)
);
CREATE INDEX ad_accounts_connection_idx ON ad_accounts (org_id, connection_id);
ALTER TABLE ad_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY ad_accounts_tenant ON ad_accounts
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON ad_accounts TO adpilot_app;

-- OAuth `state`: stored hashed, single use, bound to the browser session and the platform.
CREATE TABLE oauth_states (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  session_id uuid NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  platform text NOT NULL CHECK (platform IN ('google', 'meta', 'tiktok')),
  state_hash bytea NOT NULL UNIQUE,
  pkce_verifier_enc text,
  reconnect_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
ALTER TABLE oauth_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE oauth_states FORCE ROW LEVEL SECURITY;
CREATE POLICY oauth_states_tenant ON oauth_states
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_states TO adpilot_app;
