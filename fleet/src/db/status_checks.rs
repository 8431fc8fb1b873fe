//! Upstream's per-token limit counted in the database, for several instances on PostgreSQL:
//! each instance's own [`crate::budget::StatusBudget`] sees only its own checks, so a Refresh
//! on three instances could make three. Here a check is taken only if fewer than the limit were
//! made in the window by any instance. The count and the insert run under a transaction
//! advisory lock per project, so two instances cannot both take the last one; times are the
//! database's clock, the one clock every instance shares.

use std::time::Duration;

use sqlx::PgPool;

/// Takes one check for `project_id` from the fleet-wide budget of `per_window` checks in
/// `window`, or says how long until one is free. One round trip: the lock, the count and the
/// insert run in a database function (`migrations/postgres/…_take_status_check.sql`), whose
/// lock is held until this statement's transaction ends.
pub async fn try_take(
    pool: &PgPool,
    project_id: i64,
    per_window: usize,
    window: Duration,
) -> sqlx::Result<Result<(), Duration>> {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let wait_ms: i64 = sqlx::query_scalar("SELECT picky_fleet_take_status_check($1, $2, $3)")
        .bind(project_id)
        .bind(i64::try_from(per_window).unwrap_or(i64::MAX))
        .bind(window_ms)
        .fetch_one(pool)
        .await?;
    Ok(match u64::try_from(wait_ms) {
        Ok(wait) => Err(Duration::from_millis(wait)),
        Err(_) => Ok(()), // -1: taken
    })
}

/// A removed project's checks.
pub async fn forget(pool: &PgPool, project_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM status_checks WHERE project_id = $1")
        .bind(project_id)
        .execute(pool)
        .await
        .map(drop)
}
