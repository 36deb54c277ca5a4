-- Saved projection state, so a restart resumes from here instead of replaying the
-- whole log. A projection's position and the states of the ledgers that changed are
-- written in one transaction: a crash leaves the previous checkpoint whole.
CREATE TABLE checkpoints (
    projection TEXT    NOT NULL PRIMARY KEY,
    position   INTEGER NOT NULL CHECK (position >= 0),
    -- Microseconds since the Unix epoch, UTC.
    saved_at   INTEGER NOT NULL
);

CREATE TABLE checkpoint_states (
    projection TEXT    NOT NULL REFERENCES checkpoints (projection) ON DELETE CASCADE,
    ledger_id  TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    PRIMARY KEY (projection, ledger_id)
);
