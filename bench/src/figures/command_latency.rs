//! Figure 2: command latency through the dashboard ÷ the same command sent straight to the
//! simulator. Calls alternate (dashboard, direct, direct, dashboard, ...) one at a time, so both
//! sides see the same machine load; commands go round the projects because the dashboard
//! refuses a second command for a project that has one in flight.

use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::report::{Goal, Row};
use crate::server::{BenchEnv, Fleet, Server};
use crate::sizes::Sizes;
use crate::stats::Samples;
use crate::upstream::Project;

/// Non-destructive: empties the simulated queue, needs no confirmation.
const COMMAND: &str = "delete-message-queue";
const PROJECTS: usize = 50;
const WARM_UP: usize = 50;

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    // The default interval: polling is background, not what this figure measures.
    let Fleet {
        upstream,
        db: _db,
        server,
        projects,
    } = env.start_fleet("latency", 30, PROJECTS).await?;
    let direct_url = upstream.action_url();

    let mut dashboard = Samples::default();
    let mut direct = Samples::default();
    for i in 0..WARM_UP + sizes.latency_commands {
        let project = &projects[i % projects.len()];
        // Alternate which side goes first, so neither always runs on a just-warmed path.
        let (a, b) = if i % 2 == 0 {
            (
                through_dashboard(&server, project).await?,
                straight(env, &direct_url, project).await?,
            )
        } else {
            let b = straight(env, &direct_url, project).await?;
            (through_dashboard(&server, project).await?, b)
        };
        if i >= WARM_UP {
            dashboard.push(a);
            direct.push(b);
        }
    }
    server.stop().await?;

    let p50 = dashboard.p50() / direct.p50();
    let p99 = dashboard.p99() / direct.p99();
    let details = json!({
        "commands": dashboard.len(),
        "dashboard_ms": {"p50": dashboard.p50(), "p99": dashboard.p99()},
        "direct_ms": {"p50": direct.p50(), "p99": direct.p99()},
    });
    Ok(vec![
        Row::new(
            "command latency, dashboard ÷ straight to the simulator, p50",
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
            "the dashboard adds {:.2} ms at p50 (key check, audit row before and after, the \
             upstream call); the simulator answers in-process in {:.2} ms, where PickyAssist takes \
             hundreds, so the ratio mostly measures that fixed cost",
            dashboard.p50() - direct.p50(),
            direct.p50()
        ))
        .details(details.clone()),
        Row::new(
            "command latency, dashboard ÷ straight to the simulator, p99",
            p99,
            format!(
                "{p99:.2}× ({:.2} ms ÷ {:.2} ms)",
                dashboard.p99(),
                direct.p99()
            ),
            Goal::none(),
        )
        .details(details),
    ])
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
