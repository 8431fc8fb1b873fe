//! The `status_changes` and `status_rollups` tables (see `crate::history`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::{
    db::{Conn, Engine, Pool},
    history::{bucket_start, Bucket, Pending},
    model::{stored_time, Health, PollCounts, StateChange},
    with_conn, with_pool,
};

const RESOLUTIONS: [i64; 3] = [60, 3600, 86_400];

/// Adds a minute bucket to its row. SQLite has the two-argument MIN/MAX, PostgreSQL
/// LEAST/GREATEST (which SQLite lacks; PostgreSQL also wants the old row's columns named).
const ROLLUP_UPSERT_SQLITE: &str =
    "INSERT INTO status_rollups (resolution, project_id, bucket, polls, connected, timeout,
         unpaired, unknown_state, faults, maintenance, queue_n, queue_sum, queue_min,
         queue_max, latency_sum_ms, latency_max_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
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
         latency_max_ms = MAX(latency_max_ms, excluded.latency_max_ms)";
const ROLLUP_UPSERT_POSTGRES: &str =
    "INSERT INTO status_rollups AS r (resolution, project_id, bucket, polls, connected, timeout,
         unpaired, unknown_state, faults, maintenance, queue_n, queue_sum, queue_min,
         queue_max, latency_sum_ms, latency_max_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (resolution, project_id, bucket) DO UPDATE SET
         polls = r.polls + excluded.polls,
         connected = r.connected + excluded.connected,
         timeout = r.timeout + excluded.timeout,
         unpaired = r.unpaired + excluded.unpaired,
         unknown_state = r.unknown_state + excluded.unknown_state,
         faults = r.faults + excluded.faults,
         maintenance = r.maintenance + excluded.maintenance,
         queue_n = r.queue_n + excluded.queue_n,
         queue_sum = r.queue_sum + excluded.queue_sum,
         queue_min = LEAST(r.queue_min, excluded.queue_min),
         queue_max = GREATEST(r.queue_max, excluded.queue_max),
         latency_sum_ms = r.latency_sum_ms + excluded.latency_sum_ms,
         latency_max_ms = GREATEST(r.latency_max_ms, excluded.latency_max_ms)";

/// Writes what the recorder collected: each minute bucket is added to its minute, hour and
/// day rows (grouped first, so an hour's many minutes cost one statement), then the changes.
pub async fn write(mut conn: Conn<'_>, pending: &Pending) -> sqlx::Result<()> {
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
    let upsert = match conn.engine() {
        Engine::Sqlite => ROLLUP_UPSERT_SQLITE,
        Engine::Postgres => ROLLUP_UPSERT_POSTGRES,
    };
    for ((resolution, project_id, start), b) in rows {
        with_conn!(conn.reborrow(), c => {
            sqlx::query(upsert)
                .bind(resolution)
                .bind(project_id)
                .bind(start)
                .bind(i64::from(b.counts.polls))
                .bind(i64::from(b.counts.connected))
                .bind(i64::from(b.counts.timeout))
                .bind(i64::from(b.counts.unpaired))
                .bind(i64::from(b.counts.unknown_state))
                .bind(i64::from(b.counts.faults))
                .bind(i64::from(b.counts.maintenance))
                .bind(i64::from(b.queue_n))
                .bind(b.queue_sum)
                .bind(b.queue_min)
                .bind(b.queue_max)
                .bind(b.latency_sum_ms)
                .bind(b.latency_max_ms)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
    }
    const CHANGE: &str =
        "INSERT INTO status_changes (project_id, at, from_health, to_health, message, queue,
             maintenance)
         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    for change in &pending.changes {
        with_conn!(conn.reborrow(), c => {
            sqlx::query(CHANGE)
                .bind(change.project_id)
                .bind(stored_time(change.at))
                .bind(change.from.map(Health::as_str))
                .bind(change.to.as_str())
                .bind(&change.message)
                .bind(change.queue)
                .bind(change.maintenance)
                .execute(&mut *c)
                .await
                .map(|_| ())
        })?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RollupRow {
    project_id: i64,
    bucket: i64,
    polls: i64,
    connected: i64,
    timeout: i64,
    unpaired: i64,
    unknown_state: i64,
    faults: i64,
    maintenance: i64,
    queue_n: i64,
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
                    polls: count(self.polls),
                    connected: count(self.connected),
                    timeout: count(self.timeout),
                    unpaired: count(self.unpaired),
                    unknown_state: count(self.unknown_state),
                    faults: count(self.faults),
                    maintenance: count(self.maintenance),
                },
                queue_n: count(self.queue_n),
                queue_sum: self.queue_sum,
                queue_min: self.queue_min,
                queue_max: self.queue_max,
                latency_sum_ms: self.latency_sum_ms,
                latency_max_ms: self.latency_max_ms,
            },
        )
    }
}

/// A count as the model holds it (the columns are 64-bit; a count never nears `u32::MAX`).
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

const ROLLUP_COLUMNS: &str = "project_id, bucket, polls, connected, timeout, unpaired, \
     unknown_state, faults, maintenance, queue_n, queue_sum, queue_min, queue_max, latency_sum_ms, latency_max_ms";

/// One project's buckets of `resolution` seconds starting in `[from, to)` (Unix seconds).
pub async fn buckets(
    pool: &Pool,
    project_id: i64,
    resolution: i64,
    from: i64,
    to: i64,
) -> sqlx::Result<Vec<(i64, Bucket)>> {
    let sql = format!(
        "SELECT {ROLLUP_COLUMNS} FROM status_rollups
         WHERE resolution = $1 AND project_id = $2 AND bucket >= $3 AND bucket < $4 ORDER BY bucket"
    );
    let rows: Vec<RollupRow> = with_pool!(pool, p => {
        sqlx::query_as(&sql)
            .bind(resolution)
            .bind(project_id)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
    })?;
    Ok(rows.into_iter().map(RollupRow::into_dated).collect())
}

/// As [`buckets`], summed into groups of `group` seconds (a day of minutes as 288 groups of
/// five, for a page that has no room for more); the sums are the database's, so only the groups
/// are read.
pub async fn grouped_buckets(
    pool: &Pool,
    project_id: i64,
    resolution: i64,
    from: i64,
    to: i64,
    group: i64,
) -> sqlx::Result<Vec<(i64, Bucket)>> {
    // `project_id` is grouped on too (one value here): PostgreSQL wants every bare column so.
    const SQL: &str = "SELECT project_id, (bucket / $1) * $1 AS bucket,
                CAST(SUM(polls) AS BIGINT) AS polls, CAST(SUM(connected) AS BIGINT) AS connected,
                CAST(SUM(timeout) AS BIGINT) AS timeout, CAST(SUM(unpaired) AS BIGINT) AS unpaired,
                CAST(SUM(unknown_state) AS BIGINT) AS unknown_state,
                CAST(SUM(faults) AS BIGINT) AS faults,
                CAST(SUM(maintenance) AS BIGINT) AS maintenance,
                CAST(SUM(queue_n) AS BIGINT) AS queue_n, CAST(SUM(queue_sum) AS BIGINT) AS queue_sum,
                MIN(queue_min) AS queue_min, MAX(queue_max) AS queue_max,
                CAST(SUM(latency_sum_ms) AS BIGINT) AS latency_sum_ms,
                MAX(latency_max_ms) AS latency_max_ms
         FROM status_rollups
         WHERE resolution = $2 AND project_id = $3 AND bucket >= $4 AND bucket < $5
         GROUP BY project_id, 2 ORDER BY 2";
    let rows: Vec<RollupRow> = with_pool!(pool, p => {
        sqlx::query_as(SQL)
            .bind(group.max(resolution))
            .bind(resolution)
            .bind(project_id)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await
    })?;
    Ok(rows.into_iter().map(RollupRow::into_dated).collect())
}

/// One project's polls summed over buckets of `resolution` from `since` on.
pub async fn project_sums_since(
    pool: &Pool,
    project_id: i64,
    resolution: i64,
    since: i64,
) -> sqlx::Result<PollCounts> {
    const SQL: &str = "SELECT CAST($2 AS BIGINT) AS project_id, CAST($3 AS BIGINT) AS bucket,
                COALESCE(CAST(SUM(polls) AS BIGINT), 0) AS polls,
                COALESCE(CAST(SUM(connected) AS BIGINT), 0) AS connected,
                COALESCE(CAST(SUM(timeout) AS BIGINT), 0) AS timeout,
                COALESCE(CAST(SUM(unpaired) AS BIGINT), 0) AS unpaired,
                COALESCE(CAST(SUM(unknown_state) AS BIGINT), 0) AS unknown_state,
                COALESCE(CAST(SUM(faults) AS BIGINT), 0) AS faults,
                COALESCE(CAST(SUM(maintenance) AS BIGINT), 0) AS maintenance,
                CAST(0 AS BIGINT) AS queue_n, CAST(0 AS BIGINT) AS queue_sum,
                CAST(NULL AS BIGINT) AS queue_min, CAST(NULL AS BIGINT) AS queue_max,
                CAST(0 AS BIGINT) AS latency_sum_ms, CAST(0 AS BIGINT) AS latency_max_ms
         FROM status_rollups WHERE resolution = $1 AND project_id = $2 AND bucket >= $3";
    let row: RollupRow = with_pool!(pool, p => {
        sqlx::query_as(SQL)
            .bind(resolution)
            .bind(project_id)
            .bind(since)
            .fetch_one(p)
            .await
    })?;
    Ok(row.into_dated().1.counts)
}

/// Each project's newest recorded state and when it began: the recorder's seed after a
/// restart.
pub async fn last_states(
    pool: &Pool,
) -> sqlx::Result<HashMap<i64, (Health, Option<DateTime<Utc>>)>> {
    const SQL: &str = "SELECT project_id, to_health, at, from_health FROM status_changes
         WHERE id IN (SELECT MAX(id) FROM status_changes GROUP BY project_id)";
    let rows: Vec<(i64, String, String, Option<String>)> =
        with_pool!(pool, p => sqlx::query_as(SQL).fetch_all(p).await)?;
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
    pool: &Pool,
    project_id: i64,
    from: &str,
    to: &str,
    before: Option<i64>,
    limit: u32,
) -> sqlx::Result<Vec<StateChange>> {
    const SQL: &str =
        "SELECT id, project_id, at, from_health, to_health, message, queue, maintenance
         FROM status_changes
         WHERE project_id = $1 AND at >= $2 AND at < $3 AND id < $4
         ORDER BY id DESC LIMIT $5";
    let rows: Vec<ChangeRow> = with_pool!(pool, p => {
        sqlx::query_as(SQL)
            .bind(project_id)
            .bind(from)
            .bind(to)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(p)
            .await
    })?;
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
pub async fn change_before(pool: &Pool, project_id: i64, at: &str) -> sqlx::Result<Option<Health>> {
    const SQL: &str = "SELECT to_health FROM status_changes WHERE project_id = $1 AND at < $2
         ORDER BY at DESC, id DESC LIMIT 1";
    let to: Option<String> = with_pool!(pool, p => {
        sqlx::query_scalar(SQL).bind(project_id).bind(at).fetch_optional(p).await
    })?;
    Ok(to.as_deref().and_then(Health::parse))
}

/// Deletes up to `limit` of one project's buckets of `resolution` that start before
/// `before`; returns how many.
pub async fn prune_rollups(
    pool: &Pool,
    resolution: i64,
    project_id: i64,
    before: i64,
    limit: u32,
) -> sqlx::Result<u64> {
    const SQL: &str = "DELETE FROM status_rollups WHERE (resolution, project_id, bucket) IN (
             SELECT resolution, project_id, bucket FROM status_rollups
             WHERE resolution = $1 AND project_id = $2 AND bucket < $3 LIMIT $4)";
    Ok(with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(resolution)
            .bind(project_id)
            .bind(before)
            .bind(i64::from(limit))
            .execute(p)
            .await?
            .rows_affected()
    }))
}

/// Deletes up to `limit` changes older than `before` (stored time text); returns how many.
pub async fn prune_changes(pool: &Pool, before: &str, limit: u32) -> sqlx::Result<u64> {
    const SQL: &str = "DELETE FROM status_changes WHERE id IN (
             SELECT id FROM status_changes WHERE at < $1 ORDER BY at LIMIT $2)";
    Ok(with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(before)
            .bind(i64::from(limit))
            .execute(p)
            .await?
            .rows_affected()
    }))
}

/// Every project that has roll-ups (removed ones too, until pruned).
pub async fn projects_with_history(pool: &Pool) -> sqlx::Result<Vec<i64>> {
    const SQL: &str = "SELECT DISTINCT project_id FROM status_rollups WHERE resolution = 86400";
    with_pool!(pool, p => sqlx::query_scalar(SQL).fetch_all(p).await)
}

/// A removed project's history goes with it.
pub async fn delete_project(pool: &Pool, project_id: i64) -> sqlx::Result<()> {
    const ROLLUPS: &str =
        "DELETE FROM status_rollups WHERE resolution IN (60, 3600, 86400) AND project_id = $1";
    const CHANGES: &str = "DELETE FROM status_changes WHERE project_id = $1";
    let mut tx = pool.begin().await?;
    with_conn!(tx.conn(), c => {
        sqlx::query(ROLLUPS).bind(project_id).execute(&mut *c).await?;
        sqlx::query(CHANGES).bind(project_id).execute(&mut *c).await.map(|_| ())
    })?;
    tx.commit().await
}
