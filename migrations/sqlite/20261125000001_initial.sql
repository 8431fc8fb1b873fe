-- picky-fleet schema. Timestamps are RFC 3339 UTC text; ids are SQLite rowids.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,          -- argon2id PHC string
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT    NOT NULL
);

CREATE TABLE projects (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    upstream_project_id TEXT,                -- learnt from the first status answer
    token_nonce         BLOB    NOT NULL,    -- AES-256-GCM nonce (12 bytes)
    token_ciphertext    BLOB    NOT NULL,    -- the token, encrypted; never stored in the clear
    token_last4         TEXT    NOT NULL,    -- the only part of the token ever shown
    created_at          TEXT    NOT NULL
);

-- Append-only: a command's row is inserted as 'pending' before the upstream call and
-- completed once after it; nothing else updates a row and nothing deletes one.
CREATE TABLE audit_log (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    at                  TEXT    NOT NULL,
    actor               TEXT    NOT NULL,
    action              TEXT    NOT NULL,
    project_id          INTEGER,             -- no foreign key: rows outlive removed projects
    project_name        TEXT,
    command             TEXT,
    outcome             TEXT    NOT NULL,
    detail              TEXT,
    upstream_latency_ms INTEGER,
    request_id          TEXT,
    completed_at        TEXT
);

CREATE INDEX audit_log_by_project ON audit_log (project_id, id);
CREATE INDEX audit_log_by_actor   ON audit_log (actor, id);
CREATE INDEX audit_log_by_action  ON audit_log (action, id);
CREATE INDEX audit_log_pending    ON audit_log (outcome) WHERE outcome = 'pending';
