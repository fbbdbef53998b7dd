-- Google Wallet objects and classes as Google has them.
-- The card version Google last accepted for the card's object; NULL while the object is not
-- inserted yet (the dispatcher inserts it, then PATCHes later versions).
ALTER TABLE cards ADD COLUMN google_synced_version BIGINT;

-- The class of each program as last sent to Google: a class is upserted again only when what
-- it shows (name, issuer, logo, colour, callback URL) changes, seen by its content hash.
CREATE TABLE google_classes (
    program_id    TEXT PRIMARY KEY REFERENCES programs (id),
    class_id      TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    synced_at     TIMESTAMPTZ NOT NULL
);

-- Callbacks and the dispatcher find a card by its object.
CREATE UNIQUE INDEX cards_google_object ON cards (google_object_id) WHERE google_object_id IS NOT NULL;
