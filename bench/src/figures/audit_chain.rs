//! The audit log's hash chain at 1,000,000 rows (20,000 with `--quick`): how long
//! `picky-fleet audit verify` takes, side by side with a plain read of the same rows in the
//! same order (what any check must at least do), and how long the first start after the
//! upgrade takes to seal that many rows written before the chain existed.
//!
//! The rows are seeded straight into SQLite (as the audit page figure does) and marked as
//! written before the chain; the server seals them when it starts, through the same writer
//! that seals every row.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use futures::StreamExt as _;
use serde_json::json;

use crate::figures::audit_page::{seed, thousands};
use crate::report::{Goal, Row};
use crate::server::{BenchEnv, ServerOptions};
use crate::sizes::Sizes;
use crate::upstream::Upstream;

/// The verify command's goal: seconds, not minutes.
const VERIFY_GOAL_SECS: f64 = 10.0;

pub async fn run(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let rows = sizes.audit_rows_big;
    let upstream = Upstream::start().await?;
    let db = env.new_database("audit-chain").await?;
    let options = ServerOptions::polling_every(30);
    let server = env.start(&db, upstream.base_url(), options).await?;
    let projects = upstream.add_projects(&server, 10).await?;
    server.stop().await?;
    seed(&db.path, &projects, rows).await?;

    // As a database from before the upgrade: no seals yet, every row marked as written before
    // the chain; the first start seals them all.
    let pool = crate::db::open(&db.path, 1).await?;
    sqlx::raw_sql(
        "UPDATE audit_log SET chain_seq = NULL, chain_hash = NULL;
         INSERT INTO audit_chain_legacy (up_to_id) SELECT MAX(id) FROM audit_log;",
    )
    .execute(&pool)
    .await
    .context("making the database one from before the chain")?;
    let started = Instant::now();
    let server = env.start(&db, upstream.base_url(), options).await?;
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
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sealing = started.elapsed();
    server.stop().await?;
    let sealed = crate::db::count(
        &pool,
        "SELECT COUNT(*) FROM audit_log WHERE chain_seq IS NOT NULL",
    )
    .await?;

    // Three of each, alternating; the fastest of each counts (the least disturbed).
    let (mut verify, mut read) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        let at = Instant::now();
        let out = env.admin(&db, &["audit", "verify"], "").await?;
        verify = verify.min(at.elapsed());
        ensure!(
            out.starts_with("Audit log verified:") && out.contains(&thousands_plain(sealed)),
            "`picky-fleet audit verify` printed {out:?}"
        );
        let at = Instant::now();
        let n = plain_read(&pool).await?;
        read = read.min(at.elapsed());
        ensure!(n == sealed, "read {n} rows, expected {sealed}");
    }
    pool.close().await;

    let verify_s = verify.as_secs_f64();
    let ratio = verify_s / read.as_secs_f64();
    Ok(vec![
        Row::new(
            format!(
                "`audit verify` over {} sealed rows",
                thousands(sealed as u64)
            ),
            verify_s,
            format!(
                "{verify_s:.2} s ({ratio:.2}× a plain read of the same rows, {:.2} s)",
                read.as_secs_f64()
            ),
            Goal::at_most(VERIFY_GOAL_SECS, "≤ 10 s"),
        )
        .note(
            "the CLI as a process (start-up included), best of 3, alternating with the bench's \
             own read of the same columns in chain order",
        )
        .details(json!({
            "rows": sealed,
            "verify_s": verify_s,
            "plain_read_s": read.as_secs_f64(),
        })),
        Row::new(
            format!(
                "first start after the upgrade: sealing {} older rows",
                thousands(rows)
            ),
            sealing.as_secs_f64(),
            format!("{:.1} s", sealing.as_secs_f64()),
            Goal::none(),
        )
        .note("from starting the server until no completed row is unsealed"),
    ])
}

/// The CLI prints the count without separators.
fn thousands_plain(n: i64) -> String {
    format!("{n} sealed rows")
}

/// Every sealed row's columns in chain order, as the check reads them, doing nothing else.
async fn plain_read(pool: &sqlx::SqlitePool) -> anyhow::Result<i64> {
    let mut rows = sqlx::query(
        "SELECT id, at, actor, action, project_id, project_name, command, outcome, detail, \
         upstream_latency_ms, request_id, completed_at, chain_seq, chain_hash \
         FROM audit_log WHERE chain_seq IS NOT NULL ORDER BY chain_seq",
    )
    .fetch(pool);
    let mut n = 0;
    while let Some(row) = rows.next().await {
        row.context("reading a row")?;
        n += 1;
    }
    Ok(n)
}
