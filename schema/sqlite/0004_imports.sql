-- Statement imports: what each one came to, and which server process runs it. The
-- log holds the imported expenses (appended atomically, all or nothing); this table
-- only answers "how did import X go", including for imports that appended nothing
-- (cancelled, failed, all duplicates) and after a restart.
CREATE TABLE imports (
    import_id  TEXT    PRIMARY KEY,
    ledger_id  TEXT    NOT NULL,
    -- A random id per server process: a running import whose owner stopped
    -- refreshing `updated_at` died with it.
    owner      TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('running', 'completed', 'cancelled', 'failed')),
    -- The import's status as the API shows it, JSON.
    summary    TEXT    NOT NULL,
    -- Microseconds since the Unix epoch, UTC.
    updated_at INTEGER NOT NULL
);

CREATE INDEX imports_running ON imports (updated_at) WHERE state = 'running';
