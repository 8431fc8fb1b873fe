-- A bulk command's cancel goes through the database (fleet/src/service/batches): a cancel
-- through any instance is written here, and the instance running the batch reads it before
-- sending each next project. `instance` is the one running it and `heartbeat_at` its last sign
-- of life (written every few seconds while the batch runs), so another instance can tell a
-- batch whose instance has stopped (and settle it) from one still on its way.
ALTER TABLE batches ADD COLUMN instance TEXT;
ALTER TABLE batches ADD COLUMN cancel_requested_by TEXT;
ALTER TABLE batches ADD COLUMN cancel_requested_at TEXT;
ALTER TABLE batches ADD COLUMN heartbeat_at TEXT;
