-- A user's named tokens: any number (the API caps it), each revocable on its own.
-- Only the SHA-256 of a token is stored; the token is shown once, when created.
-- Revoking deletes the row, so a lookup by hash is all authentication needs.
CREATE TABLE tokens (
    token_id     TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (user_id),
    name         TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- Microseconds since the Unix epoch, UTC.
    created_at   INTEGER NOT NULL,
    -- Refreshed at most about once a minute per token, not on every request.
    last_used_at INTEGER
);

CREATE INDEX tokens_by_user ON tokens (user_id, created_at);

-- Every existing user's one token becomes their "default" token, with the user's
-- id as its id (unique, and needs no random function). `users.token_hash` keeps
-- the first token's hash as written; nothing authenticates by it any more.
INSERT INTO tokens (token_id, user_id, name, token_hash, created_at)
SELECT user_id, user_id, 'default', token_hash, created_at FROM users;
