DROP TABLE IF EXISTS oauth_states;
DROP TABLE IF EXISTS ad_accounts;
DROP TABLE IF EXISTS connections;
DROP TABLE IF EXISTS vault_keys;
