use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use pickyassist::DeviceState;
use serde::Deserialize;

use crate::config::{SimConfig, DEMO_FLEET};
use crate::fault::{Fault, FaultScope, FaultTable, FaultsView};
use crate::project::{Project, ProjectView, Timings};
use crate::stats::{RequestCounts, Stats};

/// The simulated upstream: projects, faults, counters. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Mutex<Inner>>,
    /// Fixed for the simulator's life, so reading the clock needs no lock.
    utc_offset: FixedOffset,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) timings: Timings,
    pub(crate) status_limit: Option<u32>,
    pub(crate) projects: BTreeMap<u64, Project>,
    /// token -> project id.
    pub(crate) tokens: HashMap<String, u64>,
    pub(crate) faults: FaultTable,
    pub(crate) totals: RequestCounts,
}

/// A project to add. JSON for `POST /_sim/projects`:
/// `{"token": "...", "project_id": 1001, "state": "TIMEOUT", "connected_number": "...", "queue": 3}`;
/// everything but `token` and `project_id` is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub token: String,
    pub project_id: u64,
    #[serde(default)]
    pub name: Option<String>,
    /// Defaults to `CONNECTED`. Any other text is reported verbatim, as an unknown state.
    #[serde(default = "connected")]
    pub state: DeviceState,
    /// When `None` for a `CONNECTED` project, a made-up number is used: upstream always
    /// reports one while connected.
    #[serde(default)]
    pub connected_number: Option<String>,
    #[serde(default)]
    pub queue: u64,
    /// Whether the queue grows while connected (default yes).
    #[serde(default = "yes")]
    pub queue_grows: bool,
}

fn connected() -> DeviceState {
    DeviceState::Connected
}

fn yes() -> bool {
    true
}

impl NewProject {
    pub fn new(token: impl Into<String>, project_id: u64, state: DeviceState) -> Self {
        Self {
            token: token.into(),
            project_id,
            name: None,
            state,
            connected_number: None,
            queue: 0,
            queue_grows: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddProjectError {
    #[error("the token is empty")]
    EmptyToken,
    #[error("another project already has this token")]
    DuplicateToken,
    #[error("project {0} already exists")]
    DuplicateProjectId(u64),
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        let sim = Self {
            inner: Arc::new(Mutex::new(Inner {
                timings: Timings {
                    restart_timeout: config.restart_timeout,
                    server_restart_downtime: config.server_restart_downtime,
                    queue_growth_interval: config.queue_growth_interval,
                },
                status_limit: config.status_limit_per_minute,
                projects: BTreeMap::new(),
                tokens: HashMap::new(),
                faults: FaultTable::default(),
                totals: RequestCounts::default(),
            })),
            utc_offset: config.utc_offset,
        };
        if config.demo_fleet {
            for demo in DEMO_FLEET {
                sim.upsert(NewProject {
                    token: demo.token.to_owned(),
                    project_id: demo.project_id,
                    name: Some(demo.name.to_owned()),
                    state: demo.state.clone(),
                    connected_number: demo.connected_number.map(str::to_owned),
                    queue: demo.queue,
                    queue_grows: demo.queue_grows,
                });
            }
        }
        sim
    }

    /// The upstream endpoints (under `/app/api/v2/` and, like newer accounts' host, `/api/v2/`)
    /// and the `/_sim/` control API.
    ///
    /// Serve it with [`crate::spawn`]: a dropped connection (rate limit, `restart-server`,
    /// `connection_drop`) is marked on the response and only [`crate::spawn`]'s server turns the
    /// mark into a TCP close. Served any other way such a request gets HTTP 503 instead.
    pub fn router(&self) -> axum::Router {
        crate::upstream::routes()
            .merge(crate::control::routes())
            .fallback(crate::control::not_found)
            .with_state(self.clone())
    }

    /// Adds a project, replacing any with the same token or project id (handy for tests and
    /// benchmarks). A `CONNECTED` project gets a made-up number.
    pub fn add_project(&self, token: &str, project_id: u64, state: DeviceState) {
        self.upsert(NewProject::new(token, project_id, state));
    }

    /// Adds a project unless its token or project id is taken.
    pub fn insert_project(&self, project: NewProject) -> Result<(), AddProjectError> {
        if project.token.is_empty() {
            return Err(AddProjectError::EmptyToken);
        }
        let mut inner = self.lock();
        if inner.tokens.contains_key(&project.token) {
            return Err(AddProjectError::DuplicateToken);
        }
        if inner.projects.contains_key(&project.project_id) {
            return Err(AddProjectError::DuplicateProjectId(project.project_id));
        }
        insert(&mut inner, project, Instant::now());
        Ok(())
    }

    fn upsert(&self, project: NewProject) {
        let mut inner = self.lock();
        if let Some(old_id) = inner.tokens.remove(&project.token) {
            inner.projects.remove(&old_id);
        }
        if let Some(old) = inner.projects.remove(&project.project_id) {
            inner.tokens.remove(&old.token);
        }
        insert(&mut inner, project, Instant::now());
    }

    /// Arms (`Some`) or clears (`None`) a fault.
    pub fn set_fault(&self, scope: FaultScope, fault: Option<Fault>) {
        self.lock().faults.set(scope, fault);
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub fn faults(&self) -> FaultsView {
        self.lock().faults.view()
    }

    /// The same data as `GET /_sim/stats`.
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        Stats {
            projects: inner.projects.values().map(|p| (p.id, p.counts)).collect(),
            totals: inner.totals,
        }
    }

    pub fn reset_stats(&self) {
        let mut inner = self.lock();
        inner.totals = RequestCounts::default();
        for project in inner.projects.values_mut() {
            project.counts = RequestCounts::default();
        }
    }

    /// Changes the status rate limit at run time; `None` lifts it.
    pub fn set_status_limit(&self, per_minute: Option<u32>) {
        self.lock().status_limit = per_minute;
    }

    pub fn status_limit(&self) -> Option<u32> {
        self.lock().status_limit
    }

    pub fn set_server_restart_downtime(&self, downtime: Duration) {
        self.lock().timings.server_restart_downtime = downtime;
    }

    pub fn server_restart_downtime(&self) -> Duration {
        self.lock().timings.server_restart_downtime
    }

    /// Every project, by project id.
    pub fn projects(&self) -> Vec<ProjectView> {
        let now = Instant::now();
        let mut inner = self.lock();
        let growth = inner.timings.queue_growth_interval;
        inner
            .projects
            .values_mut()
            .map(|p| {
                p.settle(now, growth);
                p.view()
            })
            .collect()
    }

    pub fn project(&self, project_id: u64) -> Option<ProjectView> {
        let now = Instant::now();
        let mut inner = self.lock();
        let growth = inner.timings.queue_growth_interval;
        let project = inner.projects.get_mut(&project_id)?;
        project.settle(now, growth);
        Some(project.view())
    }

    /// Moves a project to `state` (and its queue to `queue`), as its phone would on its own:
    /// a lost connection, an unpairing. False for an unknown project.
    pub fn set_state(&self, project_id: u64, state: DeviceState, queue: Option<u64>) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        let growth = inner.timings.queue_growth_interval;
        let Some(project) = inner.projects.get_mut(&project_id) else {
            return false;
        };
        project.settle(now, growth);
        project.set_state(state, queue, now);
        true
    }

    pub(crate) fn has_project(&self, project_id: u64) -> bool {
        self.lock().projects.contains_key(&project_id)
    }

    /// "Now" in the configured offset, whole seconds like upstream's `time`.
    pub(crate) fn wall_clock(&self) -> DateTime<FixedOffset> {
        Utc::now().with_timezone(&self.utc_offset).trunc_subsecs(0)
    }

    /// The lock is never held across an await, and nothing panics while holding it; if a
    /// panic ever did, the state is still consistent enough for a simulator to carry on.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn insert(inner: &mut Inner, new: NewProject, now: Instant) {
    let number = match (&new.state, new.connected_number) {
        (_, Some(number)) => Some(number),
        (DeviceState::Connected, None) => Some(made_up_number(new.project_id)),
        (_, None) => None,
    };
    let mut project = Project::new(
        new.project_id,
        new.token.clone(),
        new.state,
        number,
        new.queue,
        now,
    );
    project.name = new.name;
    project.queue_grows = new.queue_grows;
    inner.tokens.insert(new.token, new.project_id);
    inner.projects.insert(new.project_id, project);
}

/// A fictional (555-01xx style) number that differs per project.
pub(crate) fn made_up_number(project_id: u64) -> String {
    format!("1555{:07}", project_id % 10_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Simulator {
        Simulator::new(SimConfig {
            demo_fleet: false,
            ..SimConfig::default()
        })
    }

    #[test]
    fn the_demo_fleet_is_loaded_only_when_asked() {
        assert_eq!(
            Simulator::new(SimConfig::default()).projects().len(),
            DEMO_FLEET.len()
        );
        assert!(empty().projects().is_empty());
    }

    #[test]
    fn add_project_replaces_a_project_with_the_same_token_or_id() {
        let sim = empty();
        sim.add_project("aaaaaaaaaaaaaaaaaaaa", 1, DeviceState::Connected);
        sim.add_project("aaaaaaaaaaaaaaaaaaaa", 2, DeviceState::Unpaired);
        sim.add_project("bbbbbbbbbbbbbbbbbbbb", 2, DeviceState::Timeout);
        let projects = sim.projects();
        assert_eq!(projects.len(), 1);
        assert_eq!(
            (projects[0].project_id, &projects[0].state),
            (2, &DeviceState::Timeout)
        );
        let inner = sim.lock();
        assert!(!inner.tokens.contains_key("aaaaaaaaaaaaaaaaaaaa"));
        assert_eq!(inner.tokens.get("bbbbbbbbbbbbbbbbbbbb"), Some(&2));
    }

    #[test]
    fn insert_project_refuses_duplicates_and_empty_tokens() {
        let sim = empty();
        assert_eq!(
            sim.insert_project(NewProject::new(
                "cccccccccccccccccccc",
                5,
                DeviceState::Connected
            )),
            Ok(())
        );
        assert_eq!(
            sim.insert_project(NewProject::new(
                "cccccccccccccccccccc",
                6,
                DeviceState::Connected
            )),
            Err(AddProjectError::DuplicateToken)
        );
        assert_eq!(
            sim.insert_project(NewProject::new(
                "dddddddddddddddddddd",
                5,
                DeviceState::Connected
            )),
            Err(AddProjectError::DuplicateProjectId(5))
        );
        assert_eq!(
            sim.insert_project(NewProject::new("", 7, DeviceState::Connected)),
            Err(AddProjectError::EmptyToken)
        );
    }

    #[test]
    fn connected_projects_get_a_number_and_others_do_not() {
        let sim = empty();
        sim.add_project("eeeeeeeeeeeeeeeeeeee", 1001, DeviceState::Connected);
        sim.add_project("ffffffffffffffffffff", 1002, DeviceState::Unpaired);
        assert_eq!(
            sim.project(1001)
                .and_then(|p| p.connected_number)
                .as_deref(),
            Some("15550001001")
        );
        assert_eq!(sim.project(1002).and_then(|p| p.connected_number), None);
    }

    #[test]
    fn stats_list_every_project_and_reset_to_zero() {
        let sim = Simulator::new(SimConfig::default());
        sim.lock().totals.device_status = 3;
        if let Some(p) = sim.lock().projects.get_mut(&929) {
            p.counts.device_status = 3;
        }
        let stats = sim.stats();
        assert_eq!(stats.projects.len(), DEMO_FLEET.len());
        assert_eq!(stats.projects.get(&929).map(|c| c.device_status), Some(3));
        sim.reset_stats();
        assert_eq!(sim.stats().totals, RequestCounts::default());
        assert!(sim
            .stats()
            .projects
            .values()
            .all(|c| *c == RequestCounts::default()));
    }
}
