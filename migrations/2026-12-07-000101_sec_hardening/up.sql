-- The client address of the request behind an audit entry (after ADPILOT_TRUSTED_PROXIES).
ALTER TABLE audit_log ADD COLUMN client_ip text;
