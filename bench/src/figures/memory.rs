//! Figure 7: the server's resident memory with the big fleet and 200 open event streams (50
//! with `--quick`), read from /proc after a poll round has run with the streams open.

use std::time::Duration;

use serde_json::json;

use crate::figures::big_fleet::BigFleet;
use crate::http::EventStreams;
use crate::report::{Goal, Row};
use crate::sizes::Sizes;

const GOAL_MIB: f64 = 64.0;

pub async fn run(fleet: &BigFleet, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let server = &fleet.server;
    let streams = EventStreams::open(server, sizes.memory_streams).await?;
    server.wait_rounds(1, Duration::from_secs(120)).await?;
    // Let the round's events reach every stream.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_kib, peak_kib) = server.memory_kib()?;
    anyhow::ensure!(
        streams.open_now() == sizes.memory_streams,
        "the server closed {} event streams",
        sizes.memory_streams - streams.open_now()
    );
    let event_bytes = streams.bytes();
    streams.close(server).await?;

    let rss_mib = rss_kib as f64 / 1024.0;
    Ok(vec![Row::new(
        format!(
            "server RSS, {} projects, {} open event streams",
            fleet.projects.len(),
            sizes.memory_streams
        ),
        rss_mib,
        format!("{rss_mib:.1} MiB"),
        Goal::at_most(GOAL_MIB, "≤ 64 MB"),
    )
    .note(format!(
        "VmRSS after a poll round with the streams open (peak VmHWM {:.1} MiB, which includes \
         adding the projects through the API); the streams received {event_bytes} bytes",
        peak_kib as f64 / 1024.0
    ))
    .details(json!({
        "rss_kib": rss_kib,
        "peak_kib": peak_kib,
        "projects": fleet.projects.len(),
        "streams": sizes.memory_streams,
        "event_bytes_received": event_bytes,
    }))])
}
