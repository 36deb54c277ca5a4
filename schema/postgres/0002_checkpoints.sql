-- Saved projection state, so a restart resumes from here instead of replaying the
-- whole log. A projection's position and the states of the ledgers that changed are
-- written in one transaction: a crash leaves the previous checkpoint whole.
CREATE TABLE checkpoints (
    projection TEXT        NOT NULL PRIMARY KEY,
    position   BIGINT      NOT NULL CHECK (position >= 0),
    saved_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE checkpoint_states (
    projection TEXT   NOT NULL REFERENCES checkpoints (projection) ON DELETE CASCADE,
    ledger_id  UUID   NOT NULL,
    -- The position this ledger's state reflects (at most the projection's position).
    position   BIGINT NOT NULL,
    state      TEXT   NOT NULL,
    PRIMARY KEY (projection, ledger_id)
);
