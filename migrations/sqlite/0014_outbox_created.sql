-- Delivered outbox rows are kept for a while (analytics counts pushes by when they were
-- queued) and then deleted by `serve`'s housekeeping (WALLETCARDS_OUTBOX__KEEP_DONE_DAYS).
-- Both read the outbox by `created_at`; without this index each dashboard refresh and each
-- pruning pass scanned every delivery ever made.
CREATE INDEX outbox_created ON outbox (created_at);
