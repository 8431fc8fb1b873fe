//! Upstream allows 3 status checks per minute per token and silently drops the rest. The
//! budget is the one gate every status call passes, whatever asked for it (poller, a
//! "refresh now" click, the verification after a command, the API).

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

/// A rolling-window budget per project.
#[derive(Debug)]
pub struct StatusBudget {
    per_window: usize,
    window: Duration,
    calls: HashMap<i64, VecDeque<Instant>>,
}

impl StatusBudget {
    /// `per_minute` calls in any 60 s window, plus one second of margin for clock skew.
    pub fn per_minute(per_minute: u32) -> Self {
        Self::new(per_minute.max(1) as usize, Duration::from_secs(61))
    }

    pub fn new(per_window: usize, window: Duration) -> Self {
        Self {
            per_window,
            window,
            calls: HashMap::new(),
        }
    }

    /// Takes one call from the budget, or says how long until one is free.
    pub fn try_take(&mut self, project: i64, now: Instant) -> Result<(), Duration> {
        let calls = self.calls.entry(project).or_default();
        while calls
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            calls.pop_front();
        }
        if calls.len() < self.per_window {
            calls.push_back(now);
            Ok(())
        } else {
            let oldest = calls.front().copied().unwrap_or(now);
            Err(self
                .window
                .saturating_sub(now.saturating_duration_since(oldest)))
        }
    }

    /// The limit and its window, for the fleet-wide count (`db::status_checks`).
    pub fn limit(&self) -> (usize, Duration) {
        (self.per_window, self.window)
    }

    /// Calls still free for `project` right now.
    pub fn remaining(&self, project: i64, now: Instant) -> usize {
        let used = self
            .calls
            .get(&project)
            .map(|c| {
                c.iter()
                    .filter(|t| now.saturating_duration_since(**t) < self.window)
                    .count()
            })
            .unwrap_or(0);
        self.per_window.saturating_sub(used)
    }

    pub fn forget(&mut self, project: i64) {
        self.calls.remove(&project);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn allows_three_then_says_when_the_next_is_free() {
        let mut budget = StatusBudget::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(budget.try_take(1, t0 + Duration::from_secs(i * 10)).is_ok());
        }
        let wait = budget
            .try_take(1, t0 + Duration::from_secs(25))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(35));
        assert!(
            budget.try_take(1, t0 + Duration::from_secs(60)).is_ok(),
            "the first call left the window"
        );
    }

    #[test]
    fn projects_have_separate_budgets() {
        let mut budget = StatusBudget::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(budget.try_take(1, t0).is_ok());
        assert!(budget.try_take(2, t0).is_ok());
        assert!(budget.try_take(1, t0).is_err());
        assert_eq!(budget.remaining(2, t0), 0);
        assert_eq!(budget.remaining(3, t0), 1);
    }

    proptest! {
        #[test]
        fn no_sequence_of_requests_exceeds_the_limit_in_any_window(
            gaps in proptest::collection::vec(0u64..40_000, 1..200)
        ) {
            let window = Duration::from_secs(60);
            let mut budget = StatusBudget::new(3, window);
            let t0 = Instant::now();
            let mut at = t0;
            let mut granted: Vec<Instant> = Vec::new();
            for gap in gaps {
                at += Duration::from_millis(gap);
                if budget.try_take(7, at).is_ok() {
                    granted.push(at);
                }
            }
            for (i, start) in granted.iter().enumerate() {
                let in_window = granted[i..].iter().filter(|t| t.duration_since(*start) < window).count();
                prop_assert!(in_window <= 3, "{} calls within a minute", in_window);
            }
        }
    }
}
