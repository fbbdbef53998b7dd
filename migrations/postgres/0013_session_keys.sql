-- When each API key was last used (to the hour), so admins see which keys are idle before
-- revoking them.
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMPTZ;

-- A staff session remembers the API key it was opened with, so revoking the key ends its
-- sessions too. NULL: opened with the bootstrap key from WALLETCARDS_ADMIN_KEY, which is not
-- stored and cannot be revoked (only removed from the settings).
ALTER TABLE web_sessions ADD COLUMN api_key_id TEXT;
CREATE INDEX web_sessions_key ON web_sessions (api_key_id);
