-- The event log: one row per event, append-only, hash-chained per ledger.
-- Positions are assigned by the store under a transaction-scoped advisory lock, so
-- they are gapless and commit in order (no sequence: sequences commit out of order).
CREATE TABLE events (
    position        BIGINT      PRIMARY KEY CHECK (position > 0),
    ledger_id       UUID        NOT NULL,
    stream_id       TEXT        NOT NULL,
    stream_version  BIGINT      NOT NULL CHECK (stream_version > 0),
    event_id        UUID        NOT NULL UNIQUE,
    event_type      TEXT        NOT NULL,
    schema_version  SMALLINT    NOT NULL CHECK (schema_version > 0),
    -- The exact JSON text that was hashed: stored as text so no byte of it changes.
    payload         TEXT        NOT NULL,
    metadata        TEXT        NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    prev_hash       BYTEA       NOT NULL CHECK (length(prev_hash) = 32),
    hash            BYTEA       NOT NULL CHECK (length(hash) = 32),
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_ledger_position ON events (ledger_id, position);
CREATE INDEX events_recorded_at ON events (recorded_at, position);

-- The first answer to every append that carried an idempotency key.
CREATE TABLE idempotency_keys (
    ledger_id   UUID  NOT NULL,
    key         TEXT  NOT NULL,
    fingerprint BYTEA NOT NULL,
    answer      TEXT  NOT NULL,
    PRIMARY KEY (ledger_id, key)
);

CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();

-- Wakes every listening server process with the new head. Readers then read the
-- events themselves: a notification is a wake-up, never the data.
CREATE FUNCTION events_notify_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ledger_events', (SELECT max(position) FROM new_rows)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify_head();
