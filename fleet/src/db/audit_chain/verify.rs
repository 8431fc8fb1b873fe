//! The check of the whole chain (see the module above for what a seal is).

use std::time::Instant;

use futures::TryStreamExt;
use sqlx::Row as _;

use super::{anchor, anchor_mac, decode_row, genuine_pending, seal, ChainKey, Seal};
use crate::{
    db::{audit::COLUMNS, Conn, Pool},
    model::{ChainProblem, ChainProblemKind, ChainReport},
    with_conn,
};

/// Checks the whole chain, from the archive anchor (or the start) to the newest seal, and
/// looks for completed rows outside it and pending rows the dashboard did not write.
/// `sealed_at_least`: the newest seal the caller knows was made (the running server's
/// writer); a chain that ends before it lost its newest rows.
///
/// One read transaction (a consistent snapshot), streamed: memory stays flat at any size. A
/// row whose columns cannot even be read (a type changed by hand) is a changed row, not an
/// error. (PostgreSQL: a repeatable-read transaction, its snapshot.)
pub async fn verify(
    pool: &Pool,
    key: &ChainKey,
    sealed_at_least: Option<i64>,
) -> sqlx::Result<ChainReport> {
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    if let Conn::Postgres(c) = tx.conn() {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *c)
            .await?;
    }
    let anchor = anchor(tx.conn()).await?;
    let start = anchor.as_ref().map_or(Seal::GENESIS, |a| a.seal);
    let mut prev = start;
    let mut rows_verified = 0u64;
    let mut verified_up_to_id = None;
    let mut problem = anchor
        .as_ref()
        .filter(|a| a.mac[..] != anchor_mac(key, &a.seal)[..])
        .map(|a| ChainProblem {
            kind: ChainProblemKind::Missing,
            row_id: None,
            message: format!(
                "the archive anchor (seal {}) was changed by hand: rows before the first kept one may have been deleted",
                a.seal.seq
            ),
        });
    if problem.is_none() {
        let sql = format!(
            "SELECT {COLUMNS}, chain_seq, chain_hash FROM audit_log
             WHERE chain_seq IS NOT NULL ORDER BY chain_seq"
        );
        with_conn!(tx.conn(), c => {
        let mut rows = sqlx::query(&sql).fetch(&mut *c);
        while let Some(raw) = rows.try_next().await? {
            let id: i64 = raw.try_get("id").unwrap_or_default();
            let seq: i64 = raw.try_get("chain_seq").unwrap_or_default();
            let altered = || {
                ChainProblem {
                kind: ChainProblemKind::Altered,
                row_id: Some(id),
                message: format!(
                    "row {id} does not match its seal: it was changed, or moved, after it was written"
                ),
            }
            };
            if seq != prev.seq + 1 {
                let missing = seq - prev.seq - 1;
                problem = Some(ChainProblem {
                    kind: ChainProblemKind::Missing,
                    row_id: Some(id),
                    message: match verified_up_to_id {
                        Some(before) => format!(
                            "{missing} sealed row(s) are missing between row {before} and row {id}: deleted from the database"
                        ),
                        None => format!(
                            "{missing} sealed row(s) are missing before row {id}: deleted from the database"
                        ),
                    },
                });
                break;
            }
            let (Ok(row), Ok(hash)) = (decode_row(&raw), raw.try_get::<Vec<u8>, _>("chain_hash"))
            else {
                problem = Some(altered());
                break;
            };
            let expected = seal(key, &prev, &row);
            if hash[..] != expected.hash[..] {
                problem = Some(altered());
                break;
            }
            prev = expected;
            rows_verified += 1;
            verified_up_to_id = Some(id);
        }
        });
    }
    if problem.is_none() {
        if let Some(expected) = sealed_at_least.filter(|&seq| seq > prev.seq) {
            problem = Some(ChainProblem {
                kind: ChainProblemKind::Truncated,
                row_id: verified_up_to_id,
                message: format!(
                    "the newest {} sealed row(s) are gone: the chain ends at seal {} but this server sealed up to {expected}",
                    expected - prev.seq,
                    prev.seq
                ),
            });
        }
    }
    if problem.is_none() {
        const UNSEALED: &str =
            "SELECT id FROM audit_log WHERE chain_seq IS NULL AND outcome <> 'pending'
             ORDER BY id LIMIT 1";
        let unsealed: Option<i64> = with_conn!(tx.conn(), c => {
            sqlx::query_scalar(UNSEALED).fetch_optional(&mut *c).await
        })?;
        if let Some(id) = unsealed {
            problem = Some(ChainProblem {
                kind: ChainProblemKind::Unsealed,
                row_id: Some(id),
                message: format!(
                    "row {id} has no seal: it was added to the database outside the dashboard"
                ),
            });
        }
    }
    const PENDING: &str =
        "SELECT id FROM audit_log WHERE outcome = 'pending' AND chain_seq IS NULL";
    let pending: Vec<i64> =
        with_conn!(tx.conn(), c => sqlx::query_scalar(PENDING).fetch_all(&mut *c).await)?;
    let genuine = genuine_pending(tx.conn(), key, None).await?;
    if problem.is_none() {
        if let Some(&id) = pending.iter().find(|id| !genuine.contains(id)) {
            problem = Some(ChainProblem {
                kind: ChainProblemKind::Unsealed,
                row_id: Some(id),
                message: format!(
                    "row {id} is a pending command the dashboard did not write: it was added or changed by hand"
                ),
            });
        }
    }
    tx.rollback().await?;
    Ok(ChainReport {
        verified: problem.is_none(),
        checked_at: crate::db::now_text(),
        rows_verified,
        verified_up_to_id,
        pending_rows: genuine.len() as u64,
        starts_after_seal: start.seq,
        problem,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}
