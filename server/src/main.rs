//! `picky-fleet`: serves the dashboard, or runs an admin command (`picky-fleet --help`).
//! All the wiring is in `startup` and `cli`; this only picks one.

use std::process::ExitCode;

use clap::Parser;
use server::{
    cli::{Cli, Command},
    config::Settings,
    startup::Application,
    telemetry,
};

/// Rendering a page allocates and frees many small objects from both worker threads; with
/// glibc's allocator that was nearly half the time of a big fleet page. jemalloc renders it
/// about 1.5× faster at nearly the same memory (mimalloc was as fast but used twice the
/// memory); see bench/README.md.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        None | Some(Command::Serve) => match serve().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("picky-fleet: {e:#}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Admin(command)) => server::cli::main(command).await,
    }
}

async fn serve() -> anyhow::Result<()> {
    telemetry::init();
    let settings = Settings::from_env()?;
    let app = Application::build(settings, server::startup::leptos_options()?).await?;
    app.print_banner();
    app.run_until_stopped().await
}
