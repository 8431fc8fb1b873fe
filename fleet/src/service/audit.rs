//! Reading and writing the audit log.

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    db::audit::{self, NewEntry},
    model::{AuditFilter, AuditPage, Role},
};

impl Fleet {
    /// Appends a completed row with the actor's name and request id filled in.
    pub(crate) async fn audit(&self, actor: &Actor, entry: NewEntry<'_>) -> Result<(), FleetError> {
        let entry = NewEntry {
            actor: &actor.name,
            request_id: actor.request_id.as_deref(),
            ..entry
        };
        audit::append(&self.inner.db.writer, &entry)
            .await
            .map(|_| ())
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("writing an audit row"))
            })
    }

    /// One page of the audit log, newest first. Any signed-in user may review it.
    pub async fn audit_page(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> Result<AuditPage, FleetError> {
        actor.require(Role::Viewer, "read the audit log")?;
        let limit = filter.limit.get();
        // One extra row tells whether there is a next page.
        let mut entries = audit::query(&self.inner.db.reader, filter, limit + 1)
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("reading the audit log"))
            })?;
        let next_before = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage {
            entries,
            next_before,
        })
    }
}
