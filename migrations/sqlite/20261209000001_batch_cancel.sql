-- A bulk command's cancel goes through the database (fleet/src/service/batches): a cancel
-- through any instance is written here, and the instance running the batch reads it before
-- sending each next project. `instance` is the one running it, so a cancel can tell a batch
-- whose instance has stopped (and settle it) from one still on its way.
ALTER TABLE batches ADD COLUMN instance TEXT;
ALTER TABLE batches ADD COLUMN cancel_requested_by TEXT;
ALTER TABLE batches ADD COLUMN cancel_requested_at TEXT;
