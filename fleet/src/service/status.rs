//! The fleet as the pages see it (view, overview, cards) and status checks: "refresh now",
//! the poller's checks, and the per-token budget, backoff and coalescing behind them.

use std::{
    collections::HashMap,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use chrono::Utc;
use pickyassist::ErrorKind;

use super::{Fleet, FleetError, Project};
use crate::{
    auth::Actor,
    backoff::{Backoff, Recorded},
    budget::StatusBudget,
    db,
    model::{
        FleetOverview, FleetView, Health, ProjectBrief, ProjectCard, RefreshOutcome, StatusView,
    },
};

/// More cards than a page can show at once in one request is a script, not the page.
pub const MAX_CARDS_PER_REQUEST: usize = 1000;

impl Fleet {
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
            .with_statuses(|statuses| projects.iter().map(|p| self.card_of(p, statuses)).collect());
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
                .map(|p| {
                    let status = statuses.get(&p.id);
                    ProjectBrief {
                        id: p.id,
                        name: p.name.clone(),
                        token_last4: p.token_last4.clone(),
                        health: status.map_or(Health::Checking, |s| s.health),
                        uptime_permille: status
                            .and_then(|s| s.history.as_ref())
                            .and_then(|h| h.uptime_permille),
                        changed_at: self.inner.history.changed_at(p.id).map(|t| t.timestamp()),
                        quiet: self.project_quiet(p.id).map(|q| q.label()),
                        queue: status
                            .and_then(|s| s.device.as_ref())
                            .and_then(|d| d.message_queue_count),
                    }
                })
                .collect();
            let cards = projects
                .iter()
                .take(full_cards)
                .map(|p| self.card_of(p, statuses))
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
        Ok(self.inner.board.with_statuses(|statuses| {
            ids.iter()
                .filter_map(|id| projects.get(*id))
                .map(|p| self.card_of(p, statuses))
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
        if !self.projects_read().contains(project_id) {
            return Err(FleetError::ProjectNotFound(project_id));
        }
        match self.check_status(project_id).await {
            Ok((status, outcome)) => {
                // A person's refresh is a poll too: it counts towards an alert or a recovery.
                if let Some(outcome) = outcome {
                    self.evaluate_alerts(&[super::Checked {
                        project_id,
                        health: status.health,
                        outcome,
                    }])
                    .await;
                }
                Ok(RefreshOutcome::Refreshed { status })
            }
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
    pub async fn scheduled_check(&self, project_id: i64) -> Option<super::Checked> {
        match self.check_status(project_id).await {
            Ok((status, outcome)) => outcome.map(|outcome| super::Checked {
                project_id,
                health: status.health,
                outcome,
            }),
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
        self.take_fleet_wide_check(project_id).await?;
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
        // Written when it is new or changed, not on every check.
        let new_upstream_id = result
            .as_ref()
            .ok()
            .and_then(|s| s.project_id.as_deref())
            .filter(|id| project.upstream_project_id.as_deref() != Some(*id));
        if let Some(upstream_id) = new_upstream_id {
            match db::set_upstream_project_id(&self.inner.db.writer, project_id, upstream_id).await
            {
                Ok(()) => self.remember_upstream_id(project_id, upstream_id),
                Err(e) => {
                    tracing::warn!(project_id, error = %e, "could not store the upstream project id")
                }
            }
        }
        let latency_ms = started.elapsed().as_millis() as i64;
        let outcome = result.as_ref().map(|_| ()).map_err(|e| e.kind());
        if self
            .backoff_state()
            .record(project_id, outcome, Instant::now())
            == Recorded::OutageOver
        {
            tracing::info!(project_id, "upstream answers again");
            self.inner.outage_over.store(true, Ordering::Release);
        }
        let now = self.now();
        let health = match &result {
            Ok(status) => Health::from_state(&status.state),
            Err(error) => Health::from_error(error.kind()),
        };
        // The history and auto-heal follow the poller's checks only: with several instances a
        // standby's Refresh would record changes against its stale view, or restart a device
        // with its own caps.
        let poller = self.is_poller();
        if self.inner.history_enabled && poller {
            let message = result.as_ref().err().map(ToString::to_string);
            self.record_history(
                project_id,
                now,
                crate::history::Poll {
                    health,
                    queue: result
                        .as_ref()
                        .ok()
                        .and_then(|s| s.message_queue_count)
                        // No real queue holds a billion messages; the sums must not overflow.
                        .map(|q| q.min(1_000_000_000) as i64),
                    latency_ms,
                    message: message.as_deref(),
                    maintenance: self.project_in_maintenance(project_id, now),
                },
            );
        }
        let history = self
            .inner
            .history_enabled
            .then(|| self.card_history(project_id));
        let queue = result
            .as_ref()
            .ok()
            .and_then(|s| s.message_queue_count)
            .map(|q| q.min(1_000_000_000) as i64);
        let advice = self.advise_after_poll(project_id, health, queue, now);
        let auto_heal = if poller {
            self.auto_heal_after_poll(project_id, health, now)
        } else {
            None
        };
        let status = self
            .inner
            .board
            .record(project_id, &result, now, history, advice, auto_heal);
        self.publish_status(project_id, &status).await;
        Ok((status, Some(outcome)))
    }

    /// A project's card, with why it alerts nobody (if it does not).
    fn card_of(&self, project: &Project, statuses: &HashMap<i64, StatusView>) -> ProjectCard {
        ProjectCard {
            quiet: self.project_quiet(project.id).map(|q| q.label()),
            ..project.card(statuses)
        }
    }

    /// With several instances (PostgreSQL), the check counts against the budget every instance
    /// shares too. Nothing is sent when the count cannot be read: the limit is upstream's, and
    /// a check made blind could be the fourth in a minute.
    async fn take_fleet_wide_check(&self, project_id: i64) -> Result<(), Duration> {
        let Some(pool) = self.inner.db.writer.as_postgres() else {
            return Ok(());
        };
        let (per_window, window) = self.budget().limit();
        match db::status_checks::try_take(pool, project_id, per_window, window).await {
            Ok(taken) => taken,
            Err(e) => {
                tracing::warn!(project_id, error = %e, "could not count a status check; skipped it");
                Err(Duration::from_secs(5))
            }
        }
    }

    pub(super) fn backoff_state(&self) -> std::sync::MutexGuard<'_, Backoff> {
        self.inner.backoff.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn budget(&self) -> std::sync::MutexGuard<'_, StatusBudget> {
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
