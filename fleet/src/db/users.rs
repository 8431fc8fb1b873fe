//! The `users` table.

use sqlx::SqlitePool;

use super::now_text;
use crate::model::{Role, UserView};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: String,
}

impl UserRow {
    pub fn role(&self) -> Role {
        stored_role(&self.role)
    }

    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            username: self.username.clone(),
            role: self.role(),
            disabled: self.disabled,
            created_at: self.created_at.clone(),
        }
    }
}

/// A role as stored; the CHECK constraint makes anything else impossible, but a hand-edited
/// database falls back to the least privilege.
pub fn stored_role(stored: &str) -> Role {
    stored.parse().unwrap_or(Role::Viewer)
}

const COLUMNS: &str = "id, username, password_hash, role, disabled, created_at";

pub async fn by_name(pool: &SqlitePool, username: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE username = ?"))
        .bind(username)
        .fetch_optional(pool)
        .await
}

pub async fn by_id(pool: &SqlitePool, id: i64) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn list(pool: &SqlitePool) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users ORDER BY username COLLATE NOCASE"
    ))
    .fetch_all(pool)
    .await
}

pub async fn count(pool: &SqlitePool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await
}

pub async fn insert(
    pool: &SqlitePool,
    username: &str,
    password_hash: &str,
    role: Role,
) -> sqlx::Result<i64> {
    let result = sqlx::query(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now_text())
    .execute(pool)
    .await?;
    Ok(result.last_insert_rowid())
}

/// An enabled admin other than the user being changed exists. Part of the same UPDATE as
/// the change, so two concurrent demotions cannot both see the other admin and leave none.
const ANOTHER_ENABLED_ADMIN: &str =
    "EXISTS (SELECT 1 FROM users AS other WHERE other.id <> users.id \
     AND other.role = 'admin' AND other.disabled = 0)";

/// Sets the role unless that would leave no enabled admin. False: refused (or no such user).
pub async fn set_role_keeping_an_admin(
    pool: &SqlitePool,
    id: i64,
    role: Role,
) -> sqlx::Result<bool> {
    let sql = format!(
        "UPDATE users SET role = ? WHERE id = ? \
         AND (? = 'admin' OR role <> 'admin' OR disabled = 1 OR {ANOTHER_ENABLED_ADMIN})"
    );
    let result = sqlx::query(&sql)
        .bind(role.as_str())
        .bind(id)
        .bind(role.as_str())
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Disables or enables unless that would leave no enabled admin. False: refused (or no such
/// user).
pub async fn set_disabled_keeping_an_admin(
    pool: &SqlitePool,
    id: i64,
    disabled: bool,
) -> sqlx::Result<bool> {
    let sql = format!(
        "UPDATE users SET disabled = ? WHERE id = ? \
         AND (? = 0 OR role <> 'admin' OR disabled = 1 OR {ANOTHER_ENABLED_ADMIN})"
    );
    let result = sqlx::query(&sql)
        .bind(disabled)
        .bind(id)
        .bind(disabled)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}
