-- Signed-in staff on the desk and dashboard pages. The cookie holds a random token; only its
-- SHA-256 is stored (a database leak does not sign anyone in). Each session has its own CSRF
-- token, which every unsafe request must echo.
CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,
    role        TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
