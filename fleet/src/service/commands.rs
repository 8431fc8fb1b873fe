//! Running device commands: role check, the audit row before the call, the call, the
//! completed row after it, then one status check to confirm the effect.

use std::time::Instant;

use pickyassist::Command;

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    db::audit::{self, NewEntry},
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
        let _slot = self.claim_command_slot(project_id, &project.name)?;

        // Written first, so a crash during the call still leaves a trace of it.
        let audit_id = audit::append(
            &self.inner.pool,
            &NewEntry {
                actor: &actor.name,
                action: Some(AuditAction::Command),
                project_id: Some(project.id),
                project_name: Some(&project.name),
                command: Some(command.wire_name()),
                outcome: Some(AuditOutcome::Pending),
                request_id: actor.request_id.as_deref(),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| {
            FleetError::Internal(anyhow::Error::new(e).context("writing the audit row"))
        })?;

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
            match audit::complete_command(&self.inner.pool, audit_id, outcome, detail, latency_ms)
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(audit_id, attempt, error = %e, "could not complete an audit row; retrying");
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
        let fleet = self.clone();
        let delay = self.inner.verify_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Err(wait) = fleet.poll_project(project_id).await {
                tokio::time::sleep(wait).await;
                let _ = fleet.poll_project(project_id).await;
            }
        });
    }

    fn claim_command_slot(&self, project_id: i64, name: &str) -> Result<CommandSlot, FleetError> {
        let mut in_flight = self
            .inner
            .commands_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !in_flight.insert(project_id) {
            return Err(FleetError::Conflict(format!(
                "a command for {name:?} is already on its way; wait for its answer"
            )));
        }
        Ok(CommandSlot {
            fleet: self.clone(),
            project_id,
        })
    }
}

/// Frees the project's command slot when the command is done, however it ends.
struct CommandSlot {
    fleet: Fleet,
    project_id: i64,
}

impl Drop for CommandSlot {
    fn drop(&mut self) {
        self.fleet
            .inner
            .commands_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.project_id);
    }
}

fn non_empty(message: &str, fallback: &str) -> String {
    if message.trim().is_empty() {
        fallback.to_owned()
    } else {
        message.to_owned()
    }
}
