-- The card designer (issue 15): uploaded images, content-addressed by the SHA-256 of their
-- bytes (each size the server made is its own row), and each program's design as edited in
-- the console. Both live in the database so that every instance sees a saved design at once,
-- with no folder to copy and no restart. A program without a row shows its named design
-- (`pass_templates/<name>`, or the built-in default).
CREATE TABLE images (
    sha256        TEXT PRIMARY KEY,
    content_type  TEXT NOT NULL,
    bytes         BYTEA NOT NULL,
    width         BIGINT NOT NULL,
    height        BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

-- `texts`: {"logo_text": {lang: text}, "labels": {lang: {English label: text}}};
-- `images`: {path in a pass or `google/…`: sha256}. `version` grows by one on every save.
CREATE TABLE program_designs (
    program_id  TEXT PRIMARY KEY REFERENCES programs (id),
    version     BIGINT NOT NULL,
    texts       JSONB NOT NULL,
    images      JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
