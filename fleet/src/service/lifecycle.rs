//! The service's lifecycle: pending commands at start-up, the poller's rounds and backoff,
//! and shutdown (refusing new commands, draining the ones on their way).

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use anyhow::Context;
use pickyassist::ErrorKind;

use super::Fleet;

impl Fleet {
    /// At server start (only there: the CLI may run beside a live server): command rows left
    /// pending belong to commands in flight when the dashboard last stopped. Not while another
    /// instance runs on the same PostgreSQL: pending rows may be its commands on their way.
    pub async fn mark_interrupted_commands(&self) -> anyhow::Result<u64> {
        if super::cluster::other_instances_alive(self).await? {
            tracing::info!("other instances are running: their commands in flight stay pending");
            return Ok(0);
        }
        let interrupted = self
            .inner
            .audit_writer
            .interrupt_pending()
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
    pub fn poll_round_finished(&self, checked: &[super::Checked]) -> bool {
        // Benchmarks divide upstream status calls by rounds: it must be 1.00 per project.
        metrics::counter!("picky_fleet_poll_rounds_total").increment(1);
        let results: Vec<Result<(), ErrorKind>> = checked.iter().map(|c| c.outcome).collect();
        self.backoff_state().round_finished(&results);
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

    /// How long ago the poller last finished a round; `None` before the first.
    pub fn last_poll_round_age(&self) -> Option<Duration> {
        self.inner
            .last_poll_round
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|last| last.elapsed())
    }

    /// A supervised background task is running (true) or being restarted (false).
    pub fn report_task(&self, name: &'static str, running: bool) {
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, running);
    }

    /// Every supervised task, by name, and whether it runs.
    pub fn task_health(&self) -> Vec<(&'static str, bool)> {
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, running)| (*name, *running))
            .collect()
    }

    /// Whether the audit log's writing task still runs: without it no command can be sent.
    pub fn audit_writer_running(&self) -> bool {
        self.inner.audit_writer.is_running()
    }
}
