//! Running device commands: role check, the audit row before the call, the call, the
//! completed row after it, then one status check to confirm the effect.

use std::{collections::HashMap, sync::Arc, time::Instant};

use pickyassist::Command;

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    db::{
        audit::OwnedEntry,
        command_turns::{self, Watch},
    },
    model::{AuditAction, AuditOutcome, CommandResult, Role},
};

impl Fleet {
    /// Runs `command` on a project. `confirm_name` must equal the project's name for the
    /// destructive commands (disconnect, clearlogs), so no stray click can unpair a phone.
    #[tracing::instrument(skip(self, actor, confirm_name), fields(actor = %actor.name, command = %command))]
    pub async fn run_command(
        &self,
        actor: &Actor,
        project_id: i64,
        command: Command,
        confirm_name: Option<&str>,
    ) -> Result<CommandResult, FleetError> {
        actor.require(Role::Operator, "run commands")?;
        let project = self
            .project(project_id)
            .ok_or(FleetError::ProjectNotFound(project_id))?;
        if command.is_destructive() && confirm_name.map(str::trim) != Some(project.name.as_str()) {
            return Err(FleetError::Invalid(format!(
                "{} is destructive: type the project name {:?} to confirm",
                command.label(),
                project.name
            )));
        }
        self.enqueue_command(actor, project, command, None).await
    }

    /// Queues a checked command for its project and waits for its answer: the one way a
    /// command goes upstream, for single commands and each project of a bulk command
    /// (`batch_id`, written on its audit row).
    pub(super) async fn enqueue_command(
        &self,
        actor: &Actor,
        project: super::Project,
        command: Command,
        batch_id: Option<i64>,
    ) -> Result<CommandResult, FleetError> {
        if self.inner.commands.is_closed() {
            return Err(FleetError::Unavailable(
                "the dashboard is shutting down; try again in a moment".into(),
            ));
        }
        let ticket = self
            .command_queue(project.id)
            .join(command, &actor.name, &project.name)?;
        // The command runs as its own task: once it is on its way it finishes and completes
        // its audit row even if the caller disconnects, and shutdown waits for it.
        let fleet = self.clone();
        let actor = actor.clone();
        self.inner
            .commands
            .spawn(async move {
                fleet
                    .send_command(ticket, &actor, project, command, batch_id)
                    .await
            })
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("the command task failed"))
            })?
    }

    /// The longest a command can legitimately take from the call to its answer: every other
    /// command queued ahead of it (each at most once, see [`CommandQueue`]), each one upstream
    /// call of at most the client's timeout, plus a little for the audit rows. Adapters wait
    /// this long before giving up on the answer.
    pub fn longest_command(&self) -> std::time::Duration {
        let calls = Command::ALL.len() as u32;
        self.inner.client.request_timeout() * calls + std::time::Duration::from_secs(5)
    }

    /// When the oldest command that may still be on its way was written, as the audit log
    /// stores times. A pending row written earlier belongs to an instance that died: no
    /// command takes longer, and the server ends its project's turn by then.
    pub(super) fn oldest_live_command_written(&self) -> String {
        let age = chrono::TimeDelta::from_std(self.longest_command() + TURN_HOLD_MARGIN)
            .unwrap_or(chrono::TimeDelta::hours(1));
        crate::model::stored_time(chrono::Utc::now() - age)
    }

    /// Several instances: the double-submit rule across them (see `db::command_turns`). Notes
    /// where the audit log stands, refusing the command if another instance is sending it now.
    async fn watch_other_instances(
        &self,
        project: &super::Project,
        command: Command,
    ) -> Result<Option<Watch>, FleetError> {
        if self.inner.db.command_turns.is_none() {
            return Ok(None);
        }
        let watched = command_turns::watch(
            &self.inner.db.reader,
            project.id,
            command.wire_name(),
            &self.oldest_live_command_written(),
        )
        .await
        .map_err(|e| {
            FleetError::Internal(anyhow::Error::new(e).context("reading the audit log"))
        })?;
        match watched {
            Ok(watch) => Ok(Some(watch)),
            Err(first) => Err(already_on_its_way(command, &project.name, &first)),
        }
    }

    /// Waits for the project's turn, then: pending audit row, the upstream call, the row
    /// completed, one verification check scheduled.
    async fn send_command(
        &self,
        ticket: QueueTicket,
        actor: &Actor,
        project: super::Project,
        command: Command,
        batch_id: Option<i64>,
    ) -> Result<CommandResult, FleetError> {
        // The ticket is held to the end: until this command has its answer, the same command
        // for this project is refused.
        let queue = ticket.queue.clone();
        // Before the queue, so a command sent through another instance meanwhile is seen.
        let watch = self.watch_other_instances(&project, command).await?;
        let _turn = queue.turn.lock().await;
        let project_id = project.id;
        // Several instances: also the project's turn among them (see `db::command_turns`),
        // held until the row is completed. Without the database nothing is sent.
        let mut cluster_turn = match &self.inner.db.command_turns {
            Some(turns) => {
                let hold_limit = self.inner.client.request_timeout() + TURN_HOLD_MARGIN;
                let turn = turns.wait(project_id, self.longest_command(), hold_limit);
                Some(turn.await.map_err(|e| {
                    if crate::db::command_turns::is_wait_timeout(&e) {
                        FleetError::Unavailable(format!(
                            "another dashboard instance is still sending {:?} a command; try \
                             again in a moment",
                            project.name
                        ))
                    } else {
                        FleetError::Internal(
                            anyhow::Error::new(e).context("waiting for the project's turn"),
                        )
                    }
                })?)
            }
            None => None,
        };
        if let (Some(turn), Some(watch)) = (cluster_turn.as_mut(), watch) {
            let sent = turn
                .sent_since(project_id, command.wire_name(), watch)
                .await
                .map_err(|e| {
                    FleetError::Internal(anyhow::Error::new(e).context("reading the audit log"))
                })?;
            if let Some(first) = sent {
                return Err(FleetError::Conflict(format!(
                    "{} for {:?} was sent by {first} through another dashboard instance while \
                     this one waited; check its answer before sending it again",
                    command.label(),
                    project.name
                )));
            }
        }

        // Written first, so a crash during the call still leaves a trace of it.
        let audit_id = self
            .inner
            .audit_writer
            .append(OwnedEntry {
                actor: actor.name.clone(),
                action: Some(AuditAction::Command),
                project_id: Some(project.id),
                project_name: Some(project.name.clone()),
                command: Some(command.wire_name().to_owned()),
                outcome: Some(AuditOutcome::Pending),
                request_id: actor.request_id.clone(),
                batch_id,
                ..Default::default()
            })
            .await
            .map_err(|e| FleetError::Internal(e.context("writing the audit row")))?;

        let started = Instant::now();
        let result = self
            .inner
            .client
            .device_action(&project.token, command)
            .await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (outcome, message) = match &result {
            Ok(answer) => (AuditOutcome::Success, non_empty(&answer.message, "Success")),
            Err(error) => (AuditOutcome::from_error(error.kind()), error.to_string()),
        };
        self.complete_audit_row(audit_id, outcome, &message, latency_ms)
            .await;
        if let Some(turn) = cluster_turn {
            turn.end().await;
        }
        super::record_upstream_call(
            "device-action",
            result.as_ref().map_or_else(|e| e.kind().as_str(), |_| "ok"),
            started.elapsed(),
        );
        metrics::counter!("picky_fleet_commands_total", "command" => command.wire_name(), "outcome" => outcome.as_str())
            .increment(1);
        tracing::info!(
            project_id,
            audit_id,
            outcome = outcome.as_str(),
            latency_ms,
            "device-action"
        );

        if outcome == AuditOutcome::Success {
            self.remember_command(project.id, command);
            // Auto-heal wrote its own down when it decided; anyone else's it hears of here.
            if actor.name != Actor::auto_heal().name {
                self.auto_heal_saw_command(project.id, command);
            }
            if command == pickyassist::Command::Disconnect {
                self.disconnected_on_purpose(actor, project.id).await;
            }
            self.schedule_verification(project.id);
        }
        Ok(CommandResult {
            audit_id,
            project_id: project.id,
            project_name: project.name,
            command,
            outcome,
            message,
            upstream_latency_ms: latency_ms,
        })
    }

    /// The command was sent: its row must be completed. Retries through a busy database; if
    /// that still fails the row stays pending and is marked interrupted at the next start.
    async fn complete_audit_row(
        &self,
        audit_id: i64,
        outcome: AuditOutcome,
        message: &str,
        latency_ms: i64,
    ) {
        let detail = (outcome != AuditOutcome::Success || message != "Success").then_some(message);
        for attempt in 1..=5u32 {
            match self
                .inner
                .audit_writer
                .complete(audit_id, outcome, detail.map(str::to_owned), latency_ms)
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(audit_id, attempt, error = %format!("{e:#}"), "could not complete an audit row; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt)))
                        .await;
                }
            }
        }
        tracing::error!(
            audit_id,
            "gave up completing an audit row; it will show as interrupted"
        );
    }

    /// Upstream answers "Success" even for a command that changed nothing, so one status
    /// check (within the budget) shows the real effect on the card.
    fn schedule_verification(&self, project_id: i64) {
        if !self
            .inner
            .verifications
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(project_id)
        {
            return; // one is already scheduled; it will see this command's effect too
        }
        let fleet = self.clone();
        let delay = self.inner.verify_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            fleet
                .inner
                .verifications
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&project_id);
            if let Err(wait) = fleet.poll_project(project_id).await {
                tokio::time::sleep(wait).await;
                let _ = fleet.poll_project(project_id).await;
            }
        });
    }

    fn command_queue(&self, project_id: i64) -> Arc<CommandQueue> {
        self.inner
            .command_queues
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(project_id)
            .or_default()
            .clone()
    }
}

/// Commands for one project wait here and go upstream one at a time, in the order they came:
/// a device is never asked to restart and disconnect at once. Each command is in a project's
/// queue at most once: the same command while one is queued or on its way is a double submit
/// (two tabs, two operators, a form posted twice) and is refused, naming who sent the first.
#[derive(Default)]
pub(super) struct CommandQueue {
    turn: tokio::sync::Mutex<()>,
    /// The commands queued or on their way, with who sent each.
    claimed: std::sync::Mutex<HashMap<Command, String>>,
}

impl CommandQueue {
    fn join(
        self: Arc<Self>,
        command: Command,
        sender: &str,
        project_name: &str,
    ) -> Result<QueueTicket, FleetError> {
        let mut claimed = self.claimed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(first) = claimed.get(&command) {
            return Err(already_on_its_way(command, project_name, first));
        }
        claimed.insert(command, sender.to_owned());
        drop(claimed);
        Ok(QueueTicket {
            queue: self,
            command,
        })
    }
}

/// A command's place in its project's queue, held until it has its answer (or is given up).
struct QueueTicket {
    queue: Arc<CommandQueue>,
    command: Command,
}

impl Drop for QueueTicket {
    fn drop(&mut self) {
        self.queue
            .claimed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.command);
    }
}

/// How long past the upstream call's own time limit a command may hold its project's turn
/// among instances (the audit row's completion and its retries) before PostgreSQL ends it.
const TURN_HOLD_MARGIN: std::time::Duration = std::time::Duration::from_secs(30);

fn already_on_its_way(command: Command, project_name: &str, first: &str) -> FleetError {
    FleetError::Conflict(format!(
        "{} for {project_name:?} is already on its way (sent by {first}); wait for its answer",
        command.label()
    ))
}

fn non_empty(message: &str, fallback: &str) -> String {
    if message.trim().is_empty() {
        fallback.to_owned()
    } else {
        message.to_owned()
    }
}
