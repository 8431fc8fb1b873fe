//! The `users` table.

use super::{now_text, Pool, Tx};
use crate::model::{Role, UserView};
use crate::{with_conn, with_pool};

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

pub async fn by_name(pool: &Pool, username: &str) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
    with_pool!(pool, p => sqlx::query_as(&sql).bind(username).fetch_optional(p).await)
}

pub async fn by_id(pool: &Pool, id: i64) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    with_pool!(pool, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)
}

pub async fn list(pool: &Pool) -> sqlx::Result<Vec<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username");
    with_pool!(pool, p => sqlx::query_as(&sql).fetch_all(p).await)
}

pub async fn count(pool: &Pool) -> sqlx::Result<i64> {
    with_pool!(pool, p => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(p).await)
}

pub async fn insert(
    pool: &Pool,
    username: &str,
    password_hash: &str,
    role: Role,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO users (username, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4) RETURNING id";
    let now = now_text();
    with_pool!(pool, p => {
        sqlx::query_scalar(SQL)
            .bind(username)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(&now)
            .fetch_one(p)
            .await
    })
}

/// An enabled admin other than the user being changed exists. Part of the same UPDATE as
/// the change, so two concurrent demotions cannot both see the other admin and leave none
/// (SQLite has one writer; PostgreSQL takes [`lock_users`] first).
const ANOTHER_ENABLED_ADMIN: &str =
    "EXISTS (SELECT 1 FROM users AS other WHERE other.id <> users.id \
     AND other.role = 'admin' AND other.disabled = FALSE)";

/// Sets the role unless that would leave no enabled admin. False: refused (or no such user).
pub async fn set_role_keeping_an_admin(pool: &Pool, id: i64, role: Role) -> sqlx::Result<bool> {
    let sql = format!(
        "UPDATE users SET role = $1 WHERE id = $2 \
         AND ($1 = 'admin' OR role <> 'admin' OR disabled = TRUE OR {ANOTHER_ENABLED_ADMIN})"
    );
    let mut tx = lock_users(pool).await?;
    let changed = with_conn!(tx.conn(), c => {
        sqlx::query(&sql).bind(role.as_str()).bind(id).execute(&mut *c).await?.rows_affected()
    });
    tx.commit().await?;
    Ok(changed == 1)
}

/// Disables or enables unless that would leave no enabled admin. False: refused (or no such
/// user).
pub async fn set_disabled_keeping_an_admin(
    pool: &Pool,
    id: i64,
    disabled: bool,
) -> sqlx::Result<bool> {
    let sql = format!(
        "UPDATE users SET disabled = $1 WHERE id = $2 \
         AND ($1 = FALSE OR role <> 'admin' OR disabled = TRUE OR {ANOTHER_ENABLED_ADMIN})"
    );
    let mut tx = lock_users(pool).await?;
    let changed = with_conn!(tx.conn(), c => {
        sqlx::query(&sql).bind(disabled).bind(id).execute(&mut *c).await?.rows_affected()
    });
    tx.commit().await?;
    Ok(changed == 1)
}

/// A transaction in which no other admin change runs. Under PostgreSQL's READ COMMITTED, two
/// demotions of different admins would each see the other still enabled; a table lock that
/// conflicts with itself (but not with readers) puts them one after the other.
async fn lock_users(pool: &Pool) -> sqlx::Result<Tx> {
    let mut tx = pool.begin().await?;
    if let super::Conn::Postgres(c) = tx.conn() {
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *c)
            .await?;
    }
    Ok(tx)
}
