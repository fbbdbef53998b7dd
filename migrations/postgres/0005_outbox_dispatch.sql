-- The dispatcher: when a row last changed state and the index its claim looks targets up by
-- (0004 indexes push tokens for APNs 410s), and a NOTIFY to every instance's
-- dispatcher when a transaction that queued deliveries commits.
ALTER TABLE outbox ADD COLUMN updated_at TIMESTAMPTZ;
CREATE INDEX outbox_pending_target ON outbox (kind, target) WHERE state = 'pending';
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
-- A push token APNs called a bad device token (kept, not pruned: a misconfiguration returns
-- it for every token); cleared when the device registers again.
ALTER TABLE devices ADD COLUMN push_error TEXT;
ALTER TABLE devices ADD COLUMN push_error_at TIMESTAMPTZ;

CREATE FUNCTION walletcards_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added) THEN
        PERFORM pg_notify('walletcards_outbox', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION walletcards_outbox_notify();
