//! Figure 1: upstream status calls per project per poll interval with 1, 10 and 100 event
//! streams open. Browsers read the in-memory board, so the number must be 1.00 whatever the
//! number of viewers.
//!
//! Ratio = Δ `device_status` calls the simulator counted for our projects ÷ (projects ×
//! Δ `picky_fleet_poll_rounds_total`), both read right after a round ends (the poller then
//! sleeps a whole interval, so nothing moves while we read).

use std::time::Duration;

use serde_json::json;

use crate::http::EventStreams;
use crate::report::{Goal, Row};
use crate::server::{BenchEnv, Fleet};
use crate::sizes::Sizes;

const POLL_INTERVAL_SECS: u64 = 1;

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let Fleet {
        upstream,
        db: _db,
        server,
        projects,
    } = env
        .start_fleet("poll", POLL_INTERVAL_SECS, sizes.poll_projects)
        .await?;
    // The round running while projects were added saw only some of them; skip it.
    let round_timeout = Duration::from_secs(30);
    server.wait_rounds(2, round_timeout).await?;

    let mut rows = Vec::new();
    for &count in &sizes.stream_counts {
        let streams = EventStreams::open(&server, count).await?;
        let subscribers = server.metric("picky_fleet_sse_clients").await?;
        anyhow::ensure!(
            subscribers >= count as f64,
            "opened {count} event streams but the server counts {subscribers}"
        );

        let rounds_before = server.wait_rounds(1, round_timeout).await?;
        let calls_before = upstream.status_calls(&projects);
        let rounds_after = server
            .wait_rounds(sizes.rounds_per_count, round_timeout)
            .await?;
        let calls_after = upstream.status_calls(&projects);
        anyhow::ensure!(
            streams.open_now() == count,
            "{} of {count} event streams were closed by the server",
            count - streams.open_now()
        );
        let event_bytes = streams.bytes();
        streams.close(&server).await?;

        let calls = calls_after - calls_before;
        let rounds = rounds_after - rounds_before;
        let expected = projects.len() as u64 * rounds;
        let ratio = calls as f64 / expected as f64;
        rows.push(
            Row::new(
                format!(
                    "upstream calls per project per poll, {count} event stream{} open",
                    if count == 1 { "" } else { "s" }
                ),
                ratio,
                format!(
                    "{ratio:.2} ({calls} calls ÷ ({} projects × {rounds} rounds))",
                    projects.len()
                ),
                Goal::exactly(1.0, "1.00"),
            )
            .details(json!({
                "streams": count,
                "projects": projects.len(),
                "rounds": rounds,
                "status_calls": calls,
                "event_bytes_received": event_bytes,
                "poll_interval_secs": POLL_INTERVAL_SECS,
            })),
        );
    }
    if let Some(first) = rows.first_mut() {
        first.notes.push(format!(
            "{} projects polled every {POLL_INTERVAL_SECS} s; streams read events as a browser \
             would; counted over {} rounds per stream count",
            projects.len(),
            sizes.rounds_per_count
        ));
    }
    server.stop().await?;
    Ok(rows)
}
