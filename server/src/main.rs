//! `server`: runs the dashboard. All the wiring is in `startup`; this only reads settings.

use fleet::config::Settings;
use server::{startup::Application, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let settings = Settings::from_env()?;
    let app = Application::build(settings, server::startup::leptos_options()?).await?;
    app.print_banner();
    app.run_until_stopped().await
}
