-- Mail through the outbox, and the one-time links it carries.
--
-- A mail is a delivery with no card: the outbox's card columns become optional, it gains the
-- `mail` kind and a `payload` (the composed message, cleared once delivered).
ALTER TABLE outbox ALTER COLUMN card_id DROP NOT NULL;
ALTER TABLE outbox ALTER COLUMN card_version DROP NOT NULL;
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('apple_push', 'google_object', 'mail'));
ALTER TABLE outbox ADD CONSTRAINT outbox_card_check
    CHECK (kind = 'mail' OR (card_id IS NOT NULL AND card_version IS NOT NULL));
ALTER TABLE outbox ADD COLUMN payload TEXT;

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
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
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
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX holder_sessions_expires ON holder_sessions (expires_at);
