//! The alert engine: from each poll round's results to what must be said and to whom. It is
//! pure (no database, no clock of its own, no I/O): the service feeds it a round, persists its
//! decisions, then tells it the ids of the alerts it opened.
//!
//! Per project it counts consecutive failing and good polls. An alert opens after
//! `fail_after` failing polls, repeats every `repeat_every_minutes` at most `repeat_max` times
//! unless acknowledged, and resolves after `recover_after` good polls. A project that is quiet
//! (muted, in maintenance, disconnected on purpose) still opens and resolves alerts, so the
//! record is whole, but they are marked silenced and send nothing; if the quiet ends while the
//! project is still down, the "down" message goes out then.
//!
//! The storm guard: when the alerts opening in one round are more than `storm_percent` of the
//! fleet (and at least [`STORM_MIN_PROJECTS`]), upstream itself is the likely fault. They open
//! as members of one storm alert, which alone is sent; projects failing while the storm lasts
//! join it; it resolves, with one message, when its last member has.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::model::{AlertKind, AlertRule, Health, Quiet};

/// Fewer projects than this opening at once is never a storm, whatever the share.
pub const STORM_MIN_PROJECTS: usize = 3;

/// Rounds in a row that end with the poller in outage mode before the storm opens. In an
/// outage the poller sends one probe per round instead of polling every project (see
/// `crate::backoff`), so projects stop being counted; the outage itself is the signal, and
/// it must outlast one round, as a failing project must outlast one poll.
pub const OUTAGE_ROUNDS_FOR_STORM: u32 = 2;

/// An alert the engine holds open for a project.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAlert {
    pub id: i64,
    pub kind: AlertKind,
    pub since: DateTime<Utc>,
    pub repeats: u32,
    pub next_repeat_at: Option<DateTime<Utc>>,
    pub acknowledged: bool,
    pub storm_id: Option<i64>,
    /// Why it has sent nothing, while it has not.
    pub silenced: Option<String>,
}

#[derive(Debug, Default)]
struct Track {
    failing: u32,
    good: u32,
    first_failing_at: Option<DateTime<Utc>>,
    /// The last failing poll's state and kind.
    last_failing: Option<(Health, AlertKind)>,
    open: Option<OpenAlert>,
}

#[derive(Debug)]
struct Storm {
    id: i64,
    members: HashSet<i64>,
}

/// One project's poll in a round.
#[derive(Debug, Clone, Copy)]
pub struct Observation {
    pub project_id: i64,
    pub health: Health,
}

/// What the round decided, for the service to persist and send.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Open an alert; send "down" unless silenced or part of a storm.
    Open {
        project_id: i64,
        kind: AlertKind,
        health: Health,
        since: DateTime<Utc>,
        silenced: Option<Quiet>,
        /// Joins the open storm (`Some(id)`), or the storm this round opens (`Some(0)`).
        storm: Option<i64>,
    },
    /// Opens a storm alert over the `Open`s of this round marked `storm: Some(0)`.
    OpenStorm {
        affected: usize,
        since: DateTime<Utc>,
    },
    /// A silenced alert's quiet ended while still down: send its "down" now.
    Unsilence { project_id: i64, alert_id: i64 },
    Repeat {
        project_id: i64,
        alert_id: i64,
        repeat: u32,
    },
    /// Resolve; send "recovered" when `notify`.
    Recover {
        project_id: i64,
        alert_id: i64,
        since: DateTime<Utc>,
        notify: bool,
    },
}

/// What the engine needs to know of each project besides its poll.
pub trait Context {
    fn rule(&self, project_id: i64) -> AlertRule;
    fn quiet(&self, project_id: i64, health: Health) -> Option<Quiet>;
}

#[derive(Debug, Default)]
pub struct Engine {
    tracks: HashMap<i64, Track>,
    storm: Option<Storm>,
    /// Rounds in a row that ended in outage mode.
    outage_rounds: u32,
}

/// What a poll means under a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Failing(AlertKind),
    Good,
    /// Not polled yet, or a failing state the rule does not alert on.
    Neutral,
}

pub fn verdict(health: Health, rule: &AlertRule) -> Verdict {
    match health {
        Health::Connected => Verdict::Good,
        Health::Checking => Verdict::Neutral,
        Health::Timeout if rule.on_timeout => Verdict::Failing(AlertKind::Device),
        Health::Unpaired if rule.on_unpaired => Verdict::Failing(AlertKind::Device),
        Health::UnknownState if rule.on_unknown_state => Verdict::Failing(AlertKind::Device),
        Health::Unreachable | Health::TimedOut | Health::Rejected | Health::Malformed
            if rule.on_dashboard_faults =>
        {
            Verdict::Failing(AlertKind::Dashboard)
        }
        _ => Verdict::Neutral,
    }
}

impl Engine {
    /// Picks up an alert left open by the last run (counts start again from zero).
    pub fn restore(&mut self, project_id: i64, alert: OpenAlert) {
        let track = self.tracks.entry(project_id).or_default();
        track.first_failing_at = Some(alert.since);
        track.open = Some(alert);
    }

    /// Picks up the storm left open by the last run, with the projects still in it.
    pub fn restore_storm(&mut self, id: i64, members: impl IntoIterator<Item = i64>) {
        self.storm = Some(Storm {
            id,
            members: members.into_iter().collect(),
        });
    }

    /// The open alert of a project, if any.
    pub fn open_alert(&self, project_id: i64) -> Option<&OpenAlert> {
        self.tracks.get(&project_id)?.open.as_ref()
    }

    /// Decides one round. `fleet_size` is every project, polled this round or not; `outage`:
    /// the poller is in outage mode after this round (upstream itself unreachable).
    pub fn round(
        &mut self,
        observations: &[Observation],
        context: &dyn Context,
        now: DateTime<Utc>,
        fleet_size: usize,
        storm_percent: u32,
        outage: bool,
    ) -> Vec<Decision> {
        let mut decisions = Vec::new();
        for observation in observations {
            let rule = context.rule(observation.project_id);
            let quiet = context.quiet(observation.project_id, observation.health);
            let storm = self.storm.as_ref().map(|s| s.id);
            let track = self.tracks.entry(observation.project_id).or_default();
            if let Some(decision) = step(track, observation, &rule, quiet, storm, now) {
                decisions.push(decision);
            }
        }
        self.outage_rounds = if outage { self.outage_rounds + 1 } else { 0 };
        let outage_storm = self.storm.is_none() && self.outage_rounds >= OUTAGE_ROUNDS_FOR_STORM;
        if outage_storm {
            self.open_unpolled(&mut decisions, context, now);
        }
        self.guard_storm(&mut decisions, fleet_size, storm_percent, now, outage_storm);
        decisions
    }

    /// In an outage: every project that failed and has no alert yet opens one now (they are
    /// no longer polled, so their count would never reach the rule's).
    fn open_unpolled(
        &self,
        decisions: &mut Vec<Decision>,
        context: &dyn Context,
        now: DateTime<Utc>,
    ) {
        let opening: HashSet<i64> = decisions
            .iter()
            .filter_map(|d| match d {
                Decision::Open { project_id, .. } => Some(*project_id),
                _ => None,
            })
            .collect();
        let mut ids: Vec<_> = self.tracks.keys().copied().collect();
        ids.sort_unstable();
        for project_id in ids {
            let track = &self.tracks[&project_id];
            let Some((health, kind)) = track.last_failing.filter(|_| track.failing > 0) else {
                continue;
            };
            if track.open.is_some() || opening.contains(&project_id) {
                continue;
            }
            decisions.push(Decision::Open {
                project_id,
                kind,
                health,
                since: track.first_failing_at.unwrap_or(now),
                silenced: context.quiet(project_id, health),
                storm: None,
            });
        }
    }

    /// Turns a round's loud opens into one storm when they are too many.
    fn guard_storm(
        &mut self,
        decisions: &mut Vec<Decision>,
        fleet_size: usize,
        storm_percent: u32,
        now: DateTime<Utc>,
        outage: bool,
    ) {
        if self.storm.is_some() {
            return; // the opens of this round already joined the open storm
        }
        let loud = decisions
            .iter()
            .filter(|d| matches!(d, Decision::Open { silenced: None, .. }))
            .count();
        let share = loud as u64 * 100;
        let many =
            loud >= STORM_MIN_PROJECTS && share > u64::from(storm_percent) * fleet_size as u64;
        if loud == 0 || !(many || outage) {
            return;
        }
        let mut since = now;
        for decision in decisions.iter_mut() {
            if let Decision::Open {
                silenced: None,
                storm,
                since: opened_since,
                ..
            } = decision
            {
                *storm = Some(0);
                since = since.min(*opened_since);
            }
        }
        decisions.push(Decision::OpenStorm {
            affected: loud,
            since,
        });
    }

    /// The service persisted an `Open`: the engine now holds it.
    pub fn opened(
        &mut self,
        project_id: i64,
        mut alert: OpenAlert,
        rule: &AlertRule,
        now: DateTime<Utc>,
    ) {
        if alert.silenced.is_none() && alert.storm_id.is_none() {
            alert.next_repeat_at = next_repeat(now, rule, 0);
        }
        self.tracks.entry(project_id).or_default().open = Some(alert);
    }

    /// The service persisted an `OpenStorm`.
    pub fn storm_opened(&mut self, id: i64, members: impl IntoIterator<Item = i64>) {
        self.storm = Some(Storm {
            id,
            members: members.into_iter().collect(),
        });
    }

    /// Adds a project to the open storm.
    pub fn joined_storm(&mut self, project_id: i64) {
        if let Some(storm) = &mut self.storm {
            storm.members.insert(project_id);
        }
    }

    /// The service sent a silenced alert's "down" after its quiet ended.
    pub fn unsilenced(&mut self, project_id: i64, now: DateTime<Utc>, rule: &AlertRule) {
        if let Some(open) = self.open_mut(project_id) {
            open.silenced = None;
            open.next_repeat_at = next_repeat(now, rule, 0);
        }
    }

    /// The service sent a repeat.
    pub fn repeated(&mut self, project_id: i64, now: DateTime<Utc>, rule: &AlertRule) {
        if let Some(open) = self.open_mut(project_id) {
            open.repeats += 1;
            open.next_repeat_at = next_repeat(now, rule, open.repeats);
        }
    }

    /// The service resolved a project's alert. Returns the storm's id when that was the
    /// storm's last member (the caller resolves the storm too).
    pub fn recovered(&mut self, project_id: i64) -> Option<i64> {
        let track = self.tracks.entry(project_id).or_default();
        track.open = None;
        track.first_failing_at = None;
        let storm = self.storm.as_mut()?;
        storm.members.remove(&project_id);
        if storm.members.is_empty() {
            let id = storm.id;
            self.storm = None;
            return Some(id);
        }
        None
    }

    /// Somebody acknowledged the alert: no more repeats.
    pub fn acknowledged(&mut self, alert_id: i64) {
        for track in self.tracks.values_mut() {
            if let Some(open) = track.open.as_mut().filter(|o| o.id == alert_id) {
                open.acknowledged = true;
                open.next_repeat_at = None;
            }
        }
    }

    /// The project is gone: forget it (an open alert stays in the record, resolved by the
    /// caller).
    pub fn forget(&mut self, project_id: i64) -> Option<OpenAlert> {
        let open = self.tracks.remove(&project_id)?.open;
        if let Some(storm) = &mut self.storm {
            storm.members.remove(&project_id);
        }
        open
    }

    fn open_mut(&mut self, project_id: i64) -> Option<&mut OpenAlert> {
        self.tracks.get_mut(&project_id)?.open.as_mut()
    }
}

/// When the next reminder is due after `sent` reminders, or never.
fn next_repeat(from: DateTime<Utc>, rule: &AlertRule, sent: u32) -> Option<DateTime<Utc>> {
    (sent < rule.repeat_max).then(|| from + Duration::minutes(i64::from(rule.repeat_every_minutes)))
}

/// One project's poll: updates its counts and says what, if anything, happens.
fn step(
    track: &mut Track,
    observation: &Observation,
    rule: &AlertRule,
    quiet: Option<Quiet>,
    storm: Option<i64>,
    now: DateTime<Utc>,
) -> Option<Decision> {
    let project_id = observation.project_id;
    match verdict(observation.health, rule) {
        Verdict::Neutral => {
            track.failing = 0;
            track.good = 0;
            None
        }
        Verdict::Failing(kind) => {
            track.good = 0;
            track.failing = track.failing.saturating_add(1);
            track.last_failing = Some((observation.health, kind));
            let since = *track.first_failing_at.get_or_insert(now);
            match &track.open {
                None if track.failing >= rule.fail_after => Some(Decision::Open {
                    project_id,
                    kind,
                    health: observation.health,
                    since,
                    storm: if quiet.is_none() { storm } else { None },
                    silenced: quiet,
                }),
                None => None,
                Some(open) if open.storm_id.is_some() => None,
                Some(open) if open.silenced.is_some() => {
                    quiet.is_none().then_some(Decision::Unsilence {
                        project_id,
                        alert_id: open.id,
                    })
                }
                Some(open) => {
                    let due = open.next_repeat_at.is_some_and(|at| now >= at);
                    (due && !open.acknowledged && quiet.is_none() && open.repeats < rule.repeat_max)
                        .then_some(Decision::Repeat {
                            project_id,
                            alert_id: open.id,
                            repeat: open.repeats + 1,
                        })
                }
            }
        }
        Verdict::Good => {
            track.failing = 0;
            track.good = track.good.saturating_add(1);
            match &track.open {
                None => {
                    track.first_failing_at = None;
                    None
                }
                Some(open) if track.good >= rule.recover_after => Some(Decision::Recover {
                    project_id,
                    alert_id: open.id,
                    since: open.since,
                    notify: open.silenced.is_none() && open.storm_id.is_none() && quiet.is_none(),
                }),
                Some(_) => None,
            }
        }
    }
}

#[cfg(test)]
mod tests;
