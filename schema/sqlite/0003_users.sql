-- The people who use the ledger. A user's token is stored only as its SHA-256: the
-- token itself is shown once, when the user is created.
CREATE TABLE users (
    user_id    TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    token_hash BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- Microseconds since the Unix epoch, UTC.
    created_at INTEGER NOT NULL
);
