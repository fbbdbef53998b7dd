-- Named staff: people who sign in with their e-mail address and a password (argon2id, PHC
-- string), an admin or a desk (optionally tied to a desk / location name). A user invited by
-- mail has no password until they open the mailed link and choose one. Deactivation is kept
-- (`deactivated_at`), never a deletion: the audit trail names the user.
CREATE TABLE staff_users (
    id              TEXT PRIMARY KEY,
    email_norm      TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'desk')),
    desk            TEXT,
    password_hash   TEXT,
    created_at      TEXT NOT NULL,
    deactivated_at  TEXT
);

-- One-time links mailed to staff: 'invite' (choose the first password) and 'reset'. Only the
-- token's SHA-256 is kept.
CREATE TABLE staff_links (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES staff_users (id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX staff_links_user ON staff_links (user_id, created_at);

-- A session opened by a staff user; deactivating the user or "sign out everywhere" deletes
-- their sessions.
ALTER TABLE web_sessions ADD COLUMN user_id TEXT REFERENCES staff_users (id);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- Who did what to money or access: one row per booking, refund, redemption, adjustment, card
-- status change, program or design change, staff or key change, erasure and dead-letter retry.
-- `actor` is `user:<id>`, `key:<id>`, `bootstrap`, `erp` (the signed webhook) or `system`;
-- `actor_name` is the name at the time. `details` is a small JSON object (before/after).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    account_id  TEXT,
    card_id     TEXT,
    details     TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_account ON audit_log (account_id, id);
CREATE INDEX audit_log_card ON audit_log (card_id, id);
