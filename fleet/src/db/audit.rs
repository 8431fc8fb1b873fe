//! The append-only `audit_log` table. Rows are written only through the
//! [`super::audit_writer::AuditWriter`], which seals each completed row into the hash chain
//! ([`super::audit_chain`]).

use sqlx::QueryBuilder;

use super::{now_text, Conn, Pool};
use crate::{
    model::{stored_time, AuditAction, AuditEntry, AuditFilter, AuditOutcome},
    with_conn, with_pool,
};

/// A row to append. Commands are appended as `Pending` and completed once with
/// [`complete_command`]; every other action is appended already complete.
#[derive(Debug, Clone, Default)]
pub struct NewEntry<'a> {
    pub actor: &'a str,
    pub action: Option<AuditAction>,
    pub project_id: Option<i64>,
    pub project_name: Option<&'a str>,
    pub command: Option<&'a str>,
    pub outcome: Option<AuditOutcome>,
    pub detail: Option<&'a str>,
    pub upstream_latency_ms: Option<i64>,
    pub request_id: Option<&'a str>,
    pub batch_id: Option<i64>,
}

impl NewEntry<'_> {
    pub fn to_owned_entry(&self) -> OwnedEntry {
        OwnedEntry {
            actor: self.actor.to_owned(),
            action: self.action,
            project_id: self.project_id,
            project_name: self.project_name.map(str::to_owned),
            command: self.command.map(str::to_owned),
            outcome: self.outcome,
            detail: self.detail.map(str::to_owned),
            upstream_latency_ms: self.upstream_latency_ms,
            request_id: self.request_id.map(str::to_owned),
            batch_id: self.batch_id,
        }
    }
}

/// [`NewEntry`] with its own strings, to hand to the [`super::audit_writer::AuditWriter`].
#[derive(Debug, Clone, Default)]
pub struct OwnedEntry {
    pub actor: String,
    pub action: Option<AuditAction>,
    pub project_id: Option<i64>,
    pub project_name: Option<String>,
    pub command: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub detail: Option<String>,
    pub upstream_latency_ms: Option<i64>,
    pub request_id: Option<String>,
    pub batch_id: Option<i64>,
}

impl OwnedEntry {
    pub fn as_entry(&self) -> NewEntry<'_> {
        NewEntry {
            actor: &self.actor,
            action: self.action,
            project_id: self.project_id,
            project_name: self.project_name.as_deref(),
            command: self.command.as_deref(),
            outcome: self.outcome,
            detail: self.detail.as_deref(),
            upstream_latency_ms: self.upstream_latency_ms,
            request_id: self.request_id.as_deref(),
            batch_id: self.batch_id,
        }
    }
}

/// Inserts a row and returns it as stored. A completed row still has to be sealed into the
/// chain; the [`super::audit_writer::AuditWriter`] does both in one transaction.
pub async fn append(db: Conn<'_>, entry: &NewEntry<'_>) -> sqlx::Result<StoredRow> {
    const SQL: &str =
        "INSERT INTO audit_log (at, actor, action, project_id, project_name, command, outcome, detail,
                                upstream_latency_ms, request_id, completed_at, batch_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id";
    let outcome = entry.outcome.unwrap_or(AuditOutcome::Success);
    let now = now_text();
    let completed_at = (outcome != AuditOutcome::Pending).then(|| now.clone());
    let action = entry.action.unwrap_or(AuditAction::Command).as_str();
    let id: i64 = with_conn!(db, c => {
        sqlx::query_scalar(SQL)
            .bind(&now)
            .bind(entry.actor)
            .bind(action)
            .bind(entry.project_id)
            .bind(entry.project_name)
            .bind(entry.command)
            .bind(outcome.as_str())
            .bind(entry.detail)
            .bind(entry.upstream_latency_ms)
            .bind(entry.request_id)
            .bind(&completed_at)
            .bind(entry.batch_id)
            .fetch_one(&mut *c)
            .await
    })?;
    Ok(StoredRow {
        id,
        at: now,
        actor: entry.actor.to_owned(),
        action: action.to_owned(),
        project_id: entry.project_id,
        project_name: entry.project_name.map(str::to_owned),
        command: entry.command.map(str::to_owned),
        outcome: outcome.as_str().to_owned(),
        detail: entry.detail.map(str::to_owned),
        upstream_latency_ms: entry.upstream_latency_ms,
        request_id: entry.request_id.map(str::to_owned),
        completed_at,
        batch_id: entry.batch_id,
    })
}

/// The columns of a row, in the order the chain seals them.
pub(crate) const COLUMNS: &str =
    "id, at, actor, action, project_id, project_name, command, outcome, \
     detail, upstream_latency_ms, request_id, completed_at, batch_id";

/// Completes a pending command row and returns it as stored; `None` if it was not pending.
/// The only update a row's own fields ever see.
pub async fn complete_command(
    db: Conn<'_>,
    id: i64,
    outcome: AuditOutcome,
    detail: Option<&str>,
    upstream_latency_ms: i64,
) -> sqlx::Result<Option<StoredRow>> {
    let sql = format!(
        "UPDATE audit_log SET outcome = $1, detail = $2, upstream_latency_ms = $3, completed_at = $4
         WHERE id = $5 AND outcome = 'pending' RETURNING {COLUMNS}"
    );
    let now = now_text();
    with_conn!(db, c => {
        sqlx::query_as(&sql)
            .bind(outcome.as_str())
            .bind(detail)
            .bind(upstream_latency_ms)
            .bind(&now)
            .bind(id)
            .fetch_optional(&mut *c)
            .await
    })
}

/// At start-up: a row still pending belongs to a command in flight when the dashboard
/// stopped; completes it as interrupted and returns it, to be sealed.
pub async fn interrupt(db: Conn<'_>, id: i64) -> sqlx::Result<Option<StoredRow>> {
    let sql = format!(
        "UPDATE audit_log SET outcome = 'interrupted', completed_at = $1,
                detail = 'the dashboard stopped before PickyAssist answered; the command may or may not have run'
         WHERE id = $2 AND outcome = 'pending' RETURNING {COLUMNS}"
    );
    let now = now_text();
    with_conn!(db, c => sqlx::query_as(&sql).bind(&now).bind(id).fetch_optional(&mut *c).await)
}

/// A row as stored: every column the chain seals, as text and numbers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct StoredRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub project_id: Option<i64>,
    pub project_name: Option<String>,
    pub command: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
    pub upstream_latency_ms: Option<i64>,
    pub request_id: Option<String>,
    pub completed_at: Option<String>,
    pub batch_id: Option<i64>,
}

/// Newest first, at most `limit` rows, keyset-paginated on `id` (fast at any depth).
pub async fn query(pool: &Pool, filter: &AuditFilter, limit: u32) -> sqlx::Result<Vec<AuditEntry>> {
    let rows: Vec<StoredRow> = with_pool!(pool, p => {
        // Built per engine: each has its own placeholders.
        let mut sql = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_log WHERE 1 = 1"));
        if let Some(project_id) = filter.project_id {
            sql.push(" AND project_id = ").push_bind(project_id);
        }
        if let Some(actor) = &filter.actor {
            sql.push(" AND actor = ").push_bind(actor.clone());
        }
        if let Some(action) = filter.action {
            sql.push(" AND action = ").push_bind(action.as_str());
        }
        if let Some(outcome) = filter.outcome {
            sql.push(" AND outcome = ").push_bind(outcome.as_str());
        }
        if let Some(since) = filter.since {
            sql.push(" AND at >= ").push_bind(stored_time(since));
        }
        if let Some(until) = filter.until {
            sql.push(" AND at < ").push_bind(stored_time(until));
        }
        if let Some(before) = filter.before {
            sql.push(" AND id < ").push_bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit));
        sql.build_query_as().fetch_all(p).await
    })?;
    Ok(rows.into_iter().map(StoredRow::into_entry).collect())
}

impl StoredRow {
    pub fn into_entry(self) -> AuditEntry {
        AuditEntry {
            id: self.id,
            at: self.at,
            actor: self.actor,
            // Unknown names can only come from a hand-edited database; show them as commands
            // rather than failing the whole page.
            action: AuditAction::parse(&self.action).unwrap_or(AuditAction::Command),
            project_id: self.project_id,
            project_name: self.project_name,
            command: self.command,
            outcome: AuditOutcome::parse(&self.outcome).unwrap_or(AuditOutcome::Pending),
            detail: self.detail,
            upstream_latency_ms: self.upstream_latency_ms,
            request_id: self.request_id,
            completed_at: self.completed_at,
            batch_id: self.batch_id,
        }
    }
}
