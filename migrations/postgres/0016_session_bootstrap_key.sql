-- A session opened with the bootstrap key (WALLETCARDS_ADMIN_KEY; api_key_id NULL) remembers a
-- fingerprint of that key, and only opens while the configured key has the same fingerprint:
-- changing or removing the key ends its sessions, as revoking a stored key ends its own.
-- Bootstrap sessions from before this column have none and end now.
ALTER TABLE web_sessions ADD COLUMN bootstrap_key TEXT;
