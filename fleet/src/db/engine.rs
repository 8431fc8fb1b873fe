//! One binary, two database engines: SQLite (the default, one machine) and PostgreSQL (several
//! dashboard instances sharing one database).
//!
//! Not `sqlx::Any`: it cannot decode chrono types and erases the column types the rows rely
//! on. Instead [`Pool`], [`Conn`] and [`Tx`] hold either engine's own value, and the
//! [`with_pool!`] / [`with_conn!`] macros expand a query's code once per engine, so each copy
//! is type-checked against that engine's driver.
//!
//! The SQL is written once, in the dialect both engines share:
//! - parameters are `$1`, `$2`, … (sqlx's SQLite driver reads `$N` as the N-th argument);
//! - booleans are `TRUE`/`FALSE` (SQLite reads them as 1/0);
//! - new ids come back with `RETURNING id`; sums are `CAST(SUM(x) AS BIGINT)` (PostgreSQL's
//!   SUM of a BIGINT is NUMERIC);
//! - case-insensitive names are the columns' business (SQLite `COLLATE NOCASE`, PostgreSQL a
//!   non-deterministic ICU collation), never the query's.
//!
//! The few statements that differ branch on [`Pool::engine`].

use sqlx::{PgConnection, PgPool, SqliteConnection, SqlitePool};

/// Which engine a pool talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A connection pool of either engine. Cloning is cheap (the pools are reference-counted).
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub fn engine(&self) -> Engine {
        match self {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    pub async fn begin(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A write transaction that runs alone among those asking for the same `lock`: SQLite's
    /// `BEGIN IMMEDIATE` takes the database's one write lock; PostgreSQL takes a transaction
    /// advisory lock on `lock`, held across every instance until commit or rollback.
    pub async fn begin_exclusive(&self, lock: AdvisoryLock) -> sqlx::Result<Tx> {
        Ok(match self {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => {
                // READ COMMITTED whatever the server's default: each statement after the lock
                // must see what the lock's previous holder committed.
                let mut tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                    .await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(lock as i64)
                    .execute(&mut *tx)
                    .await?;
                Tx::Postgres(tx)
            }
        })
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    pub fn is_closed(&self) -> bool {
        match self {
            Pool::Sqlite(pool) => pool.is_closed(),
            Pool::Postgres(pool) => pool.is_closed(),
        }
    }

    /// The SQLite pool, for the few things only SQLite has (a file to back up).
    pub fn as_sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Pool::Sqlite(pool) => Some(pool),
            Pool::Postgres(_) => None,
        }
    }

    pub fn as_postgres(&self) -> Option<&PgPool> {
        match self {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite(_) => None,
        }
    }
}

/// PostgreSQL advisory lock keys, one per thing only one instance may do at a time. Fixed
/// numbers, so every instance of every version agrees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i64)]
pub enum AdvisoryLock {
    /// Sealing rows into the audit log's hash chain: one order, whichever instance writes.
    AuditChain = 0x7069_636b_0001,
}

/// A borrowed connection of either engine (inside a transaction, usually). Functions take it
/// by value; a caller that goes on using it passes [`Conn::reborrow`].
pub enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Conn::Sqlite(c) => Conn::Sqlite(c),
            Conn::Postgres(c) => Conn::Postgres(c),
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
        }
    }
}

/// A transaction of either engine; dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(tx) => Conn::Sqlite(tx),
            Tx::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// Runs `$body` with `$p` bound to the engine's own pool (`&SqlitePool` or `&PgPool`, both
/// executors): `with_pool!(pool, p => sqlx::query("…").execute(p).await)`.
#[macro_export]
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::db::Pool::Sqlite($p) => $body,
            $crate::db::Pool::Postgres($p) => $body,
        }
    };
}

/// Runs `$body` with `$c` bound to the engine's own connection (`&mut SqliteConnection` or
/// `&mut PgConnection`); the body passes `&mut *$c` to each query.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Postgres($c) => $body,
        }
    };
}
