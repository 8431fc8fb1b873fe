//! SQLite and PostgreSQL side by side: the same three figures on each engine in one run,
//! alternating, each reported as PostgreSQL ÷ SQLite. Runs when a PostgreSQL server is given
//! (`--postgres URL`; `./x bench` starts a throwaway one).
//!
//! * audit rows/s through the command path: 50 projects, 50 commands at a time;
//! * the fleet page rendered on the server, 1,000 projects (200 with `--quick`);
//! * the audit page (50 rows, one project) at 1,000,000 rows (20,000 with `--quick`): the
//!   SQLite database is seeded and sealed by its server, then copied with the product's own
//!   `picky-fleet migrate-to-postgres`, which is timed too.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;

use crate::figures::audit_page::{page, seed, thousands};
use crate::figures::audit_writes::{send_commands, CONCURRENCY};
use crate::figures::big_fleet::BigFleet;
use crate::figures::fleet_ssr::{load, Load};
use crate::report::{Goal, Row};
use crate::server::{BenchEnv, Database, Engine, ServerOptions};
use crate::sizes::Sizes;
use crate::stats::Samples;
use crate::upstream::Upstream;

/// Projects with audit rows in the audit page's database.
const AUDIT_PROJECTS: usize = 10;
const WARM_UP: usize = 10;

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let mut rows = vec![audit_writes(env, sizes).await?];
    rows.push(fleet_page(env, sizes).await?);
    rows.extend(audit_page(env, sizes).await?);
    Ok(rows)
}

async fn audit_writes(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Row> {
    let options = ServerOptions::polling_every(30);
    let sides = [
        env.start_fleet_on(
            Engine::Sqlite,
            "engines-writes-sqlite",
            options,
            CONCURRENCY,
        )
        .await?,
        env.start_fleet_on(Engine::Postgres, "engines-writes-pg", options, CONCURRENCY)
            .await?,
    ];
    let rounds = if sizes.quick { 2 } else { 5 };
    let per_worker = sizes.write_commands.div_ceil(CONCURRENCY * rounds);
    let mut time = [Duration::ZERO; 2];
    for round in 0..rounds {
        // Each side goes first in every other round.
        for side in [round % 2, 1 - round % 2] {
            let started = Instant::now();
            send_commands(&sides[side].server, &sides[side].projects, per_worker).await?;
            time[side] += started.elapsed();
        }
    }
    for side in sides {
        side.server.stop().await?;
    }
    // Each command answered `success` has exactly one completed audit row (the audit rows/s
    // figure counts them to make sure).
    let commands = (per_worker * CONCURRENCY * rounds) as f64;
    let [sqlite, postgres] = time.map(|t| commands / t.as_secs_f64());
    let ratio = postgres / sqlite;
    Ok(Row::new(
        "audit rows/s through the command path, PostgreSQL ÷ SQLite",
        ratio,
        format!("{ratio:.2}× ({postgres:.0} ÷ {sqlite:.0} rows/s)"),
        Goal::none(),
    )
    .note(format!(
        "{commands} `delete-message-queue` commands per engine, {CONCURRENCY} at a time over \
         {CONCURRENCY} projects, in {rounds} alternating rounds"
    ))
    .details(json!({"commands": commands, "sqlite_rows_per_sec": sqlite, "postgres_rows_per_sec": postgres})))
}

async fn fleet_page(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Row> {
    let projects = sizes.fleet_projects;
    let sides = [
        BigFleet::start_on(env, Engine::Sqlite, "engines-fleet-sqlite", projects).await?,
        BigFleet::start_on(env, Engine::Postgres, "engines-fleet-pg", projects).await?,
    ];
    let slices = sizes.ssr_time.as_secs().max(2);
    let slice = sizes.ssr_time / slices as u32;
    let mut loads = [Load::default(), Load::default()];
    for round in 0..slices as usize {
        for side in [round % 2, 1 - round % 2] {
            let server = &sides[side].server;
            loads[side].add(load(env, &server.url("/"), Some(&server.key), slice).await?);
        }
    }
    for side in sides {
        side.stop().await?;
    }
    let [sqlite, postgres] = loads.map(|l| l.rps());
    let ratio = postgres / sqlite;
    Ok(Row::new(
        format!("fleet page SSR, {projects} projects, PostgreSQL ÷ SQLite rps"),
        ratio,
        format!("{ratio:.2}× ({postgres:.1} ÷ {sqlite:.1} req/s)"),
        Goal::none(),
    )
    .note(format!(
        "`GET /` with the API key, 4 clients, {slices} alternating slices of {:.1} s per engine",
        slice.as_secs_f64()
    ))
    .details(json!({"projects": projects, "sqlite_rps": sqlite, "postgres_rps": postgres})))
}

async fn audit_page(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let rows = sizes.audit_rows_big;
    let upstream = Upstream::start().await?;
    let options = ServerOptions::polling_every(30);
    let sqlite_db = env
        .new_database_on(Engine::Sqlite, "engines-audit-sqlite")
        .await?;
    let server = env.start(&sqlite_db, upstream.base_url(), options).await?;
    let projects = upstream.add_projects(&server, AUDIT_PROJECTS).await?;
    server.stop().await?;
    seed(&sqlite_db.path, &projects, rows).await?;
    seal(env, &sqlite_db, &upstream, options).await?;

    let postgres_db = env
        .empty_database(Engine::Postgres, "engines-audit-pg")
        .await?;
    let started = Instant::now();
    env.admin(
        &sqlite_db,
        &[
            "migrate-to-postgres",
            "--from",
            &sqlite_db.url,
            "--to",
            &postgres_db.url,
        ],
        "",
    )
    .await?;
    let copy_time = started.elapsed();
    // The copy has the install's users, keys and token key.
    let postgres_db = Database {
        secret_key: sqlite_db.secret_key.clone(),
        api_key: sqlite_db.api_key.clone(),
        ..postgres_db
    };

    let sides = [
        env.start(&sqlite_db, upstream.base_url(), options).await?,
        env.start(&postgres_db, upstream.base_url(), options)
            .await?,
    ];
    let mut samples = [Samples::default(), Samples::default()];
    for i in 0..WARM_UP + sizes.audit_requests {
        let project = &projects[i % projects.len()];
        for side in [i % 2, 1 - i % 2] {
            let took = page(&sides[side], project).await?;
            if i >= WARM_UP {
                samples[side].push(took);
            }
        }
    }
    for side in sides {
        side.stop().await?;
    }
    let [sqlite, postgres] = [samples[0].p50(), samples[1].p50()];
    let ratio = postgres / sqlite;
    let shown = thousands(rows);
    Ok(vec![
        Row::new(
            format!("audit page (50 rows, one project), {shown} rows, PostgreSQL ÷ SQLite, p50"),
            ratio,
            format!("{ratio:.2}× ({postgres:.2} ms ÷ {sqlite:.2} ms)"),
            Goal::none(),
        )
        .note(format!(
            "`GET /audit?project_id=…&limit=50` {} times per engine, alternating; p99 {:.2} ms \
             ÷ {:.2} ms",
            samples[0].len(),
            samples[1].p99(),
            samples[0].p99()
        ))
        .details(json!({"rows": rows, "sqlite_ms_p50": sqlite, "postgres_ms_p50": postgres})),
        Row::new(
            format!("`migrate-to-postgres` of an install with {shown} audit rows"),
            copy_time.as_secs_f64(),
            format!("{:.1} s", copy_time.as_secs_f64()),
            Goal::none(),
        )
        .note("the CLI as a process: copy, counts on both sides, the audit chain verified"),
    ])
}

/// Marks the seeded rows as written before the audit chain existed and lets the server seal
/// them, as after an upgrade: the copy verifies the chain, so it must be whole.
async fn seal(
    env: &BenchEnv,
    db: &Database,
    upstream: &Upstream,
    options: ServerOptions,
) -> anyhow::Result<()> {
    let pool = crate::db::open(&db.path, 1).await?;
    sqlx::raw_sql(
        "UPDATE audit_log SET chain_seq = NULL, chain_hash = NULL;
         INSERT INTO audit_chain_legacy (up_to_id) SELECT MAX(id) FROM audit_log;",
    )
    .execute(&pool)
    .await
    .context("marking the rows as older than the chain")?;
    let server = env.start(db, upstream.base_url(), options).await?;
    let started = Instant::now();
    loop {
        let unsealed = crate::db::count(
            &pool,
            "SELECT COUNT(*) FROM audit_log WHERE chain_seq IS NULL AND outcome != 'pending'",
        )
        .await?;
        if unsealed == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!(
                "{unsealed} rows still unsealed after 10 minutes{}",
                server.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    pool.close().await;
    server.stop().await
}
