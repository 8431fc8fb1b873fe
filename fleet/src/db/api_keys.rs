//! The `api_keys` table.

use super::{now_text, Pool};
use crate::with_pool;

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
    pool: &Pool,
    user_id: i64,
    label: &str,
    prefix: &str,
    key_hash: &[u8],
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO api_keys (user_id, label, prefix, key_hash, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id";
    let now = now_text();
    with_pool!(pool, p => {
        sqlx::query_scalar(SQL)
            .bind(user_id)
            .bind(label)
            .bind(prefix)
            .bind(key_hash)
            .bind(&now)
            .fetch_one(p)
            .await
    })
}

pub async fn by_prefix(pool: &Pool, prefix: &str) -> sqlx::Result<Option<ApiKeyRow>> {
    let sql = format!("{SELECT} WHERE k.prefix = $1");
    with_pool!(pool, p => sqlx::query_as(&sql).bind(prefix).fetch_optional(p).await)
}

pub async fn by_id(pool: &Pool, id: i64) -> sqlx::Result<Option<ApiKeyRow>> {
    let sql = format!("{SELECT} WHERE k.id = $1");
    with_pool!(pool, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)
}

pub async fn list(pool: &Pool) -> sqlx::Result<Vec<ApiKeyRow>> {
    let sql = format!("{SELECT} ORDER BY k.id DESC");
    with_pool!(pool, p => sqlx::query_as(&sql).fetch_all(p).await)
}

pub async fn touch(pool: &Pool, id: i64) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2";
    let now = now_text();
    with_pool!(pool, p => sqlx::query(SQL).bind(&now).bind(id).execute(p).await.map(|_| ()))
}

pub async fn revoke(pool: &Pool, id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
    let now = now_text();
    let revoked = with_pool!(pool, p => {
        sqlx::query(SQL).bind(&now).bind(id).execute(p).await?.rows_affected()
    });
    Ok(revoked == 1)
}
