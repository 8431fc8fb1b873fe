-- Bulk commands (fleet/src/service/batches): one command for many projects, run by the
-- server with bounded concurrency through the same per-project queue as single commands.

-- A batch: who sent which command to how many projects, and how it went.
CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    command     TEXT    NOT NULL,           -- the wire name: restart, restart-server, …
    created_by  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    -- running, finished, cancelled (someone stopped what was not yet sent), interrupted
    -- (the dashboard stopped while it ran)
    status      TEXT    NOT NULL,
    finished_at TEXT,
    retry_of    INTEGER REFERENCES batches (id),  -- the batch whose failures this one retries
    audit_id    INTEGER                     -- the batch's own audit row, once written
);
CREATE INDEX batches_newest ON batches (id DESC);

-- One row per project of a batch, in the order they are sent.
CREATE TABLE batch_items (
    batch_id     INTEGER NOT NULL REFERENCES batches (id),
    position     INTEGER NOT NULL,
    project_id   INTEGER NOT NULL,          -- no foreign key: the row outlives a removed project
    project_name TEXT    NOT NULL,
    -- queued, sending, sent (upstream said success), confirmed (the follow-up check ran),
    -- failed, cancelled, interrupted
    state        TEXT    NOT NULL,
    message      TEXT,                      -- upstream's answer or what went wrong
    checked      TEXT,                      -- what the follow-up check found (a health name)
    audit_id     INTEGER,                   -- the command's audit row, once written
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (batch_id, position)
) WITHOUT ROWID;

-- Each project's command row names its batch; the batch's own row too.
ALTER TABLE audit_log ADD COLUMN batch_id INTEGER;
CREATE INDEX audit_log_by_batch ON audit_log (batch_id) WHERE batch_id IS NOT NULL;
