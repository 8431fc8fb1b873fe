//! The retention job's step, run by the audit writer inside its transaction: the oldest
//! sealed rows past `PICKY_FLEET_AUDIT_RETAIN_DAYS` go to a JSON-lines file (synced to disk)
//! with the seal before them, then leave the database; the chain's anchor moves to their last
//! seal and a sealed `audit_archived` row records it. Seals are re-checked first: nothing is
//! archived past a break.

use std::path::PathBuf;

use anyhow::Context;

use super::{
    audit::{self, NewEntry, StoredRow},
    audit_chain::{self, ChainKey, Seal},
    Conn,
};
use crate::model::AuditAction;

/// What the retention job asks for: archive sealed rows written before `cutoff`.
#[derive(Debug, Clone)]
pub struct ArchiveRequest {
    /// Stored time text: rows with an earlier `at` go.
    pub cutoff: String,
    pub dir: PathBuf,
    /// At most this many rows in one go, so the writer is not held for long.
    pub limit: u32,
}

/// One archive step's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub rows: u64,
    pub file: PathBuf,
    /// The audit row that records the archive.
    pub record_id: i64,
}

/// Writes the oldest due rows to an archive file (synced to disk), then deletes them, moves
/// the chain's anchor to their last seal and seals a row that records the archive.
pub(super) async fn archive_step(
    mut conn: Conn<'_>,
    key: &ChainKey,
    head: &mut Seal,
    request: ArchiveRequest,
) -> anyhow::Result<Option<Archived>> {
    let prefix =
        audit_chain::archivable_prefix(conn.reborrow(), key, &request.cutoff, request.limit)
            .await?;
    let (Some((first_row, first)), Some((last_row, last))) =
        (prefix.rows.first(), prefix.rows.last())
    else {
        if let Some(row) = prefix.broken_at {
            anyhow::bail!(
                "not archiving: the audit chain is broken at row {row} (or its anchor was moved); run `picky-fleet audit verify`"
            );
        }
        return Ok(None);
    };
    let file = request.dir.join(format!(
        "audit-{}-seals-{}-{}.jsonl",
        chrono::Utc::now().format("%Y-%m-%d"),
        first.seq,
        last.seq
    ));
    let (first_id, last_id, last) = (first_row.id, last_row.id, *last);
    let contents = archive_contents(&prefix.before, &last, &prefix.rows)?;
    let rows = prefix.rows.len() as u64;
    let path = file.clone();
    let dir = request.dir.clone();
    tokio::task::spawn_blocking(move || write_synced(&dir, &path, &contents))
        .await
        .context("the archive writer panicked")?
        .with_context(|| format!("writing the audit archive {}", file.display()))?;
    let deleted = audit_chain::archive_prefix(conn.reborrow(), key, &last).await?;
    let detail = format!(
        "archived {deleted} rows (ids {first_id}–{last_id}, seals {}–{}) to {}; the chain continues from seal {} ({})",
        first.seq,
        last.seq,
        file.display(),
        last.seq,
        hex::encode(&last.hash[..8]),
    );
    let row = audit::append(
        conn.reborrow(),
        &NewEntry {
            actor: "retention",
            action: Some(AuditAction::AuditArchived),
            detail: Some(&detail),
            ..Default::default()
        },
    )
    .await?;
    *head = audit_chain::store(conn, key, head, &row).await?;
    Ok(Some(Archived {
        rows,
        file,
        record_id: row.id,
    }))
}

/// JSON lines: a header naming the seal before the rows and the last one (so the file can be
/// checked on its own with the key), then one row per line with its seal.
fn archive_contents(
    before: &Seal,
    last: &Seal,
    rows: &[(StoredRow, Seal)],
) -> anyhow::Result<Vec<u8>> {
    let mut out = serde_json::to_vec(&serde_json::json!({
        "picky_fleet_audit_archive": 1,
        "previous_seal": {"seq": before.seq, "hash": hex::encode(before.hash)},
        "last_seal": {"seq": last.seq, "hash": hex::encode(last.hash)},
        "rows": rows.len(),
    }))?;
    out.push(b'\n');
    for (row, seal) in rows {
        let mut line = serde_json::to_value(row)?;
        line["chain_seq"] = seal.seq.into();
        line["chain_hash"] = hex::encode(seal.hash).into();
        serde_json::to_writer(&mut out, &line)?;
        out.push(b'\n');
    }
    Ok(out)
}

fn write_synced(
    dir: &std::path::Path,
    path: &std::path::Path,
    contents: &[u8],
) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let mut file = std::fs::File::create(path)?;
    file.write_all(contents)?;
    file.sync_all()?;
    // The file's name is durable only once its directory is.
    std::fs::File::open(dir)?.sync_all()
}
