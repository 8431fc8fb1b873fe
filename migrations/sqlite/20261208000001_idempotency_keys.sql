-- A script's Idempotency-Key and the answer to the command it stood for
-- (fleet/src/service/idempotency.rs): in the database, so a retry through another instance or
-- after a restart gets the first answer instead of a second command. `result` (the answer as
-- JSON) is empty while the first request runs. Rows are kept for a day.
CREATE TABLE idempotency_keys (
    caller          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    project_id      INTEGER NOT NULL,
    command         TEXT NOT NULL,
    claimed_at      TEXT NOT NULL,
    -- The instance that claimed it (`Database::instance_id`): alive, it may still be running it.
    instance        TEXT NOT NULL,
    result          TEXT,
    PRIMARY KEY (caller, idempotency_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (claimed_at);
