-- PostgreSQL only (several instances): the status checks each project's token made in the last
-- minute, whichever instance made them, so upstream's limit of 3 a minute holds fleet-wide
-- (fleet/src/db/status_checks.rs). Rows older than the window are deleted as checks are taken.
CREATE TABLE status_checks (
    project_id BIGINT      NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX status_checks_by_project ON status_checks (project_id, at);
