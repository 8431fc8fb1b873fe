//! Running a batch: its items go in order, at most `concurrency` at a time, each through the
//! project's command queue like a single command (its own audit row, carrying the batch's
//! id). A sent command then waits for the project's next status check (the verification the
//! command schedules, within the status budget), which confirms what it did.
//!
//! Cancelling stops what has not started; commands on their way finish. At shutdown the
//! rest is marked interrupted, as a restart finds it.

use std::{sync::Arc, time::Duration};

use pickyassist::Command;
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;

use super::super::Fleet;
use crate::{
    auth::Actor,
    db::batches::{self as store, ItemUpdate},
    model::{AuditOutcome, BatchCounts, BatchItem, BatchProgress, BatchStatus, ItemState},
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

impl Fleet {
    pub(super) async fn run_batch(&self, run: Run) {
        let run = Arc::new(run);
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
            if run.cancel.is_cancelled() {
                break;
            }
            let fleet = self.clone();
            let run = run.clone();
            let (project_id, name) = (*project_id, name.clone());
            items.spawn(async move {
                fleet.run_item(&run, position, project_id, &name).await;
                drop(permit);
            });
        }
        while items.join_next().await.is_some() {}
        self.finish_batch(&run).await;
    }

    /// One project: sending, then sent or failed, then (if sent) confirmed by its check.
    async fn run_item(&self, run: &Run, position: usize, project_id: i64, name: &str) {
        self.set_item(
            run,
            position,
            project_id,
            name,
            ItemState::Sending,
            None,
            None,
        )
        .await;
        let Some(project) = self.project(project_id) else {
            self.set_item(
                run,
                position,
                project_id,
                name,
                ItemState::Failed,
                Some("the project was removed before its turn"),
                None,
            )
            .await;
            return;
        };
        // Subscribed before sending, so the check that follows cannot be missed.
        let mut statuses = self.subscribe();
        let result = self
            .enqueue_command(&run.actor, project, run.command, Some(run.batch_id))
            .await;
        let sent = match result {
            Ok(done) if done.outcome == AuditOutcome::Success => {
                self.set_item(
                    run,
                    position,
                    project_id,
                    name,
                    ItemState::Sent,
                    Some(&done.message),
                    Some(done.audit_id),
                )
                .await;
                true
            }
            Ok(done) => {
                self.set_item(
                    run,
                    position,
                    project_id,
                    name,
                    ItemState::Failed,
                    Some(&done.message),
                    Some(done.audit_id),
                )
                .await;
                false
            }
            Err(error) => {
                let message = error.answer().message;
                self.set_item(
                    run,
                    position,
                    project_id,
                    name,
                    ItemState::Failed,
                    Some(&message),
                    None,
                )
                .await;
                false
            }
        };
        if !sent {
            return;
        }
        let wait = self.inner.verify_delay + CHECK_GRACE;
        let checked = tokio::time::timeout(wait, async {
            loop {
                match statuses.recv().await {
                    Ok(event) if event.project_id == project_id => {
                        return Some(event.status.health)
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .await
        .ok()
        .flatten();
        if let Some(health) = checked {
            self.confirm_item(run, position, project_id, name, health)
                .await;
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn set_item(
        &self,
        run: &Run,
        position: usize,
        project_id: i64,
        name: &str,
        state: ItemState,
        message: Option<&str>,
        audit_id: Option<i64>,
    ) {
        let update = ItemUpdate {
            state,
            message,
            checked: None,
            audit_id,
        };
        self.store_item(run, position, project_id, name, &update)
            .await;
    }

    async fn confirm_item(
        &self,
        run: &Run,
        position: usize,
        project_id: i64,
        name: &str,
        health: crate::model::Health,
    ) {
        let update = ItemUpdate {
            state: ItemState::Confirmed,
            message: None,
            checked: Some(health),
            audit_id: None,
        };
        self.store_item(run, position, project_id, name, &update)
            .await;
    }

    /// Writes an item's new state and tells the event stream. A failed write is logged: the
    /// command's own audit row is the record that matters, and it is written elsewhere.
    async fn store_item(
        &self,
        run: &Run,
        position: usize,
        project_id: i64,
        name: &str,
        update: &ItemUpdate<'_>,
    ) {
        if let Err(e) =
            store::update_item(&self.inner.db.writer, run.batch_id, position, update).await
        {
            tracing::error!(batch_id = run.batch_id, project_id, error = %e, "could not record a batch item");
        }
        let counts = self.batch_counts(run.batch_id).await;
        self.publish_progress(BatchProgress {
            batch_id: run.batch_id,
            status: BatchStatus::Running,
            counts,
            item: Some(BatchItem {
                project_id,
                project_name: name.to_owned(),
                state: update.state,
                message: update.message.map(str::to_owned),
                checked: update.checked,
                audit_id: update.audit_id,
                updated_at: crate::model::stored_time(chrono::Utc::now()),
            }),
        });
    }

    async fn batch_counts(&self, batch_id: i64) -> BatchCounts {
        match self.read_batch(batch_id).await {
            Ok(batch) => batch.counts,
            Err(_) => BatchCounts::default(),
        }
    }

    /// Settles what never started, records how the batch ended, completes its audit row.
    async fn finish_batch(&self, run: &Run) {
        let (status, leftover) = if self.inner.stopping.is_cancelled() {
            (BatchStatus::Interrupted, ItemState::Interrupted)
        } else if run.cancel.is_cancelled() {
            (BatchStatus::Cancelled, ItemState::Cancelled)
        } else {
            (BatchStatus::Finished, ItemState::Cancelled)
        };
        let db = &self.inner.db.writer;
        if let Err(e) = store::settle_queued(db, run.batch_id, leftover).await {
            tracing::error!(batch_id = run.batch_id, error = %e, "could not settle a batch's items");
        }
        if let Err(e) = store::finish(db, run.batch_id, status).await {
            tracing::error!(batch_id = run.batch_id, error = %e, "could not finish a batch");
        }
        let counts = self.batch_counts(run.batch_id).await;
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
        });
        tracing::info!(
            batch_id = run.batch_id,
            status = status.as_str(),
            "batch done"
        );
    }
}
