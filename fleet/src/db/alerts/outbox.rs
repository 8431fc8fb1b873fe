//! The delivery outbox: one row per message and channel, claimed before each attempt (a
//! compare-and-swap, so two senders never send the same one), and every attempt kept.

use super::*;

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
