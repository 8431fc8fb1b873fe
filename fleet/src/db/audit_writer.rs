//! The one writer of the audit log: appends rows, completes command rows, seals each
//! completed row into the hash chain ([`super::audit_chain`]) and archives old rows.
//!
//! Each batch is one `BEGIN IMMEDIATE` transaction that reads the chain's head first: the
//! admin CLI (another process) may have sealed rows since, and the immediate lock keeps any
//! other writer out until the batch's seals are committed, so the chain has one order
//! whoever writes. Every command writes
//! twice (the pending row, then its completion); under load many callers wait at once, and
//! the task takes everything waiting and writes it in one transaction, which costs about
//! what a single row does. A caller is answered only after the commit, so a pending row is
//! durable before its command goes upstream.
//!
//! The task runs under [`crate::supervise::supervise`]: if it panics or cannot reach the
//! database, it is restarted with growing pauses and takes over the queue, where callers
//! wait meanwhile.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex,
};

use anyhow::Context;
use tokio::sync::{mpsc, oneshot};

pub use super::audit_archive::{ArchiveRequest, Archived};
use super::{
    audit::{self, NewEntry, OwnedEntry},
    audit_chain::{self, ChainKey, Seal},
    AdvisoryLock, Conn, Pool, Tx,
};
use crate::model::{AuditAction, AuditOutcome};

/// Operations taken into one transaction at most.
const MAX_BATCH: usize = 256;

#[derive(Clone)]
pub struct AuditWriter {
    ops: mpsc::Sender<Queued>,
    running: Arc<AtomicBool>,
    /// The newest seal committed through this writer (or found at its start): the chain's
    /// end must reach it, and new rows go on from it.
    last_seal: Arc<Mutex<Seal>>,
}

enum Op {
    Append(OwnedEntry),
    Complete {
        id: i64,
        outcome: AuditOutcome,
        detail: Option<String>,
        latency_ms: i64,
    },
    /// Every pending row (`None`), or only these.
    InterruptPending(Option<Vec<i64>>),
    Archive(ArchiveRequest),
    /// Tests: a task that dies, to be restarted.
    #[cfg(test)]
    Crash,
}

enum Answer {
    Id(i64),
    Completed(bool),
    Count(u64),
    Archived(Option<Archived>),
}

type Reply = oneshot::Sender<anyhow::Result<Answer>>;

impl AuditWriter {
    /// Starts the writing task (supervised) on the current runtime; it waits for work for as
    /// long as the runtime runs.
    pub fn start(writer: Pool, key: ChainKey) -> Self {
        let (ops, queue) = mpsc::channel(4 * MAX_BATCH);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let running = Arc::new(AtomicBool::new(false));
        let last_seal = Arc::new(Mutex::new(Seal::GENESIS));
        let report = {
            let running = running.clone();
            move |up: bool| running.store(up, Ordering::SeqCst)
        };
        let task = {
            let last_seal = last_seal.clone();
            move || {
                let (writer, key, queue, last_seal) = (
                    writer.clone(),
                    key.clone(),
                    queue.clone(),
                    last_seal.clone(),
                );
                async move { write_until_stopped(writer, key, queue, last_seal).await }
            }
        };
        tokio::spawn(crate::supervise::supervise("audit_writer", report, task));
        Self {
            ops,
            running,
            last_seal,
        }
    }

    /// False while the task is being restarted (and if it could never start).
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst) && !self.ops.is_closed()
    }

    /// The newest seal committed since this writer started.
    pub fn sealed_up_to(&self) -> i64 {
        lock(&self.last_seal).seq
    }

    /// Appends a row (sealed unless pending) and returns its id once it is committed.
    pub async fn append(&self, entry: OwnedEntry) -> anyhow::Result<i64> {
        match self.ask(Op::Append(entry)).await? {
            Answer::Id(id) => Ok(id),
            _ => unreachable_answer(),
        }
    }

    /// Completes and seals a pending command row; false if it was not pending.
    pub async fn complete(
        &self,
        id: i64,
        outcome: AuditOutcome,
        detail: Option<String>,
        latency_ms: i64,
    ) -> anyhow::Result<bool> {
        let op = Op::Complete {
            id,
            outcome,
            detail,
            latency_ms,
        };
        match self.ask(op).await? {
            Answer::Completed(done) => Ok(done),
            _ => unreachable_answer(),
        }
    }

    /// At start-up: completes (as interrupted) and seals the rows of commands that were in
    /// flight when the dashboard last stopped. Returns how many.
    pub async fn interrupt_pending(&self) -> anyhow::Result<u64> {
        match self.ask(Op::InterruptPending(None)).await? {
            Answer::Count(n) => Ok(n),
            _ => unreachable_answer(),
        }
    }

    /// The same for the rows `ids` only (commands of an instance that died while others
    /// serve); rows completed meanwhile are left as they are. Returns how many.
    pub async fn interrupt_pending_rows(&self, ids: Vec<i64>) -> anyhow::Result<u64> {
        match self.ask(Op::InterruptPending(Some(ids))).await? {
            Answer::Count(n) => Ok(n),
            _ => unreachable_answer(),
        }
    }

    /// Archives one step of old rows (see [`ArchiveRequest`]); `None` when none are due.
    pub async fn archive(&self, request: ArchiveRequest) -> anyhow::Result<Option<Archived>> {
        match self.ask(Op::Archive(request)).await? {
            Answer::Archived(archived) => Ok(archived),
            _ => unreachable_answer(),
        }
    }

    #[cfg(test)]
    async fn crash(&self) {
        let _ = self.ask(Op::Crash).await;
    }

    async fn ask(&self, op: Op) -> anyhow::Result<Answer> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Queued(op, reply))
            .await
            .map_err(|_| anyhow::anyhow!("the audit writer stopped"))?;
        answer
            .await
            .context("the audit writer stopped before answering")?
    }
}

fn unreachable_answer<T>() -> anyhow::Result<T> {
    Err(anyhow::anyhow!(
        "the audit writer gave an answer of the wrong kind"
    ))
}

/// The queue carries each operation with its reply.
struct Queued(Op, Reply);

type Queue = Arc<tokio::sync::Mutex<mpsc::Receiver<Queued>>>;

/// One run of the task: takes the queue, reads the chain's head, seals rows from before the
/// chain (once, after the upgrade), then writes batches until every handle is gone.
async fn write_until_stopped(
    writer: Pool,
    key: ChainKey,
    queue: Queue,
    last_seal: Arc<Mutex<Seal>>,
) -> anyhow::Result<()> {
    let mut queue = queue.lock().await;
    let head = start_chain(&writer, &key)
        .await
        .context("reading the audit chain's head")?;
    remember(&last_seal, head);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let known = *lock(&last_seal);
        if let Some(head) = write_batch(&writer, &key, known, std::mem::take(&mut batch)).await {
            remember(&last_seal, head);
        }
    }
    // Every handle is gone: nothing more can come. Not a failure to restart from.
    std::future::pending().await
}

fn lock(seal: &Mutex<Seal>) -> std::sync::MutexGuard<'_, Seal> {
    seal.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keeps the newest of the seals seen.
fn remember(last: &Mutex<Seal>, seal: Seal) {
    let mut last = lock(last);
    if seal.seq > last.seq {
        *last = seal;
    }
}

/// A write transaction that no other chain writer (this process's, the CLI's, another
/// instance's) runs beside, from its first statement.
async fn begin_immediate(writer: &Pool) -> sqlx::Result<Tx> {
    writer.begin_exclusive(AdvisoryLock::AuditChain).await
}

async fn start_chain(writer: &Pool, key: &ChainKey) -> anyhow::Result<Seal> {
    let mut tx = begin_immediate(writer).await?;
    let mut head = audit_chain::head(tx.conn()).await?;
    let sealed = audit_chain::seal_rows_from_before_the_chain(tx.conn(), key, &mut head).await?;
    if sealed > 0 {
        let detail = format!(
            "{sealed} rows written before this version were sealed into the audit log's hash chain"
        );
        let row = audit::append(
            tx.conn(),
            &NewEntry {
                actor: "system",
                action: Some(AuditAction::AuditSealed),
                detail: Some(&detail),
                ..Default::default()
            },
        )
        .await?;
        head = audit_chain::store(tx.conn(), key, &head, &row).await?;
        tracing::warn!(
            sealed,
            "sealed the audit rows written before the hash chain"
        );
    }
    tx.commit().await?;
    Ok(head)
}

/// One transaction for the batch; answers go out after the commit, or all fail with it.
/// An operation that fails rolls the whole batch back: nothing is left half done (a row
/// without its seal). Returns the chain's head once committed.
///
/// The chain goes on from the database's head, or from `known` (the last seal this writer
/// made) when that is newer: the newest rows were deleted by hand, and going on from the
/// database would reuse their places and hide the deletion.
async fn write_batch(
    writer: &Pool,
    key: &ChainKey,
    known: Seal,
    batch: Vec<Queued>,
) -> Option<Seal> {
    let mut done = Vec::with_capacity(batch.len());
    let mut batch = batch.into_iter();
    let committed = async {
        let mut tx = begin_immediate(writer).await?;
        let stored = audit_chain::head(tx.conn()).await?;
        let mut head = if known.seq > stored.seq {
            tracing::error!(
                stored = stored.seq,
                known = known.seq,
                "the newest sealed audit rows are gone from the database; the chain shows the gap"
            );
            known
        } else {
            stored
        };
        for Queued(op, reply) in batch.by_ref() {
            let result = apply(tx.conn(), key, &mut head, op).await;
            let failed = result.is_err();
            done.push((reply, result));
            if failed {
                // Nothing of the batch is kept (the transaction rolls back as it drops):
                // no row is left without its seal. Callers see the error and may retry.
                return Err(sqlx::Error::Protocol(
                    "an audit operation failed; its batch was rolled back".into(),
                ));
            }
        }
        tx.commit().await.map(|()| head)
    }
    .await;
    // Kept apart: callers answer "the database is unavailable" (503), not an internal error.
    let unreachable = committed.as_ref().err().is_some_and(super::is_unreachable);
    let committed = committed.map_err(|e: sqlx::Error| format!("committing audit rows: {e}"));
    let head = committed.as_ref().ok().copied();
    let committed = committed.map(|_| ());
    let failure = |message: String| {
        if unreachable {
            anyhow::Error::new(super::Unreachable(message))
        } else {
            anyhow::Error::msg(message)
        }
    };
    for (reply, result) in done {
        // A caller that went away no longer needs its answer; the row is written regardless.
        let _ = reply.send(committed.clone().and(result).map_err(failure));
    }
    // Operations the transaction never reached (it could not begin) fail with it.
    for Queued(_, reply) in batch {
        let _ = reply.send(Err(failure(format!(
            "the audit log could not be written: {}",
            committed.clone().err().unwrap_or_default()
        ))));
    }
    head
}

/// Carries out one operation inside the batch's transaction. The head moves only once a
/// seal is stored.
async fn apply(
    mut conn: Conn<'_>,
    key: &ChainKey,
    head: &mut Seal,
    op: Op,
) -> Result<Answer, String> {
    let result: anyhow::Result<Answer> = async {
        match op {
            Op::Append(entry) => {
                let row = audit::append(conn.reborrow(), &entry.as_entry()).await?;
                if row.outcome == AuditOutcome::Pending.as_str() {
                    audit_chain::store_pending_mac(conn.reborrow(), key, &row).await?;
                } else {
                    *head = audit_chain::store(conn.reborrow(), key, head, &row).await?;
                }
                Ok(Answer::Id(row.id))
            }
            Op::Complete {
                id,
                outcome,
                detail,
                latency_ms,
            } => {
                // Only a pending row the dashboard wrote is completed (and so sealed).
                if audit_chain::genuine_pending(conn.reborrow(), key, Some(id))
                    .await?
                    .is_empty()
                {
                    tracing::error!(
                        audit_id = id,
                        "a command's pending audit row is gone or was changed by hand"
                    );
                    return Ok(Answer::Completed(false));
                }
                let row = audit::complete_command(
                    conn.reborrow(),
                    id,
                    outcome,
                    detail.as_deref(),
                    latency_ms,
                )
                .await?;
                if let Some(row) = &row {
                    *head = audit_chain::store(conn.reborrow(), key, head, row).await?;
                }
                Ok(Answer::Completed(row.is_some()))
            }
            Op::InterruptPending(only) => {
                let pending = match only {
                    None => audit_chain::genuine_pending(conn.reborrow(), key, None).await?,
                    Some(ids) => {
                        let mut genuine = Vec::with_capacity(ids.len());
                        for id in ids {
                            genuine.extend(
                                audit_chain::genuine_pending(conn.reborrow(), key, Some(id))
                                    .await?,
                            );
                        }
                        genuine
                    }
                };
                let mut interrupted = 0;
                for id in pending {
                    if let Some(row) = audit::interrupt(conn.reborrow(), id).await? {
                        *head = audit_chain::store(conn.reborrow(), key, head, &row).await?;
                        interrupted += 1;
                    }
                }
                Ok(Answer::Count(interrupted))
            }
            Op::Archive(request) => Ok(Answer::Archived(
                super::audit_archive::archive_step(conn, key, head, request).await?,
            )),
            #[cfg(test)]
            Op::Crash => panic!("the audit writer crashes (test)"),
        }
    }
    .await;
    result.map_err(|e| format!("{e:#}"))
}

#[cfg(test)]
mod tests;
