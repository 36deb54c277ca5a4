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

-- The store wakes every listening server process with pg_notify('ledger_events',
-- <new head>) inside each committing transaction (delivered at commit). Readers then
-- read the events themselves: a notification is a wake-up, never the data.

-- The fast path of a committing server process: it decided a batch against its own
-- memory of the log's heads (positions, hashes, stream versions), and this inserts the
-- batch, in the statement's own transaction, only if that memory is still right:
-- nobody appended since (the head is where the process left it) and the streams,
-- ledgers and idempotency keys it took to be new are new. Otherwise it inserts
-- nothing and returns false, and the process reads the heads and decides again.
--
-- The advisory lock (the same key the slow path takes) serializes every committing
-- transaction of every process, so commits happen in position order and a reader
-- never sees position P+1 before P. Each statement below runs after the lock is held
-- and, this function being VOLATILE, sees everything committed before it.
CREATE FUNCTION ledger_append_if_unchanged(
    expected_head   BIGINT,
    new_streams     TEXT[],
    new_ledgers     UUID[],
    positions       BIGINT[],
    ledger_ids      UUID[],
    stream_ids      TEXT[],
    stream_versions BIGINT[],
    event_ids       UUID[],
    event_types     TEXT[],
    schema_versions SMALLINT[],
    payloads        TEXT[],
    metadatas       TEXT[],
    recorded_ats    TIMESTAMPTZ[],
    prev_hashes     BYTEA[],
    hashes          BYTEA[],
    key_ledgers     UUID[],
    key_names       TEXT[],
    key_fingerprints BYTEA[],
    key_answers     TEXT[]
) RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(119182731994482);  -- "ledger"; see APPEND_LOCK in postgres.rs
    IF coalesce((SELECT position FROM events ORDER BY position DESC LIMIT 1), 0) <> expected_head THEN
        RETURN false;
    END IF;
    INSERT INTO events (position, ledger_id, stream_id, stream_version, event_id, event_type,
                        schema_version, payload, metadata, recorded_at, prev_hash, hash)
    SELECT * FROM unnest(positions, ledger_ids, stream_ids, stream_versions, event_ids, event_types,
                         schema_versions, payloads, metadatas, recorded_ats, prev_hashes, hashes);
    INSERT INTO idempotency_keys (ledger_id, key, fingerprint, answer)
    SELECT * FROM unnest(key_ledgers, key_names, key_fingerprints, key_answers);
    PERFORM pg_notify('ledger_events', positions[array_upper(positions, 1)]::text);
    RETURN true;
EXCEPTION
    -- A stream, ledger or idempotency key taken to be new was not: the unique indexes
    -- say so for the price of the insert itself.
    WHEN unique_violation THEN
        RETURN false;
END
$$;
