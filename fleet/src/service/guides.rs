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
        Ok(NumberChange {
            project_id,
            project_name: project.name,
            step,
            disconnected_at: disconnect.map(|r| r.at.clone()),
            cleared_at: cleared.map(|r| r.at.clone()),
        })
    }
}
