-- Status history (fleet/src/history.rs): every change of a project's state, and roll-ups of
-- every poll per minute, hour and day. Times of changes are RFC 3339 UTC text like the audit
-- log's; roll-up buckets are the Unix second their minute, hour or day starts.

CREATE TABLE status_changes (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL,       -- no foreign key: removing a project removes its history
    at          TEXT    NOT NULL,
    from_health TEXT,                   -- NULL: the first state the dashboard saw for the project
    to_health   TEXT    NOT NULL,
    message     TEXT,                   -- what went wrong, for failures
    queue       INTEGER                 -- the device's message queue, when known
);
CREATE INDEX status_changes_by_project ON status_changes (project_id, at);
CREATE INDEX status_changes_by_time ON status_changes (at);

-- One row per project, resolution and bucket. Polls are counted by what they found: the
-- device's own states, and `faults` for checks that failed on our side (unreachable, timed
-- out, rejected, unreadable), which count as "unknown" rather than down.
CREATE TABLE status_rollups (
    resolution     INTEGER NOT NULL,    -- the bucket's length in seconds: 60, 3600 or 86400
    project_id     INTEGER NOT NULL,
    bucket         INTEGER NOT NULL,
    polls          INTEGER NOT NULL,
    connected      INTEGER NOT NULL,
    timeout        INTEGER NOT NULL,
    unpaired       INTEGER NOT NULL,
    unknown_state  INTEGER NOT NULL,
    faults         INTEGER NOT NULL,
    queue_n        INTEGER NOT NULL,    -- polls that reported a queue count
    queue_sum      INTEGER NOT NULL,
    queue_min      INTEGER,
    queue_max      INTEGER,
    latency_sum_ms INTEGER NOT NULL,    -- over every poll
    latency_max_ms INTEGER NOT NULL,
    PRIMARY KEY (resolution, project_id, bucket)
) WITHOUT ROWID;
