-- The people who use the ledger. A user's token is stored only as its SHA-256: the
-- token itself is shown once, when the user is created.
CREATE TABLE users (
    user_id    UUID        PRIMARY KEY,
    name       TEXT        NOT NULL,
    token_hash BYTEA       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at TIMESTAMPTZ NOT NULL
);
