//! Upstream's per-token limit counted in the database, for several instances on PostgreSQL:
//! each instance's own [`crate::budget::StatusBudget`] sees only its own checks, so a Refresh
//! on three instances could make three. Here a check is taken only if fewer than the limit were
//! made in the window by any instance. The count and the insert run under a transaction
//! advisory lock per project, so two instances cannot both take the last one; times are the
//! database's clock, the one clock every instance shares.

use std::time::Duration;

use sqlx::PgPool;

/// The advisory lock namespace (`pg_advisory_xact_lock(namespace, project)`).
const LOCK_NAMESPACE: i32 = 0x7066_0003;

/// Takes one check for `project_id` from the fleet-wide budget of `per_window` checks in
/// `window`, or says how long until one is free.
pub async fn try_take(
    pool: &PgPool,
    project_id: i64,
    per_window: usize,
    window: Duration,
) -> sqlx::Result<Result<(), Duration>> {
    let window_ms = window.as_millis() as i64;
    // READ COMMITTED whatever the server's default: the count after the lock must see the
    // previous holder's insert.
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, CAST($2 % 2147483647 AS INTEGER))")
        .bind(LOCK_NAMESPACE)
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "DELETE FROM status_checks
         WHERE project_id = $1 AND at <= clock_timestamp() - $2 * INTERVAL '1 millisecond'",
    )
    .bind(project_id)
    .bind(window_ms)
    .execute(&mut *tx)
    .await?;
    // How many are in the window, and how long ago (ms) the oldest of them was made.
    let (used, oldest_ms): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*),
                CAST(EXTRACT(EPOCH FROM clock_timestamp() - MIN(at)) * 1000 AS BIGINT)
         FROM status_checks WHERE project_id = $1",
    )
    .bind(project_id)
    .fetch_one(&mut *tx)
    .await?;
    if used >= per_window as i64 {
        tx.rollback().await?;
        let age = Duration::from_millis(oldest_ms.unwrap_or(0).max(0) as u64);
        return Ok(Err(window.saturating_sub(age)));
    }
    sqlx::query("INSERT INTO status_checks (project_id, at) VALUES ($1, clock_timestamp())")
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// A removed project's checks.
pub async fn forget(pool: &PgPool, project_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM status_checks WHERE project_id = $1")
        .bind(project_id)
        .execute(pool)
        .await
        .map(drop)
}
