//! 10,000 projects (500 with `--quick`) on two instances sharing one PostgreSQL database,
//! beside the same two instances at a tenth of that: the poll round's time (one instance
//! polls), each instance's memory, and the fleet page as each instance renders it.
//!
//! One cluster grows: the first instance starts, a tenth of the projects are added through
//! it, the second starts, and both are measured; then the rest are added (half through each
//! instance, so each hears of the other's) and both are measured again.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::figures::fleet_ssr::{load, Load};
use crate::figures::history::round_time;
use crate::report::{Goal, Row};
use crate::server::{BenchEnv, Engine, Server, ServerOptions};
use crate::sizes::Sizes;
use crate::upstream::{Project, Upstream};

/// Rounds averaged per size (with projects added 8 at a time the whole figure takes minutes,
/// so it can afford enough rounds to steady the mean).
const ROUNDS: u64 = 8;

/// What one size measured.
struct Measured {
    projects: usize,
    round_secs: f64,
    /// Resident memory (MiB) of the poller and the standby.
    rss_mib: [f64; 2],
    /// Fleet page requests per second on the poller and the standby.
    ssr_rps: [f64; 2],
}

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let big = sizes.scale_out_projects;
    let small = big / 10;
    let upstream = Upstream::start().await?;
    let db = env.new_database_on(Engine::Postgres, "scale-out").await?;
    let options = ServerOptions {
        poll_interval_secs: sizes.scale_out_poll_secs,
        history: true,
    };
    let first = env.start(&db, upstream.base_url(), options).await?;
    let mut projects = upstream.add_projects(&first, small).await?;
    let second = env.start(&db, upstream.base_url(), options).await?;
    let instances = [first, second];
    let small_measured = measure(env, sizes, &instances, &projects).await?;

    // The rest, through both instances in turn.
    let rest = big - small;
    for (i, server) in instances.iter().enumerate() {
        let share = rest / 2 + if i == 0 { rest % 2 } else { 0 };
        projects.extend(upstream.add_projects(server, share).await?);
    }
    let big_measured = measure(env, sizes, &instances, &projects).await?;
    for server in instances {
        server.stop().await?;
    }
    Ok(rows(&small_measured, &big_measured))
}

/// Waits until the poller has polled every project, then measures.
async fn measure(
    env: &BenchEnv,
    sizes: &Sizes,
    instances: &[Server; 2],
    projects: &[Project],
) -> anyhow::Result<Measured> {
    let poller = poller(instances).await?;
    let standby = 1 - poller;
    let interval = Duration::from_secs(sizes.scale_out_poll_secs);
    // A round that began after the last project was added, then the rounds measured.
    instances[poller]
        .wait_rounds(2, interval * 4 + Duration::from_secs(120))
        .await?;
    let (sum_before, count_before) = round_time(&instances[poller]).await?;
    instances[poller]
        .wait_rounds(
            ROUNDS,
            interval * (ROUNDS as u32 + 2) + Duration::from_secs(120),
        )
        .await?;
    let (sum, count) = round_time(&instances[poller]).await?;
    let round_secs = (sum - sum_before) / (count - count_before).max(1.0);

    // Both list every project as connected (the standby from the poller's notes).
    for server in instances {
        let listed: Value = server.get_json("/api/v1/projects").await?;
        let cards = listed.as_array().map_or(&[][..], Vec::as_slice);
        let connected = cards
            .iter()
            .filter(|c| c["status"]["health"] == "connected")
            .count();
        if cards.len() != projects.len() || connected != projects.len() {
            bail!(
                "{} lists {} projects ({connected} connected), expected {}",
                server.base,
                cards.len(),
                projects.len()
            );
        }
    }
    let order = [poller, standby];
    let mut rss_mib = [0.0; 2];
    for (slot, &i) in order.iter().enumerate() {
        let (rss_kib, _) = instances[i].memory_kib()?;
        rss_mib[slot] = rss_kib as f64 / 1024.0;
    }
    let slices = sizes.ssr_time.as_secs().max(2) as usize;
    let slice = sizes.ssr_time / slices as u32;
    let mut loads = [Load::default(), Load::default()];
    for round in 0..slices {
        for slot in [round % 2, 1 - round % 2] {
            let server = &instances[order[slot]];
            loads[slot].add(load(env, &server.url("/"), Some(&server.key), slice).await?);
        }
    }
    Ok(Measured {
        projects: projects.len(),
        round_secs,
        rss_mib,
        ssr_rps: loads.map(|l| l.rps()),
    })
}

/// Which instance says it polls.
async fn poller(instances: &[Server; 2]) -> anyhow::Result<usize> {
    for _ in 0..100 {
        for (i, server) in instances.iter().enumerate() {
            let health: Value = server
                .http
                .get(server.url("/healthz"))
                .send()
                .await
                .context("GET /healthz")?
                .json()
                .await
                .context("reading /healthz")?;
            if health["role"] == "poller" {
                return Ok(i);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("neither instance says it is the poller")
}

fn rows(small: &Measured, big: &Measured) -> Vec<Row> {
    let (n, m) = (big.projects, small.projects);
    let scale = n as f64 / m as f64;
    let round_ratio = big.round_secs / small.round_secs.max(1e-9);
    let ssr_ratio = small.ssr_rps[1] / big.ssr_rps[1].max(1e-9);
    vec![
        Row::new(
            format!("poll round, {n} ÷ {m} projects, two instances on PostgreSQL"),
            round_ratio,
            format!(
                "{round_ratio:.2}× ({:.2} s ÷ {:.2} s)",
                big.round_secs, small.round_secs
            ),
            Goal::at_most(scale, &format!("≤ {scale:.0}× (linear)")),
        )
        .note(format!(
            "mean of {ROUNDS} rounds on the poller (`picky_fleet_poll_round_seconds`), each \
             check counted in the fleet-wide budget table"
        ))
        .details(json!({
            "projects": [m, n],
            "round_seconds": [small.round_secs, big.round_secs],
        })),
        Row::new(
            format!("server RSS, {n} projects, poller / standby"),
            big.rss_mib[0],
            format!(
                "{:.1} / {:.1} MiB ({:.1} / {:.1} MiB at {m})",
                big.rss_mib[0], big.rss_mib[1], small.rss_mib[0], small.rss_mib[1]
            ),
            Goal::none(),
        )
        .details(json!({"rss_mib": {"small": small.rss_mib, "big": big.rss_mib}})),
        Row::new(
            format!("fleet page SSR on the standby, {n} ÷ {m} projects, time per page"),
            ssr_ratio,
            format!(
                "{ssr_ratio:.2}× ({:.1} ÷ {:.1} req/s; poller {:.1} req/s)",
                big.ssr_rps[1], small.ssr_rps[1], big.ssr_rps[0]
            ),
            Goal::none(),
        )
        .note(
            "`GET /` with the API key, 4 clients, alternating between the instances; the page \
             renders the first cards and counts the rest",
        )
        .details(json!({"ssr_rps": {"small": small.ssr_rps, "big": big.ssr_rps}})),
    ]
}
