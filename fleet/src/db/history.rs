//! The `status_changes` and `status_rollups` tables (see `crate::history`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqlitePool};

use crate::{
    history::{bucket_start, Bucket, Pending},
    model::{stored_time, Health, PollCounts, StateChange},
};

const RESOLUTIONS: [i64; 3] = [60, 3600, 86_400];

/// Writes what the recorder collected: each minute bucket is added to its minute, hour and
/// day rows (grouped first, so an hour's many minutes cost one statement), then the changes.
pub async fn write(conn: &mut SqliteConnection, pending: &Pending) -> sqlx::Result<()> {
    let mut rows: HashMap<(i64, i64, i64), Bucket> = HashMap::new();
    for (project_id, minute, bucket) in &pending.minutes {
        for resolution in RESOLUTIONS {
            rows.entry((resolution, *project_id, bucket_start(*minute, resolution)))
                .or_default()
                .merge(bucket);
        }
    }
    let mut rows: Vec<_> = rows.into_iter().collect();
    rows.sort_by_key(|(key, _)| *key);
    for ((resolution, project_id, start), b) in rows {
        sqlx::query(
            "INSERT INTO status_rollups (resolution, project_id, bucket, polls, connected, timeout,
                 unpaired, unknown_state, faults, maintenance, queue_n, queue_sum, queue_min,
                 queue_max, latency_sum_ms, latency_max_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (resolution, project_id, bucket) DO UPDATE SET
                 polls = polls + excluded.polls,
                 connected = connected + excluded.connected,
                 timeout = timeout + excluded.timeout,
                 unpaired = unpaired + excluded.unpaired,
                 unknown_state = unknown_state + excluded.unknown_state,
                 faults = faults + excluded.faults,
                 maintenance = maintenance + excluded.maintenance,
                 queue_n = queue_n + excluded.queue_n,
                 queue_sum = queue_sum + excluded.queue_sum,
                 queue_min = MIN(COALESCE(queue_min, excluded.queue_min), COALESCE(excluded.queue_min, queue_min)),
                 queue_max = MAX(COALESCE(queue_max, excluded.queue_max), COALESCE(excluded.queue_max, queue_max)),
                 latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms,
                 latency_max_ms = MAX(latency_max_ms, excluded.latency_max_ms)",
        )
        .bind(resolution)
        .bind(project_id)
        .bind(start)
        .bind(b.counts.polls)
        .bind(b.counts.connected)
        .bind(b.counts.timeout)
        .bind(b.counts.unpaired)
        .bind(b.counts.unknown_state)
        .bind(b.counts.faults)
        .bind(b.counts.maintenance)
        .bind(b.queue_n)
        .bind(b.queue_sum)
        .bind(b.queue_min)
        .bind(b.queue_max)
        .bind(b.latency_sum_ms)
        .bind(b.latency_max_ms)
        .execute(&mut *conn)
        .await?;
    }
    for change in &pending.changes {
        sqlx::query(
            "INSERT INTO status_changes (project_id, at, from_health, to_health, message, queue,
                 maintenance)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(change.project_id)
        .bind(stored_time(change.at))
        .bind(change.from.map(Health::as_str))
        .bind(change.to.as_str())
        .bind(&change.message)
        .bind(change.queue)
        .bind(change.maintenance)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RollupRow {
    project_id: i64,
    bucket: i64,
    polls: u32,
    connected: u32,
    timeout: u32,
    unpaired: u32,
    unknown_state: u32,
    faults: u32,
    maintenance: u32,
    queue_n: u32,
    queue_sum: i64,
    queue_min: Option<i64>,
    queue_max: Option<i64>,
    latency_sum_ms: i64,
    latency_max_ms: i64,
}

impl RollupRow {
    /// One project's bucket: its start and sums.
    fn into_dated(self) -> (i64, Bucket) {
        let (_, start, bucket) = self.into_bucket();
        (start, bucket)
    }

    fn into_bucket(self) -> (i64, i64, Bucket) {
        (
            self.project_id,
            self.bucket,
            Bucket {
                counts: PollCounts {
                    polls: self.polls,
                    connected: self.connected,
                    timeout: self.timeout,
                    unpaired: self.unpaired,
                    unknown_state: self.unknown_state,
                    faults: self.faults,
                    maintenance: self.maintenance,
                },
                queue_n: self.queue_n,
                queue_sum: self.queue_sum,
                queue_min: self.queue_min,
                queue_max: self.queue_max,
                latency_sum_ms: self.latency_sum_ms,
                latency_max_ms: self.latency_max_ms,
            },
        )
    }
}

const ROLLUP_COLUMNS: &str = "project_id, bucket, polls, connected, timeout, unpaired, \
     unknown_state, faults, maintenance, queue_n, queue_sum, queue_min, queue_max, latency_sum_ms, latency_max_ms";

/// One project's buckets of `resolution` seconds starting in `[from, to)` (Unix seconds).
pub async fn buckets(
    pool: &SqlitePool,
    project_id: i64,
    resolution: i64,
    from: i64,
    to: i64,
) -> sqlx::Result<Vec<(i64, Bucket)>> {
    let rows: Vec<RollupRow> = sqlx::query_as(&format!(
        "SELECT {ROLLUP_COLUMNS} FROM status_rollups
         WHERE resolution = ? AND project_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket"
    ))
    .bind(resolution)
    .bind(project_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(RollupRow::into_dated).collect())
}

/// As [`buckets`], summed into groups of `group` seconds (a day of minutes as 288 groups of
/// five, for a page that has no room for more); the sums are SQLite's, so only the groups
/// are read.
pub async fn grouped_buckets(
    pool: &SqlitePool,
    project_id: i64,
    resolution: i64,
    from: i64,
    to: i64,
    group: i64,
) -> sqlx::Result<Vec<(i64, Bucket)>> {
    let rows: Vec<RollupRow> = sqlx::query_as(
        "SELECT project_id, (bucket / ?1) * ?1 AS bucket, SUM(polls) AS polls,
                SUM(connected) AS connected, SUM(timeout) AS timeout, SUM(unpaired) AS unpaired,
                SUM(unknown_state) AS unknown_state, SUM(faults) AS faults,
                SUM(maintenance) AS maintenance, SUM(queue_n) AS queue_n, SUM(queue_sum) AS queue_sum, MIN(queue_min) AS queue_min,
                MAX(queue_max) AS queue_max, SUM(latency_sum_ms) AS latency_sum_ms,
                MAX(latency_max_ms) AS latency_max_ms
         FROM status_rollups
         WHERE resolution = ?2 AND project_id = ?3 AND bucket >= ?4 AND bucket < ?5
         GROUP BY 2 ORDER BY 2",
    )
    .bind(group.max(resolution))
    .bind(resolution)
    .bind(project_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(RollupRow::into_dated).collect())
}

/// One project's polls summed over buckets of `resolution` from `since` on.
pub async fn project_sums_since(
    pool: &SqlitePool,
    project_id: i64,
    resolution: i64,
    since: i64,
) -> sqlx::Result<PollCounts> {
    let row: RollupRow = sqlx::query_as(
        "SELECT ?2 AS project_id, ?3 AS bucket, COALESCE(SUM(polls), 0) AS polls,
                COALESCE(SUM(connected), 0) AS connected, COALESCE(SUM(timeout), 0) AS timeout,
                COALESCE(SUM(unpaired), 0) AS unpaired,
                COALESCE(SUM(unknown_state), 0) AS unknown_state,
                COALESCE(SUM(faults), 0) AS faults, COALESCE(SUM(maintenance), 0) AS maintenance,
                0 AS queue_n, 0 AS queue_sum, NULL AS queue_min, NULL AS queue_max,
                0 AS latency_sum_ms, 0 AS latency_max_ms
         FROM status_rollups WHERE resolution = ?1 AND project_id = ?2 AND bucket >= ?3",
    )
    .bind(resolution)
    .bind(project_id)
    .bind(since)
    .fetch_one(pool)
    .await?;
    Ok(row.into_dated().1.counts)
}

/// Each project's newest recorded state and when it began: the recorder's seed after a
/// restart.
pub async fn last_states(
    pool: &SqlitePool,
) -> sqlx::Result<HashMap<i64, (Health, Option<DateTime<Utc>>)>> {
    let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT project_id, to_health, at, from_health FROM status_changes
         WHERE id IN (SELECT MAX(id) FROM status_changes GROUP BY project_id)",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, health, at, from)| {
            // A first state seen (no `from`) began the watching, not a change.
            let at = from
                .and_then(|_| DateTime::parse_from_rfc3339(&at).ok())
                .map(|t| t.with_timezone(&Utc));
            Health::parse(&health).map(|h| (id, (h, at)))
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: i64,
    project_id: i64,
    at: String,
    from_health: Option<String>,
    to_health: String,
    message: Option<String>,
    queue: Option<i64>,
    maintenance: bool,
}

/// One project's changes with `from <= at < to` (stored time text), newest first, keyset
/// paginated on id.
pub async fn changes(
    pool: &SqlitePool,
    project_id: i64,
    from: &str,
    to: &str,
    before: Option<i64>,
    limit: u32,
) -> sqlx::Result<Vec<StateChange>> {
    let rows: Vec<ChangeRow> = sqlx::query_as(
        "SELECT id, project_id, at, from_health, to_health, message, queue, maintenance
         FROM status_changes
         WHERE project_id = ? AND at >= ? AND at < ? AND id < ?
         ORDER BY id DESC LIMIT ?",
    )
    .bind(project_id)
    .bind(from)
    .bind(to)
    .bind(before.unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StateChange {
            id: r.id,
            project_id: r.project_id,
            at: r.at,
            from: r.from_health.as_deref().and_then(Health::parse),
            // A name this version does not know can only come from an edited file.
            to: Health::parse(&r.to_health).unwrap_or(Health::UnknownState),
            message: r.message,
            queue: r.queue,
            maintenance: r.maintenance,
        })
        .collect())
}

/// The change in force at `at` (the newest before it), for the start of a timeline.
pub async fn change_before(
    pool: &SqlitePool,
    project_id: i64,
    at: &str,
) -> sqlx::Result<Option<Health>> {
    let to: Option<String> = sqlx::query_scalar(
        "SELECT to_health FROM status_changes WHERE project_id = ? AND at < ?
         ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(project_id)
    .bind(at)
    .fetch_optional(pool)
    .await?;
    Ok(to.as_deref().and_then(Health::parse))
}

/// Deletes up to `limit` of one project's buckets of `resolution` that start before
/// `before`; returns how many.
pub async fn prune_rollups(
    pool: &SqlitePool,
    resolution: i64,
    project_id: i64,
    before: i64,
    limit: u32,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM status_rollups WHERE (resolution, project_id, bucket) IN (
             SELECT resolution, project_id, bucket FROM status_rollups
             WHERE resolution = ? AND project_id = ? AND bucket < ? LIMIT ?)",
    )
    .bind(resolution)
    .bind(project_id)
    .bind(before)
    .bind(i64::from(limit))
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes up to `limit` changes older than `before` (stored time text); returns how many.
pub async fn prune_changes(pool: &SqlitePool, before: &str, limit: u32) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM status_changes WHERE id IN (
             SELECT id FROM status_changes WHERE at < ? ORDER BY at LIMIT ?)",
    )
    .bind(before)
    .bind(i64::from(limit))
    .execute(pool)
    .await?
    .rows_affected())
}

/// Every project that has roll-ups (removed ones too, until pruned).
pub async fn projects_with_history(pool: &SqlitePool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT DISTINCT project_id FROM status_rollups WHERE resolution = 86400")
        .fetch_all(pool)
        .await
}

/// A removed project's history goes with it.
pub async fn delete_project(pool: &SqlitePool, project_id: i64) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "DELETE FROM status_rollups WHERE resolution IN (60, 3600, 86400) AND project_id = ?",
    )
    .bind(project_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM status_changes WHERE project_id = ?")
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
