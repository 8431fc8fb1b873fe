//! The `auto_heal_policies` table (see `crate::autoheal`).

use sqlx::SqlitePool;

use super::now_text;

/// Every stored policy, as (project id, JSON).
pub async fn policies(pool: &SqlitePool) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("SELECT project_id, policy FROM auto_heal_policies")
        .fetch_all(pool)
        .await
}

pub async fn put(pool: &SqlitePool, project_id: i64, json: &str, by: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO auto_heal_policies (project_id, policy, updated_by, updated_at)
         VALUES (?, ?, ?, ?)
         ON CONFLICT (project_id) DO UPDATE SET
             policy = excluded.policy, updated_by = excluded.updated_by,
             updated_at = excluded.updated_at",
    )
    .bind(project_id)
    .bind(json)
    .bind(by)
    .bind(now_text())
    .execute(pool)
    .await
    .map(|_| ())
}
