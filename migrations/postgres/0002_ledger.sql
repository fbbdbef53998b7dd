-- The loyalty engine: orders, refunds, redemptions and adjustments; the immutable ledger they
-- write; each holder's balance state; Apple devices and their registrations; and the outbox of
-- deliveries (Apple pushes, Google object updates) written in the same transaction.

ALTER TABLE cards ADD COLUMN notify TEXT;
ALTER TABLE cards ADD COLUMN google_object_id TEXT;

-- One holder (a member, or a whole account) in one program. `state` is the engine's compact
-- state (JSON); `next_change_at` is when time alone changes the balance, for the recompute job.
CREATE TABLE balances (
    program_id      TEXT NOT NULL REFERENCES programs (id),
    holder          TEXT NOT NULL,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    member_id       TEXT REFERENCES members (id),
    state           TEXT NOT NULL,
    next_change_at  TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (program_id, holder)
);
CREATE INDEX balances_next_change ON balances (next_change_at) WHERE next_change_at IS NOT NULL;

CREATE TABLE orders (
    id                       TEXT PRIMARY KEY,
    source                   TEXT NOT NULL,
    external_id              TEXT NOT NULL,
    account_id               TEXT NOT NULL REFERENCES accounts (id),
    member_id                TEXT REFERENCES members (id),
    card_id                  TEXT REFERENCES cards (id),
    program_id               TEXT REFERENCES programs (id),
    amount_minor             BIGINT NOT NULL CHECK (amount_minor > 0),
    currency                 TEXT NOT NULL,
    placed_at                TIMESTAMPTZ NOT NULL,
    cashback_redeemed_minor  BIGINT NOT NULL CHECK (cashback_redeemed_minor >= 0),
    refunded_minor           BIGINT NOT NULL CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
    fingerprint              TEXT NOT NULL,
    response                 TEXT NOT NULL,
    created_at               TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX orders_account ON orders (account_id, placed_at);

CREATE TABLE refunds (
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    order_id      TEXT NOT NULL REFERENCES orders (id),
    amount_minor  BIGINT NOT NULL CHECK (amount_minor > 0),
    fingerprint   TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX refunds_order ON refunds (order_id);

-- Desk redemptions of a stamp reward; the key space is per program and source.
CREATE TABLE redemptions (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs (id),
    source       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    card_id      TEXT NOT NULL REFERENCES cards (id),
    member_id    TEXT NOT NULL REFERENCES members (id),
    kind         TEXT NOT NULL CHECK (kind IN ('reward')),
    fingerprint  TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (program_id, source, external_id)
);

CREATE TABLE adjustments (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs (id),
    card_id      TEXT NOT NULL REFERENCES cards (id),
    external_id  TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    author       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (program_id, external_id)
);

-- Immutable. `event_type` + `event_id` name what caused the entry; `order_id` the order an
-- order's or refund's entries belong to; `lot` the cashback lot or reward source changed.
CREATE TABLE ledger_entries (
    id            BIGSERIAL PRIMARY KEY,
    program_id    TEXT NOT NULL REFERENCES programs (id),
    holder        TEXT NOT NULL,
    event_type    TEXT NOT NULL CHECK (event_type IN ('order', 'refund', 'redemption', 'adjustment', 'time')),
    event_id      TEXT,
    order_id      TEXT REFERENCES orders (id),
    kind          TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    lot           TEXT,
    effective_at  TIMESTAMPTZ NOT NULL,
    seq           BIGINT NOT NULL,
    expires_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_holder ON ledger_entries (program_id, holder, id);
CREATE INDEX ledger_order ON ledger_entries (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX ledger_lot ON ledger_entries (program_id, holder, lot) WHERE lot IS NOT NULL;

-- Devices that hold passes (Apple Wallet, and other wallets speaking its protocol).
CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    push_token  TEXT NOT NULL,
    scheme      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE registrations (
    device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    card_id     TEXT NOT NULL REFERENCES cards (id),
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device_id, card_id)
);
CREATE INDEX registrations_card ON registrations (card_id);

-- One row per delivery a change needs; the dispatcher claims due rows.
CREATE TABLE outbox (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('apple_push', 'google_object')),
    card_id       TEXT NOT NULL REFERENCES cards (id),
    card_version  BIGINT NOT NULL,
    target        TEXT NOT NULL,
    notify        TEXT,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
    attempts      INTEGER NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    locked_until  TIMESTAMPTZ,
    last_error    TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX outbox_due ON outbox (due_at) WHERE state = 'pending';
CREATE INDEX outbox_card ON outbox (card_id);
