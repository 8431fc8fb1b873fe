//! Command audit rows, written in groups.
//!
//! Every command writes twice (the pending row, then its completion) through the one writer
//! connection. Under load many commands wait for it at once; this task takes everything waiting
//! and writes it in one transaction, which costs about what a single row does. A caller is
//! answered only after the commit, so a pending row is durable before its command goes upstream.

use anyhow::Context;
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::audit::{self, OwnedEntry};
use crate::model::AuditOutcome;

/// Operations taken into one transaction at most.
const MAX_BATCH: usize = 256;

#[derive(Clone)]
pub struct AuditWriter {
    ops: mpsc::Sender<Op>,
}

enum Op {
    Append {
        entry: OwnedEntry,
        reply: oneshot::Sender<anyhow::Result<i64>>,
    },
    Complete {
        id: i64,
        outcome: AuditOutcome,
        detail: Option<String>,
        latency_ms: i64,
        reply: oneshot::Sender<anyhow::Result<bool>>,
    },
}

impl AuditWriter {
    /// Starts the writing task on the current runtime; it ends when every handle is dropped.
    pub fn start(writer: SqlitePool) -> Self {
        let (ops, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(writer, queue));
        Self { ops }
    }

    /// False once the writing task has ended (it never should while the server runs).
    pub fn is_running(&self) -> bool {
        !self.ops.is_closed()
    }

    /// Appends a row and returns its id once it is committed.
    pub async fn append(&self, entry: OwnedEntry) -> anyhow::Result<i64> {
        let (reply, answer) = oneshot::channel();
        self.send(Op::Append { entry, reply }).await?;
        answer.await.context("the audit writer stopped")?
    }

    /// Completes a pending command row; false if it was not pending.
    pub async fn complete(
        &self,
        id: i64,
        outcome: AuditOutcome,
        detail: Option<String>,
        latency_ms: i64,
    ) -> anyhow::Result<bool> {
        let (reply, answer) = oneshot::channel();
        self.send(Op::Complete {
            id,
            outcome,
            detail,
            latency_ms,
            reply,
        })
        .await?;
        answer.await.context("the audit writer stopped")?
    }

    async fn send(&self, op: Op) -> anyhow::Result<()> {
        self.ops
            .send(op)
            .await
            .map_err(|_| anyhow::anyhow!("the audit writer stopped"))
    }
}

async fn write_batches(writer: SqlitePool, mut queue: mpsc::Receiver<Op>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write_batch(&writer, std::mem::take(&mut batch)).await;
    }
}

/// One transaction for the batch; answers go out after the commit, or all fail with it.
async fn write_batch(writer: &SqlitePool, batch: Vec<Op>) {
    let mut done = Vec::with_capacity(batch.len());
    let committed = async {
        if batch.len() == 1 {
            // One statement is a transaction of its own. BEGIN and COMMIT would add two round
            // trips to the connection's thread, and a lone command waits for each of them.
            let mut conn = writer.acquire().await?;
            for op in batch {
                done.push(apply(&mut conn, op).await);
            }
            Ok(())
        } else {
            let mut tx = writer.begin().await?;
            for op in batch {
                done.push(apply(&mut tx, op).await);
            }
            tx.commit().await
        }
    }
    .await
    .map_err(|e: sqlx::Error| format!("committing audit rows: {e}"));
    for finished in done {
        // A caller that went away no longer needs its answer; the row is written regardless.
        match finished {
            Done::Appended(reply, result) => {
                let _ = reply.send(committed.clone().and(result).map_err(anyhow::Error::msg));
            }
            Done::Completed(reply, result) => {
                let _ = reply.send(committed.clone().and(result).map_err(anyhow::Error::msg));
            }
        }
    }
}

/// An operation carried out, with the caller still to be answered.
enum Done {
    Appended(oneshot::Sender<anyhow::Result<i64>>, Result<i64, String>),
    Completed(oneshot::Sender<anyhow::Result<bool>>, Result<bool, String>),
}

async fn apply(conn: &mut SqliteConnection, op: Op) -> Done {
    match op {
        Op::Append { entry, reply } => {
            let result = audit::append(&mut *conn, &entry.as_entry()).await;
            Done::Appended(reply, result.map_err(|e| e.to_string()))
        }
        Op::Complete {
            id,
            outcome,
            detail,
            latency_ms,
            reply,
        } => {
            let result =
                audit::complete_command(&mut *conn, id, outcome, detail.as_deref(), latency_ms)
                    .await;
            Done::Completed(reply, result.map_err(|e| e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{db, model::AuditFilter};

    fn pending(project_id: i64) -> OwnedEntry {
        OwnedEntry {
            actor: "ops".into(),
            action: Some(crate::model::AuditAction::Command),
            project_id: Some(project_id),
            command: Some("restart".into()),
            outcome: Some(AuditOutcome::Pending),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_lone_row_and_a_group_are_both_written_and_completed_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        let database = db::connect(&url).await.unwrap();
        let writer = AuditWriter::start(database.writer.clone());

        // One at a time: each batch holds a single operation.
        let lone = writer.append(pending(1)).await.unwrap();
        assert!(writer
            .complete(lone, AuditOutcome::Success, None, 7)
            .await
            .unwrap());
        // Completing twice changes nothing the second time.
        assert!(!writer
            .complete(lone, AuditOutcome::Rejected, Some("late".into()), 9)
            .await
            .unwrap());

        // Many at once: they meet in the queue and go in groups.
        let ids = futures::future::join_all((0..40).map(|n| writer.append(pending(100 + n))))
            .await
            .into_iter()
            .collect::<anyhow::Result<Vec<i64>>>()
            .unwrap();
        let completed = futures::future::join_all(
            ids.iter()
                .map(|&id| writer.complete(id, AuditOutcome::Unreachable, Some("down".into()), 3)),
        )
        .await;
        assert!(completed.into_iter().all(|c| c.unwrap()));

        let rows = audit::query(&database.reader, &AuditFilter::default(), 100)
            .await
            .unwrap();
        assert_eq!(rows.len(), 41);
        let first = rows.iter().find(|r| r.id == lone).unwrap();
        assert_eq!(first.outcome, AuditOutcome::Success);
        assert_eq!(first.upstream_latency_ms, Some(7));
        assert!(
            rows.iter()
                .filter(|r| r.id != lone)
                .all(|r| r.outcome == AuditOutcome::Unreachable
                    && r.detail.as_deref() == Some("down"))
        );
    }
}
