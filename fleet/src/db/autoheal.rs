//! The `auto_heal_policies` table (see `crate::autoheal`).

use super::{now_text, Pool};
use crate::with_pool;

/// Every stored policy, as (project id, JSON).
pub async fn policies(pool: &Pool) -> sqlx::Result<Vec<(i64, String)>> {
    const SQL: &str = "SELECT project_id, policy FROM auto_heal_policies";
    with_pool!(pool, p => sqlx::query_as(SQL).fetch_all(p).await)
}

pub async fn put(pool: &Pool, project_id: i64, json: &str, by: &str) -> sqlx::Result<()> {
    const SQL: &str = "INSERT INTO auto_heal_policies (project_id, policy, updated_by, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id) DO UPDATE SET
             policy = excluded.policy, updated_by = excluded.updated_by,
             updated_at = excluded.updated_at";
    let now = now_text();
    with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(project_id)
            .bind(json)
            .bind(by)
            .bind(&now)
            .execute(p)
            .await
            .map(|_| ())
    })
}
