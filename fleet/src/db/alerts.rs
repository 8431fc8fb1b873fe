//! The alert tables (see migrations/sqlite/20261203000001_alerts.sql and its PostgreSQL twin):
//! channels, rules, alerts, the delivery outbox and its attempts, mutes, maintenance windows,
//! intended disconnects.
//!
//! One file per table group would split it (channels, alerts and outbox, quiet); kept together
//! for now as every query here serves `service::alerts`.

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

// ---- deliveries (the outbox) ----------------------------------------------------------------

/// Queues a delivery, its first attempt due now (for the dispatcher).
pub async fn insert_delivery(
    conn: Conn<'_>,
    alert_id: i64,
    channel_id: i64,
    event: AlertEvent,
    message: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    insert_delivery_due(conn, alert_id, channel_id, event, message, now, now).await
}

/// Queues a delivery its inserter sends itself (a test alert): claimed from the start, due
/// for a dispatcher only if the inserter has not recorded its attempt by `lease_until`.
pub async fn insert_claimed_delivery(
    conn: Conn<'_>,
    alert_id: i64,
    channel_id: i64,
    message: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> sqlx::Result<Claim> {
    let delivery_id = insert_delivery_due(
        conn,
        alert_id,
        channel_id,
        AlertEvent::Test,
        message,
        now,
        lease_until,
    )
    .await?;
    Ok(Claim {
        delivery_id,
        attempts: 0,
        lease_until: stored_time(lease_until),
    })
}

async fn insert_delivery_due(
    conn: Conn<'_>,
    alert_id: i64,
    channel_id: i64,
    event: AlertEvent,
    message: &str,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO alert_deliveries
             (alert_id, channel_id, event, message, status, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING id";
    let (now, due) = (stored_time(now), stored_time(due));
    with_conn!(conn, c => {
        sqlx::query_scalar(SQL)
            .bind(alert_id)
            .bind(channel_id)
            .bind(event.as_str())
            .bind(message)
            .bind(&now)
            .bind(&due)
            .fetch_one(&mut *c)
            .await
    })
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub channel_id: i64,
    pub message: String,
    pub attempts: i64,
    pub created_at: String,
    pub next_attempt_at: String,
}

/// Pending deliveries whose time has come, oldest first.
pub async fn due_deliveries(
    pool: &Pool,
    now: DateTime<Utc>,
    limit: u32,
) -> sqlx::Result<Vec<DueDelivery>> {
    const SQL: &str = "SELECT id, channel_id, message, attempts, created_at, next_attempt_at
         FROM alert_deliveries
         WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2";
    let now = stored_time(now);
    with_pool!(pool, p => {
        sqlx::query_as(SQL).bind(&now).bind(i64::from(limit)).fetch_all(p).await
    })
}

/// Claims the next attempt of a due delivery: a compare-and-swap on the row as `seen` read it
/// (still pending, the same attempts, the same due time) that moves its due time on to
/// `lease_until`, so no other sender takes it meanwhile; a sender that dies mid-attempt leaves
/// it due again then. `None`: another sender claimed it first, and this one sends nothing.
pub async fn claim_delivery(
    pool: &Pool,
    seen: &DueDelivery,
    lease_until: DateTime<Utc>,
) -> sqlx::Result<Option<Claim>> {
    const SQL: &str = "UPDATE alert_deliveries SET next_attempt_at = $1
         WHERE id = $2 AND status = 'pending' AND attempts = $3 AND next_attempt_at = $4";
    let lease_until = stored_time(lease_until);
    let claimed = with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(&lease_until)
            .bind(seen.id)
            .bind(seen.attempts)
            .bind(&seen.next_attempt_at)
            .execute(p)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok((claimed == 1).then_some(Claim {
        delivery_id: seen.id,
        attempts: seen.attempts,
        lease_until,
    }))
}

/// An attempt claimed by this sender: the row as the claim left it.
#[derive(Debug)]
pub struct Claim {
    pub delivery_id: i64,
    attempts: i64,
    lease_until: String,
}

/// Writes an attempt and the delivery's new state: sent, failed for good, or pending until
/// `retry_at`. Only while the claim still holds (the row as the claim left it): a sender whose
/// lease lapsed and was taken over records nothing over the new sender's result, and gets false.
pub async fn record_attempt(
    pool: &Pool,
    claim: &Claim,
    result: &DeliveryResult,
    at: DateTime<Utc>,
    retry_at: Option<DateTime<Utc>>,
) -> sqlx::Result<bool> {
    const ATTEMPT: &str =
        "INSERT INTO alert_attempts (delivery_id, at, ok, http_status, latency_ms, error)
         VALUES ($1, $2, $3, $4, $5, $6)";
    const DELIVERY: &str = "UPDATE alert_deliveries SET attempts = attempts + 1, status = $1,
             next_attempt_at = COALESCE($2, next_attempt_at), finished_at = $3
         WHERE id = $4 AND status = 'pending' AND attempts = $5 AND next_attempt_at = $6";
    let status = match (result.ok, retry_at) {
        (true, _) => DeliveryStatus::Sent,
        (false, Some(_)) => DeliveryStatus::Pending,
        (false, None) => DeliveryStatus::Failed,
    };
    let at_text = stored_time(at);
    let retry_at = retry_at.map(stored_time);
    let finished_at = (status != DeliveryStatus::Pending).then(|| at_text.clone());
    let delivery_id = claim.delivery_id;
    let mut tx = pool.begin().await?;
    let held = with_conn!(tx.conn(), c => {
        let updated = sqlx::query(DELIVERY)
            .bind(status.as_str())
            .bind(&retry_at)
            .bind(&finished_at)
            .bind(delivery_id)
            .bind(claim.attempts)
            .bind(&claim.lease_until)
            .execute(&mut *c)
            .await?
            .rows_affected();
        if updated == 1 {
            sqlx::query(ATTEMPT)
                .bind(delivery_id)
                .bind(&at_text)
                .bind(result.ok)
                .bind(result.status.map(i64::from))
                .bind(result.latency_ms)
                .bind(result.error.as_deref())
                .execute(&mut *c)
                .await?;
        }
        updated == 1
    });
    tx.commit().await?;
    Ok(held)
}

pub async fn fail_delivery(pool: &Pool, delivery_id: i64, at: DateTime<Utc>) -> sqlx::Result<()> {
    const SQL: &str =
        "UPDATE alert_deliveries SET status = 'failed', finished_at = $1 WHERE id = $2";
    let at = stored_time(at);
    with_pool!(pool, p => {
        sqlx::query(SQL).bind(&at).bind(delivery_id).execute(p).await.map(drop)
    })?;
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
pub async fn deliveries_of(pool: &Pool, alert_id: i64) -> sqlx::Result<Vec<AlertDelivery>> {
    const DELIVERIES: &str =
        "SELECT d.id, d.channel_id, c.name AS channel_name, d.event, d.status, d.next_attempt_at
         FROM alert_deliveries d LEFT JOIN alert_channels c ON c.id = d.channel_id
         WHERE d.alert_id = $1 ORDER BY d.id";
    const ATTEMPTS: &str = "SELECT t.delivery_id, t.at, t.ok, t.http_status, t.latency_ms, t.error
         FROM alert_attempts t JOIN alert_deliveries d ON d.id = t.delivery_id
         WHERE d.alert_id = $1 ORDER BY t.id";
    let (rows, attempts): (Vec<DeliveryRow>, Vec<AttemptRow>) = with_pool!(pool, p => {
        let rows: Vec<DeliveryRow> =
            sqlx::query_as(DELIVERIES).bind(alert_id).fetch_all(p).await?;
        let attempts: Vec<AttemptRow> = sqlx::query_as(ATTEMPTS).bind(alert_id).fetch_all(p).await?;
        (rows, attempts)
    });
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

pub async fn delivery_counts(pool: &Pool) -> sqlx::Result<DeliveryCounts> {
    // COUNT of a CASE: a BIGINT in both engines (a SUM of a comparison is not: PostgreSQL
    // cannot sum booleans).
    const SQL: &str = "SELECT COUNT(CASE WHEN status = 'pending' THEN 1 END),
                COUNT(CASE WHEN status = 'sent' THEN 1 END),
                COUNT(CASE WHEN status = 'failed' THEN 1 END)
         FROM alert_deliveries";
    let (pending, sent, failed): (i64, i64, i64) =
        with_pool!(pool, p => sqlx::query_as(SQL).fetch_one(p).await)?;
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

pub async fn mutes(pool: &Pool) -> sqlx::Result<Vec<MuteRow>> {
    const SQL: &str = "SELECT project_id, until, muted_by, reason FROM alert_mutes";
    with_pool!(pool, p => sqlx::query_as(SQL).fetch_all(p).await)
}

pub async fn put_mute(pool: &Pool, m: &MuteRow) -> sqlx::Result<()> {
    const SQL: &str =
        "INSERT INTO alert_mutes (project_id, until, muted_by, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id) DO UPDATE SET until = excluded.until,
             muted_by = excluded.muted_by, reason = excluded.reason";
    with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(m.project_id)
            .bind(&m.until)
            .bind(&m.muted_by)
            .bind(&m.reason)
            .execute(p)
            .await
            .map(drop)
    })?;
    Ok(())
}

pub async fn delete_mute(pool: &Pool, project_id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "DELETE FROM alert_mutes WHERE project_id = $1";
    let done = with_pool!(pool, p => {
        sqlx::query(SQL).bind(project_id).execute(p).await?.rows_affected()
    });
    Ok(done == 1)
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

pub async fn windows(pool: &Pool) -> sqlx::Result<Vec<WindowRow>> {
    const SQL: &str = "SELECT id, project_id, kind, starts_at, ends_at, weekday, start_minute,
                duration_minutes, note, created_by, created_at
         FROM maintenance_windows ORDER BY id";
    with_pool!(pool, p => sqlx::query_as(SQL).fetch_all(p).await)
}

pub async fn insert_window(pool: &Pool, w: &WindowRow) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO maintenance_windows (project_id, kind, starts_at, ends_at,
             weekday, start_minute, duration_minutes, note, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";
    with_pool!(pool, p => {
        sqlx::query_scalar(SQL)
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
            .fetch_one(p)
            .await
    })
}

pub async fn delete_window(pool: &Pool, id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "DELETE FROM maintenance_windows WHERE id = $1";
    let done = with_pool!(pool, p => sqlx::query(SQL).bind(id).execute(p).await?.rows_affected());
    Ok(done == 1)
}

pub async fn intended_disconnects(pool: &Pool) -> sqlx::Result<Vec<(i64, String)>> {
    const SQL: &str = "SELECT project_id, by_actor FROM intended_disconnects";
    with_pool!(pool, p => sqlx::query_as(SQL).fetch_all(p).await)
}

pub async fn set_intended_disconnect(pool: &Pool, project_id: i64, by: &str) -> sqlx::Result<()> {
    const SQL: &str = "INSERT INTO intended_disconnects (project_id, by_actor, at)
         VALUES ($1, $2, $3)
         ON CONFLICT (project_id) DO UPDATE SET by_actor = excluded.by_actor, at = excluded.at";
    let now = super::now_text();
    with_pool!(pool, p => {
        sqlx::query(SQL).bind(project_id).bind(by).bind(&now).execute(p).await.map(drop)
    })?;
    Ok(())
}

pub async fn clear_intended_disconnect(pool: &Pool, project_id: i64) -> sqlx::Result<()> {
    const SQL: &str = "DELETE FROM intended_disconnects WHERE project_id = $1";
    with_pool!(pool, p => sqlx::query(SQL).bind(project_id).execute(p).await.map(drop))?;
    Ok(())
}
