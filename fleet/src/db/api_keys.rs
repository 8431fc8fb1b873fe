//! The `api_keys` table.

use sqlx::SqlitePool;

use super::now_text;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    /// The owner's role and whether they are disabled, read in the same query so that
    /// checking a key is one round trip to the database.
    pub user_role: String,
    pub user_disabled: bool,
    pub label: String,
    pub prefix: String,
    pub key_hash: Vec<u8>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

const SELECT: &str =
    "SELECT k.id, k.user_id, u.username, u.role AS user_role, u.disabled AS user_disabled,
                             k.label, k.prefix, k.key_hash, k.created_at, k.last_used_at, k.revoked_at
                      FROM api_keys k JOIN users u ON u.id = k.user_id";

pub async fn insert(
    pool: &SqlitePool,
    user_id: i64,
    label: &str,
    prefix: &str,
    key_hash: &[u8],
) -> sqlx::Result<i64> {
    let result = sqlx::query(
        "INSERT INTO api_keys (user_id, label, prefix, key_hash, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(user_id)
    .bind(label)
    .bind(prefix)
    .bind(key_hash)
    .bind(now_text())
    .execute(pool)
    .await?;
    Ok(result.last_insert_rowid())
}

pub async fn by_prefix(pool: &SqlitePool, prefix: &str) -> sqlx::Result<Option<ApiKeyRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE k.prefix = ?"))
        .bind(prefix)
        .fetch_optional(pool)
        .await
}

pub async fn by_id(pool: &SqlitePool, id: i64) -> sqlx::Result<Option<ApiKeyRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE k.id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn list(pool: &SqlitePool) -> sqlx::Result<Vec<ApiKeyRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY k.id DESC"))
        .fetch_all(pool)
        .await
}

pub async fn touch(pool: &SqlitePool, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
        .bind(now_text())
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn revoke(pool: &SqlitePool, id: i64) -> sqlx::Result<bool> {
    let result =
        sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now_text())
            .bind(id)
            .execute(pool)
            .await?;
    Ok(result.rows_affected() == 1)
}
