//! The dispatcher: sends the outbox's due deliveries, each in a task of its own (a receiver
//! that hangs holds up nobody else), and records every attempt. A failed attempt is retried
//! after [`retry_delay`]; after [`GIVE_UP_AFTER`] the delivery fails for good.
//!
//! Each attempt is first claimed in the database ([`db::alerts::claim_delivery`], a
//! compare-and-swap, as Healthchecks does), so however many instances or dispatch passes see a
//! delivery due, one sends it. Delivery is still at least once: rows are marked sent after the
//! receiver answered, so a sender that dies between the two leaves the delivery due again after
//! [`ATTEMPT_LEASE`]. Every send carries its delivery id (`X-Picky-Fleet-Delivery`) for
//! receivers that must not see one twice.

use std::time::Duration;

use super::super::Fleet;
use crate::{
    alerts::{message::AlertMessage, send},
    db,
    model::{parse_time, DeliveryResult},
};

/// How long a delivery is retried before it fails for good.
pub const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// How often the dispatcher looks for due rows when nothing wakes it.
const TICK: Duration = Duration::from_secs(1);

/// How long a claimed attempt keeps a delivery from being claimed again: far beyond an
/// attempt's own time limit, so only a sender that died lets it lapse.
pub const ATTEMPT_LEASE: chrono::Duration = chrono::Duration::minutes(2);

/// Due deliveries taken per look.
const BATCH: u32 = 64;

/// The pause after the `attempts`-th failed attempt: 30 s, doubling, at most an hour.
pub fn retry_delay(attempts: u32) -> chrono::Duration {
    let doublings = attempts.saturating_sub(1).min(7);
    chrono::Duration::seconds((30_i64 << doublings).min(3600))
}

/// Delivery attempts by channel kind and outcome (Prometheus).
pub(super) fn count_attempt(kind: &str, result: &DeliveryResult) {
    let outcome = if result.ok { "sent" } else { "failed" };
    metrics::counter!("picky_fleet_alert_attempts_total", "channel" => kind.to_owned(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("picky_fleet_alert_attempt_seconds", "channel" => kind.to_owned())
        .record(result.latency_ms as f64 / 1000.0);
}

impl Fleet {
    /// The dispatcher's loop; returns only on a database error (its supervisor restarts it).
    pub async fn run_alert_outbox(&self) -> anyhow::Result<()> {
        loop {
            // One sender among several instances: the poller, which also queues the alerts.
            if self.is_poller() {
                self.dispatch_due_alerts().await?;
            }
            tokio::select! {
                _ = self.inner.alerts.wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
                _ = self.stopping() => return Ok(()),
            }
        }
    }

    /// Starts a send for every due delivery not already on its way. Returns how many started.
    pub async fn dispatch_due_alerts(&self) -> anyhow::Result<usize> {
        let now = self.now();
        let due = db::alerts::due_deliveries(&self.inner.db.reader, now, BATCH).await?;
        let counts = db::alerts::delivery_counts(&self.inner.db.reader).await?;
        metrics::gauge!("picky_fleet_alert_deliveries", "status" => "pending")
            .set(counts.pending as f64);
        metrics::gauge!("picky_fleet_alert_deliveries", "status" => "sent").set(counts.sent as f64);
        metrics::gauge!("picky_fleet_alert_deliveries", "status" => "failed")
            .set(counts.failed as f64);
        let mut started = 0;
        for delivery in due {
            if !self.inner.alerts.sending_insert(delivery.id) {
                continue;
            }
            started += 1;
            let fleet = self.clone();
            tokio::spawn(async move {
                let id = delivery.id;
                if let Err(e) = fleet.send_delivery(delivery).await {
                    tracing::error!(delivery = id, error = %format!("{e:#}"), "an alert delivery could not be recorded");
                }
                fleet.inner.alerts.sending_remove(id);
            });
        }
        Ok(started)
    }

    async fn send_delivery(&self, delivery: db::alerts::DueDelivery) -> anyhow::Result<()> {
        let pool = &self.inner.db.writer;
        // The lease is read on this instance's clock: instances keep theirs in step (NTP), and
        // the lease is minutes against seconds of skew.
        let Some(claim) =
            db::alerts::claim_delivery(pool, &delivery, self.now() + ATTEMPT_LEASE).await?
        else {
            return Ok(()); // another sender has this attempt
        };
        let Some(channel) = db::alerts::channel(&self.inner.db.reader, delivery.channel_id).await?
        else {
            // The channel was removed after the alert was queued.
            db::alerts::fail_delivery(pool, delivery.id, self.now()).await?;
            return Ok(());
        };
        let message: AlertMessage = serde_json::from_str(&delivery.message)?;
        let result = if !channel.enabled {
            DeliveryResult {
                ok: false,
                status: None,
                latency_ms: 0,
                error: Some("the channel is disabled".into()),
            }
        } else {
            match self.target(&channel) {
                Ok(target) => {
                    send::deliver(&self.inner.alerts.http, &target, &message, delivery.id).await
                }
                Err(e) => DeliveryResult {
                    ok: false,
                    status: None,
                    latency_ms: 0,
                    error: Some(format!("the channel could not be read: {e}")),
                },
            }
        };
        count_attempt(&channel.kind, &result);
        let now = self.now();
        let created = parse_time(&delivery.created_at, "created_at").unwrap_or(now);
        let attempts = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
        let retry_at = (!result.ok)
            .then(|| now + retry_delay(attempts))
            .filter(|at| *at < created + GIVE_UP_AFTER);
        if !result.ok {
            tracing::warn!(
                delivery = delivery.id,
                channel = %channel.name,
                attempts,
                error = result.error.as_deref().unwrap_or(""),
                retry = retry_at.is_some(),
                "alert delivery failed"
            );
        }
        if !db::alerts::record_attempt(pool, &claim, &result, now, retry_at).await? {
            tracing::warn!(
                delivery = delivery.id,
                "an alert attempt outlasted its claim; another sender took the delivery over"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_30_s_to_an_hour() {
        let secs: Vec<i64> = (1..=9).map(|n| retry_delay(n).num_seconds()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
