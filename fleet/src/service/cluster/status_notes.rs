//! Status notes go to the other instances in batches. A check hands its note to the outbox and
//! goes on; one task sends whatever has gathered while its last statement was on its way, up
//! to [`NOTES_PER_STATEMENT`] in one `NOTIFY` statement (`db::notify::notify_all`). A round of
//! 10,000 checks so makes a few dozen round trips to the database instead of 10,000, and no
//! check waits for one. A quiet instance sends each note at once, as before.
//!
//! - Once the task has started, every note goes through the outbox, in order, even while the
//!   supervisor restarts the task: a note sent around the queue could overtake an older one,
//!   which would then overwrite it on the other instances. Before (and in the admin CLI, which
//!   starts no task) a note is sent on its own.
//! - A note too long for `NOTIFY` even when cut is not sent: in a batch it would fail the
//!   statement, and every other note with it.
//! - The outbox holds at most [`OUTBOX_CAPACITY`] notes; beyond that (the database stalled)
//!   notes are dropped, counted, and reported once per statement sent. The next check of each
//!   project sends a newer one.
//! - Notes still waiting when the server stops are lost: the other instances show those
//!   statuses from the poller's next round.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::{cut_words, StatusNote, MAX_PAYLOAD, STATUS_CHANNEL};
use crate::{db, model::StatusView, service::Fleet};

/// Notes waiting at most: two rounds of a 10,000-project fleet.
const OUTBOX_CAPACITY: usize = 20_000;
/// Notes in one statement at most (a note is under [`MAX_PAYLOAD`] bytes, most under 1,000).
const NOTES_PER_STATEMENT: usize = 500;

/// The status notes waiting to be sent.
pub(in crate::service) struct StatusOutbox {
    sender: mpsc::Sender<String>,
    /// Held by the sending task for as long as it runs.
    receiver: tokio::sync::Mutex<mpsc::Receiver<String>>,
    /// Set when the sending task first starts, and never unset (see the module's doc).
    started: AtomicBool,
    /// Notes dropped because the outbox was full, since the last report.
    dropped: AtomicU64,
}

impl Default for StatusOutbox {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(OUTBOX_CAPACITY);
        Self {
            sender,
            receiver: tokio::sync::Mutex::new(receiver),
            started: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    }
}

impl Fleet {
    /// Tells the other instances a project's new status (PostgreSQL only).
    pub(in crate::service) async fn publish_status(&self, project_id: i64, status: &StatusView) {
        let Some(pool) = self.inner.db.writer.as_postgres() else {
            return;
        };
        let Some(payload) = self.status_payload(project_id, status) else {
            tracing::warn!(
                project_id,
                "a status too long to tell the other instances, even cut; not sent"
            );
            return;
        };
        let outbox = &self.inner.status_outbox;
        if outbox.started.load(Ordering::Acquire) {
            if outbox.sender.try_send(payload).is_err() {
                outbox.dropped.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        if let Err(e) = db::notify::notify_all(pool, STATUS_CHANNEL, &[payload]).await {
            tracing::warn!(project_id, error = %e, "could not tell the other instances a status");
        }
    }

    /// Sends the outbox's status notes as they come, a batch per statement. Never returns; a
    /// failed statement is logged and its notes dropped (the next round sends newer ones).
    /// Only for PostgreSQL.
    pub async fn send_status_notes(&self) -> anyhow::Result<()> {
        let Some(pool) = self.inner.db.writer.as_postgres() else {
            return std::future::pending().await;
        };
        let outbox = &self.inner.status_outbox;
        let mut receiver = outbox.receiver.lock().await;
        outbox.started.store(true, Ordering::Release);
        let mut batch = Vec::with_capacity(NOTES_PER_STATEMENT);
        while receiver.recv_many(&mut batch, NOTES_PER_STATEMENT).await > 0 {
            if let Err(e) = db::notify::notify_all(pool, STATUS_CHANNEL, &batch).await {
                tracing::warn!(notes = batch.len(), error = %e, "could not tell the other instances their statuses");
            }
            batch.clear();
            let dropped = outbox.dropped.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "status notes dropped: more were waiting for the database than it holds"
                );
            }
        }
        Ok(())
    }

    /// The note for `status`, cut to fit (PostgreSQL refuses a payload of 8,000 bytes or more);
    /// `None` if even that is too long.
    fn status_payload(&self, project_id: i64, status: &StatusView) -> Option<String> {
        let mut note = StatusNote {
            from: self.inner.instance_id.clone(),
            project_id,
            status: status.clone(),
        };
        let mut payload = serde_json::to_string(&note).unwrap_or_default();
        if payload.len() > MAX_PAYLOAD {
            // A long history strip: sent without it (the receiving instance keeps the one it had).
            note.status.history = None;
            payload = serde_json::to_string(&note).unwrap_or_default();
        }
        if payload.len() > MAX_PAYLOAD {
            // Still too long (a long upstream message): the state and times go, the words are cut.
            note.status.advice = None;
            if let Some(detail) = note.status.detail.as_mut() {
                cut_words(detail);
            }
            payload = serde_json::to_string(&note).unwrap_or_default();
        }
        (payload.len() <= MAX_PAYLOAD).then_some(payload)
    }
}
