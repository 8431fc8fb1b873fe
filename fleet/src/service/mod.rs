//! [`Fleet`]: the service layer. Pages, server functions, the REST API and the CLI are thin
//! adapters over these methods; checks, audit and upstream calls happen here only.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, RwLock,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use chrono::Utc;
use pickyassist::{ApiToken, Client, ErrorKind};
use sqlx::SqlitePool;
use tokio::sync::broadcast;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

mod accounts;
mod api_keys;
mod audit;
mod commands;
mod projects;

use crate::{
    auth::Actor,
    backoff::{Backoff, Recorded},
    board::StatusBoard,
    budget::StatusBudget,
    crypto::TokenCipher,
    db::{self, Database},
    model::{
        token_hint, FleetOverview, FleetView, Health, ProjectBrief, ProjectCard, RefreshOutcome,
        StatusEvent, StatusView,
    },
};

/// What went wrong, sorted by who can fix it. Adapters map these to status codes in one place.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Bad input: nothing was changed and nothing was sent upstream.
    #[error("{0}")]
    Invalid(String),
    #[error("there is no project with id {0}")]
    ProjectNotFound(i64),
    #[error("{0}")]
    Conflict(String),
    /// No session or API key.
    #[error("sign in first")]
    Unauthenticated,
    /// Signed in, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// Too many sign-in attempts for this username or from this address.
    #[error("too many sign-in attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Wrong username or password; deliberately the same answer for both.
    #[error("wrong username or password")]
    BadCredentials,

    /// The dashboard cannot take this now (it is shutting down); try again shortly.
    #[error("{0}")]
    Unavailable(String),

    /// Our fault (database, key); details go to the log, not to the user.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// A project as the server holds it: the token decrypted, in memory only.
#[derive(Debug, Clone)]
struct Project {
    id: i64,
    name: String,
    token: ApiToken,
    token_last4: String,
    upstream_project_id: Option<String>,
    created_at: String,
}

impl Project {
    /// The project as a card, with its status from the board.
    fn card(&self, statuses: &HashMap<i64, StatusView>) -> ProjectCard {
        ProjectCard {
            id: self.id,
            name: self.name.clone(),
            token_hint: token_hint(&self.token_last4),
            status: statuses
                .get(&self.id)
                .cloned()
                .unwrap_or_else(StatusView::checking),
        }
    }
}

/// More cards than a page can show at once in one request is a script, not the page.
pub const MAX_CARDS_PER_REQUEST: usize = 1000;

#[derive(Clone)]
pub struct Fleet {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    /// Command rows go through here: grouped into one transaction under load.
    audit_writer: db::audit_writer::AuditWriter,
    cipher: TokenCipher,
    client: Client,
    poll_interval: Duration,
    board: StatusBoard,
    budget: Mutex<StatusBudget>,
    projects: RwLock<Vec<Project>>,
    /// Held across a reload's read and replace, so two concurrent changes cannot leave the
    /// older list in place (a project just added would vanish until the next change).
    reload: tokio::sync::Mutex<()>,
    /// One lock per project so concurrent refreshes of one project make one upstream call.
    in_flight: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// Per project, the queue its commands wait in: one command at a time per device.
    command_queues: Mutex<HashMap<i64, Arc<commands::CommandQueue>>>,
    /// Commands on their way: they finish (and complete their audit row) even if the caller
    /// goes away, and shutdown waits for them.
    commands: TaskTracker,
    /// Cancelled when the server begins to shut down: event streams end, commands are refused.
    stopping: CancellationToken,
    /// Projects with a verification check already scheduled, so a burst of commands makes one.
    verifications: Mutex<HashSet<i64>>,
    backoff: Mutex<Backoff>,
    /// Set when upstream answers after an outage; the poller then runs a full round at once.
    outage_over: AtomicBool,
    sign_in_limiter: crate::sign_in_limit::SignInLimiter,
    /// When the poller last finished a round over every project.
    last_poll_round: Mutex<Option<Instant>>,
    /// Pause between a command's answer and the status check that confirms its effect.
    verify_delay: Duration,
}

pub struct FleetDeps {
    pub db: Database,
    pub cipher: TokenCipher,
    pub client: Client,
    pub poll_interval: Duration,
    pub status_checks_per_minute: u32,
    pub verify_delay: Duration,
    pub sign_in_per_user_per_minute: u32,
    pub sign_in_per_client_per_minute: u32,
}

impl Fleet {
    /// Builds the service and loads (and decrypts) every project.
    pub async fn load(deps: FleetDeps) -> anyhow::Result<Self> {
        let fleet = Fleet {
            inner: Arc::new(Inner {
                audit_writer: db::audit_writer::AuditWriter::start(deps.db.writer.clone()),
                db: deps.db,
                cipher: deps.cipher,
                client: deps.client,
                poll_interval: deps.poll_interval,
                board: StatusBoard::default(),
                budget: Mutex::new(StatusBudget::per_minute(deps.status_checks_per_minute)),
                projects: RwLock::default(),
                reload: tokio::sync::Mutex::new(()),
                in_flight: Mutex::default(),
                command_queues: Mutex::default(),
                commands: TaskTracker::new(),
                stopping: CancellationToken::new(),
                verifications: Mutex::default(),
                backoff: Mutex::new(Backoff::new(deps.poll_interval)),
                outage_over: AtomicBool::new(false),
                last_poll_round: Mutex::default(),
                sign_in_limiter: crate::sign_in_limit::SignInLimiter::new(
                    deps.sign_in_per_user_per_minute,
                    deps.sign_in_per_client_per_minute,
                ),
                verify_delay: deps.verify_delay,
            }),
        };
        fleet.reload_projects().await?;
        Ok(fleet)
    }

    /// At server start (only there: the CLI may run beside a live server): command rows left
    /// pending belong to commands in flight when the dashboard last stopped.
    pub async fn mark_interrupted_commands(&self) -> anyhow::Result<u64> {
        let interrupted = db::audit::mark_interrupted(&self.inner.db.writer)
            .await
            .context("marking interrupted commands")?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "commands were in flight when the dashboard last stopped; marked interrupted"
            );
        }
        Ok(interrupted)
    }

    /// The projects the poller should check this round (see [`crate::backoff`]).
    pub fn projects_due(&self) -> Vec<i64> {
        let ids = self.project_ids();
        self.backoff_state().due(&ids, Instant::now())
    }

    /// Called by the poller after each round with the results of the checks it made. Returns
    /// true when upstream came back during the round, so the poller goes again at once.
    pub fn poll_round_finished(&self, results: &[Result<(), ErrorKind>]) -> bool {
        // Benchmarks divide upstream status calls by rounds: it must be 1.00 per project.
        metrics::counter!("picky_fleet_poll_rounds_total").increment(1);
        self.backoff_state().round_finished(results);
        *self
            .inner
            .last_poll_round
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.inner.outage_over.swap(false, Ordering::AcqRel)
    }

    /// True while upstream is down and the poller only probes.
    pub fn upstream_outage(&self) -> bool {
        self.backoff_state().in_outage()
    }

    /// The server is stopping: refuse new commands and end the event streams (which would
    /// otherwise keep the HTTP server waiting for their connections forever).
    pub fn begin_shutdown(&self) {
        self.inner.commands.close();
        self.inner.stopping.cancel();
    }

    /// Completes when [`Self::begin_shutdown`] is called.
    pub fn stopping(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.inner.stopping.clone().cancelled_owned()
    }

    /// Waits (at most `grace`) for the commands on their way, so each gets its answer and its
    /// audit row. Returns how many were still running at the end.
    pub async fn drain_commands(&self, grace: Duration) -> usize {
        self.begin_shutdown();
        let tracker = &self.inner.commands;
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            tracing::error!(
                running = tracker.len(),
                "commands still running at shutdown; they will show as interrupted"
            );
        }
        tracker.len()
    }

    /// How far the poller is behind its schedule: time since the last round beyond one
    /// interval (with 10 % jitter allowed). `None` before the first round.
    pub fn poll_lag(&self) -> Option<Duration> {
        let last = (*self
            .inner
            .last_poll_round
            .lock()
            .unwrap_or_else(|p| p.into_inner()))?;
        Some(
            last.elapsed()
                .saturating_sub(self.inner.poll_interval.mul_f64(1.1)),
        )
    }

    /// Browsers (and scripts) following the event stream right now.
    pub fn event_subscribers(&self) -> usize {
        self.inner.board.subscriber_count()
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.inner.db.reader
    }

    pub fn poll_interval(&self) -> Duration {
        self.inner.poll_interval
    }

    pub fn subscribe(&self) -> broadcast::Receiver<StatusEvent> {
        self.inner.board.subscribe()
    }

    pub fn project_ids(&self) -> Vec<i64> {
        self.projects_read().iter().map(|p| p.id).collect()
    }

    /// Every project with its latest status, sorted by name. Any signed-in user.
    pub fn fleet_view(&self, _actor: &Actor) -> FleetView {
        self.fleet_snapshot()
    }

    /// The fleet without an actor, for the event stream's consumers and internal use.
    pub fn fleet_snapshot(&self) -> FleetView {
        let projects = self.projects_read();
        let cards = self
            .inner
            .board
            .with_statuses(|statuses| projects.iter().map(|p| p.card(statuses)).collect());
        FleetView {
            cards,
            poll_interval_secs: self.inner.poll_interval.as_secs(),
            generated_at: Utc::now(),
        }
    }

    /// What the fleet page loads first: every project in brief (enough for the counts, the
    /// state filters and the search) and the first `full_cards` in name order in full. A
    /// thousand full cards are most of a megabyte that nobody reads at once; the page asks
    /// for the others ([`Fleet::project_cards`]) when a filter, the search or "Show all"
    /// brings them into view. Any signed-in user.
    pub fn fleet_overview(&self, _actor: &Actor, full_cards: usize) -> FleetOverview {
        let projects = self.projects_read();
        let (projects, cards) = self.inner.board.with_statuses(|statuses| {
            let briefs = projects
                .iter()
                .map(|p| ProjectBrief {
                    id: p.id,
                    name: p.name.clone(),
                    token_last4: p.token_last4.clone(),
                    health: statuses.get(&p.id).map_or(Health::Checking, |s| s.health),
                })
                .collect();
            let cards = projects
                .iter()
                .take(full_cards)
                .map(|p| p.card(statuses))
                .collect();
            (briefs, cards)
        });
        FleetOverview {
            projects,
            cards,
            poll_interval_secs: self.inner.poll_interval.as_secs(),
        }
    }

    /// The full cards of these projects, in the order asked; unknown ids are left out (the
    /// project was removed meanwhile). Any signed-in user.
    pub fn project_cards(
        &self,
        _actor: &Actor,
        ids: &[i64],
    ) -> Result<Vec<ProjectCard>, FleetError> {
        if ids.len() > MAX_CARDS_PER_REQUEST {
            return Err(FleetError::Invalid(format!(
                "ask for at most {MAX_CARDS_PER_REQUEST} cards at a time, not {}",
                ids.len()
            )));
        }
        let projects = self.projects_read();
        let by_id: HashMap<i64, &Project> = projects.iter().map(|p| (p.id, p)).collect();
        Ok(self.inner.board.with_statuses(|statuses| {
            ids.iter()
                .filter_map(|id| by_id.get(id))
                .map(|p| p.card(statuses))
                .collect()
        }))
    }

    /// "Refresh now": one status call if the budget allows, coalesced with one in flight.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn refresh(
        &self,
        actor: &Actor,
        project_id: i64,
    ) -> Result<RefreshOutcome, FleetError> {
        actor.require(crate::model::Role::Viewer, "refresh projects")?;
        if !self.projects_read().iter().any(|p| p.id == project_id) {
            return Err(FleetError::ProjectNotFound(project_id));
        }
        match self.poll_project(project_id).await {
            Ok(status) => Ok(RefreshOutcome::Refreshed { status }),
            Err(wait) => Ok(RefreshOutcome::Throttled {
                retry_after_secs: wait.as_secs().max(1),
                status: self.inner.board.get(project_id),
            }),
        }
    }

    /// Asks upstream for one project's status, within its budget. `Err` carries how long until
    /// the budget allows another call. If a call for the project is already in flight, waits for
    /// it and returns its result instead of making a second one.
    pub async fn poll_project(&self, project_id: i64) -> Result<StatusView, Duration> {
        self.check_status(project_id)
            .await
            .map(|(status, _)| status)
    }

    /// The poller's check: like [`Self::poll_project`], but `None` when no call was made (budget
    /// spent, or coalesced with a check in flight) and the call's outcome otherwise.
    pub async fn scheduled_check(&self, project_id: i64) -> Option<Result<(), ErrorKind>> {
        match self.check_status(project_id).await {
            Ok((_, outcome)) => outcome,
            Err(wait) => {
                tracing::debug!(
                    project_id,
                    wait_secs = wait.as_secs(),
                    "status budget spent; skipped this round"
                );
                None
            }
        }
    }

    async fn check_status(
        &self,
        project_id: i64,
    ) -> Result<(StatusView, Option<Result<(), ErrorKind>>), Duration> {
        let lock = self.in_flight_lock(project_id);
        let _guard = match lock.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                let _finished = lock.lock().await;
                return Ok((self.inner.board.get(project_id), None));
            }
        };
        let Some(project) = self.project(project_id) else {
            return Ok((self.inner.board.get(project_id), None));
        };
        self.budget().try_take(project_id, Instant::now())?;
        let started = Instant::now();
        let result = self.inner.client.device_status(&project.token).await;
        record_upstream_call(
            "device-status",
            result.as_ref().map_or_else(|e| e.kind().as_str(), |_| "ok"),
            started.elapsed(),
        );
        tracing::debug!(
            project_id,
            latency_ms = started.elapsed().as_millis() as u64,
            outcome = result.as_ref().map_or_else(|e| e.kind().as_str(), |_| "ok"),
            "device-status"
        );
        if let Ok(Some(upstream_id)) = result.as_ref().map(|s| s.project_id.as_deref()) {
            if let Err(e) =
                db::set_upstream_project_id(&self.inner.db.writer, project_id, upstream_id).await
            {
                tracing::warn!(project_id, error = %e, "could not store the upstream project id");
            }
        }
        let outcome = result.as_ref().map(|_| ()).map_err(|e| e.kind());
        if self
            .backoff_state()
            .record(project_id, outcome, Instant::now())
            == Recorded::OutageOver
        {
            tracing::info!(project_id, "upstream answers again");
            self.inner.outage_over.store(true, Ordering::Release);
        }
        Ok((
            self.inner.board.record(project_id, &result, Utc::now()),
            Some(outcome),
        ))
    }

    async fn reload_projects(&self) -> anyhow::Result<()> {
        let _one_at_a_time = self.inner.reload.lock().await;
        let rows = db::list_projects(&self.inner.db.reader)
            .await
            .context("loading projects")?;
        let mut projects = Vec::with_capacity(rows.len());
        for row in rows {
            let token = self
                .inner
                .cipher
                .open(&row.sealed_token())
                .with_context(|| format!("project {:?}", row.name))?;
            projects.push(Project {
                id: row.id,
                name: row.name,
                token,
                token_last4: row.token_last4,
                upstream_project_id: row.upstream_project_id,
                created_at: row.created_at,
            });
        }
        *self
            .inner
            .projects
            .write()
            .unwrap_or_else(|p| p.into_inner()) = projects;
        Ok(())
    }

    fn project(&self, id: i64) -> Option<Project> {
        self.projects_read().iter().find(|p| p.id == id).cloned()
    }

    fn projects_read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Project>> {
        self.inner
            .projects
            .read()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn backoff_state(&self) -> std::sync::MutexGuard<'_, Backoff> {
        self.inner.backoff.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn budget(&self) -> std::sync::MutexGuard<'_, StatusBudget> {
        self.inner.budget.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn in_flight_lock(&self, project_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        self.inner
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(project_id)
            .or_default()
            .clone()
    }
}

/// Upstream calls by endpoint and outcome, with their latency (Prometheus, see `/metrics`).
pub(crate) fn record_upstream_call(
    endpoint: &'static str,
    outcome: &'static str,
    latency: Duration,
) {
    metrics::counter!("picky_fleet_upstream_calls_total", "endpoint" => endpoint, "outcome" => outcome).increment(1);
    metrics::histogram!("picky_fleet_upstream_latency_seconds", "endpoint" => endpoint, "outcome" => outcome)
        .record(latency.as_secs_f64());
}

impl Fleet {
    /// A consistent copy of the live database (`VACUUM INTO`), safe while the server runs.
    /// Refuses to overwrite an existing file.
    pub async fn backup(&self, actor: &Actor, path: &std::path::Path) -> Result<(), FleetError> {
        actor.require(crate::model::Role::Admin, "back up the database")?;
        if path.exists() {
            return Err(FleetError::Invalid(format!(
                "{} already exists; choose a new file",
                path.display()
            )));
        }
        let target = path
            .to_str()
            .ok_or_else(|| FleetError::Invalid("the backup path must be valid UTF-8".into()))?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.inner.db.reader)
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("writing the backup"))
            })?;
        tracing::info!(path = %path.display(), "database backed up");
        Ok(())
    }
}
