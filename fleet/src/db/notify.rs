//! `NOTIFY` to the other instances on one PostgreSQL (`service::cluster`).

use sqlx::PgPool;

/// Sends `payloads` on `channel` with one statement: one round trip for a poll round's worth
/// of notes, not one each. They arrive in order (a volatile function in the select list runs
/// after the `ORDER BY`) and together, when the statement commits. Within one statement
/// PostgreSQL delivers identical payloads once, at the first one's place: callers make each
/// payload unique (a status note carries its check's time).
pub async fn notify_all(pool: &PgPool, channel: &str, payloads: &[String]) -> sqlx::Result<()> {
    sqlx::query(
        "SELECT pg_notify($1, note) FROM unnest($2::TEXT[]) WITH ORDINALITY AS n(note, position)
         ORDER BY position",
    )
    .bind(channel)
    .bind(payloads)
    .execute(pool)
    .await?;
    Ok(())
}
