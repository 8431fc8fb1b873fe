//! Reading and writing the audit log, checking its hash chain, and archiving old rows.

use std::path::PathBuf;

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    db::{
        audit::{self, NewEntry},
        audit_chain,
        audit_writer::{ArchiveRequest, Archived},
    },
    model::{stored_time, AuditFilter, AuditPage, ChainReport, Role},
};

/// `PICKY_FLEET_AUDIT_RETAIN_DAYS`: rows older than this are archived to files in `dir`.
#[derive(Debug, Clone)]
pub struct AuditRetention {
    pub days: u32,
    pub dir: PathBuf,
}

/// Rows archived per step: the writer is held for one step at a time.
const ARCHIVE_STEP: u32 = 5_000;

fn internal(e: impl Into<anyhow::Error>, doing: &'static str) -> FleetError {
    FleetError::Internal(e.into().context(doing))
}

impl Fleet {
    /// Appends a completed (and sealed) row with the actor's name and request id filled in.
    pub(crate) async fn audit(&self, actor: &Actor, entry: NewEntry<'_>) -> Result<(), FleetError> {
        let entry = NewEntry {
            actor: &actor.name,
            request_id: actor.request_id.as_deref(),
            ..entry
        };
        self.inner
            .audit_writer
            .append(entry.to_owned_entry())
            .await
            .map(|_| ())
            .map_err(|e| internal(e, "writing an audit row"))
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
            .map_err(|e| internal(e, "reading the audit log"))?;
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

    /// Checks the whole hash chain now (admins), and keeps the result for the audit page.
    pub async fn verify_audit_chain(&self, actor: &Actor) -> Result<ChainReport, FleetError> {
        actor.require(Role::Admin, "verify the audit log")?;
        self.check_audit_chain().await
    }

    /// The background check: the whole chain, up to at least the newest seal this server made
    /// (so deleting the newest rows shows too). One check at a time; the result is kept.
    pub async fn check_audit_chain(&self) -> Result<ChainReport, FleetError> {
        let _one_at_a_time = self.inner.chain_check.lock().await;
        let sealed = self.inner.audit_writer.sealed_up_to();
        let report = match audit_chain::verify(
            &self.inner.db.reader,
            &self.inner.cipher.audit_chain_key(),
            (sealed > 0).then_some(sealed),
        )
        .await
        {
            Ok(report) => report,
            Err(e) => {
                // Not "verified" any more: the page and /metrics must not keep the last good
                // result.
                metrics::gauge!("picky_fleet_audit_chain_verified").set(0.0);
                *self
                    .inner
                    .chain_report
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = None;
                return Err(internal(e, "checking the audit log's chain"));
            }
        };
        if let Some(problem) = &report.problem {
            tracing::error!(row = ?problem.row_id, problem = %problem.message, "the audit log's hash chain is broken");
        }
        metrics::gauge!("picky_fleet_audit_chain_verified")
            .set(f64::from(u8::from(report.verified)));
        *self
            .inner
            .chain_report
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(report.clone());
        Ok(report)
    }

    /// The last background check's result, if one ran. Viewers see it on the audit page.
    pub async fn latest_chain_report(
        &self,
        actor: &Actor,
    ) -> Result<Option<ChainReport>, FleetError> {
        actor.require(Role::Viewer, "read the audit log")?;
        Ok(self
            .inner
            .chain_report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    /// The retention job (`PICKY_FLEET_AUDIT_RETAIN_DAYS`): archives every row written before
    /// `now` minus the retention, a step at a time, each to a file of its own, before deleting
    /// it. Nothing happens without the setting. Returns the steps taken.
    pub async fn archive_old_audit_rows(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Archived>, FleetError> {
        let Some(retention) = &self.inner.audit_retention else {
            return Ok(Vec::new());
        };
        let cutoff = stored_time(now - chrono::Duration::days(i64::from(retention.days)));
        let mut steps = Vec::new();
        loop {
            let step = self
                .inner
                .audit_writer
                .archive(ArchiveRequest {
                    cutoff: cutoff.clone(),
                    dir: retention.dir.clone(),
                    limit: ARCHIVE_STEP,
                })
                .await
                .map_err(|e| internal(e, "archiving old audit rows"))?;
            let Some(archived) = step else {
                return Ok(steps);
            };
            tracing::info!(rows = archived.rows, file = %archived.file.display(), "archived old audit rows");
            metrics::counter!("picky_fleet_audit_rows_archived_total").increment(archived.rows);
            // A short step took the last due row (the record it wrote is newer than the
            // cutoff, unless the clock was moved on: then it waits for the next run).
            let last = archived.rows < u64::from(ARCHIVE_STEP);
            steps.push(archived);
            if last {
                return Ok(steps);
            }
        }
    }
}
