//! Keeps a failing upstream from piling up requests.
//!
//! Two rules, both about the poller's automatic status checks (a person's "Refresh" still goes
//! through, within the project's budget):
//! - **Per project:** after `n` failures in a row, a project's next automatic check waits
//!   `interval × 2^(n−1)`, at most [`MAX_BACKOFF_INTERVALS`] intervals.
//! - **Outage:** when a whole round fails on the transport level (nothing reachable, or nothing
//!   answering), upstream itself is down. Until it answers again the poller sends one probe per
//!   interval, taking the projects in turn, instead of one request per project. The first answer
//!   ends the outage, clears every project's backoff and asks for a full round at once, so
//!   recovery shows as soon as upstream is back.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use pickyassist::ErrorKind;

/// The longest a failing project waits between automatic checks, in poll intervals.
pub const MAX_BACKOFF_INTERVALS: u32 = 4;

#[derive(Debug)]
pub struct Backoff {
    interval: Duration,
    failing: HashMap<i64, Failing>,
    outage: Option<Outage>,
}

#[derive(Debug, Clone, Copy)]
struct Failing {
    failures: u32,
    next_check: Instant,
}

#[derive(Debug, Default)]
struct Outage {
    /// Probes sent so far, to take the projects in turn.
    probes: usize,
}

/// What a status check's result means for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Nothing,
    /// Upstream answered after an outage: poll every project now.
    OutageOver,
}

impl Backoff {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            failing: HashMap::new(),
            outage: None,
        }
    }

    /// Which of `ids` the poller should check in this round.
    pub fn due(&mut self, ids: &[i64], now: Instant) -> Vec<i64> {
        if let Some(outage) = &mut self.outage {
            if ids.is_empty() {
                return Vec::new();
            }
            let probe = ids[outage.probes % ids.len()];
            outage.probes += 1;
            return vec![probe];
        }
        ids.iter()
            .copied()
            .filter(|id| self.failing.get(id).is_none_or(|f| f.next_check <= now))
            .collect()
    }

    /// Records one status check's result (`Err` carries the failure's kind).
    pub fn record(
        &mut self,
        project_id: i64,
        result: Result<(), ErrorKind>,
        now: Instant,
    ) -> Recorded {
        match result {
            Ok(()) => {
                self.failing.remove(&project_id);
                if self.outage.take().is_some() {
                    self.failing.clear();
                    return Recorded::OutageOver;
                }
            }
            Err(kind) => {
                // Any answer at all, even an error, shows upstream is reachable again.
                let answered = !matches!(kind, ErrorKind::Unreachable | ErrorKind::TimedOut);
                if answered && self.outage.take().is_some() {
                    self.failing.clear();
                    return Recorded::OutageOver;
                }
                let entry = self.failing.entry(project_id).or_insert(Failing {
                    failures: 0,
                    next_check: now,
                });
                entry.failures = entry.failures.saturating_add(1);
                let factor = 2u32
                    .saturating_pow(entry.failures - 1)
                    .min(MAX_BACKOFF_INTERVALS);
                // A little short of whole intervals, so the jittered poller finds it due.
                entry.next_check = now + self.interval.mul_f64(f64::from(factor) * 0.85);
            }
        }
        Recorded::Nothing
    }

    /// After a round: if every check in it failed without reaching upstream, upstream is down.
    pub fn round_finished(&mut self, results: &[Result<(), ErrorKind>]) {
        let all_unreachable = !results.is_empty()
            && results
                .iter()
                .all(|r| matches!(r, Err(ErrorKind::Unreachable | ErrorKind::TimedOut)));
        if all_unreachable && self.outage.is_none() {
            tracing::warn!(
                "upstream is not answering; probing one project per interval until it does"
            );
            self.outage = Some(Outage::default());
        }
    }

    /// A new token (or a removed project) starts the project's schedule afresh.
    pub fn forget(&mut self, project_id: i64) {
        self.failing.remove(&project_id);
    }

    pub fn in_outage(&self) -> bool {
        self.outage.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(10);

    #[test]
    fn a_failing_project_waits_longer_after_each_failure_up_to_the_cap() {
        let mut backoff = Backoff::new(INTERVAL);
        let start = Instant::now();
        let mut now = start;
        let mut waits = Vec::new();
        for _ in 0..6 {
            backoff.record(7, Err(ErrorKind::HttpStatus), now);
            // Step forward one interval at a time until the project is due again.
            let mut intervals = 0;
            loop {
                now += INTERVAL;
                intervals += 1;
                if backoff.due(&[7], now) == vec![7] {
                    break;
                }
            }
            waits.push(intervals);
        }
        assert_eq!(waits, vec![1, 2, 4, 4, 4, 4]);
    }

    #[test]
    fn other_projects_are_not_held_back_by_a_failing_one() {
        let mut backoff = Backoff::new(INTERVAL);
        let now = Instant::now();
        backoff.record(1, Err(ErrorKind::Rejected), now);
        backoff.record(2, Ok(()), now);
        assert_eq!(backoff.due(&[1, 2, 3], now + INTERVAL / 2), vec![2, 3]);
    }

    #[test]
    fn success_clears_a_projects_backoff() {
        let mut backoff = Backoff::new(INTERVAL);
        let now = Instant::now();
        for _ in 0..3 {
            backoff.record(1, Err(ErrorKind::Malformed), now);
        }
        backoff.record(1, Ok(()), now);
        assert_eq!(backoff.due(&[1], now), vec![1]);
    }

    #[test]
    fn a_round_that_reaches_nobody_starts_an_outage_of_one_probe_per_round() {
        let mut backoff = Backoff::new(INTERVAL);
        let now = Instant::now();
        let ids = [1, 2, 3];
        let failures = [
            Err(ErrorKind::Unreachable),
            Err(ErrorKind::TimedOut),
            Err(ErrorKind::Unreachable),
        ];
        for (id, result) in ids.iter().zip(failures) {
            backoff.record(*id, result, now);
        }
        backoff.round_finished(&failures);
        assert!(backoff.in_outage());
        let probes: Vec<_> = (0..4).map(|_| backoff.due(&ids, now)).collect();
        assert_eq!(probes, vec![vec![1], vec![2], vec![3], vec![1]]);
    }

    #[test]
    fn the_first_answer_ends_the_outage_and_everything_is_due_at_once() {
        let mut backoff = Backoff::new(INTERVAL);
        let now = Instant::now();
        for id in [1, 2] {
            backoff.record(id, Err(ErrorKind::Unreachable), now);
        }
        backoff.round_finished(&[Err(ErrorKind::Unreachable), Err(ErrorKind::Unreachable)]);
        assert_eq!(backoff.record(2, Ok(()), now), Recorded::OutageOver);
        assert!(!backoff.in_outage());
        assert_eq!(backoff.due(&[1, 2], now), vec![1, 2]);
    }

    #[test]
    fn an_error_answer_also_ends_the_outage() {
        let mut backoff = Backoff::new(INTERVAL);
        let now = Instant::now();
        backoff.round_finished(&[Err(ErrorKind::TimedOut)]);
        assert_eq!(
            backoff.record(1, Err(ErrorKind::TimedOut), now),
            Recorded::Nothing
        );
        assert!(backoff.in_outage());
        assert_eq!(
            backoff.record(1, Err(ErrorKind::HttpStatus), now),
            Recorded::OutageOver
        );
    }

    #[test]
    fn project_level_failures_do_not_count_as_an_outage() {
        let mut backoff = Backoff::new(INTERVAL);
        backoff.round_finished(&[Err(ErrorKind::Rejected), Err(ErrorKind::Unreachable)]);
        assert!(!backoff.in_outage());
        backoff.round_finished(&[Err(ErrorKind::Unreachable), Ok(())]);
        assert!(!backoff.in_outage());
        backoff.round_finished(&[]);
        assert!(!backoff.in_outage());
    }
}
