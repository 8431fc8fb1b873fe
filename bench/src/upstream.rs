//! The simulated upstream, in this process, and projects that exist both there and in the
//! dashboard.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context};
use futures::StreamExt as _;
use pickyassist::DeviceState;
use pickyassist_sim::{NewProject, SimConfig, SimHandle, Simulator};
use rand::Rng;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::server::Server;

/// Projects added through the API at once.
const ADDS_AT_ONCE: usize = 8;

/// A project known to both the simulator and one dashboard.
#[derive(Debug, Clone)]
pub struct Project {
    /// The dashboard's id.
    pub id: i64,
    pub name: String,
    /// The simulator's id, for its per-project counters.
    pub upstream_id: u64,
    pub token: String,
}

pub struct Upstream {
    pub sim: Simulator,
    handle: SimHandle,
    next_id: AtomicU64,
}

impl Upstream {
    /// A simulator on a free port, empty, without upstream's 3-a-minute limit (the figures
    /// poll every second or two).
    pub async fn start() -> anyhow::Result<Self> {
        let sim = Simulator::new(SimConfig {
            status_limit_per_minute: None,
            demo_fleet: false,
            ..SimConfig::default()
        });
        let handle = pickyassist_sim::spawn(sim.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .context("starting the simulator")?;
        Ok(Self {
            sim,
            handle,
            next_id: AtomicU64::new(100_000),
        })
    }

    /// The API base the dashboard is pointed at.
    pub fn base_url(&self) -> &Url {
        &self.handle.base_url
    }

    /// The `device-action` endpoint, for commands sent straight to the simulator.
    pub fn action_url(&self) -> String {
        format!(
            "{}/device-action",
            self.handle.base_url.as_str().trim_end_matches('/')
        )
    }

    /// `device-status` requests that reached the simulator for these projects.
    pub fn status_calls(&self, projects: &[Project]) -> u64 {
        let stats = self.sim.stats();
        projects
            .iter()
            .filter_map(|p| stats.projects.get(&p.upstream_id))
            .map(|c| c.device_status)
            .sum()
    }

    /// Adds `count` `CONNECTED` projects to the simulator and, through `POST /api/v1/projects`
    /// as the admin, to the dashboard.
    pub async fn add_projects(
        &self,
        server: &Server,
        count: usize,
    ) -> anyhow::Result<Vec<Project>> {
        let mut wanted = Vec::with_capacity(count);
        for _ in 0..count {
            let upstream_id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let mut rng = rand::thread_rng();
            // 34 hex characters, like upstream's tokens.
            let token = format!("{:032x}{:02x}", rng.gen::<u128>(), rng.gen::<u8>());
            let name = format!("Bench project {upstream_id}");
            self.sim
                .insert_project(NewProject {
                    token: token.clone(),
                    project_id: upstream_id,
                    name: Some(name.clone()),
                    state: DeviceState::Connected,
                    connected_number: None,
                    queue: rng.gen_range(0..60),
                    queue_grows: true,
                })
                .with_context(|| format!("adding project {upstream_id} to the simulator"))?;
            wanted.push((upstream_id, name, token));
        }

        #[derive(Deserialize)]
        struct Created {
            id: i64,
        }
        // A few at a time, as a provisioning script would: each add waits for its audit row's
        // commit, so one at a time spends most of a 10,000-project run waiting on fsync.
        let added = futures::stream::iter(wanted.into_iter().map(
            |(upstream_id, name, token)| async move {
                let response = server
                    .http
                    .post(server.url("/api/v1/projects"))
                    .bearer_auth(&server.key)
                    .json(&json!({"name": name, "token": token}))
                    .send()
                    .await
                    .context("POST /api/v1/projects")?;
                let created: Created = crate::http::json(response, "POST /api/v1/projects").await?;
                anyhow::Ok(Project {
                    id: created.id,
                    name,
                    upstream_id,
                    token,
                })
            },
        ))
        .buffer_unordered(ADDS_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
        let mut projects = added.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
        if projects.len() != count {
            bail!("added {} of {count} projects", projects.len());
        }
        projects.sort_by_key(|p| p.id);
        Ok(projects)
    }
}
