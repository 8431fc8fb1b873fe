-- The fleet-wide status budget in one round trip (fleet/src/db/status_checks.rs): under the
-- project's transaction advisory lock (namespace 0x70660003 = 1885732867), forget checks older
-- than the window, count the rest, and take one if fewer than the limit were made. A VOLATILE
-- function's statements each see what the lock's previous holder committed (READ COMMITTED).
-- Returns -1 when a check was taken, else the milliseconds until one is free.
CREATE FUNCTION picky_fleet_take_status_check(project BIGINT, per_window BIGINT, window_ms BIGINT)
RETURNS BIGINT
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    used BIGINT;
    oldest_ms BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(1885732867, CAST(project % 2147483647 AS INTEGER));
    DELETE FROM status_checks
    WHERE project_id = project AND at <= clock_timestamp() - window_ms * INTERVAL '1 millisecond';
    SELECT COUNT(*), CAST(EXTRACT(EPOCH FROM clock_timestamp() - MIN(at)) * 1000 AS BIGINT)
    INTO used, oldest_ms
    FROM status_checks WHERE project_id = project;
    IF used >= per_window THEN
        RETURN GREATEST(window_ms - COALESCE(oldest_ms, 0), 0);
    END IF;
    INSERT INTO status_checks (project_id, at) VALUES (project, clock_timestamp());
    RETURN -1;
END
$$;
