//! `fleet-bench`: starts the release `picky-fleet` against an in-process PickyAssist simulator
//! and reports each figure of the performance issue as a ratio of two things measured side by
//! side in the same run, since absolute times on shared 2-core machines move from run to run.
//!
//! ```text
//! cargo leptos build --release --split --project picky-fleet
//! cargo run --release -p bench -- [--quick] [--server target/release/picky-fleet] [--site target/site]
//! ```
//!
//! `--quick` runs every figure with small sizes, so the harness cannot rot; it exits 0 even
//! when a goal is missed, and non-zero only when something fails. The full run exits non-zero
//! when any goal is missed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;

mod db;
mod figures;
mod http;
mod report;
mod server;
mod sizes;
mod stats;
mod upstream;
mod wasm;

use report::{Report, Row};
use sizes::Sizes;

/// Benchmarks picky-fleet against the simulator and writes bench/results/.
#[derive(Debug, Parser)]
#[command(name = "fleet-bench")]
struct Args {
    /// Small sizes, a few seconds per figure: checks that the harness works, not the goals
    #[arg(long)]
    quick: bool,
    /// The release server binary (built by `cargo leptos build --release --split --project picky-fleet`)
    #[arg(long)]
    server: Option<PathBuf>,
    /// The site directory with pkg/picky-fleet.{js,wasm} (built by the same command)
    #[arg(long)]
    site: Option<PathBuf>,
    /// Where latest.md / latest.json (quick.md / quick.json with --quick) are written
    #[arg(long)]
    results: Option<PathBuf>,
    /// Run one figure only (nothing is written to the results directory)
    #[arg(long, value_enum)]
    only: Option<Only>,
    /// A PostgreSQL server (`postgres://user@host:port/db`) for the SQLite ÷ PostgreSQL and
    /// two-instance figures, which are skipped without one (`./x bench` starts a throwaway one)
    /// (or PICKY_FLEET_BENCH_POSTGRES)
    #[arg(long)]
    postgres: Option<url::Url>,
    /// Only print what a wasm module's bytes are (sections, code by crate) and exit
    #[arg(long, value_name = "WASM")]
    explain_wasm: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Only {
    UpstreamCalls,
    CommandLatency,
    FleetSsr,
    AuditPage,
    AuditWrites,
    AuditChain,
    History,
    WasmSize,
    Memory,
    Engines,
    ScaleOut,
}

/// The workspace root: this crate's parent directory, so the defaults work from any directory.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("fleet-bench: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("fleet-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.explain_wasm {
        figures::wasm_size::explain(path)?;
        return Ok(ExitCode::SUCCESS);
    }
    let root = workspace_root();
    let binary = args
        .server
        .unwrap_or_else(|| root.join("target/release/picky-fleet"));
    let site = args.site.unwrap_or_else(|| root.join("target/site"));
    let results = args.results.unwrap_or_else(|| root.join("bench/results"));
    server::check_build(&binary, &site)?;

    let sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let postgres = match (
        args.postgres.clone(),
        std::env::var("PICKY_FLEET_BENCH_POSTGRES"),
    ) {
        (Some(url), _) => Some(url),
        (None, Ok(text)) if !text.is_empty() => Some(
            text.parse()
                .context("PICKY_FLEET_BENCH_POSTGRES is not a URL")?,
        ),
        _ => None,
    };
    let env = server::BenchEnv::new(binary, site, root.clone(), postgres)?;
    let started = Instant::now();
    let mut report = Report::new(args.quick, command_line, &root);

    // Each figure starts its own server(s) on fresh databases, so one cannot skew another.
    let (e, z) = (&env, &sizes);
    let wanted = |figure: Only| args.only.is_none_or(|only| only == figure);
    let rows = &mut report.rows;
    if wanted(Only::UpstreamCalls) {
        let figure = figures::upstream_calls::run(e, z);
        rows.extend(step("upstream calls per poll", figure).await?);
    }
    if wanted(Only::CommandLatency) {
        let figure = figures::command_latency::run(e, z);
        rows.extend(step("command latency", figure).await?);
    }
    // Figures 3 and 7 share the server with the big fleet; memory is read first, before the
    // page load has grown the heap, and listed last, as the issue does.
    let mut memory = Vec::new();
    if wanted(Only::FleetSsr) || wanted(Only::Memory) {
        eprintln!("== starting a server with {} projects", z.fleet_projects);
        let big = figures::big_fleet::BigFleet::start(e, z).await?;
        if wanted(Only::Memory) {
            memory = step("server memory", figures::memory::run(&big, z)).await?;
        }
        if wanted(Only::FleetSsr) {
            let figure = figures::fleet_ssr::run(e, &big, z);
            rows.extend(step("fleet page SSR", figure).await?);
        }
        big.stop().await?;
    }
    if wanted(Only::AuditPage) {
        rows.extend(step("audit page", figures::audit_page::run(e, z)).await?);
    }
    if wanted(Only::AuditWrites) {
        rows.extend(step("audit rows/s", figures::audit_writes::run(e, z)).await?);
    }
    if wanted(Only::History) {
        rows.extend(step("status history", figures::history::run(e, z)).await?);
    }
    if wanted(Only::AuditChain) {
        rows.extend(step("audit chain", figures::audit_chain::run(e, z)).await?);
    }
    let on_postgres = wanted(Only::Engines) || wanted(Only::ScaleOut);
    if on_postgres && env.postgres.is_none() {
        eprintln!("== SQLite ÷ PostgreSQL and two instances: skipped (no --postgres URL)");
    } else {
        if wanted(Only::Engines) {
            rows.extend(step("SQLite ÷ PostgreSQL", figures::engines::run(e, z)).await?);
        }
        if wanted(Only::ScaleOut) {
            let figure = figures::scale_out::run(e, z);
            rows.extend(step("two instances on PostgreSQL", figure).await?);
        }
    }
    if wanted(Only::WasmSize) {
        rows.extend(step("wasm + JS size", figures::wasm_size::run(e, z)).await?);
    }
    rows.extend(memory);
    report.seconds = started.elapsed().as_secs_f64();

    let markdown = report.markdown()?;
    println!("{markdown}");
    // A single figure is a look, not a result to keep.
    if args.only.is_none() {
        let stem = if args.quick { "quick" } else { "latest" };
        report.write(&results, stem, &markdown)?;
        eprintln!("wrote {}/{stem}.md and {stem}.json", results.display());
    }

    let missed: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.met == Some(false))
        .collect();
    if missed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else if args.quick {
        eprintln!(
            "{} goal(s) missed; ignored in --quick mode (small sizes)",
            missed.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for row in missed {
            eprintln!(
                "goal missed: {}: {} (goal {})",
                row.figure, row.measured, row.goal
            );
        }
        Ok(ExitCode::from(2))
    }
}

/// Runs one figure, with progress on stderr (stdout gets only the final table).
async fn step(
    name: &str,
    figure: impl std::future::Future<Output = anyhow::Result<Vec<Row>>>,
) -> anyhow::Result<Vec<Row>> {
    eprintln!("== {name}");
    let at = Instant::now();
    let rows = figure.await.with_context(|| format!("figure {name:?}"))?;
    for row in &rows {
        eprintln!("   {}: {} (goal {})", row.figure, row.measured, row.goal);
    }
    eprintln!("   ({:.1} s)", at.elapsed().as_secs_f64());
    Ok(rows)
}
