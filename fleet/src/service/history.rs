//! Status history: what the pages and the API read (roll-ups, state changes, uptime), and the
//! upkeep the server runs beside the poller (writing what the recorder collected, pruning).
//! The recorder itself is `crate::history`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    db,
    history::{bucket_start, Bucket, Poll},
    model::{
        stored_time, CardHistory, Health, HistoryBucket, PollCounts, ProjectHistory, Resolution,
        Role, StateChangePage, StripSegment, Uptime,
    },
};

/// How long each kind of history is kept (`PICKY_FLEET_HISTORY_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRetention {
    pub minutes: Duration,
    pub hours: Duration,
    /// Day roll-ups and state changes.
    pub days: Duration,
}

impl Default for HistoryRetention {
    fn default() -> Self {
        Self {
            minutes: Duration::hours(48),
            hours: Duration::days(90),
            days: Duration::days(730),
        }
    }
}

impl HistoryRetention {
    pub fn of(&self, resolution: Resolution) -> Duration {
        match resolution {
            Resolution::Minute => self.minutes,
            Resolution::Hour => self.hours,
            Resolution::Day => self.days,
        }
    }
}

/// Roll-ups deleted per statement when pruning: the writer is never held for long.
const PRUNE_BATCH: u32 = 500;
/// At most this many state changes per page.
pub const MAX_CHANGES_PER_PAGE: u32 = 500;

fn internal(e: impl Into<anyhow::Error>, doing: &'static str) -> FleetError {
    FleetError::Internal(e.into().context(doing))
}

fn to_time(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).map_or_else(String::new, stored_time)
}

impl Fleet {
    /// The service's clock (a test's manual clock, else the system's).
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Records one poll's result into the history (memory only; see [`Fleet::flush_history`]).
    pub(crate) fn record_history(&self, project_id: i64, at: DateTime<Utc>, poll: Poll<'_>) {
        // A check that was on its way while the project was removed leaves no history behind.
        if self.project(project_id).is_some() {
            self.inner.history.record(project_id, at, poll);
        }
    }

    /// How long each resolution is kept.
    pub fn history_retention(&self) -> HistoryRetention {
        self.inner.history_retention
    }

    /// Writes what the recorder collected since the last call, in one transaction. On
    /// failure the data goes back to the recorder for the next call.
    pub async fn flush_history(&self) -> Result<(), FleetError> {
        self.write_pending(self.inner.history.take()).await
    }

    /// Writes one project's part of it only: the project page, before it reads.
    pub async fn flush_project_history(&self, project_id: i64) -> Result<(), FleetError> {
        self.write_pending(self.inner.history.take_project(project_id))
            .await
    }

    async fn write_pending(&self, pending: crate::history::Pending) -> Result<(), FleetError> {
        if pending.is_empty() {
            return Ok(());
        }
        let written = async {
            let mut tx = self.inner.db.writer.begin().await?;
            db::history::write(tx.conn(), &pending).await?;
            tx.commit().await
        }
        .await;
        match written {
            Ok(()) => Ok(()),
            Err(e) => {
                self.inner.history.put_back(pending);
                Err(internal(e, "writing status history"))
            }
        }
    }

    /// Deletes history past its retention, in small batches. Returns the rows deleted.
    pub async fn prune_history(&self, now: DateTime<Utc>) -> Result<u64, FleetError> {
        let retention = self.inner.history_retention;
        let projects = db::history::projects_with_history(&self.inner.db.reader)
            .await
            .map_err(|e| internal(e, "listing projects with history"))?;
        let mut deleted = 0;
        for resolution in Resolution::ALL {
            let before = (now - retention.of(resolution)).timestamp();
            for &project_id in &projects {
                loop {
                    let n = db::history::prune_rollups(
                        &self.inner.db.writer,
                        resolution.seconds(),
                        project_id,
                        before,
                        PRUNE_BATCH,
                    )
                    .await
                    .map_err(|e| internal(e, "pruning status history"))?;
                    deleted += n;
                    if n < u64::from(PRUNE_BATCH) {
                        break;
                    }
                }
            }
        }
        let before = stored_time(now - retention.days);
        loop {
            let n = db::history::prune_changes(&self.inner.db.writer, &before, PRUNE_BATCH)
                .await
                .map_err(|e| internal(e, "pruning state changes"))?;
            deleted += n;
            if n < u64::from(PRUNE_BATCH) {
                return Ok(deleted);
            }
        }
    }

    /// Reads what the recorder needs after a restart: each project's last state and recent
    /// hours. Called once at start.
    pub(crate) async fn seed_history(&self) -> anyhow::Result<()> {
        let now = self.now().timestamp();
        let last = db::history::last_states(&self.inner.db.reader).await?;
        let since = bucket_start(now, 3600) - 24 * 3600;
        let mut hours = Vec::new();
        for project_id in self.project_ids() {
            for (hour, bucket) in
                db::history::buckets(&self.inner.db.reader, project_id, 3600, since, i64::MAX)
                    .await?
            {
                hours.push((project_id, hour, bucket));
            }
        }
        self.inner.history.seed(last, hours);
        Ok(())
    }

    /// Recomputes the 7, 30 and 90-day uptime of every project (the API's lists read it).
    /// 7 days from hourly buckets, 30 and 90 from daily ones (whole UTC days).
    pub async fn refresh_uptime(&self) -> Result<(), FleetError> {
        // Project by project: each is three short range reads on the roll-ups' key, where a
        // query over every project would scan a whole resolution.
        let mut figures: HashMap<i64, Uptime> = HashMap::new();
        for project_id in self.project_ids() {
            figures.insert(project_id, self.longer_uptime(project_id).await?);
        }
        *self.inner.uptime.lock().unwrap_or_else(|p| p.into_inner()) = figures;
        Ok(())
    }

    /// A project's uptime: 24 hours live from memory, the rest as last computed.
    pub fn uptime(&self, project_id: i64) -> Uptime {
        let longer = self
            .inner
            .uptime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&project_id)
            .copied()
            .unwrap_or_default();
        Uptime {
            day: self.inner.history.uptime_day(project_id, self.now()),
            ..longer
        }
    }

    /// One project's uptime computed now from its roll-ups (the project page), where
    /// [`Fleet::uptime`] reads the figures last computed for every project (the API's lists).
    pub async fn project_uptime(
        &self,
        actor: &Actor,
        project_id: i64,
    ) -> Result<Uptime, FleetError> {
        actor.require(Role::Viewer, "read the status history")?;
        self.require_project(project_id)?;
        Ok(Uptime {
            day: self.inner.history.uptime_day(project_id, self.now()),
            ..self.longer_uptime(project_id).await?
        })
    }

    /// 7 days from hourly roll-ups, 30 and 90 from daily ones (whole UTC days).
    async fn longer_uptime(&self, project_id: i64) -> Result<Uptime, FleetError> {
        let now = self.now().timestamp();
        let pool = &self.inner.db.reader;
        let since = |days: i64, resolution: i64| bucket_start(now - days * 86_400, resolution);
        let sum = |resolution: i64, days: i64| {
            db::history::project_sums_since(pool, project_id, resolution, since(days, resolution))
        };
        let read = |e| internal(e, "reading uptime");
        Ok(Uptime {
            day: None,
            week: sum(3600, 7).await.map_err(read)?.uptime(),
            month: sum(86_400, 30).await.map_err(read)?.uptime(),
            quarter: sum(86_400, 90).await.map_err(read)?.uptime(),
        })
    }

    /// A card's 24-hour strip.
    pub fn strip(&self, project_id: i64) -> Vec<StripSegment> {
        self.inner.history.strip(project_id, self.now())
    }

    /// The strip and 24-hour uptime in brief, as a card carries them.
    pub(crate) fn card_history(&self, project_id: i64) -> CardHistory {
        let now = self.now();
        CardHistory::new(
            &self.inner.history.strip(project_id, now),
            bucket_start(now.timestamp(), 3600),
        )
    }

    /// A project's roll-ups over `[from, to)` at `resolution`. Any signed-in user. `from`
    /// after `to`, or a range reaching past what that resolution keeps, is refused.
    pub async fn project_history(
        &self,
        actor: &Actor,
        project_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        resolution: Resolution,
    ) -> Result<ProjectHistory, FleetError> {
        self.project_history_grouped(actor, project_id, from, to, resolution, 0)
            .await
    }

    /// [`Fleet::project_history`] with buckets summed into groups of `group_seconds` (the
    /// project page: a day of minutes in five-minute groups). Groups no finer than the
    /// resolution.
    pub async fn project_history_grouped(
        &self,
        actor: &Actor,
        project_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        resolution: Resolution,
        group_seconds: i64,
    ) -> Result<ProjectHistory, FleetError> {
        actor.require(Role::Viewer, "read the status history")?;
        self.require_project(project_id)?;
        let now = self.now();
        check_range(from, to)?;
        let kept = self.inner.history_retention.of(resolution);
        if from < now - kept - Duration::seconds(resolution.seconds()) {
            return Err(FleetError::Invalid(format!(
                "{resolution} roll-ups are kept for {}: `from` must be after {} (use a coarser resolution for older history)",
                describe(kept),
                stored_time(now - kept)
            )));
        }
        let step = resolution.seconds();
        let (pool, start, end) = (
            &self.inner.db.reader,
            bucket_start(from.timestamp(), step.max(group_seconds)),
            to.timestamp(),
        );
        let rows = if group_seconds > step {
            db::history::grouped_buckets(pool, project_id, step, start, end, group_seconds).await
        } else {
            db::history::buckets(pool, project_id, step, start, end).await
        }
        .map_err(|e| internal(e, "reading status history"))?;
        Ok(ProjectHistory {
            project_id,
            resolution,
            from: stored_time(from),
            to: stored_time(to),
            buckets: rows
                .into_iter()
                .map(|(start, b)| history_bucket(start, &b))
                .collect(),
        })
    }

    /// A project's state changes with `from <= at < to`, newest first, a page at a time
    /// (`before`: the previous page's `next_before`). Any signed-in user.
    #[allow(clippy::too_many_arguments)]
    pub async fn project_changes(
        &self,
        actor: &Actor,
        project_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<StateChangePage, FleetError> {
        actor.require(Role::Viewer, "read the status history")?;
        self.require_project(project_id)?;
        check_range(from, to)?;
        if !(1..=MAX_CHANGES_PER_PAGE).contains(&limit) {
            return Err(FleetError::Invalid(format!(
                "limit must be 1 to {MAX_CHANGES_PER_PAGE}, not {limit}"
            )));
        }
        let mut changes = db::history::changes(
            &self.inner.db.reader,
            project_id,
            &stored_time(from),
            &stored_time(to),
            before,
            limit + 1,
        )
        .await
        .map_err(|e| internal(e, "reading state changes"))?;
        let next_before = if changes.len() > limit as usize {
            changes.truncate(limit as usize);
            changes.last().map(|c| c.id)
        } else {
            None
        };
        Ok(StateChangePage {
            changes,
            next_before,
        })
    }

    /// The state a project was in at `at`, as the history recorded it.
    pub async fn state_at(
        &self,
        project_id: i64,
        at: DateTime<Utc>,
    ) -> Result<Option<Health>, FleetError> {
        db::history::change_before(&self.inner.db.reader, project_id, &stored_time(at))
            .await
            .map_err(|e| internal(e, "reading state changes"))
    }

    fn require_project(&self, project_id: i64) -> Result<(), FleetError> {
        if self.projects_read().contains(project_id) {
            Ok(())
        } else {
            Err(FleetError::ProjectNotFound(project_id))
        }
    }
}

fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), FleetError> {
    if from >= to {
        return Err(FleetError::Invalid(format!(
            "`from` ({}) must be before `to` ({})",
            stored_time(from),
            stored_time(to)
        )));
    }
    Ok(())
}

fn describe(kept: Duration) -> String {
    if kept.num_hours() < 72 {
        format!("{} hours", kept.num_hours())
    } else {
        format!("{} days", kept.num_days())
    }
}

fn history_bucket(start: i64, b: &Bucket) -> HistoryBucket {
    let per = |sum: i64, n: u32| (n > 0).then(|| sum as f64 / f64::from(n));
    HistoryBucket {
        start: to_time(start),
        counts: PollCounts { ..b.counts },
        queue_min: b.queue_min,
        queue_avg: per(b.queue_sum, b.queue_n),
        queue_max: b.queue_max,
        latency_avg_ms: per(b.latency_sum_ms, b.counts.polls),
        latency_max_ms: (b.counts.polls > 0).then_some(b.latency_max_ms),
    }
}
