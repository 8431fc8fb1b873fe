//! Figure 4: the audit page (50 rows, filtered by one project) with 1,000,000 audit rows
//! (20,000 with `--quick`) ÷ with 1,000 rows. Two servers, each started on its own seeded
//! database, answer alternating requests, so both see the same machine load.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use chrono::{SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::report::{Goal, Row};
use crate::server::{BenchEnv, Server, ServerOptions};
use crate::sizes::Sizes;
use crate::stats::Samples;
use crate::upstream::{Project, Upstream};

const SMALL_ROWS: u64 = 1_000;
/// Few enough that each has more than a page (50 rows) of history in the small database too.
const PROJECTS: usize = 10;
const PAGE: u32 = 50;
const WARM_UP: usize = 10;
/// The page's query (fleet/src/db/audit.rs, `query`) with only the project filter.
const PAGE_QUERY: &str =
    "SELECT id, at, actor, action, project_id, project_name, command, outcome, \
     detail, upstream_latency_ms, request_id, completed_at FROM audit_log WHERE 1 = 1 \
     AND project_id = ? ORDER BY id DESC LIMIT ?";

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let upstream = Upstream::start().await?;
    let (small, small_projects, _) =
        seeded_server(env, &upstream, "audit-small", SMALL_ROWS).await?;
    let (big, big_projects, big_db) =
        seeded_server(env, &upstream, "audit-big", sizes.audit_rows_big).await?;

    let (mut small_ms, mut big_ms) = (Samples::default(), Samples::default());
    for i in 0..WARM_UP + sizes.audit_requests {
        let (s, b) = if i % 2 == 0 {
            let s = page(&small, &small_projects[i % PROJECTS]).await?;
            (s, page(&big, &big_projects[i % PROJECTS]).await?)
        } else {
            let b = page(&big, &big_projects[i % PROJECTS]).await?;
            (page(&small, &small_projects[i % PROJECTS]).await?, b)
        };
        if i >= WARM_UP {
            small_ms.push(s);
            big_ms.push(b);
        }
    }
    small.stop().await?;
    big.stop().await?;

    let plan = query_plan(&big_db, big_projects[0].id).await?;
    let ratio = big_ms.p50() / small_ms.p50();
    let mut row = Row::new(
        format!(
            "audit page ({PAGE} rows, one project), {} ÷ {SMALL_ROWS} rows, p50",
            thousands(sizes.audit_rows_big)
        ),
        ratio,
        format!(
            "{ratio:.2}× ({:.2} ms ÷ {:.2} ms)",
            big_ms.p50(),
            small_ms.p50()
        ),
        Goal::at_most(2.0, "≤ 2×"),
    )
    .note(format!(
        "`GET /audit?project_id=…&limit={PAGE}` {} times on each server, alternating; p99 {:.2} ms \
         ÷ {:.2} ms",
        big_ms.len(),
        big_ms.p99(),
        small_ms.p99()
    ))
    .details(json!({
        "requests": big_ms.len(),
        "big_rows": sizes.audit_rows_big,
        "small_rows": SMALL_ROWS,
        "big_ms": {"p50": big_ms.p50(), "p99": big_ms.p99()},
        "small_ms": {"p50": small_ms.p50(), "p99": small_ms.p99()},
        "query_plan": plan,
    }));
    if row.met == Some(false) {
        row = row.note(format!(
            "EXPLAIN QUERY PLAN of the page's query: {}",
            plan.join("; ")
        ));
    }
    Ok(vec![row])
}

/// A server on a database with [`PROJECTS`] real projects and `rows` audit rows: started once
/// to add the projects, stopped, seeded directly, then started again on the seeded file.
async fn seeded_server(
    env: &BenchEnv,
    upstream: &Upstream,
    name: &str,
    rows: u64,
) -> anyhow::Result<(Server, Vec<Project>, std::path::PathBuf)> {
    let db = env.new_database(name).await?;
    let options = ServerOptions::polling_every(30);
    let server = env.start(&db, upstream.base_url(), options).await?;
    let projects = upstream.add_projects(&server, PROJECTS).await?;
    server.stop().await?;

    let started = Instant::now();
    seed(&db.path, &projects, rows).await?;
    eprintln!(
        "   seeded {} to {} audit rows in {:.1} s",
        db.path.display(),
        thousands(rows),
        started.elapsed().as_secs_f64()
    );
    let server = env.start(&db, upstream.base_url(), options).await?;
    Ok((server, projects, db.path))
}

/// One page, timed; it must list the project's rows.
pub(crate) async fn page(server: &Server, project: &Project) -> anyhow::Result<Duration> {
    let path = format!("/audit?project_id={}&limit={PAGE}", project.id);
    let started = Instant::now();
    let response = server
        .http
        .get(server.url(&path))
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
    // Each row names the project; the filter's drop-down names it once more.
    let shown = body.matches(project.name.as_str()).count();
    if shown < PAGE as usize {
        bail!(
            "GET {path} shows {:?} {shown} times, expected a page of {PAGE} rows",
            project.name
        );
    }
    Ok(elapsed)
}

/// Fills `audit_log` up to `rows` rows with a realistic mix: mostly commands on the projects
/// (most succeed, some fail upstream), sign-ins, a few failed ones. Batched: 500 rows per
/// statement, 100 statements per transaction.
pub(crate) async fn seed(path: &Path, projects: &[Project], rows: u64) -> anyhow::Result<()> {
    let pool = crate::db::open(path, 1).await?;
    let existing = crate::db::count(&pool, "SELECT COUNT(*) FROM audit_log").await? as u64;
    let mut rng = StdRng::seed_from_u64(7);
    let to_add = rows.saturating_sub(existing);
    // A year of history up to now, oldest first, like a real log.
    let span_ms = 365 * 24 * 3600 * 1000_i64;
    let start = Utc::now() - chrono::Duration::milliseconds(span_ms);
    let step_ms = span_ms / to_add.max(1) as i64;
    let mut made = 0u64;
    while made < to_add {
        let mut tx = pool
            .begin()
            .await
            .context("starting a seeding transaction")?;
        for _ in 0..100 {
            let batch = (to_add - made).min(500);
            if batch == 0 {
                break;
            }
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO audit_log (at, actor, action, project_id, project_name, command, \
                 outcome, detail, upstream_latency_ms, request_id, completed_at) ",
            );
            let rows: Vec<Seeded> = (0..batch)
                .map(|k| {
                    let at = start + chrono::Duration::milliseconds((made + k) as i64 * step_ms);
                    Seeded::random(&mut rng, projects, at)
                })
                .collect();
            insert.push_values(rows, |mut b, r| {
                b.push_bind(r.at)
                    .push_bind(r.actor)
                    .push_bind(r.action)
                    .push_bind(r.project_id)
                    .push_bind(r.project_name)
                    .push_bind(r.command)
                    .push_bind(r.outcome)
                    .push_bind(r.detail)
                    .push_bind(r.latency_ms)
                    .push_bind(r.request_id)
                    .push_bind(r.completed_at);
            });
            insert
                .build()
                .execute(&mut *tx)
                .await
                .context("seeding audit rows")?;
            made += batch;
        }
        tx.commit().await.context("committing audit rows")?;
    }
    // The server opens a database whose WAL has been folded in, as after a normal shutdown.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .context("checkpointing")?;
    pool.close().await;
    Ok(())
}

struct Seeded {
    at: String,
    actor: &'static str,
    action: &'static str,
    project_id: Option<i64>,
    project_name: Option<String>,
    command: Option<&'static str>,
    outcome: &'static str,
    detail: Option<&'static str>,
    latency_ms: Option<i64>,
    request_id: String,
    completed_at: Option<String>,
}

impl Seeded {
    fn random(rng: &mut StdRng, projects: &[Project], at: chrono::DateTime<Utc>) -> Self {
        const ACTORS: [&str; 5] = ["alice", "bob", "carol", "nightly-restart", "dave"];
        const COMMANDS: [&str; 5] = [
            "restart",
            "restart-server",
            "delete-message-queue",
            "disconnect",
            "clearlogs",
        ];
        let text = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let actor = ACTORS[rng.gen_range(0..ACTORS.len())];
        let request_id = format!("{:032x}", rng.gen::<u128>());
        let roll = rng.gen_range(0..100);
        if roll < 90 {
            let project = &projects[rng.gen_range(0..projects.len())];
            let latency = rng.gen_range(80..900);
            let (outcome, detail) = match rng.gen_range(0..100) {
                0..=89 => ("success", "Success"),
                90..=93 => (
                    "rejected",
                    "PickyAssist refused the request (code 102): Invalid Token",
                ),
                94..=96 => (
                    "unreachable",
                    "PickyAssist could not be reached: connection refused",
                ),
                97..=98 => ("timed_out", "PickyAssist did not answer within 10s"),
                _ => ("http_status", "PickyAssist answered with HTTP 502"),
            };
            Self {
                at: text(at),
                actor,
                action: "command",
                project_id: Some(project.id),
                project_name: Some(project.name.clone()),
                command: Some(COMMANDS[rng.gen_range(0..COMMANDS.len())]),
                outcome,
                detail: Some(detail),
                latency_ms: Some(latency),
                request_id,
                completed_at: Some(text(at + chrono::Duration::milliseconds(latency))),
            }
        } else {
            let failed = roll >= 97;
            Self {
                at: text(at),
                actor,
                action: if failed { "sign_in_failed" } else { "sign_in" },
                project_id: None,
                project_name: None,
                command: None,
                outcome: if failed { "denied" } else { "success" },
                detail: None,
                latency_ms: None,
                request_id,
                completed_at: Some(text(at)),
            }
        }
    }
}

/// `EXPLAIN QUERY PLAN` of the page's query on the big database.
async fn query_plan(path: &Path, project_id: i64) -> anyhow::Result<Vec<String>> {
    let pool: SqlitePool = crate::db::open(path, 1).await?;
    let plan: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(&format!("EXPLAIN QUERY PLAN {PAGE_QUERY}"))
            .bind(project_id)
            .bind(i64::from(PAGE) + 1)
            .fetch_all(&pool)
            .await
            .context("EXPLAIN QUERY PLAN")?;
    pool.close().await;
    Ok(plan.into_iter().map(|(_, _, _, detail)| detail).collect())
}

/// 1000000 → "1,000,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
