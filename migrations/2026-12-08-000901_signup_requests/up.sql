-- Sign-ups waiting for their email to be confirmed. Once an instance has users, a sign-up
-- answers the same whether or not the address is registered (the review found that the form
-- told anyone which emails have accounts); the account is made only from the emailed link.
-- Global like users: nothing here belongs to an organization yet.
CREATE TABLE signup_requests (
  id uuid PRIMARY KEY,
  token_hash bytea NOT NULL UNIQUE,
  email text NOT NULL,
  name text NOT NULL,
  password_hash text NOT NULL,
  org_name text NOT NULL,
  time_zone text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX signup_requests_email_idx ON signup_requests (lower(email), created_at);
GRANT SELECT, INSERT, DELETE ON signup_requests TO adpilot_app;
