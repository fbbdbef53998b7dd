-- Foundation: API keys, programs, client companies (accounts), decision-makers (members)
-- and cards. Timestamps are UTC; ids are prefixed UUID v7 strings made by the service.

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'desk', 'erp-webhook')),
    secret_hash  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

CREATE TABLE programs (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('discount', 'cumulative_discount', 'cashback', 'stamp')),
    rules          TEXT NOT NULL,
    currency       TEXT NOT NULL,
    time_zone      TEXT NOT NULL,
    balance_scope  TEXT NOT NULL CHECK (balance_scope IN ('member', 'account')),
    design         TEXT NOT NULL,
    branding       TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    external_id  TEXT UNIQUE,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE members (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    name         TEXT NOT NULL,
    role         TEXT,
    email        TEXT,
    email_norm   TEXT,
    phone        TEXT,
    external_id  TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (account_id, external_id),
    UNIQUE (account_id, email_norm)
);
CREATE INDEX members_account ON members (account_id, id);

CREATE TABLE cards (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs (id),
    member_id   TEXT NOT NULL REFERENCES members (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    serial      TEXT NOT NULL UNIQUE,
    auth_token  TEXT NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    version     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (program_id, member_id)
);
CREATE INDEX cards_member ON cards (member_id);
CREATE INDEX cards_account_program ON cards (account_id, program_id);
