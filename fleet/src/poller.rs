//! The one background loop that asks upstream for every project's status. Browsers never
//! cause status calls; they read the board. With several instances on one PostgreSQL, only the
//! one holding the poller lock polls (see `service::cluster`); the others wait their turn.

use std::{future::Future, time::Duration};

use futures::StreamExt;
use rand::Rng;

use crate::Fleet;

/// Projects checked at once, at least: enough for a small fleet, and few connections.
const MIN_WIDTH: usize = 8;

/// Projects checked at once, at most (reaching it with rounds longer than the interval is
/// logged, see [`next_width`]).
const MAX_WIDTH: usize = 64;

/// How often a standby instance looks whether it has become the poller.
const STANDBY_CHECK: Duration = Duration::from_millis(250);

/// Polls every project, then sleeps one interval (±10 % jitter so many dashboards, or many
/// restarts, don't hit upstream in lockstep), until `shutdown` completes.
pub async fn run(fleet: Fleet, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut width = MIN_WIDTH;
    loop {
        if !fleet.is_poller() {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(STANDBY_CHECK) => continue,
            }
        }
        let go_again = tokio::select! {
            _ = &mut shutdown => break,
            (go_again, took) = poll_round(&fleet, width) => {
                width = next_width(width, took, fleet.poll_interval());
                go_again
            }
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
/// upstream is down: see [`crate::backoff`]), [`MIN_WIDTH`] at a time. Returns true when
/// upstream answered again after an outage, so the caller polls everything at once.
pub async fn poll_once(fleet: &Fleet) -> bool {
    poll_round(fleet, MIN_WIDTH).await.0
}

/// A round `width` projects at a time; also how long the checks took.
async fn poll_round(fleet: &Fleet, width: usize) -> (bool, Duration) {
    let started = std::time::Instant::now();
    let due = fleet.projects_due();
    let results: Vec<_> = futures::stream::iter(due)
        .map(|id| fleet.scheduled_check(id))
        .buffer_unordered(width)
        .filter_map(std::future::ready)
        .collect()
        .await;
    let took = started.elapsed();
    metrics::histogram!("picky_fleet_poll_round_seconds").record(took.as_secs_f64());
    metrics::gauge!("picky_fleet_poll_width").set(width as f64);
    let go_again = fleet.poll_round_finished(&results);
    // After the backoff has seen the round (the alerts ask whether upstream is in an outage).
    // Writes alerts and their outbox rows only; sending is the dispatcher's.
    fleet.evaluate_alerts(&results).await;
    (go_again, took)
}

/// How many projects the next round checks at once. A round's time is the fleet times
/// upstream's answer time divided by the width: 10,000 projects answering in 300 ms take over
/// six minutes 8 at a time, and each device would be seen every seven minutes, not every one.
/// The width grows so a round takes at most half the interval (a device is then seen at least
/// every one and a half intervals, the round plus the pause), and shrinks again when rounds
/// are quick, between [`MIN_WIDTH`] and [`MAX_WIDTH`].
fn next_width(width: usize, took: Duration, interval: Duration) -> usize {
    let target = interval.as_secs_f64() / 2.0;
    if target <= 0.0 {
        return width;
    }
    let wanted = (width as f64 * took.as_secs_f64() / target).ceil();
    let next = (wanted as usize).clamp(MIN_WIDTH, MAX_WIDTH);
    if next == MAX_WIDTH && width < MAX_WIDTH && took > interval {
        tracing::warn!(
            round_secs = took.as_secs_f64(),
            interval_secs = interval.as_secs_f64(),
            "a poll round takes longer than the poll interval even {MAX_WIDTH} projects at a time; \
             lengthen PICKY_FLEET_POLL_INTERVAL_SECS or split the fleet"
        );
    }
    next
}

fn jittered(interval: Duration) -> Duration {
    let factor = rand::thread_rng().gen_range(0.9..=1.1);
    interval.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_width_grows_until_a_round_fits_half_the_interval_and_shrinks_back() {
        let minute = Duration::from_secs(60);
        let secs = Duration::from_secs;
        // 10,000 projects at 300 ms, 8 at a time: 375 s. Half a minute wants 100: capped.
        assert_eq!(next_width(8, secs(375), minute), MAX_WIDTH);
        // 64 at a time that fleet takes 47 s: still the most.
        assert_eq!(next_width(64, secs(47), minute), MAX_WIDTH);
        // 1,000 projects at 300 ms, 8 at a time: 37.5 s; 10 at a time fit the 30 s.
        assert_eq!(next_width(8, Duration::from_millis(37_500), minute), 10);
        // Upstream got quick again: back down, never below the least.
        assert_eq!(next_width(20, secs(3), minute), 8);
        assert_eq!(next_width(8, Duration::ZERO, minute), MIN_WIDTH);
        // A round that fits keeps its width.
        assert_eq!(next_width(16, secs(30), minute), 16);
        assert_eq!(next_width(16, secs(30), Duration::ZERO), 16);
    }

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
