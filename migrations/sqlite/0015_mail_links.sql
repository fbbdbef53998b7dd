-- Mail through the outbox, and the one-time links it carries.
--
-- A mail is a delivery with no card: the outbox's card columns become optional, it gains the
-- `mail` kind and a `payload` (the composed message, cleared once delivered). SQLite cannot
-- change a column's constraints in place, so the table is rebuilt with its rows and indexes.
CREATE TABLE outbox_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL CHECK (kind IN ('apple_push', 'google_object', 'mail')),
    card_id       TEXT REFERENCES cards (id),
    card_version  INTEGER,
    target        TEXT NOT NULL,
    notify        TEXT,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
    attempts      INTEGER NOT NULL,
    due_at        TEXT NOT NULL,
    locked_until  TEXT,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT,
    payload       TEXT,
    CHECK (kind = 'mail' OR (card_id IS NOT NULL AND card_version IS NOT NULL))
);
INSERT INTO outbox_new (id, kind, card_id, card_version, target, notify, state, attempts,
                        due_at, locked_until, last_error, created_at, updated_at)
    SELECT id, kind, card_id, card_version, target, notify, state, attempts,
           due_at, locked_until, last_error, created_at, updated_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (due_at) WHERE state = 'pending';
CREATE INDEX outbox_card ON outbox (card_id);
CREATE INDEX outbox_pending_target ON outbox (kind, target) WHERE state = 'pending';
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
CREATE INDEX outbox_created ON outbox (created_at);

-- One-time links mailed to a person: opening one proves they read that address.
-- `purpose` 'join': through invite `invite_id`, with what the form said (used only if the
-- address is still unknown when the link is opened); 'cards': the cards of the account's
-- member with that address (or of `member_id`, when an admin sent it). Only the token's
-- SHA-256 is kept.
CREATE TABLE email_links (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('join', 'cards')),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    invite_id   TEXT REFERENCES invites (id),
    member_id   TEXT REFERENCES members (id),
    email_norm  TEXT NOT NULL,
    name        TEXT,
    role        TEXT,
    phone       TEXT,
    lang        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    CHECK (purpose <> 'join' OR invite_id IS NOT NULL)
);
-- The mail limits count recent links per address and per invite.
CREATE INDEX email_links_email ON email_links (email_norm, created_at);
CREATE INDEX email_links_invite ON email_links (invite_id, created_at);
CREATE INDEX email_links_expires ON email_links (expires_at);

-- A holder who opened a link: a cookie session that shows them their cards.
CREATE TABLE holder_sessions (
    token_hash  TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL REFERENCES members (id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX holder_sessions_expires ON holder_sessions (expires_at);
