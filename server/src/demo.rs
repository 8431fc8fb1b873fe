//! The default `run`: the built-in PickyAssist simulator and its demo fleet.

use std::net::SocketAddr;

use anyhow::Context;
use fleet::{model::ProjectName, Fleet};
use pickyassist::ApiToken;
use pickyassist_sim::{SimConfig, SimHandle, Simulator, DEMO_FLEET};

/// Starts the simulator on `addr`, or on any free port if that one is taken.
pub(crate) async fn start_simulator(addr: SocketAddr) -> anyhow::Result<SimHandle> {
    let sim = Simulator::new(SimConfig::default());
    match pickyassist_sim::spawn(sim.clone(), addr).await {
        Ok(handle) => Ok(handle),
        Err(e) => {
            tracing::warn!(%addr, error = %e, "simulator port taken; using an ephemeral port");
            let any_port = SocketAddr::new(addr.ip(), 0);
            pickyassist_sim::spawn(sim, any_port)
                .await
                .context("could not start the built-in simulator")
        }
    }
}

/// Adds the simulator's demo projects (a fresh database only).
pub(crate) async fn seed_demo_fleet(fleet: &Fleet) -> anyhow::Result<()> {
    for demo in DEMO_FLEET {
        let name = ProjectName::parse(demo.name).context("demo project name")?;
        let token = ApiToken::parse(demo.token).context("demo project token")?;
        fleet
            .add_project(&fleet::auth::Actor::cli(), name, token)
            .await
            .map_err(|e| anyhow::anyhow!("seeding demo project {}: {e}", demo.name))?;
    }
    tracing::info!(projects = DEMO_FLEET.len(), "added the demo fleet");
    Ok(())
}
