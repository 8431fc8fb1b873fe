//! What an instance that died leaves behind while other instances serve (PostgreSQL only):
//! a start-up that finds no other instance settles everything still marked running or pending,
//! but with others serving there may be no such start for a long time. So the poller looks
//! every few seconds:
//! - **Bulk commands** still running on a dead instance (see `batches::orphans`).
//! - **Commands** whose audit row is still pending though no command can take that long
//!   (`oldest_live_command_written`, the cutoff at which the double-submit rule also takes a
//!   row for dead) and no session holds their project's turn (see
//!   `db::command_turns::orphaned_commands`): completed as interrupted, as a restart would, so
//!   the log does not show them on their way for good. The age matters: a turn can end while
//!   its instance lives (its connection dropped), and that instance still completes the row.

use std::time::Duration;

use super::Fleet;
use crate::db::command_turns;

/// How often the poller looks.
const WATCH_EVERY: Duration = Duration::from_secs(4);

impl Fleet {
    /// The poller's watch (nothing to watch on SQLite). Returns only on an error (the
    /// supervisor restarts it).
    pub async fn watch_orphans(&self) -> anyhow::Result<()> {
        if self.inner.db.writer.as_postgres().is_none() {
            return std::future::pending().await;
        }
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            if self.is_poller() {
                self.settle_orphaned_batches().await?;
                self.settle_orphaned_commands().await?;
            }
        }
    }

    /// Completes, as interrupted, the rows of commands that were on their way through an
    /// instance that died. Returns how many.
    pub async fn settle_orphaned_commands(&self) -> anyhow::Result<u64> {
        let Some(pool) = self.inner.db.writer.as_postgres() else {
            return Ok(0);
        };
        let orphaned =
            command_turns::orphaned_commands(pool, &self.oldest_live_command_written()).await?;
        if orphaned.is_empty() {
            return Ok(0);
        }
        let interrupted = self
            .inner
            .audit_writer
            .interrupt_pending_rows(orphaned)
            .await?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "commands were on their way through an instance that stopped; marked interrupted"
            );
        }
        Ok(interrupted)
    }
}
