//! The one background loop that asks upstream for every project's status. Browsers never
//! cause status calls; they read the board.

use std::{future::Future, time::Duration};

use futures::StreamExt;
use rand::Rng;

use crate::Fleet;

/// Projects checked at once; keeps a large fleet from opening hundreds of connections.
const CONCURRENCY: usize = 8;

/// Polls every project, then sleeps one interval (±10 % jitter so many dashboards, or many
/// restarts, don't hit upstream in lockstep), until `shutdown` completes.
pub async fn run(fleet: Fleet, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = poll_once(&fleet) => {}
        }
        let pause = jittered(fleet.poll_interval());
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!("status poller stopped");
}

/// One round over every project, at most [`CONCURRENCY`] at a time.
pub async fn poll_once(fleet: &Fleet) {
    let ids = fleet.project_ids();
    futures::stream::iter(ids)
        .for_each_concurrent(CONCURRENCY, |id| async move {
            if let Err(wait) = fleet.poll_project(id).await {
                tracing::debug!(
                    project_id = id,
                    wait_secs = wait.as_secs(),
                    "status budget spent; skipped this round"
                );
            }
        })
        .await;
    fleet.poll_round_finished();
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
