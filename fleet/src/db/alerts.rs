//! The alert tables (see migrations/20261203000001_alerts.sql): channels, rules, alerts, the
//! delivery outbox and its attempts, mutes, maintenance windows, intended disconnects.
//!
//! One file per table group would split it (channels, alerts and outbox, quiet); kept together
//! for now as every query here serves `service::alerts`.

use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqlitePool};

use crate::{
    crypto::SealedToken,
    model::{
        stored_time, AlertDelivery, AlertEvent, AlertKind, AlertStatus, AlertView, DeliveryAttempt,
        DeliveryCounts, DeliveryResult, DeliveryStatus,
    },
};

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

pub async fn insert_channel(pool: &SqlitePool, c: ChannelFields<'_>) -> sqlx::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO alert_channels
             (name, kind, settings, target, secret_nonce, secret_ciphertext, enabled, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(c.name)
    .bind(c.kind)
    .bind(c.settings)
    .bind(c.target)
    .bind(&c.secret.nonce)
    .bind(&c.secret.ciphertext)
    .bind(c.enabled)
    .bind(super::now_text())
    .fetch_one(pool)
    .await?;
    Ok(id)
}

pub async fn update_channel(
    pool: &SqlitePool,
    id: i64,
    c: ChannelFields<'_>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE alert_channels SET name = ?, kind = ?, settings = ?, target = ?,
             secret_nonce = ?, secret_ciphertext = ?, enabled = ? WHERE id = ?",
    )
    .bind(c.name)
    .bind(c.kind)
    .bind(c.settings)
    .bind(c.target)
    .bind(&c.secret.nonce)
    .bind(&c.secret.ciphertext)
    .bind(c.enabled)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn channels(pool: &SqlitePool) -> sqlx::Result<Vec<ChannelRow>> {
    sqlx::query_as(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM alert_channels ORDER BY name COLLATE NOCASE"
    ))
    .fetch_all(pool)
    .await
}

pub async fn channel(pool: &SqlitePool, id: i64) -> sqlx::Result<Option<ChannelRow>> {
    sqlx::query_as(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM alert_channels WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Removes a channel; its pending deliveries fail (there is nobody left to send them to).
pub async fn delete_channel(pool: &SqlitePool, id: i64) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE alert_deliveries SET status = 'failed', finished_at = ?
         WHERE channel_id = ? AND status = 'pending'",
    )
    .bind(super::now_text())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query("DELETE FROM alert_channels WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

// ---- rules ----------------------------------------------------------------------------------

/// Every stored rule: (project id, 0 for the default; the rule's JSON).
pub async fn rules(pool: &SqlitePool) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("SELECT project_id, rule FROM alert_rules ORDER BY project_id")
        .fetch_all(pool)
        .await
}

pub async fn put_rule(pool: &SqlitePool, project_id: i64, rule: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO alert_rules (project_id, rule, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (project_id) DO UPDATE SET rule = excluded.rule,
             updated_at = excluded.updated_at",
    )
    .bind(project_id)
    .bind(rule)
    .bind(super::now_text())
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn delete_rule(pool: &SqlitePool, project_id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM alert_rules WHERE project_id = ?")
        .bind(project_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
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

pub async fn insert_alert(conn: &mut SqliteConnection, a: NewAlert<'_>) -> sqlx::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO alerts (kind, project_id, project_name, state, since, opened_at,
             next_repeat_at, storm_id, silenced, resolved_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(a.kind.as_str())
    .bind(a.project_id)
    .bind(a.project_name)
    .bind(a.state)
    .bind(stored_time(a.since))
    .bind(stored_time(a.opened_at))
    .bind(a.next_repeat_at.map(stored_time))
    .bind(a.storm_id)
    .bind(a.silenced)
    .bind(a.resolved_at.map(stored_time))
    .fetch_one(conn)
    .await?;
    Ok(id)
}

pub async fn set_repeats(
    conn: &mut SqliteConnection,
    id: i64,
    repeats: u32,
    next_repeat_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE alerts SET repeats = ?, next_repeat_at = ? WHERE id = ?")
        .bind(i64::from(repeats))
        .bind(next_repeat_at.map(stored_time))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn unsilence(
    conn: &mut SqliteConnection,
    id: i64,
    next_repeat_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE alerts SET silenced = NULL, next_repeat_at = ? WHERE id = ?")
        .bind(next_repeat_at.map(stored_time))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_storm_state(
    conn: &mut SqliteConnection,
    id: i64,
    state: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE alerts SET state = ? WHERE id = ?")
        .bind(state)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn resolve(conn: &mut SqliteConnection, id: i64, at: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE alerts SET resolved_at = ?, next_repeat_at = NULL
         WHERE id = ? AND resolved_at IS NULL",
    )
    .bind(stored_time(at))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Resolves a project's open alerts of `kind` (auto-heal's call for a person, once the device
/// is back); returns how many.
pub async fn resolve_kind(
    pool: &sqlx::SqlitePool,
    project_id: i64,
    kind: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE alerts SET resolved_at = ?, next_repeat_at = NULL
         WHERE project_id = ? AND kind = ? AND resolved_at IS NULL",
    )
    .bind(stored_time(at))
    .bind(project_id)
    .bind(kind)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Acknowledges an alert that is open and not yet acknowledged; false otherwise.
pub async fn acknowledge(
    pool: &SqlitePool,
    id: i64,
    by: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ?, next_repeat_at = NULL
         WHERE id = ? AND resolved_at IS NULL AND acknowledged_at IS NULL",
    )
    .bind(by)
    .bind(stored_time(at))
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn alert(pool: &SqlitePool, id: i64) -> sqlx::Result<Option<AlertRow>> {
    sqlx::query_as(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.id = ?"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Every unresolved alert (the engine's state at start-up).
pub async fn open_alerts(pool: &SqlitePool) -> sqlx::Result<Vec<AlertRow>> {
    sqlx::query_as(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.resolved_at IS NULL ORDER BY a.id"
    ))
    .fetch_all(pool)
    .await
}

/// A page of alerts, newest first.
pub async fn list_alerts(
    pool: &SqlitePool,
    status: Option<AlertStatus>,
    project_id: Option<i64>,
    before: Option<i64>,
    limit: u32,
) -> sqlx::Result<Vec<AlertRow>> {
    let status_clause = match status {
        None => "1",
        Some(AlertStatus::Open) => "a.resolved_at IS NULL AND a.acknowledged_at IS NULL",
        Some(AlertStatus::Acknowledged) => {
            "a.resolved_at IS NULL AND a.acknowledged_at IS NOT NULL"
        }
        Some(AlertStatus::Resolved) => "a.resolved_at IS NOT NULL",
    };
    sqlx::query_as(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts a
         WHERE {status_clause} AND (?1 IS NULL OR a.project_id = ?1) AND (?2 IS NULL OR a.id < ?2)
         ORDER BY a.id DESC LIMIT ?3"
    ))
    .bind(project_id)
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
}

// ---- deliveries (the outbox) ----------------------------------------------------------------

pub async fn insert_delivery(
    conn: &mut SqliteConnection,
    alert_id: i64,
    channel_id: i64,
    event: AlertEvent,
    message: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO alert_deliveries
             (alert_id, channel_id, event, message, status, created_at, next_attempt_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?) RETURNING id",
    )
    .bind(alert_id)
    .bind(channel_id)
    .bind(event.as_str())
    .bind(message)
    .bind(stored_time(now))
    .bind(stored_time(now))
    .fetch_one(conn)
    .await?;
    Ok(id)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub channel_id: i64,
    pub message: String,
    pub attempts: i64,
    pub created_at: String,
}

/// Pending deliveries whose time has come, oldest first.
pub async fn due_deliveries(
    pool: &SqlitePool,
    now: DateTime<Utc>,
    limit: u32,
) -> sqlx::Result<Vec<DueDelivery>> {
    sqlx::query_as(
        "SELECT id, channel_id, message, attempts, created_at FROM alert_deliveries
         WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
    )
    .bind(stored_time(now))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
}

/// Writes an attempt and the delivery's new state: sent, failed for good, or pending until
/// `retry_at`.
pub async fn record_attempt(
    pool: &SqlitePool,
    delivery_id: i64,
    result: &DeliveryResult,
    at: DateTime<Utc>,
    retry_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO alert_attempts (delivery_id, at, ok, http_status, latency_ms, error)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(delivery_id)
    .bind(stored_time(at))
    .bind(result.ok)
    .bind(result.status.map(i64::from))
    .bind(result.latency_ms)
    .bind(result.error.as_deref())
    .execute(&mut *tx)
    .await?;
    let status = match (result.ok, retry_at) {
        (true, _) => DeliveryStatus::Sent,
        (false, Some(_)) => DeliveryStatus::Pending,
        (false, None) => DeliveryStatus::Failed,
    };
    sqlx::query(
        "UPDATE alert_deliveries SET attempts = attempts + 1, status = ?,
             next_attempt_at = coalesce(?, next_attempt_at), finished_at = ?
         WHERE id = ?",
    )
    .bind(status.as_str())
    .bind(retry_at.map(stored_time))
    .bind((status != DeliveryStatus::Pending).then(|| stored_time(at)))
    .bind(delivery_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub async fn fail_delivery(
    pool: &SqlitePool,
    delivery_id: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE alert_deliveries SET status = 'failed', finished_at = ? WHERE id = ?")
        .bind(stored_time(at))
        .bind(delivery_id)
        .execute(pool)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    channel_id: i64,
    channel_name: Option<String>,
    event: String,
    status: String,
    next_attempt_at: String,
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    delivery_id: i64,
    at: String,
    ok: bool,
    http_status: Option<i64>,
    latency_ms: i64,
    error: Option<String>,
}

/// An alert's deliveries, each with its attempts.
pub async fn deliveries_of(pool: &SqlitePool, alert_id: i64) -> sqlx::Result<Vec<AlertDelivery>> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT d.id, d.channel_id, c.name AS channel_name, d.event, d.status, d.next_attempt_at
         FROM alert_deliveries d LEFT JOIN alert_channels c ON c.id = d.channel_id
         WHERE d.alert_id = ? ORDER BY d.id",
    )
    .bind(alert_id)
    .fetch_all(pool)
    .await?;
    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "SELECT t.delivery_id, t.at, t.ok, t.http_status, t.latency_ms, t.error
         FROM alert_attempts t JOIN alert_deliveries d ON d.id = t.delivery_id
         WHERE d.alert_id = ? ORDER BY t.id",
    )
    .bind(alert_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            let status = DeliveryStatus::parse(&d.status).unwrap_or(DeliveryStatus::Failed);
            AlertDelivery {
                id: d.id,
                channel_id: d.channel_id,
                channel_name: d.channel_name,
                event: AlertEvent::parse(&d.event).unwrap_or(AlertEvent::Down),
                status,
                attempts: attempts
                    .iter()
                    .filter(|a| a.delivery_id == d.id)
                    .map(|a| DeliveryAttempt {
                        at: a.at.clone(),
                        ok: a.ok,
                        status: a.http_status.and_then(|s| u16::try_from(s).ok()),
                        latency_ms: a.latency_ms,
                        error: a.error.clone(),
                    })
                    .collect(),
                next_attempt_at: (status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            }
        })
        .collect())
}

pub async fn delivery_counts(pool: &SqlitePool) -> sqlx::Result<DeliveryCounts> {
    let (pending, sent, failed): (i64, i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(status = 'pending'), 0), coalesce(sum(status = 'sent'), 0),
                coalesce(sum(status = 'failed'), 0)
         FROM alert_deliveries",
    )
    .fetch_one(pool)
    .await?;
    Ok(DeliveryCounts {
        pending: pending.max(0) as u64,
        sent: sent.max(0) as u64,
        failed: failed.max(0) as u64,
    })
}

// ---- mutes, maintenance windows, intended disconnects ---------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MuteRow {
    pub project_id: i64,
    pub until: String,
    pub muted_by: String,
    pub reason: String,
}

pub async fn mutes(pool: &SqlitePool) -> sqlx::Result<Vec<MuteRow>> {
    sqlx::query_as("SELECT project_id, until, muted_by, reason FROM alert_mutes")
        .fetch_all(pool)
        .await
}

pub async fn put_mute(pool: &SqlitePool, m: &MuteRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO alert_mutes (project_id, until, muted_by, reason) VALUES (?, ?, ?, ?)
         ON CONFLICT (project_id) DO UPDATE SET until = excluded.until,
             muted_by = excluded.muted_by, reason = excluded.reason",
    )
    .bind(m.project_id)
    .bind(&m.until)
    .bind(&m.muted_by)
    .bind(&m.reason)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn delete_mute(pool: &SqlitePool, project_id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM alert_mutes WHERE project_id = ?")
        .bind(project_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WindowRow {
    pub id: i64,
    pub project_id: Option<i64>,
    pub kind: String,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub weekday: Option<i64>,
    pub start_minute: Option<i64>,
    pub duration_minutes: Option<i64>,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
}

pub async fn windows(pool: &SqlitePool) -> sqlx::Result<Vec<WindowRow>> {
    sqlx::query_as(
        "SELECT id, project_id, kind, starts_at, ends_at, weekday, start_minute,
                duration_minutes, note, created_by, created_at
         FROM maintenance_windows ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

pub async fn insert_window(pool: &SqlitePool, w: &WindowRow) -> sqlx::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO maintenance_windows (project_id, kind, starts_at, ends_at, weekday,
             start_minute, duration_minutes, note, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(w.project_id)
    .bind(&w.kind)
    .bind(&w.starts_at)
    .bind(&w.ends_at)
    .bind(w.weekday)
    .bind(w.start_minute)
    .bind(w.duration_minutes)
    .bind(&w.note)
    .bind(&w.created_by)
    .bind(&w.created_at)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

pub async fn delete_window(pool: &SqlitePool, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM maintenance_windows WHERE id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn intended_disconnects(pool: &SqlitePool) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("SELECT project_id, by_actor FROM intended_disconnects")
        .fetch_all(pool)
        .await
}

pub async fn set_intended_disconnect(
    pool: &SqlitePool,
    project_id: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO intended_disconnects (project_id, by_actor, at) VALUES (?, ?, ?)
         ON CONFLICT (project_id) DO UPDATE SET by_actor = excluded.by_actor, at = excluded.at",
    )
    .bind(project_id)
    .bind(by)
    .bind(super::now_text())
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn clear_intended_disconnect(pool: &SqlitePool, project_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM intended_disconnects WHERE project_id = ?")
        .bind(project_id)
        .execute(pool)
        .await?;
    Ok(())
}
