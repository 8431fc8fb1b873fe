-- API keys for scripts: each belongs to a user and acts with that user's role. Only a SHA-256
-- of the key is stored (keys are 190 random bits, so a fast hash is enough); the prefix lets
-- people tell keys apart and finds the row.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    label        TEXT    NOT NULL,
    prefix       TEXT    NOT NULL UNIQUE,
    key_hash     BLOB    NOT NULL,
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE INDEX api_keys_by_user ON api_keys (user_id);
