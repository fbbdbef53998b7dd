-- The dispatcher: when a row last changed state and the index its claim looks targets up by
-- (0004 indexes push tokens for APNs 410s). One process serves SQLite, so the dispatcher is
-- woken in process; PostgreSQL adds a NOTIFY trigger.
ALTER TABLE outbox ADD COLUMN updated_at TEXT;
CREATE INDEX outbox_pending_target ON outbox (kind, target) WHERE state = 'pending';
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
-- A push token APNs called a bad device token (kept, not pruned: a misconfiguration returns
-- it for every token); cleared when the device registers again.
ALTER TABLE devices ADD COLUMN push_error TEXT;
ALTER TABLE devices ADD COLUMN push_error_at TEXT;
