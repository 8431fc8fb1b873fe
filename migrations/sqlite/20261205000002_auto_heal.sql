-- Auto-heal policies (fleet/src/autoheal.rs): per project, off unless an admin turns it on.
CREATE TABLE auto_heal_policies (
    project_id INTEGER PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    policy     TEXT    NOT NULL,        -- JSON: model::AutoHealPolicy
    updated_by TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
