-- Sign-in limits across instances (fleet/src/db/sign_in_limits.rs): each instance keeps its own
-- limiter in memory as a first gate, and an attempt it lets through is counted here too, so the
-- limits hold whichever instance a load balancer sends an attempt to.
--
-- One row per limited key: 'u:<username>' or 'c:<client>'. `tat` is the GCRA's theoretical
-- arrival time (the limit is full again once it has passed); a client's `failed_at` is when it
-- last failed a sign-in (or began one it has not yet finished), which puts it under the
-- username limit for a while (see fleet/src/sign_in_limit.rs).
CREATE TABLE sign_in_limits (
    key       TEXT        PRIMARY KEY,
    tat       TIMESTAMPTZ NOT NULL,
    failed_at TIMESTAMPTZ
);

-- Takes one attempt from `limit_key`'s quota (`per_minute`, that many at once); returns 0, or
-- the milliseconds until an attempt is free. The upsert locks the row (and so serialises
-- instances) in one statement, so a prune between two statements cannot leave it missing.
CREATE FUNCTION picky_fleet_take_sign_in_quota(limit_key TEXT, per_minute INTEGER)
RETURNS BIGINT
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    now_at TIMESTAMPTZ := clock_timestamp();
    emission INTERVAL := (60000.0 / GREATEST(per_minute, 1)) * INTERVAL '1 millisecond';
    tolerance INTERVAL := (GREATEST(per_minute, 1) - 1) * emission;
    arrival TIMESTAMPTZ;
BEGIN
    INSERT INTO sign_in_limits AS l (key, tat) VALUES (limit_key, now_at)
    ON CONFLICT (key) DO UPDATE SET tat = l.tat
    RETURNING GREATEST(l.tat, now_at) INTO arrival;
    IF arrival - tolerance > now_at THEN
        RETURN CEIL(EXTRACT(EPOCH FROM arrival - tolerance - now_at) * 1000);
    END IF;
    UPDATE sign_in_limits SET tat = arrival + emission WHERE key = limit_key;
    RETURN 0;
END
$$;

-- One sign-in attempt: the username's quota if the client failed recently here or on any
-- instance (or is unknown), then the client's. An attempt from a clean client marks it as
-- failing until it succeeds, so parallel guesses get one past the username limit, not one per
-- instance. Returns which limit refused ('username' or 'client') and the wait, or NULL and 0.
--
-- Rows are locked in one order, the client's first and then the username's, so two attempts
-- never wait for each other crosswise; and the client's row is locked before it is read, so
-- two parallel attempts from one clean client cannot both read it clean.
CREATE FUNCTION picky_fleet_take_sign_in_attempt(
    client TEXT, username TEXT, per_client INTEGER, per_user INTEGER,
    recently_ms BIGINT, failed_here BOOLEAN)
RETURNS TABLE (refused_by TEXT, wait_ms BIGINT)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    now_at TIMESTAMPTZ := clock_timestamp();
    suspect BOOLEAN := TRUE;
    last_failed TIMESTAMPTZ;
    wait BIGINT;
BEGIN
    IF client IS NOT NULL THEN
        INSERT INTO sign_in_limits AS l (key, tat) VALUES ('c:' || client, now_at)
        ON CONFLICT (key) DO UPDATE SET tat = l.tat
        RETURNING l.failed_at INTO last_failed;
        suspect := failed_here
            OR COALESCE(last_failed > now_at - recently_ms * INTERVAL '1 millisecond', FALSE);
        IF NOT suspect THEN
            UPDATE sign_in_limits SET failed_at = now_at WHERE key = 'c:' || client;
        END IF;
    END IF;
    IF suspect THEN
        wait := picky_fleet_take_sign_in_quota('u:' || username, per_user);
        IF wait > 0 THEN
            RETURN QUERY SELECT 'username'::TEXT, wait;
            RETURN;
        END IF;
    END IF;
    IF client IS NOT NULL THEN
        wait := picky_fleet_take_sign_in_quota('c:' || client, per_client);
        IF wait > 0 THEN
            RETURN QUERY SELECT 'client'::TEXT, wait;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT NULL::TEXT, CAST(0 AS BIGINT);
END
$$;
