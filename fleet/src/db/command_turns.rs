//! Commands for one device go upstream one at a time, in order, across every instance sharing
//! a PostgreSQL database. Each instance already queues a project's commands in-process (see
//! `service::commands`); on PostgreSQL the command at the head of that queue also waits for a
//! transaction advisory lock on the project, held from its pending audit row until its row is
//! completed. PostgreSQL grants a lock's waiters in the order they asked, so two operators on
//! two instances get the same order one instance would give them.
//!
//! A transaction lock, not a session lock: if the holder dies or its connection drops, the
//! server ends the transaction and the lock with it; a session lock could go back to the pool
//! still held. The transaction sits idle during the upstream call (seconds at most), so these
//! connections come from a pool of their own and never starve pages or the audit writer. A
//! local semaphore hands out the pool's connections in order, so a busy pool makes a command
//! wait for its turn, while a short acquire timeout still says "database unavailable" quickly
//! when the database is gone.
//!
//! The double-submit rule (the same command for a project while one is queued or on its way
//! is refused) holds across instances too, read from the audit log: as a command joins its
//! queue, [`watch`] notes the log's newest id and whether another instance has the same
//! command pending; once its turn comes, [`Turn::sent_since`] asks whether the same command was
//! written after that id. Rows are written under one advisory lock (the audit chain's), so ids
//! are committed in order and no row can slip between the two reads. A pending row counts as
//! on its way for as long as a command can take, by the clocks of the instances, which must
//! agree to within a minute (as NTP keeps them).

use std::{sync::Arc, time::Duration};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool, Postgres, Transaction,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The advisory lock namespace (`pg_advisory_xact_lock(namespace, project)`).
const LOCK_NAMESPACE: i32 = 0x7066_0005;

/// Projects whose commands can be on their way at once from one instance; more wait here.
const SLOTS: u32 = 24;

/// The pool of turn connections of one instance.
#[derive(Clone, Debug)]
pub struct CommandTurns {
    pool: PgPool,
    slots: Arc<Semaphore>,
}

/// A project's turn: while it is held no other instance sends that project a command.
pub struct Turn {
    tx: Transaction<'static, Postgres>,
    _slot: OwnedSemaphorePermit,
}

impl CommandTurns {
    /// Connections are opened when first needed.
    pub fn new(options: PgConnectOptions) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(SLOTS)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(options);
        Self {
            pool,
            slots: Arc::new(Semaphore::new(SLOTS as usize)),
        }
    }

    /// Waits until no other instance is sending `project_id` a command, then holds its turn.
    /// Waits at most `wait_limit` for the lock (then PostgreSQL's `lock_not_available`, see
    /// [`is_wait_timeout`]); the server ends the turn itself if its holder sits idle longer than
    /// `hold_limit` (an instance that hangs mid-call does not hold the device for good).
    pub async fn wait(
        &self,
        project_id: i64,
        wait_limit: Duration,
        hold_limit: Duration,
    ) -> sqlx::Result<Turn> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await?;
        sqlx::query(
            "SELECT set_config('lock_timeout', $1, true),
                    set_config('idle_in_transaction_session_timeout', $2, true)",
        )
        .bind(wait_limit.as_millis().to_string())
        .bind(hold_limit.as_millis().to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, CAST($2 % 2147483647 AS INTEGER))")
            .bind(LOCK_NAMESPACE)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        Ok(Turn { tx, _slot: slot })
    }

    pub async fn close(&self) {
        self.slots.close();
        self.pool.close().await;
    }
}

/// The turn did not come within the wait limit: another instance still holds it.
pub fn is_wait_timeout(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("55P03"))
}

/// Where the audit log stood when a command joined its project's queue.
#[derive(Clone, Copy, Debug)]
pub struct Watch {
    /// The newest row's id then.
    pub mark: i64,
}

/// Notes where the log stands for `command` joining `project_id`'s queue. `Err(actor)` when
/// another instance is sending the same command right now: a pending row written at or after
/// `fresh_since` (an older one belongs to an instance that died mid-call). One statement, so
/// both answers come from one snapshot.
pub async fn watch(
    pool: &super::Pool,
    project_id: i64,
    command: &str,
    fresh_since: &str,
) -> sqlx::Result<Result<Watch, String>> {
    const SQL: &str = "SELECT (SELECT COALESCE(MAX(id), 0) FROM audit_log),
                (SELECT actor FROM audit_log
                  WHERE outcome = 'pending' AND project_id = $1 AND command = $2
                    AND action = 'command' AND at >= $3
                  ORDER BY id LIMIT 1)";
    let (mark, busy): (i64, Option<String>) = crate::with_pool!(pool, p => {
        sqlx::query_as(SQL)
            .bind(project_id)
            .bind(command)
            .bind(fresh_since)
            .fetch_one(p)
            .await
    })?;
    Ok(match busy {
        Some(actor) => Err(actor),
        None => Ok(Watch { mark }),
    })
}

impl Turn {
    /// Inside the turn: who, if anyone, had the same command written for the project after
    /// `watch` (sent by another instance while this one waited).
    pub async fn sent_since(
        &mut self,
        project_id: i64,
        command: &str,
        watch: Watch,
    ) -> sqlx::Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT actor FROM audit_log
              WHERE project_id = $1 AND command = $2 AND action = 'command' AND id > $3
              ORDER BY id LIMIT 1",
        )
        .bind(project_id)
        .bind(command)
        .bind(watch.mark)
        .fetch_optional(&mut *self.tx)
        .await
    }

    /// Ends the turn at once (dropping it ends it too: sqlx rolls back a dropped transaction
    /// when its connection goes back to the pool).
    pub async fn end(self) {
        if let Err(e) = self.tx.rollback().await {
            // The connection is gone, and the server released the lock with it.
            tracing::debug!(error = %e, "ending a command turn");
        }
    }
}

/// Pending command rows written before `written_before` whose project's turn no session
/// holds: the row is written after the turn is taken and completed before it ends, so such a
/// command is on its way nowhere. `written_before` must be older than any command can take:
/// a turn can also end under a live instance (its connection dropped), which still completes
/// the row.
pub async fn orphaned_commands(pool: &PgPool, written_before: &str) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT a.id FROM audit_log AS a
          WHERE a.outcome = 'pending' AND a.action = 'command' AND a.at < $1
            AND a.project_id IS NOT NULL
            AND NOT EXISTS (
                SELECT 1 FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database
                 WHERE d.datname = current_database() AND l.locktype = 'advisory' AND l.granted
                   AND l.objsubid = 2 AND l.classid = CAST($2 AS INTEGER)::oid
                   AND l.objid = CAST(a.project_id % 2147483647 AS INTEGER)::oid)
          ORDER BY a.id",
    )
    .bind(written_before)
    .bind(LOCK_NAMESPACE)
    .fetch_all(pool)
    .await
}
