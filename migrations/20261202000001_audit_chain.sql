-- The audit log's hash chain (see fleet/src/db/audit_chain.rs). A completed row is sealed
-- with its place in the chain and an HMAC over its columns and the previous seal; a pending
-- command row is sealed when it completes.
ALTER TABLE audit_log ADD COLUMN chain_seq INTEGER;
ALTER TABLE audit_log ADD COLUMN chain_hash BLOB;

CREATE UNIQUE INDEX audit_log_by_seal ON audit_log (chain_seq) WHERE chain_seq IS NOT NULL;
-- Almost every row is sealed: this index holds only the pending ones and any added by hand.
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE chain_seq IS NULL;

-- The last seal the retention job archived: the kept rows' chain continues from it.
CREATE TABLE audit_chain_anchor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
);

-- Rows written before this migration, sealed once by the first server start after it (the
-- start records that as an `audit_sealed` row).
CREATE TABLE audit_chain_legacy (up_to_id INTEGER NOT NULL);
INSERT INTO audit_chain_legacy (up_to_id) SELECT MAX(id) FROM audit_log HAVING MAX(id) IS NOT NULL;
