-- Planned downtime in the history (fleet/src/history.rs): a poll made during one of the
-- project's maintenance windows that finds the device down counts as `maintenance`, not as
-- down, so it neither lowers uptime nor reads as an outage; a change of state seen during a
-- window is marked too.
ALTER TABLE status_rollups ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;
ALTER TABLE status_changes ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;
