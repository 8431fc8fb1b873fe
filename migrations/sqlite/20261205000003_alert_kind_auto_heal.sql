-- Auto-heal's "a person is needed" alerts (fleet/src/service/autoheal.rs) are alerts of a
-- kind of their own, which the `alerts` table's CHECK did not allow. SQLite cannot ALTER a
-- CHECK. Rebuilding the table is no way out either: dropping it, with the outbox's rows
-- pointing at it, fails the foreign keys, and `PRAGMA foreign_keys = OFF` does nothing inside
-- the transaction sqlx runs every SQLite migration in. So the CHECK is widened in place, by the
-- procedure SQLite documents for loosening a constraint (sqlite.org/lang_altertable.html,
-- "otherwise simple changes"): every existing row already satisfies the wider one. RESET
-- reloads this connection's schema; the other connections of the dashboard open after the
-- migrations run.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql,
                  'CHECK (kind IN (''device'', ''dashboard'', ''storm'', ''test''))',
                  'CHECK (kind IN (''device'', ''dashboard'', ''storm'', ''test'', ''auto_heal''))')
WHERE type = 'table' AND name = 'alerts';
PRAGMA writable_schema = RESET;
-- Had the CHECK's text not been exactly as written in 20261203000001, the replace above would
-- have changed nothing: then stop here (json() refuses its argument), rather than fail later.
SELECT CASE
    WHEN (SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'alerts')
         LIKE '%''auto_heal''%' THEN 1
    ELSE json('the alerts table''s CHECK was not widened')
END;
