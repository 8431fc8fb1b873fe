//! SQLite straight through sqlx, with the dashboard's settings, for seeding and the raw-insert
//! baseline. The schema comes from the dashboard itself (its CLI migrates a fresh database).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// The dashboard's pragmas: WAL, `synchronous=NORMAL`, a 10 s busy timeout.
pub async fn open(path: &Path, max_connections: u32) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(options)
        .await
        .with_context(|| format!("opening {}", path.display()))
}

pub async fn count(pool: &SqlitePool, sql: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .with_context(|| format!("{sql:?}"))
}
