//! Running a batch: its items go in order, at most `concurrency` at a time, each through the
//! project's command queue like a single command (its own audit row, carrying the batch's
//! id). A sent command's slot is freed at its answer; the item then waits for the project's
//! next status check taken after that answer (the verification the command schedules, within
//! the status budget), which confirms what it did.
//!
//! Cancelling stops what has not started; commands on their way finish. A cancel through
//! another instance is read from the batch's row before each project and at each heartbeat:
//! while a batch runs, its instance notes the time in the batch's row every
//! [`BATCH_HEARTBEAT`], which is how other instances tell it from a batch whose instance died
//! (see `orphans`). At shutdown the rest is marked interrupted, as a restart
//! finds it.

use std::{convert::Infallible, sync::Arc, time::Duration};

use pickyassist::Command;
use tokio::{
    sync::{broadcast::error::RecvError, OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use super::super::Fleet;
use crate::{
    auth::Actor,
    db::batches::{self as store, ItemUpdate},
    model::{AuditOutcome, BatchItem, BatchProgress, BatchStatus, Health, ItemState},
};

/// A batch about to run.
pub(super) struct Run {
    pub batch_id: i64,
    pub audit_id: i64,
    pub command: Command,
    pub projects: Vec<(i64, String)>,
    pub actor: Actor,
    pub cancel: CancellationToken,
}

/// Longest wait for a sent command's follow-up check beyond the verification delay: a poll
/// round, and a little for the check itself. Past it the item stays "sent".
const CHECK_GRACE: Duration = Duration::from_secs(15);

/// How often a running batch's instance notes that it is alive in the batch's row.
pub(super) const BATCH_HEARTBEAT: Duration = Duration::from_secs(2);

/// One item's place and name.
struct Item<'a> {
    position: usize,
    project_id: i64,
    name: &'a str,
}

impl Fleet {
    pub(super) async fn run_batch(&self, run: Run) {
        let run = Arc::new(run);
        tokio::select! {
            () = self.send_items(&run) => {}
            never = self.keep_beating(&run) => match never {},
        }
        self.finish_batch(&run).await;
    }

    /// The batch's heartbeat, for as long as its items run; a cancel asked through another
    /// instance is seen here too, so a batch waiting for slow commands stops queueing soon.
    async fn keep_beating(&self, run: &Run) -> Infallible {
        let mut beats = tokio::time::interval(BATCH_HEARTBEAT);
        beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            beats.tick().await;
            self.cancel_asked_elsewhere(run).await;
        }
    }

    async fn send_items(&self, run: &Arc<Run>) {
        let permits = Arc::new(Semaphore::new(self.inner.batches.concurrency));
        let mut items = JoinSet::new();
        for (position, (project_id, name)) in run.projects.iter().enumerate() {
            let permit = tokio::select! {
                biased;
                _ = run.cancel.cancelled() => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            if run.cancel.is_cancelled() || self.cancel_asked_elsewhere(run).await {
                break;
            }
            let fleet = self.clone();
            let run = run.clone();
            let (project_id, name) = (*project_id, name.clone());
            items.spawn(async move {
                let item = Item {
                    position,
                    project_id,
                    name: &name,
                };
                fleet.run_item(&run, &item, permit).await;
            });
        }
        while let Some(done) = items.join_next().await {
            if let Err(e) = done {
                tracing::error!(batch_id = run.batch_id, error = %e, "a batch item's task failed");
            }
        }
    }

    /// A heartbeat, which also reads whether a cancel came through another instance (written
    /// to the batch's row) or another instance settled the batch; if so the batch's token is
    /// cancelled as a local cancel would. A failed write is logged and taken as no: the batch
    /// goes on, as it would have before the cancel.
    async fn cancel_asked_elsewhere(&self, run: &Run) -> bool {
        match store::beat(&self.inner.db.writer, run.batch_id).await {
            Ok(true) => {
                run.cancel.cancel();
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(batch_id = run.batch_id, error = %e, "could not note a batch's heartbeat");
                false
            }
        }
    }

    /// One project: sending, then sent or failed, then (if sent) confirmed by its check.
    async fn run_item(&self, run: &Run, item: &Item<'_>, permit: OwnedSemaphorePermit) {
        self.store_item(run, item, ItemState::Sending, None, None, None)
            .await;
        let Some(project) = self.project(item.project_id) else {
            let gone = "the project was removed before its turn";
            self.store_item(run, item, ItemState::Failed, Some(gone), None, None)
                .await;
            return;
        };
        // Subscribed before sending, so the check that follows cannot be missed.
        let mut statuses = self.subscribe();
        let result = self
            .enqueue_command(&run.actor, project, run.command, Some(run.batch_id))
            .await;
        let answered_at = self.now();
        drop(permit);
        let done = match result {
            Ok(done) => done,
            Err(error) => {
                let message = error.answer().message;
                self.store_item(run, item, ItemState::Failed, Some(&message), None, None)
                    .await;
                return;
            }
        };
        let state = if done.outcome == AuditOutcome::Success {
            ItemState::Sent
        } else {
            ItemState::Failed
        };
        self.store_item(
            run,
            item,
            state,
            Some(&done.message),
            None,
            Some(done.audit_id),
        )
        .await;
        if state != ItemState::Sent {
            return;
        }
        // The first check of this project taken after the answer (a poll that was already
        // under way says nothing about the command).
        let wait = self.inner.verify_delay + CHECK_GRACE;
        let check = async {
            loop {
                match statuses.recv().await {
                    Ok(event)
                        if event.project_id == item.project_id
                            && event.status.checked_at.is_some_and(|at| at >= answered_at) =>
                    {
                        return Some(event.status.health)
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        };
        let checked = tokio::select! {
            checked = tokio::time::timeout(wait, check) => checked.ok().flatten(),
            _ = self.inner.stopping.cancelled() => None,
        };
        if let Some(health) = checked {
            self.store_item(run, item, ItemState::Confirmed, None, Some(health), None)
                .await;
        }
    }

    /// Writes an item's new state and tells the event stream. A failed write is logged: the
    /// command's own audit row is the record that matters, and it is written elsewhere.
    async fn store_item(
        &self,
        run: &Run,
        item: &Item<'_>,
        state: ItemState,
        message: Option<&str>,
        checked: Option<Health>,
        audit_id: Option<i64>,
    ) {
        let update = ItemUpdate {
            state,
            message,
            checked,
            audit_id,
        };
        let db = &self.inner.db.writer;
        match store::update_item(db, run.batch_id, item.position, &update).await {
            Ok(true) => {}
            // Settled by another instance that took this one for dead: its word stands.
            Ok(false) => return,
            Err(e) => {
                tracing::error!(batch_id = run.batch_id, project_id = item.project_id, error = %e, "could not record a batch item");
            }
        }
        let counts = store::counts(&self.inner.db.reader, run.batch_id)
            .await
            .unwrap_or_default();
        self.publish_progress(BatchProgress {
            batch_id: run.batch_id,
            status: BatchStatus::Running,
            counts,
            item: Some(BatchItem {
                project_id: item.project_id,
                project_name: item.name.to_owned(),
                state,
                message: message.map(str::to_owned),
                checked,
                audit_id,
                updated_at: crate::model::stored_time(chrono::Utc::now()),
            }),
        })
        .await;
    }

    /// Settles what never started (or never recorded its end), records how the batch ended,
    /// completes its audit row.
    async fn finish_batch(&self, run: &Run) {
        let db = &self.inner.db.writer;
        let stopping = self.inner.stopping.is_cancelled();
        let leftover = if stopping {
            ItemState::Interrupted
        } else {
            ItemState::Cancelled
        };
        let settled = store::settle_unfinished(db, run.batch_id, leftover)
            .await
            .unwrap_or_else(|e| {
                tracing::error!(batch_id = run.batch_id, error = %e, "could not settle a batch's items");
                0
            });
        // Cancelled only if the cancel kept something from being sent.
        let status = if stopping {
            BatchStatus::Interrupted
        } else if run.cancel.is_cancelled() && settled > 0 {
            BatchStatus::Cancelled
        } else {
            BatchStatus::Finished
        };
        match store::finish(db, run.batch_id, status).await {
            Ok(true) => {}
            Ok(false) => {
                // Another instance took this one for dead and settled the batch (and its
                // audit row): its word stands, and there is nothing more to announce.
                tracing::warn!(
                    batch_id = run.batch_id,
                    "a batch was settled elsewhere before it finished here"
                );
                self.batch_finished(run.batch_id);
                return;
            }
            Err(e) => {
                tracing::error!(batch_id = run.batch_id, error = %e, "could not finish a batch");
            }
        }
        let counts = store::counts(&self.inner.db.reader, run.batch_id)
            .await
            .unwrap_or_default();
        let outcome = if counts.succeeded == counts.total {
            AuditOutcome::Success
        } else {
            AuditOutcome::Partial
        };
        let detail = format!(
            "{} projects, {}: {}",
            counts.total,
            status.label().to_lowercase(),
            counts.summary()
        );
        if let Err(e) = self
            .inner
            .audit_writer
            .complete(run.audit_id, outcome, Some(detail), 0)
            .await
        {
            tracing::error!(batch_id = run.batch_id, error = %format!("{e:#}"), "could not complete a batch's audit row; it will show as interrupted");
        }
        metrics::counter!("picky_fleet_batches_total", "command" => run.command.wire_name(), "status" => status.as_str())
            .increment(1);
        self.batch_finished(run.batch_id);
        self.publish_progress(BatchProgress {
            batch_id: run.batch_id,
            status,
            counts,
            item: None,
        })
        .await;
        tracing::info!(
            batch_id = run.batch_id,
            status = status.as_str(),
            "batch done"
        );
    }
}
