//! The server with the big fleet (1,000 projects; 200 with `--quick`) that figures 3 and 7
//! share: adding that many projects takes a while, and both want the same state.

use std::time::Duration;

use anyhow::ensure;
use serde_json::Value;

use crate::server::{BenchEnv, Engine, Fleet, Server, ServerOptions};
use crate::sizes::Sizes;
use crate::upstream::{Project, Upstream};

/// Short enough that figure 7 sees a round with its streams open within seconds.
const POLL_INTERVAL_SECS: u64 = 5;

pub struct BigFleet {
    pub server: Server,
    pub projects: Vec<Project>,
    /// `GET /api/v1/projects` once every project has a status: what the fleet page shows.
    pub snapshot: Value,
    // Kept alive for as long as the server polls it.
    _upstream: Upstream,
}

impl BigFleet {
    pub async fn start(env: &BenchEnv, sizes: &Sizes) -> anyhow::Result<Self> {
        Self::start_on(env, Engine::Sqlite, "fleet", sizes.fleet_projects).await
    }

    /// `projects` connected projects on a fresh database of `engine`, named `name`.
    pub async fn start_on(
        env: &BenchEnv,
        engine: Engine,
        name: &str,
        projects: usize,
    ) -> anyhow::Result<Self> {
        let options = ServerOptions::polling_every(POLL_INTERVAL_SECS);
        let Fleet {
            upstream,
            db: _db,
            server,
            projects,
        } = env.start_fleet_on(engine, name, options, projects).await?;
        // A round that began after the last project was added: every card has a status.
        server.wait_rounds(2, Duration::from_secs(120)).await?;
        let snapshot: Value = server.get_json("/api/v1/projects").await?;
        let cards = snapshot.as_array().map_or(&[][..], Vec::as_slice);
        let connected = cards
            .iter()
            .filter(|c| c["status"]["health"] == "connected")
            .count();
        ensure!(
            cards.len() == projects.len() && connected == projects.len(),
            "expected {} connected projects, the API lists {} ({connected} connected)",
            projects.len(),
            cards.len()
        );
        Ok(Self {
            server,
            projects,
            snapshot,
            _upstream: upstream,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.stop().await
    }
}
