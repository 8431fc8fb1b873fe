-- Alerts (see fleet/src/alerts/mod.rs): where they go, when they fire, and every attempt to
-- deliver them.

-- Where alerts go. `settings` holds what may be shown (an e-mail channel's server, port,
-- sender and recipients); what may not (a webhook's URL and signing secret, an SMTP password)
-- is in `secret_nonce`/`secret_ciphertext`, encrypted like project tokens, and never read back
-- out to anybody.
CREATE TABLE alert_channels (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    kind              TEXT    NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
    settings          TEXT    NOT NULL,
    -- What lists show of the target: a URL's host, an e-mail channel's recipients.
    target            TEXT    NOT NULL,
    secret_nonce      BLOB    NOT NULL,
    secret_ciphertext BLOB    NOT NULL,
    enabled           INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at        TEXT    NOT NULL
);

-- When a project alerts and whom: project_id 0 is the fleet-wide default, any other id a
-- project's own rule (which replaces the default whole). The rule itself is JSON
-- (fleet::model::AlertRule), checked by the service before it is written.
CREATE TABLE alert_rules (
    project_id INTEGER PRIMARY KEY,
    rule       TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

-- One row per incident: a project down (device or dashboard-side fault), a storm (many projects
-- at once), or a channel test. Open while resolved_at is NULL.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('device', 'dashboard', 'storm', 'test')),
    project_id      INTEGER,
    project_name    TEXT,
    -- The failing state that opened it (a Health, e.g. 'timeout'); for a storm, how many.
    state           TEXT    NOT NULL,
    -- The first failing poll: the downtime starts here.
    since           TEXT    NOT NULL,
    opened_at       TEXT    NOT NULL,
    repeats         INTEGER NOT NULL DEFAULT 0,
    next_repeat_at  TEXT,
    resolved_at     TEXT,
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    -- A project alert raised while a storm was open is part of it and sends nothing itself.
    storm_id        INTEGER REFERENCES alerts (id),
    -- Silenced (muted, maintenance, disconnected on purpose) when it opened: recorded, not sent.
    silenced        TEXT
);
CREATE INDEX alerts_open ON alerts (resolved_at, project_id);
CREATE INDEX alerts_by_project ON alerts (project_id, id);

-- The outbox: one row per message and channel. The dispatcher sends the due ones, retries with
-- backoff for up to a day, and marks them sent or failed. Rows survive restarts.
CREATE TABLE alert_deliveries (
    id              INTEGER PRIMARY KEY,
    alert_id        INTEGER NOT NULL REFERENCES alerts (id),
    channel_id      INTEGER NOT NULL,
    event           TEXT    NOT NULL CHECK (event IN ('down', 'repeat', 'recovered', 'test')),
    -- The message (fleet::alerts::AlertMessage as JSON); never holds a secret.
    message         TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    next_attempt_at TEXT    NOT NULL,
    finished_at     TEXT
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_attempt_at);
CREATE INDEX alert_deliveries_by_alert ON alert_deliveries (alert_id);

-- Every attempt's result.
CREATE TABLE alert_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES alert_deliveries (id),
    at          TEXT    NOT NULL,
    ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
    http_status INTEGER,
    latency_ms  INTEGER NOT NULL,
    error       TEXT
);
CREATE INDEX alert_attempts_by_delivery ON alert_attempts (delivery_id, id);

-- A project muted until a time.
CREATE TABLE alert_mutes (
    project_id INTEGER PRIMARY KEY,
    until      TEXT    NOT NULL,
    muted_by   TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT ''
);

-- Scheduled maintenance: one-off (starts_at..ends_at) or weekly (weekday 0 = Monday,
-- start_minute of that day in UTC, duration_minutes). project_id NULL: every project.
CREATE TABLE maintenance_windows (
    id               INTEGER PRIMARY KEY,
    project_id       INTEGER,
    kind             TEXT    NOT NULL CHECK (kind IN ('once', 'weekly')),
    starts_at        TEXT,
    ends_at          TEXT,
    weekday          INTEGER CHECK (weekday BETWEEN 0 AND 6),
    start_minute     INTEGER CHECK (start_minute BETWEEN 0 AND 1439),
    duration_minutes INTEGER CHECK (duration_minutes BETWEEN 1 AND 10080),
    note             TEXT    NOT NULL DEFAULT '',
    created_by       TEXT    NOT NULL,
    created_at       TEXT    NOT NULL
);

-- Projects an operator disconnected on purpose: they alert nobody until seen connected again.
CREATE TABLE intended_disconnects (
    project_id INTEGER PRIMARY KEY,
    by_actor   TEXT    NOT NULL,
    at         TEXT    NOT NULL
);
