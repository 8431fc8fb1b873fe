//! The one background loop that asks upstream for every project's status. Browsers never
//! cause status calls; they read the board. With several instances on one PostgreSQL, only the
//! one holding the poller lock polls (see `service::cluster`); the others wait their turn.

use std::{future::Future, time::Duration};

use futures::StreamExt;
use rand::Rng;

use crate::Fleet;

/// Projects checked at once; keeps a large fleet from opening hundreds of connections.
const CONCURRENCY: usize = 8;

/// How often a standby instance looks whether it has become the poller.
const STANDBY_CHECK: Duration = Duration::from_millis(250);

/// Polls every project, then sleeps one interval (±10 % jitter so many dashboards, or many
/// restarts, don't hit upstream in lockstep), until `shutdown` completes.
pub async fn run(fleet: Fleet, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        if !fleet.is_poller() {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(STANDBY_CHECK) => continue,
            }
        }
        let go_again = tokio::select! {
            _ = &mut shutdown => break,
            go_again = poll_once(&fleet) => go_again,
        };
        if go_again {
            continue; // upstream just came back: show every project's state now
        }
        let pause = jittered(fleet.poll_interval());
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!("status poller stopped");
}

/// One round over the projects that are due (all of them, unless some are backing off or
/// upstream is down: see [`crate::backoff`]), at most [`CONCURRENCY`] at a time. Returns true
/// when upstream answered again after an outage, so the caller polls everything at once.
pub async fn poll_once(fleet: &Fleet) -> bool {
    let started = std::time::Instant::now();
    let due = fleet.projects_due();
    let results: Vec<_> = futures::stream::iter(due)
        .map(|id| fleet.scheduled_check(id))
        .buffer_unordered(CONCURRENCY)
        .filter_map(std::future::ready)
        .collect()
        .await;
    metrics::histogram!("picky_fleet_poll_round_seconds").record(started.elapsed().as_secs_f64());
    let go_again = fleet.poll_round_finished(&results);
    // After the backoff has seen the round (the alerts ask whether upstream is in an outage).
    // Writes alerts and their outbox rows only; sending is the dispatcher's.
    fleet.evaluate_alerts(&results).await;
    go_again
}

fn jittered(interval: Duration) -> Duration {
    let factor = rand::thread_rng().gen_range(0.9..=1.1);
    interval.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(30));
            assert!(
                d >= Duration::from_secs(27) && d <= Duration::from_secs(33),
                "{d:?}"
            );
        }
    }
}
