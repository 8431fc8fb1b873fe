//! Figure 2: command latency through the dashboard ÷ the same command sent straight to the
//! simulator. Calls alternate (dashboard, direct, direct, dashboard, ...) one at a time, so both
//! sides see the same machine load; commands go round the projects because the dashboard
//! refuses a second command for a project that has one in flight.

use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use pickyassist_sim::{Fault, FaultScope};

use crate::report::{Goal, Row};
use crate::server::{BenchEnv, Fleet, Server};
use crate::sizes::Sizes;
use crate::stats::Samples;
use crate::upstream::Project;

/// Non-destructive: empties the simulated queue, needs no confirmation.
const COMMAND: &str = "delete-message-queue";
const PROJECTS: usize = 50;
const WARM_UP: usize = 50;
/// Upstream on loopback (the dashboard's fixed cost), then as far away as a fast internet
/// round trip (the cost as a user sees it).
const UPSTREAM_LATENCIES_MS: [u64; 2] = [0, 20];

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    // The default interval: polling is background, not what this figure measures.
    let Fleet {
        upstream,
        db: _db,
        server,
        projects,
    } = env.start_fleet("latency", 30, PROJECTS).await?;
    let direct_url = upstream.action_url();

    let mut rows = Vec::new();
    for latency_ms in UPSTREAM_LATENCIES_MS {
        // Both sides wait the same: the simulator adds it to every answer.
        let fault = (latency_ms > 0).then_some(Fault::Latency { ms: latency_ms });
        upstream.sim.set_fault(FaultScope::Global, fault);
        let (dashboard, direct) =
            alternate(env, &server, &projects, &direct_url, sizes.latency_commands).await?;
        rows.extend(latency_rows(latency_ms, &dashboard, &direct));
    }
    upstream.sim.clear_faults();
    server.stop().await?;
    Ok(rows)
}

/// `commands` through the dashboard and as many straight to the simulator, alternating.
async fn alternate(
    env: &BenchEnv,
    server: &Server,
    projects: &[Project],
    direct_url: &str,
    commands: usize,
) -> anyhow::Result<(Samples, Samples)> {
    let mut dashboard = Samples::default();
    let mut direct = Samples::default();
    for i in 0..WARM_UP + commands {
        let project = &projects[i % projects.len()];
        // Alternate which side goes first, so neither always runs on a just-warmed path.
        let (a, b) = if i % 2 == 0 {
            (
                through_dashboard(server, project).await?,
                straight(env, direct_url, project).await?,
            )
        } else {
            let b = straight(env, direct_url, project).await?;
            (through_dashboard(server, project).await?, b)
        };
        if i >= WARM_UP {
            dashboard.push(a);
            direct.push(b);
        }
    }
    Ok((dashboard, direct))
}

fn latency_rows(latency_ms: u64, dashboard: &Samples, direct: &Samples) -> Vec<Row> {
    let p50 = dashboard.p50() / direct.p50();
    let p99 = dashboard.p99() / direct.p99();
    let upstream = if latency_ms == 0 {
        "simulator on loopback".to_owned()
    } else {
        format!("simulator answering after {latency_ms} ms")
    };
    let details = json!({
        "upstream_latency_ms": latency_ms,
        "commands": dashboard.len(),
        "dashboard_ms": {"p50": dashboard.p50(), "p99": dashboard.p99()},
        "direct_ms": {"p50": direct.p50(), "p99": direct.p99()},
    });
    let mut p50_row = Row::new(
        format!("command latency, dashboard ÷ straight to the simulator, p50, {upstream}"),
        p50,
        format!(
            "{p50:.2}× ({:.2} ms ÷ {:.2} ms)",
            dashboard.p50(),
            direct.p50()
        ),
        Goal::at_most(1.3, "≤ 1.3×"),
    )
    .note(format!(
        "{} `{COMMAND}` commands one at a time over {PROJECTS} projects, each followed or \
         preceded by the same command straight to the simulator (same client, keep-alive)",
        dashboard.len()
    ))
    .note(format!(
        "the dashboard adds {:.2} ms at p50: a second HTTP round trip (client → dashboard → \
         simulator), the key check, the audit row committed before the call and completed after it",
        dashboard.p50() - direct.p50()
    ));
    if latency_ms == 0 {
        p50_row = p50_row.note(
            "on loopback the simulator answers in about 0.1 ms, so the dashboard's own hop alone \
             makes the ratio about 2×: this row measures the fixed cost, the next the cost as a \
             user sees it",
        );
    } else {
        p50_row = p50_row.note(format!(
            "{latency_ms} ms is a fast internet round trip; PickyAssist, reached over the \
             internet, takes longer, which makes the ratio smaller still"
        ));
    }
    vec![
        p50_row.details(details.clone()),
        Row::new(
            format!("command latency, dashboard ÷ straight to the simulator, p99, {upstream}"),
            p99,
            format!(
                "{p99:.2}× ({:.2} ms ÷ {:.2} ms)",
                dashboard.p99(),
                direct.p99()
            ),
            Goal::none(),
        )
        .details(details),
    ]
}

async fn through_dashboard(
    server: &Server,
    project: &Project,
) -> anyhow::Result<std::time::Duration> {
    let path = format!("/api/v1/projects/{}/commands", project.id);
    let started = Instant::now();
    let answer: Value = server
        .post_json(&path, &json!({"command": COMMAND}))
        .await?;
    let elapsed = started.elapsed();
    if answer["outcome"] != "success" {
        bail!("POST {path} did not succeed: {answer}");
    }
    Ok(elapsed)
}

async fn straight(
    env: &BenchEnv,
    url: &str,
    project: &Project,
) -> anyhow::Result<std::time::Duration> {
    let started = Instant::now();
    let response = env
        .http
        .post(url)
        .json(&json!({"token": project.token, "command": COMMAND, "application": 10}))
        .send()
        .await
        .context("POST device-action to the simulator")?;
    let answer: Value = crate::http::json(response, "POST device-action").await?;
    let elapsed = started.elapsed();
    if answer["status"] != 100 {
        bail!("the simulator refused the command: {answer}");
    }
    Ok(elapsed)
}
