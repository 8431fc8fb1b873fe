//! The audit log's hash chain: proof that nobody edited the log in the database file.
//!
//! Every completed row carries a seal: `chain_seq` (1, 2, 3, … in the order rows were sealed)
//! and `chain_hash`, an HMAC-SHA256 over the previous seal's hash, its own sequence number
//! and a canonical encoding of every column of the row (id included, so a row moved to
//! another id breaks too). A command's row is sealed when it completes, with its final
//! outcome: a pending row has nothing final to seal yet, and sealing it twice would need two
//! links per row. Only the [`super::audit_writer::AuditWriter`] seals, one row at a time, so
//! the chain has one order.
//!
//! Keyed, not a bare SHA-256: anyone who can write the file could recompute a bare hash chain
//! after editing it. The key is derived from the secret key (`crypto`), which is not in the
//! database.
//!
//! What a check finds ([`verify`]): an edited field or a row moved (its seal no longer
//! matches), a row deleted from the middle (a gap in the sequence), a row added by hand (no
//! seal, or one that does not match), and, when the server checks, the newest rows deleted
//! (the chain ends before the last seal it made). Archived rows ([`archive_prefix`]) leave
//! an anchor, the last archived seal, from which the kept rows still verify.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{
    audit::{StoredRow, COLUMNS},
    Conn,
};
use crate::with_conn;

mod verify;

pub use verify::verify;

type HmacSha256 = Hmac<Sha256>;

/// The key seals are made with; prints as `ChainKey(••••)`.
#[derive(Clone)]
pub struct ChainKey([u8; 32]);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(••••)")
    }
}

impl ChainKey {
    /// Derived from the secret key under a label of its own, so the key that encrypts tokens
    /// is never used for anything else.
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = mac_with(secret);
        mac.update(b"picky-fleet/audit-chain-key/v1");
        Self(mac.finalize().into_bytes().into())
    }

    /// A key for tests and benchmarks.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

fn mac_with(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length: this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"))
}

/// A row's place in the chain: its sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seal {
    pub seq: i64,
    pub hash: [u8; 32],
}

impl Seal {
    /// Before the first row.
    pub const GENESIS: Seal = Seal {
        seq: 0,
        hash: [0; 32],
    };
}

/// The seal that follows `prev` for `row`.
pub fn seal(key: &ChainKey, prev: &Seal, row: &StoredRow) -> Seal {
    let seq = prev.seq + 1;
    let mut mac = mac_with(&key.0);
    mac.update(b"picky-fleet/audit-row/v1");
    mac.update(&prev.hash);
    mac.update(&seq.to_be_bytes());
    encode_row(&mut mac, row);
    Seal {
        seq,
        hash: mac.finalize().into_bytes().into(),
    }
}

/// A pending command row's own MAC, over its columns as written.
pub fn pending_mac(key: &ChainKey, row: &StoredRow) -> [u8; 32] {
    let mut mac = mac_with(&key.0);
    mac.update(b"picky-fleet/audit-pending/v1");
    encode_row(&mut mac, row);
    mac.finalize().into_bytes().into()
}

/// The archive anchor's MAC: it cannot be moved onto a later seal without the key.
pub fn anchor_mac(key: &ChainKey, anchor: &Seal) -> [u8; 32] {
    let mut mac = mac_with(&key.0);
    mac.update(b"picky-fleet/audit-anchor/v1");
    mac.update(&anchor.seq.to_be_bytes());
    mac.update(&anchor.hash);
    mac.finalize().into_bytes().into()
}

/// Every column of a row, id first, in a fixed order.
fn encode_row(mac: &mut HmacSha256, row: &StoredRow) {
    mac.update(&row.id.to_be_bytes());
    for text in [Some(&row.at), Some(&row.actor), Some(&row.action)] {
        put_text(mac, text.map(String::as_str));
    }
    put_int(mac, row.project_id);
    put_text(mac, row.project_name.as_deref());
    put_text(mac, row.command.as_deref());
    put_text(mac, Some(&row.outcome));
    put_text(mac, row.detail.as_deref());
    put_int(mac, row.upstream_latency_ms);
    put_text(mac, row.request_id.as_deref());
    put_text(mac, row.completed_at.as_deref());
    // Added with bulk commands: encoded only when set, so every row sealed before it still
    // verifies; a row that has one encodes longer than any row without.
    if row.batch_id.is_some() {
        put_int(mac, row.batch_id);
    }
}

/// Each value as a presence byte, then (for text) its length: no two rows encode the same.
fn put_text(mac: &mut HmacSha256, value: Option<&str>) {
    match value {
        None => mac.update(&[0]),
        Some(text) => {
            mac.update(&[1]);
            mac.update(&(text.len() as u64).to_be_bytes());
            mac.update(text.as_bytes());
        }
    }
}

fn put_int(mac: &mut HmacSha256, value: Option<i64>) {
    match value {
        None => mac.update(&[0]),
        Some(n) => {
            mac.update(&[1]);
            mac.update(&n.to_be_bytes());
        }
    }
}

/// The newest seal: the last sealed row's, else the archive anchor's, else [`Seal::GENESIS`].
pub async fn head(mut conn: Conn<'_>) -> sqlx::Result<Seal> {
    const SQL: &str = "SELECT chain_seq, chain_hash FROM audit_log WHERE chain_seq IS NOT NULL
         ORDER BY chain_seq DESC LIMIT 1";
    let last: Option<(i64, Vec<u8>)> =
        with_conn!(conn.reborrow(), c => sqlx::query_as(SQL).fetch_optional(&mut *c).await)?;
    match last {
        Some(last) => Ok(to_seal(last)),
        None => Ok(anchor(conn).await?.map_or(Seal::GENESIS, |a| a.seal)),
    }
}

/// The last archived seal and its MAC, if rows were archived.
pub struct Anchor {
    pub seal: Seal,
    pub mac: Vec<u8>,
}

pub async fn anchor(conn: Conn<'_>) -> sqlx::Result<Option<Anchor>> {
    const SQL: &str = "SELECT seq, hash, mac FROM audit_chain_anchor WHERE id = 1";
    let anchor: Option<(i64, Vec<u8>, Vec<u8>)> =
        with_conn!(conn, c => sqlx::query_as(SQL).fetch_optional(&mut *c).await)?;
    Ok(anchor.map(|(seq, hash, mac)| Anchor {
        seal: to_seal((seq, hash)),
        mac,
    }))
}

/// Gives a pending row its MAC (see [`pending_mac`]).
pub async fn store_pending_mac(
    conn: Conn<'_>,
    key: &ChainKey,
    row: &StoredRow,
) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE audit_log SET pending_mac = $1 WHERE id = $2";
    let mac = pending_mac(key, row);
    with_conn!(conn, c => {
        sqlx::query(SQL).bind(&mac[..]).bind(row.id).execute(&mut *c).await.map(drop)
    })?;
    Ok(())
}

/// The pending rows the dashboard wrote (their MAC checks out), oldest first. Ones made up
/// by hand are left out: they are never completed or sealed, and `verify` names them.
pub async fn genuine_pending(
    conn: Conn<'_>,
    key: &ChainKey,
    only: Option<i64>,
) -> sqlx::Result<Vec<i64>> {
    let sql = format!(
        "SELECT {COLUMNS}, pending_mac FROM audit_log
         WHERE outcome = 'pending' AND chain_seq IS NULL AND ($1 IS NULL OR id = $1) ORDER BY id"
    );
    // Each row decoded on its own: one whose types were changed by hand is left out, not an error.
    Ok(with_conn!(conn, c => {
        sqlx::query(&sql)
            .bind(only)
            .fetch_all(&mut *c)
            .await?
            .iter()
            .filter_map(|row| genuine_id(row, key))
            .collect()
    }))
}

/// The row's id if it decodes and its pending MAC is the one the dashboard made.
fn genuine_id<'r, R: Row>(row: &'r R, key: &ChainKey) -> Option<i64>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let stored = decode_row(row).ok()?;
    let mac: Vec<u8> = row.try_get("pending_mac").ok()?;
    (mac[..] == pending_mac(key, &stored)[..]).then_some(stored.id)
}

/// A row's columns, or why they cannot be read (a type changed by hand).
fn decode_row<'r, R: Row>(row: &'r R) -> Result<StoredRow, sqlx::Error>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredRow {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        project_id: row.try_get("project_id")?,
        project_name: row.try_get("project_name")?,
        command: row.try_get("command")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        upstream_latency_ms: row.try_get("upstream_latency_ms")?,
        request_id: row.try_get("request_id")?,
        completed_at: row.try_get("completed_at")?,
        batch_id: row.try_get("batch_id")?,
    })
}

fn to_seal((seq, hash): (i64, Vec<u8>)) -> Seal {
    // A hash of the wrong length can only come from an edited file; it matches nothing.
    Seal {
        seq,
        hash: hash.try_into().unwrap_or([0xff; 32]),
    }
}

/// Seals `row` after `prev` and stores the seal; returns it.
pub async fn store(
    conn: Conn<'_>,
    key: &ChainKey,
    prev: &Seal,
    row: &StoredRow,
) -> sqlx::Result<Seal> {
    const SQL: &str = "UPDATE audit_log SET chain_seq = $1, chain_hash = $2 WHERE id = $3";
    let next = seal(key, prev, row);
    with_conn!(conn, c => {
        sqlx::query(SQL)
            .bind(next.seq)
            .bind(&next.hash[..])
            .bind(row.id)
            .execute(&mut *c)
            .await
            .map(drop)
    })?;
    Ok(next)
}

/// On the first start after the upgrade that added the chain: seals the rows written before
/// it (the migration noted how far they go), oldest first. Returns how many.
pub async fn seal_rows_from_before_the_chain(
    mut conn: Conn<'_>,
    key: &ChainKey,
    head: &mut Seal,
) -> sqlx::Result<u64> {
    let up_to: Option<i64> = with_conn!(conn.reborrow(), c => {
        sqlx::query_scalar("SELECT up_to_id FROM audit_chain_legacy LIMIT 1")
            .fetch_optional(&mut *c)
            .await
    })?;
    let Some(up_to) = up_to else {
        return Ok(0);
    };
    with_conn!(conn.reborrow(), c => {
        sqlx::query("DELETE FROM audit_chain_legacy").execute(&mut *c).await.map(drop)
    })?;
    // Only the first start after the upgrade, when nothing is sealed yet: a marker put back
    // by hand later must not seal rows added by hand.
    if *head != Seal::GENESIS || anchor(conn.reborrow()).await?.is_some() {
        tracing::warn!("ignored a marker for rows from before the audit chain: the chain exists");
        return Ok(0);
    }
    let sql = |pending: &str| {
        format!(
            "SELECT {COLUMNS} FROM audit_log
             WHERE id <= $1 AND chain_seq IS NULL AND outcome {pending} 'pending' ORDER BY id"
        )
    };
    let (completed, pending) = (sql("<>"), sql("="));
    let rows: Vec<StoredRow> = with_conn!(conn.reborrow(), c => {
        sqlx::query_as(&completed).bind(up_to).fetch_all(&mut *c).await
    })?;
    for row in &rows {
        *head = store(conn.reborrow(), key, head, row).await?;
    }
    // Commands that were on their way then: their pending rows get the MAC they would have
    // had, so they can be completed or marked interrupted.
    let pending: Vec<StoredRow> = with_conn!(conn.reborrow(), c => {
        sqlx::query_as(&pending).bind(up_to).fetch_all(&mut *c).await
    })?;
    for row in &pending {
        store_pending_mac(conn.reborrow(), key, row).await?;
    }
    Ok(rows.len() as u64)
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    #[sqlx(flatten)]
    row: StoredRow,
    chain_seq: i64,
    chain_hash: Vec<u8>,
}

/// Sealed rows taken from the front of the chain by the retention job, with the seal before
/// them (so the archive verifies on its own) and the last one (the new anchor). Each seal
/// is recomputed on the way: `broken_at` names a row that does not match, where the prefix
/// stops (rows are never archived past a break).
pub struct ArchivedPrefix {
    pub before: Seal,
    pub rows: Vec<(StoredRow, Seal)>,
    pub broken_at: Option<i64>,
}

/// The oldest sealed rows, in chain order, up to `limit`, as long as each was written before
/// `cutoff` (stored time text): the prefix of the chain the retention job may archive.
pub async fn archivable_prefix(
    mut conn: Conn<'_>,
    key: &ChainKey,
    cutoff: &str,
    limit: u32,
) -> sqlx::Result<ArchivedPrefix> {
    let anchor = anchor(conn.reborrow()).await?;
    if let Some(a) = anchor
        .as_ref()
        .filter(|a| a.mac[..] != anchor_mac(key, &a.seal)[..])
    {
        return Ok(ArchivedPrefix {
            before: a.seal,
            rows: Vec::new(),
            broken_at: Some(0),
        });
    }
    let before = anchor.map_or(Seal::GENESIS, |a| a.seal);
    let sql = format!(
        "SELECT {COLUMNS}, chain_seq, chain_hash FROM audit_log
         WHERE chain_seq IS NOT NULL ORDER BY chain_seq LIMIT $1"
    );
    let sealed: Vec<SealedRow> = with_conn!(conn, c => {
        sqlx::query_as(&sql).bind(i64::from(limit)).fetch_all(&mut *c).await
    })?;
    let (mut prev, mut rows, mut broken_at) = (before, Vec::new(), None);
    for s in sealed
        .into_iter()
        .take_while(|s| s.row.at.as_str() < cutoff)
    {
        let expected = seal(key, &prev, &s.row);
        if s.chain_seq != expected.seq || s.chain_hash[..] != expected.hash[..] {
            broken_at = Some(s.row.id);
            break;
        }
        prev = expected;
        rows.push((s.row, expected));
    }
    Ok(ArchivedPrefix {
        before,
        rows,
        broken_at,
    })
}

/// Deletes an archived prefix and moves the anchor to its last seal, so the kept rows still
/// verify. Call in the same transaction that seals the row recording the archive.
pub async fn archive_prefix(conn: Conn<'_>, key: &ChainKey, last: &Seal) -> sqlx::Result<u64> {
    const DELETE: &str = "DELETE FROM audit_log WHERE chain_seq IS NOT NULL AND chain_seq <= $1";
    const ANCHOR: &str = "INSERT INTO audit_chain_anchor (id, seq, hash, mac) VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac";
    let mac = anchor_mac(key, last);
    with_conn!(conn, c => {
        let deleted = sqlx::query(DELETE)
            .bind(last.seq)
            .execute(&mut *c)
            .await?
            .rows_affected();
        sqlx::query(ANCHOR)
            .bind(last.seq)
            .bind(&last.hash[..])
            .bind(&mac[..])
            .execute(&mut *c)
            .await?;
        Ok(deleted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> StoredRow {
        StoredRow {
            id,
            at: "2026-12-02T10:00:00.000Z".into(),
            actor: "ops".into(),
            action: "command".into(),
            project_id: Some(3),
            project_name: Some("Acme".into()),
            command: Some("restart".into()),
            outcome: "success".into(),
            detail: Some("Success".into()),
            upstream_latency_ms: Some(120),
            request_id: None,
            completed_at: Some("2026-12-02T10:00:01.000Z".into()),
            batch_id: None,
        }
    }

    #[test]
    fn every_field_the_previous_seal_and_the_key_change_the_seal() {
        let key = ChainKey::from_bytes([1; 32]);
        let base = seal(&key, &Seal::GENESIS, &row(1));
        assert_eq!(base.seq, 1);
        assert_eq!(base, seal(&key, &Seal::GENESIS, &row(1)), "deterministic");
        type Edit = Box<dyn Fn(&mut StoredRow)>;
        let edits: Vec<(&str, Edit)> = vec![
            ("id", Box::new(|r| r.id = 2)),
            ("at", Box::new(|r| r.at.push('x'))),
            ("actor", Box::new(|r| r.actor = "mallory".into())),
            ("action", Box::new(|r| r.action = "sign_in".into())),
            ("project_id", Box::new(|r| r.project_id = None)),
            (
                "project_name",
                Box::new(|r| r.project_name = Some("Acme2".into())),
            ),
            (
                "command",
                Box::new(|r| r.command = Some("disconnect".into())),
            ),
            ("outcome", Box::new(|r| r.outcome = "rejected".into())),
            ("detail", Box::new(|r| r.detail = None)),
            ("latency", Box::new(|r| r.upstream_latency_ms = Some(121))),
            (
                "request_id",
                Box::new(|r| r.request_id = Some(String::new())),
            ),
            ("completed_at", Box::new(|r| r.completed_at = None)),
            ("batch_id", Box::new(|r| r.batch_id = Some(0))),
            // Moving text from one field to the next must not give the same encoding.
            (
                "shifted text",
                Box::new(|r| {
                    r.project_name = Some("Acmerestart".into());
                    r.command = Some(String::new());
                }),
            ),
        ];
        for (name, edit) in edits {
            let mut edited = row(1);
            edit(&mut edited);
            assert_ne!(seal(&key, &Seal::GENESIS, &edited), base, "{name}");
        }
        let after_other = Seal {
            seq: 0,
            hash: [9; 32],
        };
        assert_ne!(seal(&key, &after_other, &row(1)), base, "previous hash");
        assert_ne!(
            seal(&ChainKey::from_bytes([2; 32]), &Seal::GENESIS, &row(1)),
            base,
            "key"
        );
    }

    #[test]
    fn the_chain_key_is_derived_and_never_printed() {
        let a = ChainKey::derive(&[7; 32]);
        assert_ne!(a.0, [7; 32]);
        assert_eq!(a.0, ChainKey::derive(&[7; 32]).0);
        assert_eq!(format!("{a:?}"), "ChainKey(••••)");
    }
}
