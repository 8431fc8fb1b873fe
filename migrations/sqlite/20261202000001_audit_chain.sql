-- The audit log's hash chain (see fleet/src/db/audit_chain.rs). A completed row is sealed
-- with its place in the chain and an HMAC over its columns and the previous seal; a pending
-- command row is sealed when it completes.
ALTER TABLE audit_log ADD COLUMN chain_seq INTEGER;
ALTER TABLE audit_log ADD COLUMN chain_hash BLOB;
-- A pending command row's own MAC (it has no seal until it completes): a pending row made up
-- by hand has none, and is neither completed nor marked interrupted.
ALTER TABLE audit_log ADD COLUMN pending_mac BLOB;

CREATE UNIQUE INDEX audit_log_by_seal ON audit_log (chain_seq) WHERE chain_seq IS NOT NULL;
-- Almost every row is sealed: this index holds only the pending ones and any added by hand.
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE chain_seq IS NULL;

-- The last seal the retention job archived: the kept rows' chain continues from it. Its MAC
-- keeps it from being moved past rows deleted by hand.
CREATE TABLE audit_chain_anchor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL,
    mac  BLOB    NOT NULL
);

-- Rows written before this migration, sealed by the first start after it (recorded as an
-- `audit_sealed` row), and only while the chain is still empty: a marker added later is ignored.
CREATE TABLE audit_chain_legacy (up_to_id INTEGER NOT NULL);
INSERT INTO audit_chain_legacy (up_to_id) SELECT MAX(id) FROM audit_log HAVING MAX(id) IS NOT NULL;
