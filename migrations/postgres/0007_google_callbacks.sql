-- Google Wallet save/delete callbacks, one row per event (Google may deliver one twice: the
-- nonce is the key). They tell which cards are in a Google Wallet, for the analytics.
CREATE TABLE google_callbacks (
    nonce        TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    class_id     TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX google_callbacks_object ON google_callbacks (object_id, received_at);
