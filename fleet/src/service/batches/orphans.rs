//! Batches whose instance stopped. At start-up on SQLite (or with no other instance on
//! PostgreSQL) every batch still marked running is one: it is marked interrupted. With other
//! instances serving, one that dies leaves its batches running with nobody to finish them;
//! the poller settles them (see `service::orphans`) once their heartbeat (see `runner`) has
//! been silent for [`silent_for`] and their instance's lock is gone. Both, because a lock can
//! drop for a moment while its connection is re-made, and two machines' clocks may differ.

use anyhow::Context;

use super::super::Fleet;
use crate::{
    db,
    model::{AuditOutcome, BatchProgress, BatchStatus},
};

/// How long a running batch's heartbeat may be silent before its instance is looked for.
fn silent_for() -> chrono::Duration {
    let beat = chrono::Duration::from_std(super::runner::BATCH_HEARTBEAT)
        .unwrap_or_else(|_| chrono::Duration::seconds(2));
    beat * 4
}

impl Fleet {
    /// At start-up: batches that were running when the dashboard stopped are marked
    /// interrupted, with their items that had no answer.
    pub async fn mark_interrupted_batches(&self) -> anyhow::Result<usize> {
        // As for commands: another instance's batches may be running.
        if crate::service::cluster::other_instances_alive(self).await? {
            return Ok(0);
        }
        let mut tx = self.inner.db.writer.begin().await?;
        let ids = db::batches::interrupt_running(tx.conn()).await?;
        tx.commit().await?;
        if !ids.is_empty() {
            tracing::warn!(
                batches = ?ids,
                "bulk commands were running when the dashboard last stopped; marked interrupted"
            );
        }
        Ok(ids.len())
    }

    /// Running batches of instances that stopped (with other instances still serving, so no
    /// start-up settles them): nothing would ever finish them, so the poller does, as a
    /// restart would. Returns how many it settled. Nothing to do on SQLite, where the only
    /// instance settles its batches when it starts.
    pub async fn settle_orphaned_batches(&self) -> anyhow::Result<usize> {
        if self.inner.db.writer.as_postgres().is_none() {
            return Ok(0);
        }
        let silent_since = crate::model::stored_time(chrono::Utc::now() - silent_for());
        let silent = db::batches::silent(
            &self.inner.db.reader,
            &self.inner.instance_id,
            &silent_since,
        )
        .await?;
        let mut settled = 0;
        for batch_id in silent {
            if self.settle_batch_if_orphaned(batch_id).await? {
                settled += 1;
            }
        }
        Ok(settled)
    }

    /// Settles a running batch, as interrupted, if the instance running it has stopped: its
    /// heartbeat is older than [`silent_for`] and its instance lock is gone (both: a lock can
    /// drop for a moment while its connection is re-made, and clocks may drift a little).
    /// Repeat-safe: true only for the call that settled it.
    pub(super) async fn settle_batch_if_orphaned(&self, batch_id: i64) -> anyhow::Result<bool> {
        let db = &self.inner.db.writer;
        let Some(running) = db::batches::running_on(db, batch_id).await? else {
            return Ok(false);
        };
        if running.instance.as_deref() == Some(self.inner.instance_id.as_str()) {
            return Ok(false); // this instance's own, finishing
        }
        let silent_since = crate::model::stored_time(chrono::Utc::now() - silent_for());
        if running
            .heartbeat_at
            .as_deref()
            .is_some_and(|beat| beat >= silent_since.as_str())
        {
            return Ok(false);
        }
        let alive = match &running.instance {
            Some(id) => crate::service::cluster::instance_alive(self, id).await?,
            None => crate::service::cluster::other_instances_alive(self).await?,
        };
        if alive {
            return Ok(false);
        }
        let mut tx = db.begin().await?;
        let interrupted =
            db::batches::interrupt(tx.conn(), batch_id, Some(silent_since.as_str())).await?;
        tx.commit().await?;
        if !interrupted {
            return Ok(false); // it ended meanwhile, or another instance settled it
        }
        if let Some(audit_id) = running.audit_id {
            let detail = "the dashboard instance running it stopped; marked interrupted";
            self.inner
                .audit_writer
                .complete(audit_id, AuditOutcome::Interrupted, Some(detail.into()), 0)
                .await
                .context("completing a batch's audit row")?;
        }
        let counts = db::batches::counts(&self.inner.db.reader, batch_id)
            .await
            .unwrap_or_default();
        self.publish_progress(BatchProgress {
            batch_id,
            status: BatchStatus::Interrupted,
            counts,
            item: None,
        })
        .await;
        tracing::warn!(
            batch_id,
            instance = ?running.instance,
            "a bulk command's instance had stopped; marked interrupted"
        );
        Ok(true)
    }
}
