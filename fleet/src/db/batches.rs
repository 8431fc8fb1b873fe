//! The `batches` and `batch_items` tables (see `crate::service::batches`).

use sqlx::{SqliteConnection, SqlitePool};

use super::now_text;
use crate::model::{BatchItem, BatchStatus, BatchView, Health, ItemState};

/// A batch to insert, with its projects in the order they go.
pub struct NewBatch<'a> {
    pub command: &'a str,
    pub created_by: &'a str,
    pub retry_of: Option<i64>,
    pub projects: &'a [(i64, String)],
}

/// Inserts the batch and its items (all queued), in one transaction; returns its id.
pub async fn insert(pool: &SqlitePool, batch: &NewBatch<'_>) -> sqlx::Result<i64> {
    let mut tx = pool.begin().await?;
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO batches (command, created_by, created_at, status, retry_of)
         VALUES (?, ?, ?, 'running', ?) RETURNING id",
    )
    .bind(batch.command)
    .bind(batch.created_by)
    .bind(&now)
    .bind(batch.retry_of)
    .fetch_one(&mut *tx)
    .await?;
    for (position, (project_id, name)) in batch.projects.iter().enumerate() {
        sqlx::query(
            "INSERT INTO batch_items (batch_id, position, project_id, project_name, state, updated_at)
             VALUES (?, ?, ?, ?, 'queued', ?)",
        )
        .bind(id)
        .bind(position as i64)
        .bind(project_id)
        .bind(name)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

pub async fn set_audit_id(pool: &SqlitePool, batch_id: i64, audit_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE batches SET audit_id = ? WHERE id = ?")
        .bind(audit_id)
        .bind(batch_id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// One item's new state. `message`, `checked` and `audit_id` keep their value when `None`.
pub struct ItemUpdate<'a> {
    pub state: ItemState,
    pub message: Option<&'a str>,
    pub checked: Option<Health>,
    pub audit_id: Option<i64>,
}

pub async fn update_item(
    pool: &SqlitePool,
    batch_id: i64,
    position: usize,
    update: &ItemUpdate<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE batch_items SET state = ?, message = COALESCE(?, message),
                checked = COALESCE(?, checked), audit_id = COALESCE(?, audit_id), updated_at = ?
         WHERE batch_id = ? AND position = ?",
    )
    .bind(update.state.as_str())
    .bind(update.message)
    .bind(update.checked.map(Health::as_str))
    .bind(update.audit_id)
    .bind(now_text())
    .bind(batch_id)
    .bind(position as i64)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Items never sent (`queued`) or whose end was never recorded (`sending`: a failed write, a
/// failed task) become `to` (cancelled, interrupted); returns how many.
pub async fn settle_unfinished(
    pool: &SqlitePool,
    batch_id: i64,
    to: ItemState,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE batch_items SET state = ?, updated_at = ?
         WHERE batch_id = ? AND state IN ('queued', 'sending')",
    )
    .bind(to.as_str())
    .bind(now_text())
    .bind(batch_id)
    .execute(pool)
    .await?
    .rows_affected())
}

pub async fn finish(pool: &SqlitePool, batch_id: i64, status: BatchStatus) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE batches SET status = ?, finished_at = ? WHERE id = ? AND status = 'running'",
    )
    .bind(status.as_str())
    .bind(now_text())
    .bind(batch_id)
    .execute(pool)
    .await
    .map(|_| ())
}

/// At start-up: batches still running belong to a dashboard that stopped. Their items that
/// had no answer become interrupted (a command on its way may or may not have run; its own
/// audit row says so), and the batches too. Returns the batches' ids.
pub async fn interrupt_running(conn: &mut SqliteConnection) -> sqlx::Result<Vec<i64>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM batches WHERE status = 'running'")
        .fetch_all(&mut *conn)
        .await?;
    let now = now_text();
    for id in &ids {
        sqlx::query(
            "UPDATE batch_items SET state = 'interrupted', updated_at = ?,
                    message = COALESCE(message, 'the dashboard stopped before this one had its answer')
             WHERE batch_id = ? AND state IN ('queued', 'sending')",
        )
        .bind(&now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        // Items already `sent` stay so: upstream took the command; only its check never ran.
        sqlx::query("UPDATE batches SET status = 'interrupted', finished_at = ? WHERE id = ?")
            .bind(&now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(ids)
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
pub async fn counts(pool: &SqlitePool, batch_id: i64) -> sqlx::Result<crate::model::BatchCounts> {
    let rows: Vec<(String, u32)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM batch_items WHERE batch_id = ? GROUP BY state")
            .bind(batch_id)
            .fetch_all(pool)
            .await?;
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
pub async fn get(pool: &SqlitePool, batch_id: i64) -> sqlx::Result<Option<BatchView>> {
    let Some(row): Option<BatchRow> =
        sqlx::query_as(&format!("SELECT {BATCH_COLUMNS} FROM batches WHERE id = ?"))
            .bind(batch_id)
            .fetch_optional(pool)
            .await?
    else {
        return Ok(None);
    };
    let items: Vec<BatchItem> = sqlx::query_as::<_, ItemRow>(
        "SELECT project_id, project_name, state, message, checked, audit_id, updated_at
         FROM batch_items WHERE batch_id = ? ORDER BY position",
    )
    .bind(batch_id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(ItemRow::into_item)
    .collect();
    let counts = crate::model::BatchCounts::of(&items);
    Ok(row.into_view(items, counts))
}

/// The newest batches, without their items (counts only).
pub async fn newest(pool: &SqlitePool, limit: u32) -> sqlx::Result<Vec<BatchView>> {
    let rows: Vec<BatchRow> = sqlx::query_as(&format!(
        "SELECT {BATCH_COLUMNS} FROM batches ORDER BY id DESC LIMIT ?"
    ))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        let batch_counts = counts(pool, row.id).await?;
        views.extend(row.into_view(Vec::new(), batch_counts));
    }
    Ok(views)
}
