//! Bulk commands: one command for many projects, run by the server (so a closed tab stops
//! nothing) with bounded concurrency, through the same per-project queue, audit rows and
//! status budget as single commands.
//!
//! Here: who may, what is a valid batch (no empty, unknown or repeated projects, at most
//! the cap, a destructive command confirmed by the count typed), starting, cancelling and
//! retrying, and reading. `runner` sends the items and records each one's progress;
//! `orphans` settles batches whose instance stopped.
//!
//! Audit: one row for the batch (pending while it runs, then completed with the counts) and
//! one per project, each carrying the batch's id.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use pickyassist::Command;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    db::{self, audit::OwnedEntry},
    model::{
        AuditAction, AuditOutcome, BatchFilter, BatchProgress, BatchRequest, BatchStatus,
        BatchView, Health, ItemState, Role,
    },
};

mod orphans;
mod runner;

/// Commands sent at once per batch, unless the setting says otherwise.
pub const DEFAULT_BATCH_CONCURRENCY: usize = 4;
/// Projects in one batch at most, unless the setting says otherwise.
pub const DEFAULT_BATCH_MAX: usize = 500;
/// Batches a list shows at most.
const LIST_LIMIT: u32 = 50;

/// The batches running now, and where their progress goes.
pub(super) struct BatchState {
    /// Per running batch, the token that cancels what it has not sent yet.
    running: Mutex<HashMap<i64, CancellationToken>>,
    progress: broadcast::Sender<BatchProgress>,
    concurrency: usize,
    max_projects: usize,
}

impl BatchState {
    pub(super) fn new(concurrency: usize, max_projects: usize) -> Self {
        Self {
            running: Mutex::default(),
            progress: broadcast::channel(1024).0,
            concurrency: concurrency.max(1),
            max_projects: max_projects.max(1),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, CancellationToken>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn nothing_to_cancel(batch: &BatchView) -> FleetError {
    FleetError::Conflict(format!(
        "batch {} is {} already; there is nothing to cancel",
        batch.id,
        batch.status.label().to_lowercase()
    ))
}

fn internal(e: impl Into<anyhow::Error>, doing: &str) -> FleetError {
    FleetError::Internal(e.into().context(doing.to_owned()))
}

impl Fleet {
    /// Checks a batch request and resolves it to the projects it names, in order, without
    /// running anything: the confirmation page shows this, and [`Fleet::start_batch`] runs
    /// the same checks again.
    pub fn preview_batch(
        &self,
        actor: &Actor,
        request: &BatchRequest,
    ) -> Result<(Command, Vec<(i64, String)>), FleetError> {
        actor.require(Role::Operator, "run commands")?;
        let command: Command = request
            .command
            .parse()
            .map_err(|e: pickyassist::UnknownCommand| FleetError::Invalid(e.to_string()))?;
        let projects = match (&request.project_ids, &request.filter) {
            (Some(_), Some(_)) => {
                return Err(FleetError::Invalid(
                    "give project_ids or filter, not both".into(),
                ))
            }
            (None, None) => {
                return Err(FleetError::Invalid(
                    "choose the projects: project_ids or filter".into(),
                ))
            }
            // The cap first: a list too long is refused before anything looks at it.
            (Some(ids), None) if ids.len() > self.inner.batches.max_projects => {
                return Err(FleetError::Invalid(format!(
                    "{} projects are more than one batch may have ({}); narrow the selection",
                    ids.len(),
                    self.inner.batches.max_projects
                )))
            }
            (Some(ids), None) => self.named_projects(ids)?,
            (None, Some(filter)) => self.matching_projects(filter)?,
        };
        if projects.is_empty() {
            return Err(FleetError::Invalid(
                "the selection is empty: choose at least one project".into(),
            ));
        }
        let cap = self.inner.batches.max_projects;
        if projects.len() > cap {
            return Err(FleetError::Invalid(format!(
                "{} projects are more than one batch may have ({cap}); narrow the selection",
                projects.len()
            )));
        }
        Ok((command, projects))
    }

    /// Starts a batch and returns it (all queued); it runs on the server from here.
    #[tracing::instrument(skip(self, actor, request), fields(actor = %actor.name, command = %request.command))]
    pub async fn start_batch(
        &self,
        actor: &Actor,
        request: BatchRequest,
    ) -> Result<BatchView, FleetError> {
        let (command, projects) = self.preview_batch(actor, &request)?;
        if command.is_destructive() && request.confirm_count != Some(projects.len() as u32) {
            return Err(FleetError::Invalid(format!(
                "{} is destructive: type the number of projects ({}) to confirm",
                command.label(),
                projects.len()
            )));
        }
        self.launch_batch(actor, command, projects, None).await
    }

    /// A new batch of the projects whose command failed in `batch_id`; for a destructive
    /// command, `confirm_count` must be their number, as when it started.
    pub async fn retry_batch(
        &self,
        actor: &Actor,
        batch_id: i64,
        confirm_count: Option<u32>,
    ) -> Result<BatchView, FleetError> {
        actor.require(Role::Operator, "run commands")?;
        let batch = self.read_batch(batch_id).await?;
        let failed: Vec<(i64, String)> = batch
            .items
            .iter()
            .filter(|item| item.state == ItemState::Failed)
            .filter(|item| self.project(item.project_id).is_some())
            .map(|item| (item.project_id, item.project_name.clone()))
            .collect();
        if failed.is_empty() {
            return Err(FleetError::Invalid(format!(
                "batch {batch_id} has no failed project (still in the dashboard) to retry"
            )));
        }
        if batch.command.is_destructive() && confirm_count != Some(failed.len() as u32) {
            return Err(FleetError::Invalid(format!(
                "{} is destructive: type the number of projects to retry ({}) to confirm",
                batch.command.label(),
                failed.len()
            )));
        }
        self.launch_batch(actor, batch.command, failed, Some(batch_id))
            .await
    }

    /// Stops a running batch: what was not sent yet is not sent. Commands on their way finish.
    /// The request is written to the batch's row, so it works through any instance: the one
    /// running the batch reads it before sending each next project. Asking again while it
    /// stops answers with the batch as it is (and settles it if its instance died meanwhile);
    /// a batch that has ended answers 409.
    pub async fn cancel_batch(
        &self,
        actor: &Actor,
        batch_id: i64,
    ) -> Result<BatchView, FleetError> {
        actor.require(Role::Operator, "cancel bulk commands")?;
        let batch = self.read_batch(batch_id).await?;
        if batch.status != BatchStatus::Running {
            return Err(nothing_to_cancel(&batch));
        }
        let asked_before = db::batches::cancel_requested(&self.inner.db.writer, batch_id)
            .await
            .map_err(|e| internal(e, "reading a batch"))?;
        if !asked_before && !self.ask_to_cancel(actor, batch_id).await? {
            let batch = self.read_batch(batch_id).await?;
            if batch.status != BatchStatus::Running {
                return Err(nothing_to_cancel(&batch)); // it ended a moment ago
            }
        }
        let token = self.inner.batches.running().get(&batch_id).cloned();
        match token {
            Some(token) => token.cancel(),
            None => {
                self.settle_batch_if_orphaned(batch_id)
                    .await
                    .map_err(|e| internal(e, "settling a batch"))?;
            }
        }
        self.read_batch(batch_id).await
    }

    /// Writes the cancel request to the batch's row, between a pending audit row and its
    /// completion: a cancel is never without its row, and the row says how it went (a batch
    /// that ended meanwhile, or another cancel that came first, completes it as rejected).
    /// True if this request is the one written.
    async fn ask_to_cancel(&self, actor: &Actor, batch_id: i64) -> Result<bool, FleetError> {
        let writer = &self.inner.audit_writer;
        let audit_id = writer
            .append(OwnedEntry {
                actor: actor.name.clone(),
                action: Some(AuditAction::BatchCancelled),
                outcome: Some(AuditOutcome::Pending),
                detail: Some(format!("batch {batch_id}")),
                request_id: actor.request_id.clone(),
                batch_id: Some(batch_id),
                ..Default::default()
            })
            .await
            .map_err(|e| FleetError::Internal(e.context("writing an audit row")))?;
        let asked = db::batches::request_cancel(&self.inner.db.writer, batch_id, &actor.name).await;
        let (outcome, detail) = match &asked {
            Ok(true) => (AuditOutcome::Success, None),
            Ok(false) => (
                AuditOutcome::Rejected,
                Some(format!(
                    "batch {batch_id}: it had ended, or was being cancelled already"
                )),
            ),
            Err(_) => (
                AuditOutcome::Rejected,
                Some(format!(
                    "batch {batch_id}: the request could not be written"
                )),
            ),
        };
        if let Err(e) = writer.complete(audit_id, outcome, detail, 0).await {
            // The row stays pending (and reads as interrupted after a restart); the cancel
            // itself went through or not as `asked` says.
            tracing::error!(batch_id, error = %format!("{e:#}"), "could not complete a cancel's audit row");
        }
        asked.map_err(|e| internal(e, "cancelling a batch"))
    }

    pub async fn batch(&self, actor: &Actor, batch_id: i64) -> Result<BatchView, FleetError> {
        actor.require(Role::Viewer, "see bulk commands")?;
        self.read_batch(batch_id).await
    }

    /// The newest batches, with their counts (not their items).
    pub async fn batches(&self, actor: &Actor) -> Result<Vec<BatchView>, FleetError> {
        actor.require(Role::Viewer, "see bulk commands")?;
        db::batches::newest(&self.inner.db.reader, LIST_LIMIT)
            .await
            .map_err(|e| internal(e, "listing batches"))
    }

    /// Every batch's progress as it happens (for the event stream).
    pub fn subscribe_batches(&self) -> broadcast::Receiver<BatchProgress> {
        self.inner.batches.progress.subscribe()
    }

    async fn read_batch(&self, batch_id: i64) -> Result<BatchView, FleetError> {
        db::batches::get(&self.inner.db.reader, batch_id)
            .await
            .map_err(|e| internal(e, "reading a batch"))?
            .ok_or_else(|| FleetError::NotFound(format!("there is no batch with id {batch_id}")))
    }

    /// Writes the batch and its audit row, then sets it running.
    async fn launch_batch(
        &self,
        actor: &Actor,
        command: Command,
        projects: Vec<(i64, String)>,
        retry_of: Option<i64>,
    ) -> Result<BatchView, FleetError> {
        if self.inner.commands.is_closed() {
            return Err(FleetError::Unavailable(
                "the dashboard is shutting down; try again in a moment".into(),
            ));
        }
        let batch_id = db::batches::insert(
            &self.inner.db.writer,
            &db::batches::NewBatch {
                command: command.wire_name(),
                created_by: &actor.name,
                instance: &self.inner.instance_id,
                retry_of,
                projects: &projects,
            },
        )
        .await
        .map_err(|e| internal(e, "writing a batch"))?;
        match self
            .write_batch_row(actor, command, projects.len(), retry_of, batch_id)
            .await
        {
            Ok(audit_id) => {
                self.set_running(actor, batch_id, audit_id, command, projects);
                self.read_batch(batch_id).await
            }
            Err(e) => {
                // Nothing was sent: the batch must not look as if it still runs.
                let db = &self.inner.db.writer;
                let _ = db::batches::settle_unfinished(db, batch_id, ItemState::Interrupted).await;
                let _ =
                    db::batches::finish(db, batch_id, crate::model::BatchStatus::Interrupted).await;
                Err(e)
            }
        }
    }

    /// The batch's own audit row (pending until it ends), linked both ways.
    async fn write_batch_row(
        &self,
        actor: &Actor,
        command: Command,
        count: usize,
        retry_of: Option<i64>,
        batch_id: i64,
    ) -> Result<i64, FleetError> {
        let mut detail = format!("{count} projects");
        if let Some(of) = retry_of {
            detail.push_str(&format!(", retrying the failed of batch {of}"));
        }
        let audit_id = self
            .inner
            .audit_writer
            .append(OwnedEntry {
                actor: actor.name.clone(),
                action: Some(AuditAction::Batch),
                command: Some(command.wire_name().to_owned()),
                outcome: Some(AuditOutcome::Pending),
                detail: Some(detail),
                request_id: actor.request_id.clone(),
                batch_id: Some(batch_id),
                ..Default::default()
            })
            .await
            .map_err(|e| FleetError::Internal(e.context("writing the batch's audit row")))?;
        db::batches::set_audit_id(&self.inner.db.writer, batch_id, audit_id)
            .await
            .map_err(|e| internal(e, "linking a batch to its audit row"))?;
        Ok(audit_id)
    }

    /// Hands the batch to its runner.
    fn set_running(
        &self,
        actor: &Actor,
        batch_id: i64,
        audit_id: i64,
        command: Command,
        projects: Vec<(i64, String)>,
    ) {
        let token = self.inner.stopping.child_token();
        self.inner.batches.running().insert(batch_id, token.clone());
        let fleet = self.clone();
        let actor = actor.clone();
        self.inner.commands.spawn(async move {
            fleet
                .run_batch(runner::Run {
                    batch_id,
                    audit_id,
                    command,
                    projects,
                    actor,
                    cancel: token,
                })
                .await;
        });
    }

    /// The projects named, in the order given: each must exist, and appear once.
    fn named_projects(&self, ids: &[i64]) -> Result<Vec<(i64, String)>, FleetError> {
        let mut seen = HashSet::new();
        let repeated: Vec<String> = ids
            .iter()
            .filter(|id| !seen.insert(**id))
            .map(ToString::to_string)
            .collect();
        if !repeated.is_empty() {
            return Err(FleetError::Invalid(format!(
                "project ids appear more than once: {}",
                repeated.join(", ")
            )));
        }
        let projects = self.projects_read();
        let mut found = Vec::with_capacity(ids.len());
        let mut unknown = Vec::new();
        for id in ids {
            match projects.get(*id) {
                Some(p) => found.push((p.id, p.name.clone())),
                None => unknown.push(id.to_string()),
            }
        }
        if !unknown.is_empty() {
            return Err(FleetError::Invalid(format!(
                "no project has the id {}",
                unknown.join(", ")
            )));
        }
        Ok(found)
    }

    /// The projects the fleet page would show for this filter now, in name order.
    fn matching_projects(&self, filter: &BatchFilter) -> Result<Vec<(i64, String)>, FleetError> {
        let state = match filter.state.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(Health::parse(name).ok_or_else(|| {
                FleetError::Invalid(format!("{name:?} is not a state (connected, timeout, unpaired, unknown_state, unreachable, …)"))
            })?),
        };
        let search = filter
            .search
            .as_deref()
            .map(|s| s.trim().to_lowercase())
            .unwrap_or_default();
        let statuses = self.inner.board.snapshot();
        let mut found: Vec<(i64, String)> = self
            .projects_read()
            .iter()
            .filter(|p| {
                state.is_none_or(|wanted| {
                    statuses.get(&p.id).map_or(Health::Checking, |s| s.health) == wanted
                })
            })
            .filter(|p| search.is_empty() || p.name.to_lowercase().contains(&search))
            .map(|p| (p.id, p.name.clone()))
            .collect();
        found.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(found)
    }

    /// The batch's progress to whoever follows the event stream, here and on every other
    /// instance.
    async fn publish_progress(&self, progress: BatchProgress) {
        self.publish_batch_progress(&progress).await;
        self.pass_on_batch_progress(progress);
    }

    /// Progress to this instance's event streams.
    pub(super) fn pass_on_batch_progress(&self, progress: BatchProgress) {
        // No subscribers is fine: nobody is watching.
        let _ = self.inner.batches.progress.send(progress);
    }

    fn batch_finished(&self, batch_id: i64) {
        self.inner.batches.running().remove(&batch_id);
    }
}
