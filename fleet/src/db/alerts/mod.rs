//! The alert tables (see migrations/sqlite/20261203000001_alerts.sql and its PostgreSQL twin):
//! channels, rules and alerts here; the delivery outbox and its attempts in `outbox`; mutes,
//! maintenance windows and intended disconnects in `quiet`. Every query serves
//! `service::alerts`, which names them all as `db::alerts::…`.

use chrono::{DateTime, Utc};

use crate::{
    crypto::SealedToken,
    db::{Conn, Pool},
    model::{
        stored_time, AlertDelivery, AlertEvent, AlertKind, AlertStatus, AlertView, DeliveryAttempt,
        DeliveryCounts, DeliveryResult, DeliveryStatus,
    },
    with_conn, with_pool,
};

mod outbox;
mod quiet;

pub use outbox::*;
pub use quiet::*;

// ---- channels -------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub settings: String,
    pub target: String,
    pub secret_nonce: Vec<u8>,
    pub secret_ciphertext: Vec<u8>,
    pub enabled: bool,
    pub created_at: String,
}

impl ChannelRow {
    pub fn sealed_secret(&self) -> SealedToken {
        SealedToken {
            nonce: self.secret_nonce.clone(),
            ciphertext: self.secret_ciphertext.clone(),
        }
    }
}

const CHANNEL_COLUMNS: &str =
    "id, name, kind, settings, target, secret_nonce, secret_ciphertext, enabled, created_at";

/// A channel's stored fields (everything but id and creation time).
pub struct ChannelFields<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub settings: &'a str,
    pub target: &'a str,
    pub secret: &'a SealedToken,
    pub enabled: bool,
}

pub async fn insert_channel(pool: &Pool, c: ChannelFields<'_>) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO alert_channels
             (name, kind, settings, target, secret_nonce, secret_ciphertext, enabled, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
    let now = super::now_text();
    with_pool!(pool, p => {
        sqlx::query_scalar(SQL)
            .bind(c.name)
            .bind(c.kind)
            .bind(c.settings)
            .bind(c.target)
            .bind(&c.secret.nonce)
            .bind(&c.secret.ciphertext)
            .bind(c.enabled)
            .bind(&now)
            .fetch_one(p)
            .await
    })
}

pub async fn update_channel(pool: &Pool, id: i64, c: ChannelFields<'_>) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE alert_channels SET name = $1, kind = $2, settings = $3, target = $4,
             secret_nonce = $5, secret_ciphertext = $6, enabled = $7 WHERE id = $8";
    let done = with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(c.name)
            .bind(c.kind)
            .bind(c.settings)
            .bind(c.target)
            .bind(&c.secret.nonce)
            .bind(&c.secret.ciphertext)
            .bind(c.enabled)
            .bind(id)
            .execute(p)
            .await?
            .rows_affected()
    });
    Ok(done == 1)
}

pub async fn channels(pool: &Pool) -> sqlx::Result<Vec<ChannelRow>> {
    let sql =
        format!("SELECT {CHANNEL_COLUMNS} FROM alert_channels ORDER BY LOWER(name), name, id");
    with_pool!(pool, p => sqlx::query_as(&sql).fetch_all(p).await)
}

pub async fn channel(pool: &Pool, id: i64) -> sqlx::Result<Option<ChannelRow>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM alert_channels WHERE id = $1");
    with_pool!(pool, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)
}

/// Removes a channel; its pending deliveries fail (there is nobody left to send them to).
pub async fn delete_channel(pool: &Pool, id: i64) -> sqlx::Result<bool> {
    const FAIL: &str = "UPDATE alert_deliveries SET status = 'failed', finished_at = $1
         WHERE channel_id = $2 AND status = 'pending'";
    const DELETE: &str = "DELETE FROM alert_channels WHERE id = $1";
    let now = super::now_text();
    let mut tx = pool.begin().await?;
    let done = with_conn!(tx.conn(), c => {
        sqlx::query(FAIL).bind(&now).bind(id).execute(&mut *c).await?;
        sqlx::query(DELETE).bind(id).execute(&mut *c).await?.rows_affected()
    });
    tx.commit().await?;
    Ok(done == 1)
}

// ---- rules ----------------------------------------------------------------------------------

/// Every stored rule: (project id, 0 for the default; the rule's JSON).
pub async fn rules(pool: &Pool) -> sqlx::Result<Vec<(i64, String)>> {
    const SQL: &str = "SELECT project_id, rule FROM alert_rules ORDER BY project_id";
    with_pool!(pool, p => sqlx::query_as(SQL).fetch_all(p).await)
}

pub async fn put_rule(pool: &Pool, project_id: i64, rule: &str) -> sqlx::Result<()> {
    const SQL: &str = "INSERT INTO alert_rules (project_id, rule, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (project_id) DO UPDATE SET rule = excluded.rule,
             updated_at = excluded.updated_at";
    let now = super::now_text();
    with_pool!(pool, p => {
        sqlx::query(SQL).bind(project_id).bind(rule).bind(&now).execute(p).await.map(drop)
    })?;
    Ok(())
}

pub async fn delete_rule(pool: &Pool, project_id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "DELETE FROM alert_rules WHERE project_id = $1";
    let done = with_pool!(pool, p => {
        sqlx::query(SQL).bind(project_id).execute(p).await?.rows_affected()
    });
    Ok(done == 1)
}
// ---- alerts ---------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub kind: String,
    pub project_id: Option<i64>,
    pub project_name: Option<String>,
    pub state: String,
    pub since: String,
    pub opened_at: String,
    pub repeats: i64,
    pub next_repeat_at: Option<String>,
    pub resolved_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<String>,
    pub storm_id: Option<i64>,
    pub silenced: Option<String>,
    pub sent: i64,
    pub failed: i64,
    pub pending: i64,
}

impl AlertRow {
    pub fn kind(&self) -> AlertKind {
        AlertKind::parse(&self.kind).unwrap_or(AlertKind::Device)
    }

    pub fn view(&self) -> AlertView {
        let status = if self.resolved_at.is_some() {
            AlertStatus::Resolved
        } else if self.acknowledged_at.is_some() {
            AlertStatus::Acknowledged
        } else {
            AlertStatus::Open
        };
        AlertView {
            id: self.id,
            kind: self.kind(),
            status,
            project_id: self.project_id,
            project_name: self.project_name.clone(),
            state: self.state.clone(),
            since: self.since.clone(),
            opened_at: self.opened_at.clone(),
            resolved_at: self.resolved_at.clone(),
            repeats: self.repeats.clamp(0, i64::from(u32::MAX)) as u32,
            acknowledged_by: self.acknowledged_by.clone(),
            acknowledged_at: self.acknowledged_at.clone(),
            storm_id: self.storm_id,
            silenced: self.silenced.clone(),
            sent: count(self.sent),
            failed: count(self.failed),
            pending: count(self.pending),
        }
    }
}

fn count(n: i64) -> u32 {
    n.clamp(0, i64::from(u32::MAX)) as u32
}

const ALERT_COLUMNS: &str = "a.id, a.kind, a.project_id, a.project_name, a.state, a.since,
    a.opened_at, a.repeats, a.next_repeat_at, a.resolved_at, a.acknowledged_by,
    a.acknowledged_at, a.storm_id, a.silenced,
    (SELECT count(*) FROM alert_deliveries d WHERE d.alert_id = a.id AND d.status = 'sent') AS sent,
    (SELECT count(*) FROM alert_deliveries d WHERE d.alert_id = a.id AND d.status = 'failed') AS failed,
    (SELECT count(*) FROM alert_deliveries d WHERE d.alert_id = a.id AND d.status = 'pending') AS pending";

/// A new alert's row.
pub struct NewAlert<'a> {
    pub kind: AlertKind,
    pub project_id: Option<i64>,
    pub project_name: Option<&'a str>,
    pub state: &'a str,
    pub since: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub next_repeat_at: Option<DateTime<Utc>>,
    pub storm_id: Option<i64>,
    pub silenced: Option<&'a str>,
    pub resolved_at: Option<DateTime<Utc>>,
}

pub async fn insert_alert(conn: Conn<'_>, a: NewAlert<'_>) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO alerts (kind, project_id, project_name, state, since, opened_at,
             next_repeat_at, storm_id, silenced, resolved_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";
    let since = stored_time(a.since);
    let opened_at = stored_time(a.opened_at);
    let next_repeat_at = a.next_repeat_at.map(stored_time);
    let resolved_at = a.resolved_at.map(stored_time);
    with_conn!(conn, c => {
        sqlx::query_scalar(SQL)
            .bind(a.kind.as_str())
            .bind(a.project_id)
            .bind(a.project_name)
            .bind(a.state)
            .bind(&since)
            .bind(&opened_at)
            .bind(&next_repeat_at)
            .bind(a.storm_id)
            .bind(a.silenced)
            .bind(&resolved_at)
            .fetch_one(&mut *c)
            .await
    })
}

/// Counts a reminder. False when the alert was acknowledged or resolved meanwhile (by another
/// instance, say): then no reminder goes out.
pub async fn set_repeats(
    conn: Conn<'_>,
    id: i64,
    repeats: u32,
    next_repeat_at: Option<DateTime<Utc>>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE alerts SET repeats = $1, next_repeat_at = $2
         WHERE id = $3 AND acknowledged_at IS NULL AND resolved_at IS NULL";
    let next_repeat_at = next_repeat_at.map(stored_time);
    let changed = with_conn!(conn, c => {
        sqlx::query(SQL)
            .bind(i64::from(repeats))
            .bind(&next_repeat_at)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    Ok(changed == 1)
}

pub async fn unsilence(
    conn: Conn<'_>,
    id: i64,
    next_repeat_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE alerts SET silenced = NULL, next_repeat_at = $1 WHERE id = $2";
    let next_repeat_at = next_repeat_at.map(stored_time);
    with_conn!(conn, c => {
        sqlx::query(SQL).bind(&next_repeat_at).bind(id).execute(&mut *c).await.map(drop)
    })?;
    Ok(())
}

pub async fn set_storm_state(conn: Conn<'_>, id: i64, state: &str) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE alerts SET state = $1 WHERE id = $2";
    with_conn!(conn, c => {
        sqlx::query(SQL).bind(state).bind(id).execute(&mut *c).await.map(drop)
    })?;
    Ok(())
}

pub async fn resolve(conn: Conn<'_>, id: i64, at: DateTime<Utc>) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE alerts SET resolved_at = $1, next_repeat_at = NULL
         WHERE id = $2 AND resolved_at IS NULL";
    let at = stored_time(at);
    with_conn!(conn, c => {
        sqlx::query(SQL).bind(&at).bind(id).execute(&mut *c).await.map(drop)
    })?;
    Ok(())
}

/// Resolves a project's open alerts of `kind` (auto-heal's call for a person, once the device
/// is back); returns how many.
pub async fn resolve_kind(
    pool: &Pool,
    project_id: i64,
    kind: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE alerts SET resolved_at = $1, next_repeat_at = NULL
         WHERE project_id = $2 AND kind = $3 AND resolved_at IS NULL";
    let at = stored_time(at);
    Ok(with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(&at)
            .bind(project_id)
            .bind(kind)
            .execute(p)
            .await?
            .rows_affected()
    }))
}

/// Acknowledges an alert that is open and not yet acknowledged; false otherwise.
pub async fn acknowledge(pool: &Pool, id: i64, by: &str, at: DateTime<Utc>) -> sqlx::Result<bool> {
    const SQL: &str =
        "UPDATE alerts SET acknowledged_by = $1, acknowledged_at = $2, next_repeat_at = NULL
         WHERE id = $3 AND resolved_at IS NULL AND acknowledged_at IS NULL";
    let at = stored_time(at);
    let done = with_pool!(pool, p => {
        sqlx::query(SQL).bind(by).bind(&at).bind(id).execute(p).await?.rows_affected()
    });
    Ok(done == 1)
}

pub async fn alert(pool: &Pool, id: i64) -> sqlx::Result<Option<AlertRow>> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.id = $1");
    with_pool!(pool, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)
}

/// Every unresolved alert (the engine's state at start-up).
pub async fn open_alerts(pool: &Pool) -> sqlx::Result<Vec<AlertRow>> {
    let sql =
        format!("SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.resolved_at IS NULL ORDER BY a.id");
    with_pool!(pool, p => sqlx::query_as(&sql).fetch_all(p).await)
}

/// A page of alerts, newest first.
pub async fn list_alerts(
    pool: &Pool,
    status: Option<AlertStatus>,
    project_id: Option<i64>,
    before: Option<i64>,
    limit: u32,
) -> sqlx::Result<Vec<AlertRow>> {
    let status_clause = match status {
        None => "TRUE",
        Some(AlertStatus::Open) => "a.resolved_at IS NULL AND a.acknowledged_at IS NULL",
        Some(AlertStatus::Acknowledged) => {
            "a.resolved_at IS NULL AND a.acknowledged_at IS NOT NULL"
        }
        Some(AlertStatus::Resolved) => "a.resolved_at IS NOT NULL",
    };
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alerts a
         WHERE {status_clause} AND ($1 IS NULL OR a.project_id = $1) AND ($2 IS NULL OR a.id < $2)
         ORDER BY a.id DESC LIMIT $3"
    );
    with_pool!(pool, p => {
        sqlx::query_as(&sql)
            .bind(project_id)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await
    })
}
