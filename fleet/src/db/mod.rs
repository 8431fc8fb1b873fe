//! The database: SQLite (default) or PostgreSQL, chosen by the URL's scheme ([`engine`] says
//! how one set of queries serves both). Migrations from `migrations/sqlite/` or
//! `migrations/postgres/` are applied at connect.

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use chrono::Utc;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::{crypto::SealedToken, with_pool};

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod audit_archive;
pub mod audit_chain;
pub mod audit_writer;
pub mod autoheal;
pub mod batches;
pub mod command_turns;
pub mod copy;
mod engine;
pub mod history;
pub mod idempotency;
pub mod notify;
pub mod sign_in_limits;
pub mod status_checks;
pub mod users;

pub use engine::{AdvisoryLock, Conn, Engine, Pool, Tx};

/// The database as the service uses it: readers and a writer.
///
/// SQLite allows one writer at a time. With every connection free to write, concurrent writers
/// meet in SQLite's busy handler, which sleeps and retries (and a read transaction that turns
/// into a write can fail with "database is locked" at once). A pool of one connection for all
/// writes queues them in order inside the process instead; WAL lets the readers go on meanwhile.
/// PostgreSQL has row locks and real concurrent writers: there both are one pool.
#[derive(Clone, Debug)]
pub struct Database {
    pub reader: Pool,
    pub writer: Pool,
    /// This process's name among instances sharing a PostgreSQL database (random per start);
    /// its connections carry it as `application_name` `picky-fleet/ID`.
    pub instance_id: String,
    /// PostgreSQL: each project's turn to be sent a command, across instances.
    pub command_turns: Option<command_turns::CommandTurns>,
}

impl Database {
    /// Closes both pools (SQLite: so the WAL is checkpointed and the file is complete on its own).
    pub async fn close(&self) {
        if let Some(turns) = &self.command_turns {
            turns.close().await;
        }
        self.writer.close().await;
        self.reader.close().await;
    }

    pub fn engine(&self) -> Engine {
        self.writer.engine()
    }
}

/// Opens the database a URL names: `sqlite:path` (created if missing) or `postgres://…`.
pub async fn connect(database_url: &str) -> anyhow::Result<Database> {
    if is_postgres_url(database_url) {
        connect_postgres(database_url).await
    } else {
        connect_sqlite(database_url).await
    }
}

pub fn is_postgres_url(database_url: &str) -> bool {
    database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
}

/// The URL as it may be shown (printed at start, in errors): any password replaced, in the
/// user part or as a `password=` parameter.
pub fn shown_url(database_url: &str) -> String {
    let Some((scheme, rest)) = database_url.split_once("://") else {
        return database_url.to_owned();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => {
            let shown: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=••••")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            (rest, format!("?{}", shown.join("&")))
        }
        None => (rest, String::new()),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            let hidden = if credentials.contains(':') {
                ":••••"
            } else {
                ""
            };
            format!("{user}{hidden}@{host}")
        }
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{path}{query}")
}

async fn connect_postgres(database_url: &str) -> anyhow::Result<Database> {
    let instance_id = new_instance_id();
    // The URL may hold a password: errors name the database by its host and name only.
    let options = PgConnectOptions::from_str(database_url)
        .context("bad PostgreSQL URL in PICKY_FLEET_DATABASE_URL")?
        .application_name(&format!("{APPLICATION}/{instance_id}"));
    let shown = shown_url(database_url);
    let command_turns = command_turns::CommandTurns::new(options.clone());
    let pool = PgPoolOptions::new()
        // Every statement sees what others committed before it, whatever the server's default:
        // the advisory-lock patterns (`status_checks`, `command_turns`) rely on it.
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query("SET default_transaction_isolation = 'read committed'")
                    .execute(conn)
                    .await
                    .map(drop)
            })
        })
        .max_connections(16)
        // A page or a command waits this long for a connection, then says the database is
        // unavailable rather than hang.
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .with_context(|| format!("could not open the database {shown}"))?;
    sqlx::migrate!("../migrations/postgres")
        .run(&pool)
        .await
        .context("could not apply database migrations")?;
    let pool = Pool::Postgres(pool);
    Ok(Database {
        reader: pool.clone(),
        writer: pool,
        instance_id,
        command_turns: Some(command_turns),
    })
}

/// The `application_name` prefix of every instance's connections.
pub const APPLICATION: &str = "picky-fleet";

/// A new instance's name: random, so a restarted instance is a new one.
fn new_instance_id() -> String {
    use rand::Rng;
    format!("{:08x}", rand::thread_rng().gen::<u32>())
}

async fn connect_sqlite(database_url: &str) -> anyhow::Result<Database> {
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
    sqlx::migrate!("../migrations/sqlite")
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
    Ok(Database {
        reader: Pool::Sqlite(reader),
        writer: Pool::Sqlite(writer),
        instance_id: new_instance_id(),
        command_turns: None,
    })
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

pub async fn list_projects(pool: &Pool) -> sqlx::Result<Vec<ProjectRow>> {
    const SQL: &str = "SELECT id, name, upstream_project_id, token_nonce, token_ciphertext, token_last4, created_at
         FROM projects ORDER BY name";
    with_pool!(pool, p => sqlx::query_as(SQL).fetch_all(p).await)
}

/// One project's row, `None` once removed.
pub async fn project_row(pool: &Pool, id: i64) -> sqlx::Result<Option<ProjectRow>> {
    const SQL: &str = "SELECT id, name, upstream_project_id, token_nonce, token_ciphertext, token_last4, created_at
         FROM projects WHERE id = $1";
    with_pool!(pool, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)
}

pub async fn insert_project(
    pool: &Pool,
    name: &str,
    sealed: &SealedToken,
    last4: &str,
) -> sqlx::Result<i64> {
    const SQL: &str =
        "INSERT INTO projects (name, token_nonce, token_ciphertext, token_last4, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id";
    let now = now_text();
    with_pool!(pool, p => {
        sqlx::query_scalar(SQL)
            .bind(name)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(last4)
            .bind(&now)
            .fetch_one(p)
            .await
    })
}

pub async fn set_upstream_project_id(pool: &Pool, id: i64, upstream_id: &str) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE projects SET upstream_project_id = $1
         WHERE id = $2 AND upstream_project_id IS DISTINCT FROM $1";
    with_pool!(pool, p => sqlx::query(SQL).bind(upstream_id).bind(id).execute(p).await.map(drop))?;
    Ok(())
}

/// The database cannot be reached (stopped, restarting, the network, no free connection), as
/// opposed to a query that failed. SQLSTATE classes 08 (connection), 57P (shutting down,
/// starting up), 53 (out of resources) and 55000 (a database not accepting connections).
pub fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || code == "55000"
        }),
        _ => false,
    }
}

/// An [`is_unreachable`] error that had to travel as text (the audit writer answers many
/// callers with one failure).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

/// True for a UNIQUE constraint violation (a duplicate name, say).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

pub async fn rename_project(pool: &Pool, id: i64, name: &str) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE projects SET name = $1 WHERE id = $2";
    let result = with_pool!(pool, p => {
        sqlx::query(SQL).bind(name).bind(id).execute(p).await?.rows_affected()
    });
    Ok(result == 1)
}

pub async fn replace_token(
    pool: &Pool,
    id: i64,
    sealed: &SealedToken,
    last4: &str,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE projects
         SET token_nonce = $1, token_ciphertext = $2, token_last4 = $3, upstream_project_id = NULL
         WHERE id = $4";
    let changed = with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(last4)
            .bind(id)
            .execute(p)
            .await?
            .rows_affected()
    });
    Ok(changed == 1)
}

pub async fn delete_project(pool: &Pool, id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "DELETE FROM projects WHERE id = $1";
    let deleted =
        with_pool!(pool, p => sqlx::query(SQL).bind(id).execute(p).await?.rows_affected());
    Ok(deleted == 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_shown_url_hides_the_password_only() {
        assert_eq!(
            super::shown_url("postgres://db/fleet?user=fleet&password=s3cret&sslmode=require"),
            "postgres://db/fleet?user=fleet&password=••••&sslmode=require"
        );
        let shown =
            super::shown_url("postgres://fleet:s3cret@db.example:5432/fleet?sslmode=require");
        assert_eq!(
            shown,
            "postgres://fleet:••••@db.example:5432/fleet?sslmode=require"
        );
        assert_eq!(
            super::shown_url("postgres://fleet@db/fleet"),
            "postgres://fleet@db/fleet"
        );
        assert_eq!(
            super::shown_url("sqlite:data/fleet.db"),
            "sqlite:data/fleet.db"
        );
    }
}
