-- Cashback lots beyond the few oldest that a holder's state keeps in balances.state (see
-- domain::ledger::cashback::Cold): a holder with hundreds of live lots then rewrites a small
-- state with each order instead of all its lots. Rows are written when the state spills and
-- read back (oldest first) only when an expiry, a redemption or a refund reaches them.
CREATE TABLE cashback_lots (
    program_id  TEXT NOT NULL,
    holder      TEXT NOT NULL,
    lot_id      TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    seq         BIGINT NOT NULL,
    remaining   BIGINT NOT NULL,
    expires_at  TIMESTAMPTZ,
    PRIMARY KEY (program_id, holder, lot_id),
    FOREIGN KEY (program_id, holder) REFERENCES balances (program_id, holder)
);
CREATE INDEX cashback_lots_oldest ON cashback_lots (program_id, holder, at, seq);
