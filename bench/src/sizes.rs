//! How big each figure's run is: the sizes, or small ones for `--quick`.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Sizes {
    pub quick: bool,
    /// Figure 1: projects polled, stream counts, and poll rounds counted per stream count.
    pub poll_projects: usize,
    pub stream_counts: Vec<usize>,
    pub rounds_per_count: u64,
    /// Figure 2: commands through the dashboard (and as many straight to the simulator).
    pub latency_commands: usize,
    /// Figure 3 and 7: projects on the fleet page; figure 3's measuring time per side.
    pub fleet_projects: usize,
    pub ssr_time: Duration,
    /// Figure 4: audit rows in the big database (the small one has 1,000) and page requests.
    pub audit_rows_big: u64,
    pub audit_requests: usize,
    /// Figure 5: commands at concurrency 50 (one in flight per project).
    pub write_commands: usize,
    /// Figure 7: open event streams.
    pub memory_streams: usize,
    /// History: projects with 90 days of it, page requests per side, poll rounds per side.
    pub history_projects: usize,
    pub history_requests: usize,
    pub history_rounds: u64,
    /// Scale-out: projects on two instances (a tenth of them measured first) and their poll
    /// interval.
    pub scale_out_projects: usize,
    pub scale_out_poll_secs: u64,
}

impl Sizes {
    pub fn full() -> Self {
        Self {
            quick: false,
            poll_projects: 50,
            stream_counts: vec![1, 10, 100],
            rounds_per_count: 5,
            latency_commands: 1_000,
            fleet_projects: 1_000,
            ssr_time: Duration::from_secs(10),
            audit_rows_big: 1_000_000,
            audit_requests: 200,
            write_commands: 2_000,
            memory_streams: 200,
            history_projects: 1_000,
            history_requests: 100,
            history_rounds: 10,
            scale_out_projects: 10_000,
            scale_out_poll_secs: 10,
        }
    }

    pub fn quick() -> Self {
        Self {
            quick: true,
            poll_projects: 50,
            stream_counts: vec![1, 10, 100],
            rounds_per_count: 2,
            latency_commands: 100,
            fleet_projects: 200,
            ssr_time: Duration::from_secs(2),
            audit_rows_big: 20_000,
            audit_requests: 40,
            write_commands: 200,
            memory_streams: 50,
            history_projects: 50,
            history_requests: 20,
            history_rounds: 3,
            scale_out_projects: 500,
            scale_out_poll_secs: 2,
        }
    }
}
