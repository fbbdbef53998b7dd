-- The dispatcher: when a row last changed state, the index its claim looks targets up by and
-- push tokens looked up when APNs calls one unregistered. (One process serves SQLite, so the
-- dispatcher is woken in process; PostgreSQL adds a NOTIFY trigger.)
ALTER TABLE outbox ADD COLUMN updated_at TEXT;
CREATE INDEX outbox_pending_target ON outbox (kind, target) WHERE state = 'pending';
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
CREATE INDEX devices_push_token ON devices (push_token);
