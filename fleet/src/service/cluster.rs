//! Several dashboard instances on one PostgreSQL database.
//!
//! - **One poller.** Each instance tries to take a session-level advisory lock on a connection
//!   of its own. The one that holds it polls (and evaluates and sends alerts); the others stand
//!   by and try again every few seconds. When the poller dies its connection closes, PostgreSQL
//!   releases the lock, and a standby takes it within one retry: well inside two intervals.
//! - **Status everywhere.** Whoever checks a project (the poller, or an instance where someone
//!   pressed Refresh or sent a command) publishes the new status with `NOTIFY`; every other
//!   instance puts it on its own board, so each browser's event stream sees it.
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
use crate::model::StatusView;

/// The advisory lock the poller holds (session level, on its own connection).
const POLLER_LOCK: i64 = 0x7069_636b_0002;
const STATUS_CHANNEL: &str = "picky_fleet_status";
const CHANGE_CHANNEL: &str = "picky_fleet_change";
/// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a status with a long history
/// strip is sent without the strip (the receiving instance keeps the one it had).
const MAX_PAYLOAD: usize = 7900;

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
            let mut conn = PgConnection::connect_with(&pool.connect_options())
                .await
                .context("connecting for the poller lock")?;
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
            // Still connected (and so still holding it)? A lost connection ends the term.
            loop {
                tokio::time::sleep(retry).await;
                conn.ping()
                    .await
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

    /// Tells the other instances a project's new status (PostgreSQL only).
    pub(super) async fn publish_status(&self, project_id: i64, status: &StatusView) {
        let Some(pool) = self.inner.db.writer.as_postgres() else {
            return;
        };
        let mut note = StatusNote {
            from: self.inner.instance_id.clone(),
            project_id,
            status: status.clone(),
        };
        let mut payload = serde_json::to_string(&note).unwrap_or_default();
        if payload.len() > MAX_PAYLOAD {
            note.status.history = None;
            payload = serde_json::to_string(&note).unwrap_or_default();
        }
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(STATUS_CHANNEL)
            .bind(&payload)
            .execute(pool)
            .await
        {
            tracing::warn!(project_id, error = %e, "could not tell the other instances a status");
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
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANGE_CHANNEL)
            .bind(&payload)
            .execute(pool)
            .await
        {
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
            .listen_all([STATUS_CHANNEL, CHANGE_CHANNEL])
            .await
            .context("listening")?;
        // Whatever changed before the listener was up.
        self.apply_change(Change::Projects).await;
        self.apply_change(Change::AlertConfig).await;
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
                CHANGE_CHANNEL => match serde_json::from_str::<ChangeNote>(note.payload()) {
                    Ok(n) if n.from != self.inner.instance_id => self.apply_change(n.change).await,
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

/// A new instance's name: random, so a restarted instance is a new one.
pub(super) fn new_instance_id() -> String {
    use rand::Rng;
    format!("{:08x}", rand::thread_rng().gen::<u32>())
}
