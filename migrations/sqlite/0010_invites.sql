-- Invites: QR enrollment links of a client company into one or more programs.
--
-- The token is stored as is, not hashed: admins may fetch an invite's QR code (which encodes
-- the link with the token) at any time, and the token is a bearer capability of the same kind
-- as a card's auth_token, which is stored as is too. It is found by its unique index.
CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    token       TEXT NOT NULL UNIQUE,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    max_uses    INTEGER NOT NULL CHECK (max_uses > 0),
    -- Only a conditional UPDATE (uses < max_uses) moves it, so it never passes max_uses.
    uses        INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
    expires_at  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX invites_account ON invites (account_id, id);

-- The programs of an invite, in the order the admin gave them. A table rather than a list in
-- a column: every program id is a foreign key, a program cannot be named twice, and both
-- engines store it alike (no JSON that one engine checks and the other does not).
CREATE TABLE invite_programs (
    invite_id   TEXT NOT NULL REFERENCES invites (id),
    position    INTEGER NOT NULL,
    program_id  TEXT NOT NULL REFERENCES programs (id),
    PRIMARY KEY (invite_id, position),
    UNIQUE (invite_id, program_id)
);

-- Who enrolled through which invite, and when they gave their consent (kept as the record of
-- it). Enrolling twice with one e-mail address is decided by members' existing
-- UNIQUE (account_id, email_norm): the second insert does nothing and finds the member.
CREATE TABLE enrollments (
    invite_id     TEXT NOT NULL REFERENCES invites (id),
    member_id     TEXT NOT NULL REFERENCES members (id),
    consented_at  TEXT NOT NULL,
    PRIMARY KEY (invite_id, member_id)
);
