//! Several dashboard instances on one PostgreSQL database.
//!
//! - **One poller.** Each instance tries to take a session-level advisory lock on a connection
//!   of its own. The one that holds it polls (and evaluates and sends alerts); the others stand
//!   by and try again every few seconds. When the poller dies its connection closes, PostgreSQL
//!   releases the lock, and a standby takes it within one retry: well inside two intervals.
//! - **Status everywhere.** Whoever checks a project (the poller, or an instance where someone
//!   pressed Refresh or sent a command) publishes the new status with `NOTIFY`, up to 500
//!   in one statement ([`status_notes`]); every other instance puts it on its own board,
//!   so each browser's event stream sees it.
//! - **Bulk commands everywhere.** The instance running a batch publishes its progress; every
//!   other instance passes it to its own event streams.
//! - **Changes everywhere.** What instances keep in memory (the projects with their decrypted
//!   tokens, the alert configuration, auto-heal policies) is read again when another instance
//!   says it changed.
//!
//! With SQLite there is one instance: it is always the poller and publishes nothing.

use std::{sync::atomic::Ordering, time::Duration};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::{postgres::PgListener, Connection as _, PgConnection};

use super::Fleet;
use crate::model::{BatchProgress, StatusView};

mod status_notes;

pub(super) use status_notes::StatusOutbox;

/// The advisory lock the poller holds (session level, on its own connection).
const POLLER_LOCK: i64 = 0x7069_636b_0002;
/// The namespace of the session lock each serving instance holds (see `other_instances_alive`).
const INSTANCE_LOCK: i32 = 0x7066_0004;
const STATUS_CHANNEL: &str = "picky_fleet_status";
/// The least time between two reloads of the project list for changes made elsewhere.
const PROJECTS_RELOAD_PAUSE: Duration = Duration::from_millis(250);
const CHANGE_CHANNEL: &str = "picky_fleet_change";
const BATCH_CHANNEL: &str = "picky_fleet_batch";
/// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a status with a long history
/// strip is sent without the strip (the receiving instance keeps the one it had).
const MAX_PAYLOAD: usize = 7900;

/// Cuts an upstream message that would not fit in a note to its first 500 characters.
fn cut_words(message: &mut String) {
    let cut = message
        .char_indices()
        .nth(500)
        .map_or(message.len(), |(i, _)| i);
    message.truncate(cut);
}

/// What another instance may have to read again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Projects,
    AlertConfig,
    AutoHeal,
}

#[derive(Serialize, Deserialize)]
struct StatusNote {
    from: String,
    project_id: i64,
    status: StatusView,
}

#[derive(Serialize, Deserialize)]
struct BatchNote {
    from: String,
    progress: BatchProgress,
}

#[derive(Serialize, Deserialize)]
struct ChangeNote {
    from: String,
    change: Change,
}

impl Fleet {
    /// This instance's name in the cluster (random at each start), as `/healthz` shows it.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// Whether this instance polls upstream now. Always true on SQLite.
    pub fn is_poller(&self) -> bool {
        self.inner.is_poller.load(Ordering::Acquire)
    }

    /// Holds the poller lock while it can; returns (for the supervisor to restart it) when
    /// the connection holding it is lost. Only for PostgreSQL.
    pub async fn hold_poller_lock(&self) -> anyhow::Result<()> {
        let Some(pool) = self.inner.db.writer.as_postgres() else {
            self.inner.is_poller.store(true, Ordering::Release);
            return std::future::pending().await;
        };
        let retry =
            (self.poll_interval() / 3).clamp(Duration::from_millis(200), Duration::from_secs(5));
        let result = async {
            // Its own connection, not the pool's: the lock lives and dies with this session.
            // TCP keepalives make the server drop (and so release) the lock of an instance whose
            // network went away within a minute, not the system's default two hours.
            let options = pool.connect_options().as_ref().clone().options([
                ("tcp_keepalives_idle", "10"),
                ("tcp_keepalives_interval", "5"),
                ("tcp_keepalives_count", "3"),
            ]);
            let mut conn = PgConnection::connect_with(&options)
                .await
                .context("connecting for the poller lock")?;
            // "This instance is serving", for as long as this session lives.
            sqlx::query("SELECT pg_advisory_lock($1, $2)")
                .bind(INSTANCE_LOCK)
                .bind(instance_key(&self.inner.instance_id))
                .execute(&mut conn)
                .await
                .context("taking the instance lock")?;
            loop {
                let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(POLLER_LOCK)
                    .fetch_one(&mut conn)
                    .await
                    .context("asking for the poller lock")?;
                if held {
                    break;
                }
                tokio::time::sleep(retry).await;
            }
            self.become_poller().await?;
            // Still connected (and so still holding it)? A lost or silent connection ends the
            // term: better no poller for a moment than two.
            loop {
                tokio::time::sleep(retry).await;
                tokio::time::timeout(retry, conn.ping())
                    .await
                    .context("the poller lock's connection stopped answering")?
                    .context("the poller lock's connection was lost")?;
            }
        }
        .await;
        self.inner.is_poller.store(false, Ordering::Release);
        result
    }

    /// Taking over from another instance: what it kept in memory (open alerts, auto-heal's
    /// memory) is read back from the database first, so nothing is sent twice.
    async fn become_poller(&self) -> anyhow::Result<()> {
        self.reload_projects().await?;
        self.load_alerts().await?;
        self.load_auto_heal().await?;
        self.inner.is_poller.store(true, Ordering::Release);
        tracing::info!(
            instance = self.instance_id(),
            "this instance is the poller now"
        );
        Ok(())
    }

    /// Tells the other instances a batch's progress (PostgreSQL only).
    pub(super) async fn publish_batch_progress(&self, progress: &BatchProgress) {
        let Some(pool) = self.inner.db.writer.as_postgres() else {
            return;
        };
        let mut note = BatchNote {
            from: self.inner.instance_id.clone(),
            progress: progress.clone(),
        };
        let mut payload = serde_json::to_string(&note).unwrap_or_default();
        if payload.len() > MAX_PAYLOAD {
            // A long upstream message: the counts and states go, the words are cut.
            if let Some(message) = note.progress.item.as_mut().and_then(|i| i.message.as_mut()) {
                cut_words(message);
            }
            payload = serde_json::to_string(&note).unwrap_or_default();
        }
        if let Err(e) = crate::db::notify::notify_all(pool, BATCH_CHANNEL, &[payload]).await {
            tracing::warn!(batch_id = progress.batch_id, error = %e, "could not tell the other instances a batch's progress");
        }
    }

    /// Tells the other instances to read `change` again (PostgreSQL only).
    pub(super) async fn publish_change(&self, change: Change) {
        let Some(pool) = self.inner.db.writer.as_postgres() else {
            return;
        };
        let note = ChangeNote {
            from: self.inner.instance_id.clone(),
            change,
        };
        let payload = serde_json::to_string(&note).unwrap_or_default();
        if let Err(e) = crate::db::notify::notify_all(pool, CHANGE_CHANNEL, &[payload]).await {
            tracing::warn!(?change, error = %e, "could not tell the other instances a change");
        }
    }

    /// Listens for the other instances' notes until the connection is lost (then returns, for
    /// the supervisor to start it again). Only for PostgreSQL.
    pub async fn follow_other_instances(&self) -> anyhow::Result<()> {
        let Some(pool) = self.inner.db.writer.as_postgres() else {
            return std::future::pending().await;
        };
        let mut listener = PgListener::connect_with(pool)
            .await
            .context("connecting to listen")?;
        listener
            .listen_all([STATUS_CHANNEL, CHANGE_CHANNEL, BATCH_CHANNEL])
            .await
            .context("listening")?;
        // Whatever changed before the listener was up.
        self.apply_change(Change::Projects).await;
        self.apply_change(Change::AlertConfig).await;
        // A script adding a thousand projects elsewhere sends a thousand notes: the list is
        // read again at most once per pause, not once per note. Aborted when this returns.
        let projects_changed = std::sync::Arc::new(tokio::sync::Notify::new());
        let mut reloader = tokio::task::JoinSet::new();
        {
            let (fleet, changed) = (self.clone(), projects_changed.clone());
            reloader.spawn(async move {
                loop {
                    changed.notified().await;
                    fleet.apply_change(Change::Projects).await;
                    tokio::time::sleep(PROJECTS_RELOAD_PAUSE).await;
                }
            });
        }
        loop {
            // `try_recv`, not sqlx's quiet reconnect in `recv`: notes sent while it reconnected
            // would be lost without a word. Ending here, the supervisor starts this again and
            // everything is read again.
            let Some(note) = listener.try_recv().await.context("listening")? else {
                anyhow::bail!("the listening connection was lost");
            };
            match note.channel() {
                STATUS_CHANNEL => match serde_json::from_str::<StatusNote>(note.payload()) {
                    Ok(n) if n.from != self.inner.instance_id => {
                        self.inner.board.put(n.project_id, n.status)
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "an unreadable status note"),
                },
                BATCH_CHANNEL => match serde_json::from_str::<BatchNote>(note.payload()) {
                    Ok(n) if n.from != self.inner.instance_id => {
                        self.pass_on_batch_progress(n.progress)
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "an unreadable batch note"),
                },
                CHANGE_CHANNEL => match serde_json::from_str::<ChangeNote>(note.payload()) {
                    Ok(n) if n.from != self.inner.instance_id => match n.change {
                        Change::Projects => projects_changed.notify_one(),
                        other => self.apply_change(other).await,
                    },
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "an unreadable change note"),
                },
                _ => {}
            }
        }
    }

    async fn apply_change(&self, change: Change) {
        let done = match change {
            Change::Projects => self.reload_projects().await,
            Change::AlertConfig => self.reload_alert_config().await,
            Change::AutoHeal => self.load_auto_heal().await,
        };
        if let Err(e) = done {
            tracing::error!(?change, error = %format!("{e:#}"), "could not read a change made on another instance");
        }
    }
}

/// Whether another instance is serving from the database: each holds a session advisory lock
/// of its own ([`INSTANCE_LOCK`], keyed by its id) for as long as it runs, taken on the poller
/// lock's connection. The CLI and other clients take none, so they do not count. Always false
/// on SQLite. Asked again a few times over a second: a server that was just killed may hold
/// its lock for a moment while PostgreSQL notices.
pub(super) async fn other_instances_alive(fleet: &Fleet) -> anyhow::Result<bool> {
    let Some(pool) = fleet.inner.db.writer.as_postgres() else {
        return Ok(false);
    };
    for _ in 0..4 {
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database
             WHERE d.datname = current_database() AND l.locktype = 'advisory' AND l.granted
               AND l.objsubid = 2 AND l.classid::BIGINT = $1 AND l.objid::BIGINT <> $2",
        )
        .bind(i64::from(INSTANCE_LOCK))
        .bind(i64::from(instance_key(&fleet.inner.instance_id)))
        .fetch_one(pool)
        .await
        .context("looking for other instances")?;
        if others == 0 {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(true)
}

/// Whether the instance `instance_id` is serving from the database now (holds its
/// [`INSTANCE_LOCK`]). Always false on SQLite, where the only instance is this one.
pub(super) async fn instance_alive(fleet: &Fleet, instance_id: &str) -> anyhow::Result<bool> {
    let Some(pool) = fleet.inner.db.writer.as_postgres() else {
        return Ok(false);
    };
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database
         WHERE d.datname = current_database() AND l.locktype = 'advisory' AND l.granted
           AND l.objsubid = 2 AND l.classid::BIGINT = $1 AND l.objid::BIGINT = $2)",
    )
    .bind(i64::from(INSTANCE_LOCK))
    .bind(i64::from(instance_key(instance_id)))
    .fetch_one(pool)
    .await
    .context("looking for an instance")
}

/// The instance's key in [`INSTANCE_LOCK`]'s namespace: its id, kept positive.
fn instance_key(instance_id: &str) -> i32 {
    (u32::from_str_radix(instance_id, 16).unwrap_or(0) & 0x7fff_ffff) as i32
}
