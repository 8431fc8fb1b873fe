//! Guided procedures that take more than one command. "Connect another number" is
//! PickyAssist's own two steps, in order: `disconnect` (unpairs the current number), then
//! `clearlogs` (clears the data stored for it); then the QR code is scanned with the new phone.
//! Where a project stands is read from its audit rows, so the guide survives a reload, a
//! restart, and two people looking at once.

use chrono::Duration;
use pickyassist::Command;

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    model::{
        AuditAction, AuditFilter, AuditOutcome, NumberChange, NumberChangeStep, PageSize, Role,
    },
};

/// A step done longer ago than this no longer counts: the guide starts over.
const GUIDE_LIFETIME_HOURS: i64 = 24;

impl Fleet {
    /// Where the project is in "connect another number".
    pub async fn number_change(
        &self,
        actor: &Actor,
        project_id: i64,
    ) -> Result<NumberChange, FleetError> {
        actor.require(Role::Viewer, "see the project")?;
        let project = self
            .project(project_id)
            .ok_or(FleetError::ProjectNotFound(project_id))?;
        let rows = self
            .audit_page(
                actor,
                &AuditFilter {
                    project_id: Some(project_id),
                    action: Some(AuditAction::Command),
                    outcome: Some(AuditOutcome::Success),
                    since: Some(self.now() - Duration::hours(GUIDE_LIFETIME_HOURS)),
                    limit: PageSize::MAX,
                    ..Default::default()
                },
            )
            .await?
            .entries;
        // Newest first: the last disconnect, and whether logs were cleared after it.
        let wire = |c: Command| Some(c.wire_name().to_owned());
        let disconnect = rows.iter().find(|r| r.command == wire(Command::Disconnect));
        let cleared = disconnect.and_then(|d| {
            rows.iter()
                .take_while(|r| r.id != d.id)
                .find(|r| r.command == wire(Command::Clearlogs))
        });
        let step = match (disconnect, cleared) {
            (None, _) => NumberChangeStep::Disconnect,
            (Some(_), None) => NumberChangeStep::ClearLogs,
            (Some(_), Some(_)) => NumberChangeStep::ScanNewNumber,
        };
        // Both done, and a check since found it connected: the new number is in, and a next
        // change starts afresh.
        let status = self.inner.board.get(project_id);
        let cleared_at = cleared.and_then(|r| chrono::DateTime::parse_from_rfc3339(&r.at).ok());
        let connected_since = status.health == crate::model::Health::Connected
            && status
                .checked_at
                .zip(cleared_at)
                .is_some_and(|(checked, cleared)| checked > cleared);
        if step == NumberChangeStep::ScanNewNumber && connected_since {
            return Ok(NumberChange {
                project_id,
                project_name: project.name,
                step: NumberChangeStep::Disconnect,
                disconnected_at: None,
                cleared_at: None,
            });
        }
        Ok(NumberChange {
            project_id,
            project_name: project.name,
            step,
            disconnected_at: disconnect.map(|r| r.at.clone()),
            cleared_at: cleared.map(|r| r.at.clone()),
        })
    }

    /// Runs the guide's current step, and only that one (the order is PickyAssist's).
    pub async fn run_number_change_step(
        &self,
        actor: &Actor,
        project_id: i64,
        command: Command,
        confirm_name: Option<&str>,
    ) -> Result<crate::model::CommandResult, FleetError> {
        let progress = self.number_change(actor, project_id).await?;
        let expected = match progress.step {
            NumberChangeStep::Disconnect => Command::Disconnect,
            NumberChangeStep::ClearLogs => Command::Clearlogs,
            NumberChangeStep::ScanNewNumber => Command::Restart,
        };
        if command != expected {
            return Err(FleetError::Conflict(format!(
                "the next step is {}, not {}",
                expected.label(),
                command.label()
            )));
        }
        self.run_command(actor, project_id, command, confirm_name)
            .await
    }
}
