//! Status history, as it is collected: every poll's result goes into minute buckets in
//! memory, and every change of a project's state into a list; a separate task writes both
//! (`service::history`, every few seconds), so a slow disk never delays a poll round.
//!
//! The recorder also keeps each project's last 25 hours by the hour, which is all a card's
//! 24-hour strip and its 24-hour uptime need: the fleet page reads no history from the
//! database. After a restart both are seeded from the database.
//!
//! Only real polls are recorded: nothing while the dashboard is stopped or a project is
//! backing off, so those stretches read as "no data" (see `model::history`).

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use chrono::{DateTime, Utc};

use crate::model::{Health, PollCounts, StripSegment};

/// What one poll found.
#[derive(Debug, Clone, Copy)]
pub struct Poll<'a> {
    pub health: Health,
    pub queue: Option<i64>,
    pub latency_ms: i64,
    pub message: Option<&'a str>,
    /// Made during one of the project's maintenance windows.
    pub maintenance: bool,
}

/// The polls of one bucket, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    pub counts: PollCounts,
    /// Polls that reported a queue count.
    pub queue_n: u32,
    pub queue_sum: i64,
    pub queue_min: Option<i64>,
    pub queue_max: Option<i64>,
    pub latency_sum_ms: i64,
    pub latency_max_ms: i64,
}

impl Bucket {
    pub fn add_poll(&mut self, poll: &Poll<'_>) {
        let counts = &mut self.counts;
        counts.polls += 1;
        match poll.health {
            Health::Timeout | Health::Unpaired | Health::UnknownState if poll.maintenance => {
                counts.maintenance += 1
            }
            Health::Connected => counts.connected += 1,
            Health::Timeout => counts.timeout += 1,
            Health::Unpaired => counts.unpaired += 1,
            Health::UnknownState => counts.unknown_state += 1,
            Health::Unreachable | Health::TimedOut | Health::Rejected | Health::Malformed => {
                counts.faults += 1
            }
            // Not a poll's result; never recorded.
            Health::Checking => counts.polls -= 1,
        }
        if let Some(queue) = poll.queue {
            self.queue_n += 1;
            self.queue_sum = self.queue_sum.saturating_add(queue);
            self.queue_min = Some(self.queue_min.map_or(queue, |m| m.min(queue)));
            self.queue_max = Some(self.queue_max.map_or(queue, |m| m.max(queue)));
        }
        self.latency_sum_ms = self.latency_sum_ms.saturating_add(poll.latency_ms);
        self.latency_max_ms = self.latency_max_ms.max(poll.latency_ms);
    }

    pub fn merge(&mut self, other: &Bucket) {
        self.counts.add(&other.counts);
        self.queue_n += other.queue_n;
        self.queue_sum = self.queue_sum.saturating_add(other.queue_sum);
        self.queue_min = combine(self.queue_min, other.queue_min, i64::min);
        self.queue_max = combine(self.queue_max, other.queue_max, i64::max);
        self.latency_sum_ms = self.latency_sum_ms.saturating_add(other.latency_sum_ms);
        self.latency_max_ms = self.latency_max_ms.max(other.latency_max_ms);
    }
}

fn combine(a: Option<i64>, b: Option<i64>, pick: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

/// A change of state, to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub project_id: i64,
    pub at: DateTime<Utc>,
    pub from: Option<Health>,
    pub to: Health,
    pub message: Option<String>,
    pub queue: Option<i64>,
    pub maintenance: bool,
}

/// What the writer takes: minute buckets (project, minute start) and changes, oldest first.
#[derive(Debug, Default)]
pub struct Pending {
    pub minutes: Vec<(i64, i64, Bucket)>,
    pub changes: Vec<NewChange>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty() && self.changes.is_empty()
    }
}

/// The start (Unix seconds) of the bucket of `seconds` length that holds `at`.
pub fn bucket_start(at: i64, seconds: i64) -> i64 {
    at.div_euclid(seconds) * seconds
}

const HOUR: i64 = 3600;
/// Hours kept in memory per project: the strip's 24 and the one before, for the edges.
const HOURS_KEPT: usize = 25;

#[derive(Default)]
pub struct HistoryRecorder {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    pending: HashMap<(i64, i64), Bucket>,
    changes: Vec<NewChange>,
    /// Each project's last recorded state, to tell a change, and when it began.
    last: HashMap<i64, Health>,
    changed_at: HashMap<i64, DateTime<Utc>>,
    /// Each project's recent hours, oldest first.
    hours: HashMap<i64, VecDeque<(i64, Bucket)>>,
}

impl HistoryRecorder {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// After a restart: each project's last state and recent hours, from the database.
    pub fn seed(
        &self,
        last: HashMap<i64, (Health, Option<DateTime<Utc>>)>,
        hours: Vec<(i64, i64, Bucket)>,
    ) {
        let mut state = self.state();
        for (project_id, (health, at)) in last {
            state.last.insert(project_id, health);
            if let Some(at) = at {
                state.changed_at.insert(project_id, at);
            }
        }
        for (project_id, hour, bucket) in hours {
            let kept = state.hours.entry(project_id).or_default();
            kept.push_back((hour, bucket));
            if kept.len() > HOURS_KEPT {
                kept.pop_front();
            }
        }
    }

    /// Records one poll of `project_id` made at `at`.
    pub fn record(&self, project_id: i64, at: DateTime<Utc>, poll: Poll<'_>) {
        if poll.health == Health::Checking {
            return;
        }
        let mut state = self.state();
        let minute = bucket_start(at.timestamp(), 60);
        state
            .pending
            .entry((project_id, minute))
            .or_default()
            .add_poll(&poll);
        let hour = bucket_start(at.timestamp(), HOUR);
        let kept = state.hours.entry(project_id).or_default();
        match kept.back_mut() {
            Some((last, bucket)) if *last == hour => bucket.add_poll(&poll),
            // A poll in an older hour than the newest kept (a clock set back): kept only in
            // the database, where it lands in its own hour.
            Some((last, _)) if *last > hour => {}
            _ => {
                let mut bucket = Bucket::default();
                bucket.add_poll(&poll);
                kept.push_back((hour, bucket));
                if kept.len() > HOURS_KEPT {
                    kept.pop_front();
                }
            }
        }
        let previous = state.last.insert(project_id, poll.health);
        if previous != Some(poll.health) {
            // The first state seen is where watching began, not a change of the device.
            if previous.is_some() {
                state.changed_at.insert(project_id, at);
            }
            state.changes.push(NewChange {
                project_id,
                at,
                from: previous,
                to: poll.health,
                message: poll.message.map(str::to_owned),
                queue: poll.queue,
                maintenance: poll.maintenance,
            });
        }
    }

    /// Everything not yet written, for the writer.
    pub fn take(&self) -> Pending {
        let mut state = self.state();
        let mut minutes: Vec<_> = state
            .pending
            .drain()
            .map(|((project_id, minute), bucket)| (project_id, minute, bucket))
            .collect();
        minutes.sort_by_key(|&(project_id, minute, _)| (minute, project_id));
        Pending {
            minutes,
            changes: std::mem::take(&mut state.changes),
        }
    }

    /// One project's part of what is not yet written (the project page writes it before it
    /// reads, rather than everyone's).
    pub fn take_project(&self, project_id: i64) -> Pending {
        let mut state = self.state();
        let keys: Vec<(i64, i64)> = state
            .pending
            .keys()
            .filter(|(id, _)| *id == project_id)
            .copied()
            .collect();
        let mut minutes: Vec<_> = keys
            .into_iter()
            .filter_map(|key| state.pending.remove(&key).map(|b| (key.0, key.1, b)))
            .collect();
        minutes.sort_by_key(|&(_, minute, _)| minute);
        let (changes, others): (Vec<_>, Vec<_>) = std::mem::take(&mut state.changes)
            .into_iter()
            .partition(|c| c.project_id == project_id);
        state.changes = others;
        Pending { minutes, changes }
    }

    /// A write failed: its data goes back, merged with what came in meanwhile.
    pub fn put_back(&self, pending: Pending) {
        let mut state = self.state();
        for (project_id, minute, bucket) in pending.minutes {
            state
                .pending
                .entry((project_id, minute))
                .or_default()
                .merge(&bucket);
        }
        let newer = std::mem::replace(&mut state.changes, pending.changes);
        state.changes.extend(newer);
    }

    /// A card's strip: the 24 hours up to and including the current one, oldest first.
    pub fn strip(&self, project_id: i64, now: DateTime<Utc>) -> Vec<StripSegment> {
        let current = bucket_start(now.timestamp(), HOUR);
        let state = self.state();
        let kept = state.hours.get(&project_id);
        (0..24u8)
            .rev()
            .map(|hours_ago| {
                let hour = current - i64::from(hours_ago) * HOUR;
                let counts = kept
                    .and_then(|k| k.iter().find(|(h, _)| *h == hour))
                    .map(|(_, b)| b.counts)
                    .unwrap_or_default();
                StripSegment { hours_ago, counts }
            })
            .collect()
    }

    /// Uptime over the strip's 24 hours.
    pub fn uptime_day(&self, project_id: i64, now: DateTime<Utc>) -> Option<f64> {
        let mut total = PollCounts::default();
        for segment in self.strip(project_id, now) {
            total.add(&segment.counts);
        }
        total.uptime()
    }

    /// When the project's state last changed (the first state seen is not a change).
    pub fn changed_at(&self, project_id: i64) -> Option<DateTime<Utc>> {
        self.state().changed_at.get(&project_id).copied()
    }

    /// A removed project: its history goes with it.
    pub fn forget(&self, project_id: i64) {
        let mut state = self.state();
        state.last.remove(&project_id);
        state.changed_at.remove(&project_id);
        state.hours.remove(&project_id);
        state.pending.retain(|(id, _), _| *id != project_id);
        state.changes.retain(|c| c.project_id != project_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Shown;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn poll(health: Health, queue: Option<i64>) -> Poll<'static> {
        Poll {
            health,
            queue,
            latency_ms: 100,
            message: None,
            maintenance: false,
        }
    }

    #[test]
    fn polls_fall_into_their_minutes_and_changes_are_noted_once() {
        let recorder = HistoryRecorder::default();
        recorder.record(
            1,
            at("2026-12-02T10:00:05Z"),
            poll(Health::Connected, Some(3)),
        );
        recorder.record(
            1,
            at("2026-12-02T10:00:35Z"),
            poll(Health::Connected, Some(7)),
        );
        recorder.record(
            1,
            at("2026-12-02T10:01:05Z"),
            poll(Health::Timeout, Some(9)),
        );
        recorder.record(1, at("2026-12-02T10:01:35Z"), poll(Health::Timeout, None));
        recorder.record(
            2,
            at("2026-12-02T10:01:35Z"),
            poll(Health::Unreachable, None),
        );
        let pending = recorder.take();
        let minute = |id, m: &str| {
            pending
                .minutes
                .iter()
                .find(|(p, start, _)| *p == id && *start == at(m).timestamp())
                .map(|(_, _, b)| *b)
                .unwrap()
        };
        let first = minute(1, "2026-12-02T10:00:00Z");
        assert_eq!(first.counts.polls, 2);
        assert_eq!(first.counts.connected, 2);
        assert_eq!(
            (first.queue_min, first.queue_max, first.queue_sum),
            (Some(3), Some(7), 10)
        );
        let second = minute(1, "2026-12-02T10:01:00Z");
        assert_eq!((second.counts.timeout, second.queue_n), (2, 1));
        assert_eq!(minute(2, "2026-12-02T10:01:00Z").counts.faults, 1);
        let changes: Vec<_> = pending
            .changes
            .iter()
            .map(|c| (c.project_id, c.from, c.to))
            .collect();
        assert_eq!(
            changes,
            [
                (1, None, Health::Connected),
                (1, Some(Health::Connected), Health::Timeout),
                (2, None, Health::Unreachable)
            ]
        );
        assert!(recorder.take().is_empty(), "taken once");
    }

    #[test]
    fn the_strip_covers_24_hours_with_no_data_where_nothing_was_polled() {
        let recorder = HistoryRecorder::default();
        let now = at("2026-12-02T10:30:00Z");
        // Older than the strip: left out of it.
        recorder.record(1, at("2026-12-01T09:10:00Z"), poll(Health::Timeout, None));
        recorder.record(1, at("2026-12-02T08:10:00Z"), poll(Health::Timeout, None));
        recorder.record(1, at("2026-12-02T10:10:00Z"), poll(Health::Connected, None));
        let strip = recorder.strip(1, now);
        assert_eq!(strip.len(), 24);
        assert_eq!(strip[23].hours_ago, 0);
        assert_eq!(
            strip[23].counts.worst(),
            Some(Shown::State(Health::Connected))
        );
        assert_eq!(
            strip[21].counts.worst(),
            Some(Shown::State(Health::Timeout))
        );
        assert_eq!(strip[22].counts.worst(), None, "no data, not connected");
        assert_eq!(recorder.uptime_day(1, now), Some(0.5));
        assert_eq!(recorder.uptime_day(9, now), None);
    }

    #[test]
    fn a_failed_write_puts_its_data_back_before_newer_data() {
        let recorder = HistoryRecorder::default();
        recorder.record(
            1,
            at("2026-12-02T10:00:05Z"),
            poll(Health::Connected, Some(1)),
        );
        let failed = recorder.take();
        recorder.record(
            1,
            at("2026-12-02T10:00:35Z"),
            poll(Health::Timeout, Some(5)),
        );
        recorder.put_back(failed);
        let pending = recorder.take();
        assert_eq!(pending.minutes.len(), 1);
        let bucket = pending.minutes[0].2;
        assert_eq!(
            (bucket.counts.polls, bucket.queue_min, bucket.queue_max),
            (2, Some(1), Some(5))
        );
        let order: Vec<_> = pending.changes.iter().map(|c| c.to).collect();
        assert_eq!(order, [Health::Connected, Health::Timeout]);
    }

    #[test]
    fn downtime_in_a_maintenance_window_is_planned_and_its_change_says_so() {
        let recorder = HistoryRecorder::default();
        let in_window = |health| Poll {
            maintenance: true,
            ..poll(health, None)
        };
        recorder.record(1, at("2026-12-02T10:00:05Z"), in_window(Health::Connected));
        recorder.record(1, at("2026-12-02T10:00:25Z"), in_window(Health::Timeout));
        recorder.record(
            1,
            at("2026-12-02T10:00:45Z"),
            in_window(Health::Unreachable),
        );
        let pending = recorder.take();
        let counts = pending.minutes[0].2.counts;
        assert_eq!(
            (
                counts.connected,
                counts.timeout,
                counts.maintenance,
                counts.faults
            ),
            (1, 0, 1, 1),
            "a fault on our side is still a fault"
        );
        let marked: Vec<_> = pending
            .changes
            .iter()
            .map(|c| (c.to, c.maintenance))
            .collect();
        assert_eq!(
            marked,
            [
                (Health::Connected, true),
                (Health::Timeout, true),
                (Health::Unreachable, true)
            ]
        );
    }

    #[test]
    fn buckets_start_on_their_boundary_before_1970_too() {
        assert_eq!(bucket_start(3599, 3600), 0);
        assert_eq!(bucket_start(3600, 3600), 3600);
        assert_eq!(bucket_start(-1, 60), -60);
    }
}
