//! Status history at scale: 1,000 projects (50 with `--quick`) with 90 days of it, as a
//! dashboard polling every 30 s keeps it (minute roll-ups for 48 h, hourly for 90 days, daily,
//! and a few state changes a day), generated in bulk day by day, every project each day (the
//! order the server itself writes in, so the file is as full of gaps as a real one).
//!
//! * the database file's size;
//! * the project page (24 hours of minutes, and the 90-day range) ÷ the fleet page, p50,
//!   requests alternating on one server;
//! * a poll round of every project with history on ÷ off: two servers polling every second
//!   side by side, each round's time from `picky_fleet_poll_round_seconds`.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use serde_json::json;

use crate::figures::audit_page::thousands;
use crate::report::{Goal, Row};
use crate::server::{BenchEnv, Server, ServerOptions};
use crate::sizes::Sizes;
use crate::stats::Samples;
use crate::upstream::Project;

const DAYS: i64 = 90;
const WARM_UP: usize = 5;

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let mut rows = pages_and_size(env, sizes).await?;
    rows.push(poll_rounds(env, sizes).await?);
    Ok(rows)
}

async fn pages_and_size(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let fleet = env
        .start_fleet("history", 30, sizes.history_projects)
        .await?;
    fleet.server.stop().await?;
    let started = Instant::now();
    seed(&fleet.db.path, &fleet.projects).await?;
    let bytes = std::fs::metadata(&fleet.db.path)
        .with_context(|| format!("reading the size of {}", fleet.db.path.display()))?
        .len();
    eprintln!(
        "   seeded 90 days of history for {} projects in {:.1} s",
        fleet.projects.len(),
        started.elapsed().as_secs_f64()
    );
    let server = env
        .start(
            &fleet.db,
            fleet.upstream.base_url(),
            ServerOptions::polling_every(30),
        )
        .await?;
    let project = &fleet.projects[fleet.projects.len() / 2];
    let day_path = format!("/projects/{}", project.id);
    let quarter_path = format!("/projects/{}?range=90d", project.id);
    let (mut fleet_ms, mut day_ms, mut quarter_ms) =
        (Samples::default(), Samples::default(), Samples::default());
    for i in 0..WARM_UP + sizes.history_requests {
        // Rotated, so none always goes first.
        let order = [0, 1, 2].map(|k| (k + i) % 3);
        let mut times = [Duration::ZERO; 3];
        for k in order {
            times[k] = match k {
                0 => page(&server, "/", "Fleet").await?,
                1 => page(&server, &day_path, "Uptime, 90 days").await?,
                _ => page(&server, &quarter_path, "Uptime, 90 days").await?,
            };
        }
        if i >= WARM_UP {
            fleet_ms.push(times[0]);
            day_ms.push(times[1]);
            quarter_ms.push(times[2]);
        }
    }
    server.stop().await?;
    let mb = bytes as f64 / 1_000_000.0;
    let projects = fleet.projects.len();
    let size_goal = 300.0 * projects as f64 / 1_000.0;
    let ratio = |side: &Samples| side.p50() / fleet_ms.p50();
    Ok(vec![
        Row::new(
            format!(
                "database with 90 days of history, {} projects polled every 30 s",
                thousands(projects as u64)
            ),
            mb,
            format!("{mb:.0} MB"),
            Goal::at_most(size_goal, &format!("≤ {size_goal:.0} MB")),
        )
        .note(
            "minute roll-ups for 48 h, hourly for 90 days, daily, 4 state changes a day; \
             written day by day across all projects, as the server writes",
        )
        .details(json!({"bytes": bytes, "projects": projects, "days": DAYS})),
        Row::new(
            "project page (24 h of minutes) ÷ fleet page, p50".to_owned(),
            ratio(&day_ms),
            format!(
                "{:.2}× ({:.2} ms ÷ {:.2} ms)",
                ratio(&day_ms),
                day_ms.p50(),
                fleet_ms.p50()
            ),
            Goal::at_most(1.5, "≤ 1.5×"),
        )
        .note(format!(
            "`GET /projects/{{id}}` and `GET /` ({projects} projects), {} times each, rotating",
            day_ms.len()
        )),
        Row::new(
            "project page (90 days) ÷ fleet page, p50".to_owned(),
            ratio(&quarter_ms),
            format!(
                "{:.2}× ({:.2} ms ÷ {:.2} ms)",
                ratio(&quarter_ms),
                quarter_ms.p50(),
                fleet_ms.p50()
            ),
            Goal::at_most(1.5, "≤ 1.5×"),
        ),
    ])
}

async fn page(server: &Server, path: &str, must_show: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = server
        .http
        .get(server.url(path))
        .bearer_auth(&server.key)
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("reading {path}"))?;
    let elapsed = started.elapsed();
    ensure!(status.is_success(), "GET {path} answered {status}");
    ensure!(
        body.contains(must_show),
        "GET {path} does not show {must_show:?}"
    );
    Ok(elapsed)
}

/// 90 days up to now, day by day; each day, every project's hours, its day and (for the last
/// two days) its minutes, plus four state changes. The numbers vary with the time so that
/// nothing compresses better than real data would.
async fn seed(path: &std::path::Path, projects: &[Project]) -> anyhow::Result<()> {
    let pool = crate::db::open(path, 1).await?;
    let now = chrono::Utc::now().timestamp();
    let today = now - now.rem_euclid(86_400);
    for day in (0..DAYS).rev() {
        let start = today - day * 86_400;
        let mut tx = pool.begin().await.context("a seeding transaction")?;
        for project in projects {
            let id = project.id;
            for (resolution, step, polls) in [(3600_i64, 3600_i64, 120_i64), (86_400, 86_400, 2880)]
            {
                rollups(&mut tx, id, resolution, start, start + 86_400, step, polls).await?;
            }
            if day < 2 {
                rollups(&mut tx, id, 60, start, start + 86_400, 60, 2).await?;
            }
            sqlx::query(
                "WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < 3)
                 INSERT INTO status_changes (project_id, at, from_health, to_health, message, queue)
                 SELECT ?1, strftime('%Y-%m-%dT%H:%M:%fZ', ?2 + n * 21600 + (?1 * 37) % 3600, 'unixepoch'),
                        CASE n % 2 WHEN 0 THEN 'timeout' ELSE 'connected' END,
                        CASE n % 2 WHEN 0 THEN 'connected' ELSE 'timeout' END,
                        NULL, (?1 + n) % 40
                 FROM c",
            )
            .bind(id)
            .bind(start)
            .execute(&mut *tx)
            .await
            .context("seeding state changes")?;
        }
        tx.commit().await.context("committing a day of history")?;
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .context("checkpointing")?;
    pool.close().await;
    Ok(())
}

async fn rollups(
    tx: &mut sqlx::SqliteConnection,
    project_id: i64,
    resolution: i64,
    from: i64,
    to: i64,
    step: i64,
    polls: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "WITH RECURSIVE b(t) AS (SELECT ?3 UNION ALL SELECT t + ?5 FROM b WHERE t + ?5 < ?4)
         INSERT INTO status_rollups (resolution, project_id, bucket, polls, connected, timeout,
             unpaired, unknown_state, faults, queue_n, queue_sum, queue_min, queue_max,
             latency_sum_ms, latency_max_ms)
         SELECT ?2, ?1, t, ?6, ?6 - ((t / ?5 + ?1) % 7 = 0), ((t / ?5 + ?1) % 7 = 0), 0, 0, 0,
                ?6, ?6 * ((t / ?5 + ?1) % 40), (t / ?5 + ?1) % 40, (t / ?5 + ?1) % 40 + 3,
                ?6 * (100 + (t / ?5) % 90), 150 + (t / ?5) % 400
         FROM b",
    )
    .bind(project_id)
    .bind(resolution)
    .bind(from)
    .bind(to)
    .bind(step)
    .bind(polls)
    .execute(&mut *tx)
    .await
    .context("seeding roll-ups")?;
    Ok(())
}

/// Two servers side by side, one with history off, each polling its own projects every
/// second; the mean round time of each over the same rounds.
async fn poll_rounds(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Row> {
    let projects = sizes.history_projects;
    let on = env
        .start_fleet_with("history-on", ServerOptions::polling_every(1), projects)
        .await?;
    let off = env
        .start_fleet_with(
            "history-off",
            ServerOptions {
                poll_interval_secs: 1,
                history: false,
            },
            projects,
        )
        .await?;
    let timeout = Duration::from_secs(120);
    // The rounds running while projects were added saw only some of them.
    on.server.wait_rounds(2, timeout).await?;
    off.server.wait_rounds(2, timeout).await?;
    let before = [
        round_time(&on.server).await?,
        round_time(&off.server).await?,
    ];
    on.server.wait_rounds(sizes.history_rounds, timeout).await?;
    off.server
        .wait_rounds(sizes.history_rounds, timeout)
        .await?;
    let after = [
        round_time(&on.server).await?,
        round_time(&off.server).await?,
    ];
    let mean = |k: usize| (after[k].0 - before[k].0) / (after[k].1 - before[k].1).max(1.0);
    let (with, without) = (mean(0), mean(1));
    let ratio = with / without;
    Ok(Row::new(
        format!(
            "poll round of {} projects, history on ÷ off",
            thousands(projects as u64)
        ),
        ratio,
        format!(
            "{ratio:.2}× ({:.0} ms ÷ {:.0} ms)",
            with * 1000.0,
            without * 1000.0
        ),
        Goal::at_most(1.1, "≤ 1.1×"),
    )
    .note(format!(
        "two servers polling every second side by side; mean of ≥ {} rounds each \
         (`picky_fleet_poll_round_seconds`)",
        sizes.history_rounds
    )))
}

/// The poll round histogram's (sum, count).
pub(crate) async fn round_time(server: &Server) -> anyhow::Result<(f64, f64)> {
    Ok((
        server.metric("picky_fleet_poll_round_seconds_sum").await?,
        server
            .metric("picky_fleet_poll_round_seconds_count")
            .await?,
    ))
}
