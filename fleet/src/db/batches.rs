//! The `batches` and `batch_items` tables (see `crate::service::batches`).

use super::{now_text, Conn, Pool};
use crate::{
    model::{BatchItem, BatchStatus, BatchView, Health, ItemState},
    with_conn, with_pool,
};

/// A batch to insert, with its projects in the order they go.
pub struct NewBatch<'a> {
    pub command: &'a str,
    pub created_by: &'a str,
    /// The instance that runs it.
    pub instance: &'a str,
    pub retry_of: Option<i64>,
    pub projects: &'a [(i64, String)],
}

/// Inserts the batch and its items (all queued), in one transaction; returns its id.
pub async fn insert(pool: &Pool, batch: &NewBatch<'_>) -> sqlx::Result<i64> {
    const BATCH: &str =
        "INSERT INTO batches (command, created_by, created_at, status, retry_of, instance,
                              heartbeat_at)
         VALUES ($1, $2, $3, 'running', $4, $5, $6) RETURNING id";
    const ITEM: &str =
        "INSERT INTO batch_items (batch_id, position, project_id, project_name, state, updated_at)
         VALUES ($1, $2, $3, $4, 'queued', $5)";
    let mut tx = pool.begin().await?;
    let now = now_text();
    let id: i64 = with_conn!(tx.conn(), c => {
        let id: i64 = sqlx::query_scalar(BATCH)
            .bind(batch.command)
            .bind(batch.created_by)
            .bind(&now)
            .bind(batch.retry_of)
            .bind(batch.instance)
            .bind(&now)
            .fetch_one(&mut *c)
            .await?;
        for (position, (project_id, name)) in batch.projects.iter().enumerate() {
            sqlx::query(ITEM)
                .bind(id)
                .bind(position as i64)
                .bind(project_id)
                .bind(name)
                .bind(&now)
                .execute(&mut *c)
                .await?;
        }
        id
    });
    tx.commit().await?;
    Ok(id)
}

pub async fn set_audit_id(pool: &Pool, batch_id: i64, audit_id: i64) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE batches SET audit_id = $1 WHERE id = $2";
    with_pool!(pool, p => {
        sqlx::query(SQL).bind(audit_id).bind(batch_id).execute(p).await.map(|_| ())
    })
}

/// Notes that `by` asked a running batch to stop. True only for the first asking while it
/// runs: false if it has ended, or someone asked already.
pub async fn request_cancel(pool: &Pool, batch_id: i64, by: &str) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE batches SET cancel_requested_by = $1, cancel_requested_at = $2
         WHERE id = $3 AND status = 'running' AND cancel_requested_at IS NULL";
    let now = now_text();
    Ok(with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(by)
            .bind(&now)
            .bind(batch_id)
            .execute(p)
            .await?
            .rows_affected()
    }) == 1)
}

/// Whether someone asked the batch to stop.
pub async fn cancel_requested(pool: &Pool, batch_id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "SELECT cancel_requested_at FROM batches WHERE id = $1";
    let asked: Option<Option<String>> = with_pool!(pool, p => {
        sqlx::query_scalar(SQL).bind(batch_id).fetch_optional(p).await?
    });
    Ok(matches!(asked, Some(Some(_))))
}

/// The running instance's sign of life (see `service::batches`): notes the time in the
/// batch's row, and says whether it should stop (someone asked it to, or another instance
/// settled it), in one round trip.
pub async fn beat(pool: &Pool, batch_id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE batches SET heartbeat_at = $1 WHERE id = $2
         RETURNING cancel_requested_at IS NOT NULL OR status <> 'running'";
    let now = now_text();
    let stop: Option<bool> = with_pool!(pool, p => {
        sqlx::query_scalar(SQL).bind(&now).bind(batch_id).fetch_optional(p).await?
    });
    Ok(stop.unwrap_or(true))
}

/// A batch that still runs, as another instance sees it.
#[derive(Debug, sqlx::FromRow)]
pub struct Running {
    /// The instance running it (`None` for batches from before instances were recorded).
    pub instance: Option<String>,
    pub audit_id: Option<i64>,
    /// The running instance's last sign of life (`None` before heartbeats were recorded).
    pub heartbeat_at: Option<String>,
}

/// The batch if it still runs; `None` once it has ended.
pub async fn running_on(pool: &Pool, batch_id: i64) -> sqlx::Result<Option<Running>> {
    const SQL: &str = "SELECT instance, audit_id, heartbeat_at FROM batches
         WHERE id = $1 AND status = 'running'";
    with_pool!(pool, p => sqlx::query_as(SQL).bind(batch_id).fetch_optional(p).await)
}

/// Running batches of other instances that gave no sign of life since `silent_since` (a
/// stored time): the candidates for settling, if their instance turns out to be gone.
pub async fn silent(pool: &Pool, instance: &str, silent_since: &str) -> sqlx::Result<Vec<i64>> {
    const SQL: &str = "SELECT id FROM batches
         WHERE status = 'running' AND (instance IS NULL OR instance <> $1)
           AND (heartbeat_at IS NULL OR heartbeat_at < $2)
         ORDER BY id";
    with_pool!(pool, p => {
        sqlx::query_scalar(SQL).bind(instance).bind(silent_since).fetch_all(p).await
    })
}

/// One item's new state. `message`, `checked` and `audit_id` keep their value when `None`.
/// An interrupted item stays so: its batch was settled by another instance.
pub struct ItemUpdate<'a> {
    pub state: ItemState,
    pub message: Option<&'a str>,
    pub checked: Option<Health>,
    pub audit_id: Option<i64>,
}

/// True if the item was updated (false once its batch was settled elsewhere).
pub async fn update_item(
    pool: &Pool,
    batch_id: i64,
    position: usize,
    update: &ItemUpdate<'_>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE batch_items SET state = $1, message = COALESCE($2, message),
                checked = COALESCE($3, checked), audit_id = COALESCE($4, audit_id), updated_at = $5
         WHERE batch_id = $6 AND position = $7 AND state <> 'interrupted'";
    let now = now_text();
    with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(update.state.as_str())
            .bind(update.message)
            .bind(update.checked.map(Health::as_str))
            .bind(update.audit_id)
            .bind(&now)
            .bind(batch_id)
            .bind(position as i64)
            .execute(p)
            .await
            .map(|done| done.rows_affected() == 1)
    })
}

/// Items never sent (`queued`) or whose end was never recorded (`sending`: a failed write, a
/// failed task) become `to` (cancelled, interrupted); returns how many.
pub async fn settle_unfinished(pool: &Pool, batch_id: i64, to: ItemState) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE batch_items SET state = $1, updated_at = $2
         WHERE batch_id = $3 AND state IN ('queued', 'sending')";
    let now = now_text();
    Ok(with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(to.as_str())
            .bind(&now)
            .bind(batch_id)
            .execute(p)
            .await?
            .rows_affected()
    }))
}

/// Records how a running batch ended. False if it was not running any more (another instance
/// settled it).
pub async fn finish(pool: &Pool, batch_id: i64, status: BatchStatus) -> sqlx::Result<bool> {
    const SQL: &str =
        "UPDATE batches SET status = $1, finished_at = $2 WHERE id = $3 AND status = 'running'";
    let now = now_text();
    with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(status.as_str())
            .bind(&now)
            .bind(batch_id)
            .execute(p)
            .await
            .map(|done| done.rows_affected() == 1)
    })
}

/// At start-up: batches still running belong to a dashboard that stopped; each is
/// [`interrupt`]ed. Returns the batches' ids.
pub async fn interrupt_running(mut conn: Conn<'_>) -> sqlx::Result<Vec<i64>> {
    const RUNNING: &str = "SELECT id FROM batches WHERE status = 'running'";
    let ids: Vec<i64> = with_conn!(conn.reborrow(), c => {
        sqlx::query_scalar(RUNNING).fetch_all(&mut *c).await?
    });
    let mut interrupted = Vec::with_capacity(ids.len());
    for id in ids {
        if interrupt(conn.reborrow(), id, None).await? {
            interrupted.push(id);
        }
    }
    Ok(interrupted)
}

/// A batch whose instance stopped: its items that had no answer become interrupted (a command
/// on its way may or may not have run; its own audit row says so), and the batch too. Items
/// already `sent` stay so: upstream took the command; only its check never ran. The batch's
/// row first: its items are touched only if it was still running. True if it was.
///
/// With `silent_since`, only if its heartbeat is older than that (checked in the same
/// statement, so a beat that comes meanwhile keeps it running).
pub async fn interrupt(
    conn: Conn<'_>,
    batch_id: i64,
    silent_since: Option<&str>,
) -> sqlx::Result<bool> {
    const ITEMS: &str = "UPDATE batch_items SET state = 'interrupted', updated_at = $1,
                    message = COALESCE(message, 'the dashboard stopped before this one had its answer')
             WHERE batch_id = $2 AND state IN ('queued', 'sending')";
    const BATCH: &str = "UPDATE batches SET status = 'interrupted', finished_at = $1
             WHERE id = $2 AND status = 'running'
               AND ($3 IS NULL OR heartbeat_at IS NULL OR heartbeat_at < $3)";
    let now = now_text();
    with_conn!(conn, c => {
        let batch = sqlx::query(BATCH)
            .bind(&now)
            .bind(batch_id)
            .bind(silent_since)
            .execute(&mut *c)
            .await?;
        if batch.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(ITEMS).bind(&now).bind(batch_id).execute(&mut *c).await?;
        Ok(true)
    })
}

#[derive(sqlx::FromRow)]
struct BatchRow {
    id: i64,
    command: String,
    created_by: String,
    created_at: String,
    status: String,
    finished_at: Option<String>,
    retry_of: Option<i64>,
    audit_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    project_id: i64,
    project_name: String,
    state: String,
    message: Option<String>,
    checked: Option<String>,
    audit_id: Option<i64>,
    updated_at: String,
}

impl ItemRow {
    fn into_item(self) -> BatchItem {
        BatchItem {
            project_id: self.project_id,
            project_name: self.project_name,
            // A name this version does not know can only come from an edited file.
            state: ItemState::parse(&self.state).unwrap_or(ItemState::Interrupted),
            message: self.message,
            checked: self.checked.as_deref().and_then(Health::parse),
            audit_id: self.audit_id,
            updated_at: self.updated_at,
        }
    }
}

impl BatchRow {
    fn into_view(
        self,
        items: Vec<BatchItem>,
        counts: crate::model::BatchCounts,
    ) -> Option<BatchView> {
        Some(BatchView {
            id: self.id,
            command: self.command.parse().ok()?,
            created_by: self.created_by,
            created_at: self.created_at,
            status: BatchStatus::parse(&self.status).unwrap_or(BatchStatus::Interrupted),
            finished_at: self.finished_at,
            retry_of: self.retry_of,
            audit_id: self.audit_id,
            counts,
            items,
        })
    }
}

const BATCH_COLUMNS: &str =
    "id, command, created_by, created_at, status, finished_at, retry_of, audit_id";

/// How many of a batch's items are in each state.
pub async fn counts(pool: &Pool, batch_id: i64) -> sqlx::Result<crate::model::BatchCounts> {
    const SQL: &str = "SELECT state, COUNT(*) FROM batch_items WHERE batch_id = $1 GROUP BY state";
    let rows: Vec<(String, i64)> =
        with_pool!(pool, p => sqlx::query_as(SQL).bind(batch_id).fetch_all(p).await)?;
    let mut counts = crate::model::BatchCounts::default();
    for (state, n) in rows {
        let state = ItemState::parse(&state).unwrap_or(ItemState::Interrupted);
        for _ in 0..n {
            counts.add(state);
        }
    }
    Ok(counts)
}

/// A batch with its items in order.
pub async fn get(pool: &Pool, batch_id: i64) -> sqlx::Result<Option<BatchView>> {
    const ITEMS: &str =
        "SELECT project_id, project_name, state, message, checked, audit_id, updated_at
         FROM batch_items WHERE batch_id = $1 ORDER BY position";
    let batch = format!("SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1");
    let Some(row): Option<BatchRow> =
        with_pool!(pool, p => sqlx::query_as(&batch).bind(batch_id).fetch_optional(p).await)?
    else {
        return Ok(None);
    };
    let items: Vec<ItemRow> =
        with_pool!(pool, p => sqlx::query_as(ITEMS).bind(batch_id).fetch_all(p).await)?;
    let items: Vec<BatchItem> = items.into_iter().map(ItemRow::into_item).collect();
    let counts = crate::model::BatchCounts::of(&items);
    Ok(row.into_view(items, counts))
}

/// The newest batches, without their items (counts only).
pub async fn newest(pool: &Pool, limit: u32) -> sqlx::Result<Vec<BatchView>> {
    let sql = format!("SELECT {BATCH_COLUMNS} FROM batches ORDER BY id DESC LIMIT $1");
    let rows: Vec<BatchRow> =
        with_pool!(pool, p => sqlx::query_as(&sql).bind(i64::from(limit)).fetch_all(p).await)?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        let batch_counts = counts(pool, row.id).await?;
        views.extend(row.into_view(Vec::new(), batch_counts));
    }
    Ok(views)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn one_batch() -> (tempfile::TempDir, crate::db::Database, i64) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("batches.db").display());
        let database = crate::db::connect(&url).await.unwrap();
        let projects = [(1, "one".to_owned()), (2, "two".to_owned())];
        let id = insert(
            &database.writer,
            &NewBatch {
                command: "restart",
                created_by: "ops",
                instance: "a1",
                retry_of: None,
                projects: &projects,
            },
        )
        .await
        .unwrap();
        (dir, database, id)
    }

    fn item(state: ItemState) -> ItemUpdate<'static> {
        ItemUpdate {
            state,
            message: None,
            checked: None,
            audit_id: None,
        }
    }

    #[tokio::test]
    async fn a_heartbeat_carries_the_cancel_and_keeps_a_batch_from_looking_silent() {
        let (_dir, database, id) = one_batch().await;
        let db = &database.writer;
        let later = crate::model::stored_time(chrono::Utc::now() + chrono::Duration::hours(1));
        let earlier = crate::model::stored_time(chrono::Utc::now() - chrono::Duration::hours(1));
        // Another instance sees it silent only once its last beat is older than the cutoff.
        assert_eq!(silent(db, "b2", &later).await.unwrap(), vec![id]);
        assert!(silent(db, "b2", &earlier).await.unwrap().is_empty());
        // Its own instance never counts it.
        assert!(silent(db, "a1", &later).await.unwrap().is_empty());

        assert!(!beat(db, id).await.unwrap());
        assert!(request_cancel(db, id, "ops").await.unwrap());
        assert!(!request_cancel(db, id, "someone else").await.unwrap());
        assert!(beat(db, id).await.unwrap(), "the beat reads the cancel");
        assert!(cancel_requested(db, id).await.unwrap());
    }

    #[tokio::test]
    async fn interrupting_settles_a_running_batch_once_and_its_runner_cannot_undo_it() {
        let (_dir, database, id) = one_batch().await;
        let db = &database.writer;
        assert!(update_item(db, id, 0, &item(ItemState::Sent))
            .await
            .unwrap());

        let mut tx = db.begin().await.unwrap();
        let long_ago = "2000-01-01T00:00:00.000Z";
        assert!(
            !interrupt(tx.conn(), id, Some(long_ago)).await.unwrap(),
            "its heartbeat is newer than that"
        );
        assert!(interrupt(tx.conn(), id, None).await.unwrap());
        assert!(!interrupt(tx.conn(), id, None).await.unwrap(), "once");
        tx.commit().await.unwrap();
        let view = get(db, id).await.unwrap().unwrap();
        assert_eq!(view.status, BatchStatus::Interrupted);
        let states: Vec<ItemState> = view.items.iter().map(|i| i.state).collect();
        assert_eq!(states, [ItemState::Sent, ItemState::Interrupted]);

        // A runner that was only slow, not dead, comes back: its late news changes nothing,
        // and its next beat tells it to stop.
        assert!(!update_item(db, id, 1, &item(ItemState::Sent))
            .await
            .unwrap());
        assert!(!finish(db, id, BatchStatus::Finished).await.unwrap());
        assert!(beat(db, id).await.unwrap());
        let view = get(db, id).await.unwrap().unwrap();
        assert_eq!(view.status, BatchStatus::Interrupted);
        assert_eq!(view.items[1].state, ItemState::Interrupted);
        assert!(running_on(db, id).await.unwrap().is_none());
        assert!(silent(db, "b2", "9999").await.unwrap().is_empty());
    }
}
