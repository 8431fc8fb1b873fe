//! The SQLite database: a writer pool of one connection and a reader pool of 8, WAL mode, a
//! busy timeout, migrations from `migrations/`.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use chrono::Utc;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

use crate::crypto::SealedToken;

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod audit_archive;
pub mod audit_chain;
pub mod audit_writer;
pub mod autoheal;
pub mod batches;
pub mod history;
pub mod users;

/// The database as the service uses it: many readers, one writer.
///
/// SQLite allows one writer at a time. With every connection free to write, concurrent writers
/// meet in SQLite's busy handler, which sleeps and retries (and a read transaction that turns
/// into a write can fail with "database is locked" at once). A pool of one connection for all
/// writes queues them in order inside the process instead; WAL lets the readers go on meanwhile.
#[derive(Clone, Debug)]
pub struct Database {
    pub reader: SqlitePool,
    pub writer: SqlitePool,
}

impl Database {
    /// Closes both pools, so the WAL is checkpointed and the file is complete on its own.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

pub async fn connect(database_url: &str) -> anyhow::Result<Database> {
    let options = SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("bad database URL {database_url:?}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    if let Some(parent) = options
        .get_filename()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
    }
    let open = |max_connections| {
        SqlitePoolOptions::new()
            .max_connections(max_connections)
            // Writers queue here rather than fail; a command waits at most this long for its turn.
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
    };
    let writer = open(1)
        .await
        .with_context(|| format!("could not open the database {database_url:?}"))?;
    sqlx::migrate!("../migrations")
        .run(&writer)
        .await
        .context("could not apply database migrations")?;
    // Every connection to ":memory:" is a database of its own, so there the writer reads too.
    let in_memory = options.get_filename() == std::path::Path::new(":memory:");
    let reader = if in_memory {
        writer.clone()
    } else {
        open(8)
            .await
            .with_context(|| format!("could not open the database {database_url:?}"))?
    };
    Ok(Database { reader, writer })
}

pub fn now_text() -> String {
    crate::model::stored_time(Utc::now())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectRow {
    pub created_at: String,
    pub id: i64,
    pub name: String,
    pub upstream_project_id: Option<String>,
    pub token_nonce: Vec<u8>,
    pub token_ciphertext: Vec<u8>,
    pub token_last4: String,
}

impl ProjectRow {
    pub fn sealed_token(&self) -> SealedToken {
        SealedToken {
            nonce: self.token_nonce.clone(),
            ciphertext: self.token_ciphertext.clone(),
        }
    }
}

pub async fn list_projects(pool: &SqlitePool) -> sqlx::Result<Vec<ProjectRow>> {
    sqlx::query_as(
        "SELECT id, name, upstream_project_id, token_nonce, token_ciphertext, token_last4, created_at
         FROM projects ORDER BY name COLLATE NOCASE",
    )
    .fetch_all(pool)
    .await
}

pub async fn insert_project(
    pool: &SqlitePool,
    name: &str,
    sealed: &SealedToken,
    last4: &str,
) -> sqlx::Result<i64> {
    let result = sqlx::query(
        "INSERT INTO projects (name, token_nonce, token_ciphertext, token_last4, created_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(name)
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .bind(last4)
    .bind(now_text())
    .execute(pool)
    .await?;
    Ok(result.last_insert_rowid())
}

pub async fn set_upstream_project_id(
    pool: &SqlitePool,
    id: i64,
    upstream_id: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE projects SET upstream_project_id = ? WHERE id = ? AND upstream_project_id IS NOT ?",
    )
    .bind(upstream_id)
    .bind(id)
    .bind(upstream_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// True for a UNIQUE constraint violation (a duplicate name, say).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

pub async fn rename_project(pool: &SqlitePool, id: i64, name: &str) -> sqlx::Result<bool> {
    let result = sqlx::query("UPDATE projects SET name = ? WHERE id = ?")
        .bind(name)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn replace_token(
    pool: &SqlitePool,
    id: i64,
    sealed: &SealedToken,
    last4: &str,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE projects SET token_nonce = ?, token_ciphertext = ?, token_last4 = ?, upstream_project_id = NULL
         WHERE id = ?",
    )
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .bind(last4)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn delete_project(pool: &SqlitePool, id: i64) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM projects WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(result.rows_affected() == 1)
}
