//! Figure 5: audit rows written per second through the command path ÷ raw sqlx single-row
//! INSERTs into the same table of a copy of the same database, both at concurrency 50.
//!
//! Command path: 50 workers, one per project (the dashboard takes one command per project at a
//! time), send commands through the API; rows/s = completed command rows ÷ time. Raw: 50 tasks
//! insert one completed command row each per statement (autocommit) with the dashboard's
//! pragmas, through one connection — SQLite has one writer, so that is its fastest way to take
//! concurrent writes, and what the dashboard's write path does. The two alternate in rounds,
//! each raw round lasting as long as the command round before it.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use serde_json::{json, Value};
use sqlx::SqlitePool;
use tokio::task::JoinSet;

use crate::report::{Goal, Row};
use crate::server::{BenchEnv, Fleet, Server};
use crate::sizes::Sizes;
use crate::upstream::Project;

pub(crate) const CONCURRENCY: usize = 50;
const COMMAND: &str = "delete-message-queue";

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let Fleet {
        upstream: _upstream,
        db,
        server,
        projects,
    } = env.start_fleet("writes", 30, CONCURRENCY).await?;

    // The raw side writes into a copy of this database, taken before any command.
    let pool = crate::db::open(&db.path, 1).await?;
    let copy = db.path.with_file_name("copy.db");
    sqlx::query("VACUUM INTO ?")
        .bind(copy.display().to_string())
        .execute(&pool)
        .await
        .context("copying the database")?;
    let raw_pool = crate::db::open(&copy, 1).await?;

    // Alternating rounds, so a burst of other work on the machine hits both sides alike.
    let rounds = if sizes.quick { 2 } else { 5 };
    let per_worker = sizes.write_commands.div_ceil(CONCURRENCY * rounds);
    let (mut command_rows, mut command_time) = (0u64, Duration::ZERO);
    let (mut raw_rows, mut raw_time) = (0u64, Duration::ZERO);
    for _ in 0..rounds {
        let last_id = max_id(&pool).await?;
        let started = Instant::now();
        send_commands(&server, &projects, per_worker).await?;
        command_time += started.elapsed();
        let completed = crate::db::count(
            &pool,
            &format!(
                "SELECT COUNT(*) FROM audit_log WHERE id > {last_id} AND action = 'command' \
                 AND outcome <> 'pending'"
            ),
        )
        .await? as u64;
        let sent = (per_worker * CONCURRENCY) as u64;
        ensure!(
            completed == sent,
            "{sent} commands left {completed} completed audit rows"
        );
        command_rows += completed;

        // As long as the commands took: both sides get the same exposure to the machine.
        let (rows, time) = raw_inserts(&raw_pool, &projects, started.elapsed()).await?;
        raw_rows += rows;
        raw_time += time;
    }
    pool.close().await;
    raw_pool.close().await;
    server.stop().await?;
    let sent = command_rows;

    let command_rps = command_rows as f64 / command_time.as_secs_f64();
    let raw_rps = raw_rows as f64 / raw_time.as_secs_f64();
    let ratio = command_rps / raw_rps;
    Ok(vec![Row::new(
        "audit rows/s, command path ÷ raw sqlx INSERTs",
        ratio,
        format!("{ratio:.3} ({command_rps:.0} ÷ {raw_rps:.0} rows/s)"),
        Goal::at_least(0.5, "≥ 0.5"),
    )
    .note(format!(
        "{sent} `{COMMAND}` commands through `POST /api/v1/projects/{{id}}/commands`, \
         {CONCURRENCY} at a time over {CONCURRENCY} projects, took {:.2} s; {raw_rows} \
         single-row INSERTs from {CONCURRENCY} tasks into a copy of the database took {:.2} s \
         ({rounds} alternating rounds, the INSERTs running as long as the commands before them)",
        command_time.as_secs_f64(),
        raw_time.as_secs_f64()
    ))
    .note(
        "a command is the key check, its audit row (written before the upstream call, completed \
         after it) and the call itself; the raw side is one INSERT per row",
    )
    .details(json!({
        "commands": sent,
        "command_seconds": command_time.as_secs_f64(),
        "command_rows_per_sec": command_rps,
        "raw_rows": raw_rows,
        "raw_seconds": raw_time.as_secs_f64(),
        "raw_rows_per_sec": raw_rps,
        "concurrency": CONCURRENCY,
        "rounds": rounds,
    }))])
}

async fn max_id(pool: &SqlitePool) -> anyhow::Result<i64> {
    crate::db::count(pool, "SELECT COALESCE(MAX(id), 0) FROM audit_log").await
}

/// One worker per project, each sending `per_worker` commands one after another.
pub(crate) async fn send_commands(
    server: &Server,
    projects: &[Project],
    per_worker: usize,
) -> anyhow::Result<()> {
    let mut workers = JoinSet::new();
    for project in projects.iter().take(CONCURRENCY) {
        let request = server
            .http
            .post(server.url(&format!("/api/v1/projects/{}/commands", project.id)))
            .bearer_auth(&server.key)
            .json(&json!({"command": COMMAND}));
        workers.spawn(async move {
            for _ in 0..per_worker {
                let request = request.try_clone().context("cloning a request")?;
                let response = request.send().await.context("sending a command")?;
                let answer: Value = crate::http::json(response, "POST …/commands").await?;
                if answer["outcome"] != "success" {
                    bail!("a command did not succeed: {answer}");
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done.context("a command worker")??;
    }
    Ok(())
}

/// [`CONCURRENCY`] tasks inserting completed command rows one by one for `time`; the time
/// counted runs until the last INSERT started in it has finished.
async fn raw_inserts(
    pool: &SqlitePool,
    projects: &[Project],
    time: Duration,
) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let deadline = started + time;
    let mut tasks = JoinSet::new();
    for project in projects.iter().take(CONCURRENCY).cloned() {
        let pool = pool.clone();
        tasks.spawn(async move {
            let mut rows = 0u64;
            while Instant::now() < deadline {
                let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, project_id, project_name, command, \
                     outcome, detail, upstream_latency_ms, request_id, completed_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&now)
                .bind("bench")
                .bind("command")
                .bind(project.id)
                .bind(&project.name)
                .bind(COMMAND)
                .bind("success")
                .bind("Success")
                .bind(1_i64)
                .bind(format!("{:032x}", rand::random::<u128>()))
                .bind(&now)
                .execute(&pool)
                .await
                .context("a raw INSERT")?;
                rows += 1;
            }
            anyhow::Ok(rows)
        });
    }
    let mut rows = 0;
    while let Some(done) = tasks.join_next().await {
        rows += done.context("an insert task")??;
    }
    Ok((rows, started.elapsed()))
}
