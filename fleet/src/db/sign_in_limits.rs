//! Sign-in limits shared by every instance on PostgreSQL (the `sign_in_limits` table and its
//! functions in `migrations/postgres/…_sign_in_limits.sql`). Each instance's in-memory limiter
//! (`crate::sign_in_limit`) stays the first gate, so a flood it refuses costs the database
//! nothing; what it lets through is counted here, fleet-wide. SQLite has one instance and no
//! such table.

use std::time::Duration;

use sqlx::PgPool;

use crate::sign_in_limit::{Limited, Refusal};

/// One attempt, as the in-memory limiter saw it.
pub struct Attempt<'a> {
    /// The client's key (`sign_in_limit::client_key`), if the address is known.
    pub client: Option<&'a str>,
    /// Trimmed and lower-cased.
    pub username: &'a str,
    /// Whether this instance saw the client fail recently.
    pub failed_here: bool,
}

/// The limits, attempts a minute.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub per_user: u32,
    pub per_client: u32,
}

/// Takes the attempt from the fleet-wide quotas, or says which refused it and for how long.
pub async fn take(
    pool: &PgPool,
    attempt: &Attempt<'_>,
    quotas: Quotas,
) -> sqlx::Result<Result<(), Refusal>> {
    let (refused_by, wait_ms): (Option<String>, i64) = sqlx::query_as(
        "SELECT refused_by, wait_ms FROM picky_fleet_take_sign_in_attempt($1, $2, $3, $4, $5, $6)",
    )
    .bind(attempt.client)
    .bind(attempt.username)
    .bind(i32::try_from(quotas.per_client).unwrap_or(i32::MAX))
    .bind(i32::try_from(quotas.per_user).unwrap_or(i32::MAX))
    .bind(crate::sign_in_limit::RECENTLY.as_millis() as i64)
    .bind(attempt.failed_here)
    .fetch_one(pool)
    .await?;
    let wait = Duration::from_millis(wait_ms.max(0) as u64);
    Ok(match refused_by.as_deref() {
        Some("username") => Err(Refusal {
            wait,
            limited: Limited::Username(attempt.username.to_owned()),
        }),
        Some(_) => Err(Refusal {
            wait,
            limited: Limited::Client(attempt.client.unwrap_or_default().to_owned()),
        }),
        None => Ok(()),
    })
}

/// A finished attempt from `client`: a failure keeps it under the username limit on every
/// instance for a while; a success makes it clean again.
pub async fn record(pool: &PgPool, client: &str, failed: bool) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sign_in_limits (key, tat, failed_at)
         VALUES ('c:' || $1, clock_timestamp(), CASE WHEN $2 THEN clock_timestamp() END)
         ON CONFLICT (key) DO UPDATE SET failed_at = EXCLUDED.failed_at",
    )
    .bind(client)
    .bind(failed)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets keys whose quota is full again and whose failure is no longer recent. Rows an
/// attempt holds are skipped (their turn comes next time), so pruning never waits on, or
/// deadlocks with, a sign-in.
pub async fn prune(pool: &PgPool) -> sqlx::Result<u64> {
    let recently_ms = crate::sign_in_limit::RECENTLY.as_millis() as i64;
    Ok(sqlx::query(
        "DELETE FROM sign_in_limits WHERE key IN (
             SELECT key FROM sign_in_limits WHERE tat < clock_timestamp()
               AND (failed_at IS NULL
                    OR failed_at < clock_timestamp() - $1 * INTERVAL '1 millisecond')
             FOR UPDATE SKIP LOCKED)",
    )
    .bind(recently_ms)
    .execute(pool)
    .await?
    .rows_affected())
}
