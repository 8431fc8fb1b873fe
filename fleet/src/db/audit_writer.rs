//! Command audit rows, written in groups.
//!
//! Every command writes twice (the pending row, then its completion) through the one writer
//! connection. Under load many commands wait for it at once; this task takes everything waiting
//! and writes it in one transaction, which costs about what a single row does. A caller is
//! answered only after the commit, so a pending row is durable before its command goes upstream.

use anyhow::Context;
use sqlx::SqlitePool;
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
    enum Done {
        Appended(oneshot::Sender<anyhow::Result<i64>>, Result<i64, String>),
        Completed(oneshot::Sender<anyhow::Result<bool>>, Result<bool, String>),
    }
    let mut done = Vec::with_capacity(batch.len());
    let committed = async {
        let mut tx = writer.begin().await?;
        for op in batch {
            done.push(match op {
                Op::Append { entry, reply } => {
                    let result = audit::append(&mut *tx, &entry.as_entry()).await;
                    Done::Appended(reply, result.map_err(|e| e.to_string()))
                }
                Op::Complete {
                    id,
                    outcome,
                    detail,
                    latency_ms,
                    reply,
                } => {
                    let result = audit::complete_command(
                        &mut *tx,
                        id,
                        outcome,
                        detail.as_deref(),
                        latency_ms,
                    )
                    .await;
                    Done::Completed(reply, result.map_err(|e| e.to_string()))
                }
            });
        }
        tx.commit().await
    }
    .await
    .map_err(|e| format!("committing audit rows: {e}"));
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
