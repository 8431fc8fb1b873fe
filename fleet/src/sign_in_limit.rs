//! Sign-in rate limits, per username and per client address (governor's keyed GCRA limiters),
//! so a password cannot be guessed quickly from one machine or against one account.
//!
//! A refused attempt costs no hashing and writes no audit row of its own: [`RefusedAttempts`]
//! counts them per limited username or client, and the audit log gets one summary row per
//! window ("37 attempts refused…"), so a loop of anonymous requests cannot grow the database
//! or keep its one writer busy.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use governor::{clock::Clock, clock::DefaultClock, DefaultKeyedRateLimiter, Quota};

pub struct SignInLimiter {
    by_user: DefaultKeyedRateLimiter<String>,
    by_client: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

/// Limiters keep one entry per key; past this many they forget keys that are back to full.
const FORGET_ABOVE: usize = 10_000;

impl SignInLimiter {
    /// `per_user` and `per_client` attempts a minute (at least 1), each with that many at once.
    pub fn new(per_user: u32, per_client: u32) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            by_user: DefaultKeyedRateLimiter::keyed(quota(per_user)),
            by_client: DefaultKeyedRateLimiter::keyed(quota(per_client)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one attempt for this username and client, or says which limit refused it and
    /// how long to wait.
    pub fn check(&self, username: &str, client: Option<&str>) -> Result<(), Refusal> {
        for limiter in [&self.by_user, &self.by_client] {
            if limiter.len() > FORGET_ABOVE {
                limiter.retain_recent();
            }
        }
        let now = self.clock.now();
        let username = username.trim().to_lowercase();
        self.by_user
            .check_key(&username)
            .map_err(|not_until| Refusal {
                wait: not_until.wait_time_from(now),
                limited: Limited::Username(username.clone()),
            })?;
        if let Some(client) = client {
            self.by_client
                .check_key(&client.to_owned())
                .map_err(|not_until| Refusal {
                    wait: not_until.wait_time_from(now),
                    limited: Limited::Client(client.to_owned()),
                })?;
        }
        Ok(())
    }
}

/// An attempt the limits refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub wait: Duration,
    pub limited: Limited,
}

/// Which limit refused an attempt: the username's or the client's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Limited {
    Username(String),
    Client(String),
}

/// Refused attempts counted per limited username or client, in windows of [`WINDOW`] from
/// the first refusal: one audit row per window instead of one per attempt.
#[derive(Default)]
pub struct RefusedAttempts {
    open: Mutex<HashMap<Limited, Window>>,
}

/// How long refused attempts are counted together.
pub const WINDOW: Duration = Duration::from_secs(60);

/// More limited keys than this at once is a flood from everywhere: the rest are counted
/// together under one key.
const MAX_KEYS: usize = 1_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    refused: u64,
}

/// What a closed window adds to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedSummary {
    pub limited: Limited,
    pub refused: u64,
}

impl RefusedAttempts {
    /// Counts one refused attempt; returns the summaries of windows that closed by `now`.
    pub fn count(&self, limited: Limited, now: Instant) -> Vec<RefusedSummary> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let closed = close_windows(&mut open, now);
        let limited = if open.len() >= MAX_KEYS && !open.contains_key(&limited) {
            Limited::Client("(many clients)".into())
        } else {
            limited
        };
        open.entry(limited)
            .or_insert(Window {
                started: now,
                refused: 0,
            })
            .refused += 1;
        closed
    }

    /// The summaries of windows that closed by `now` (called now and then, so the last
    /// window of a flood that stopped is written too).
    pub fn closed(&self, now: Instant) -> Vec<RefusedSummary> {
        close_windows(
            &mut self.open.lock().unwrap_or_else(|p| p.into_inner()),
            now,
        )
    }
}

fn close_windows(open: &mut HashMap<Limited, Window>, now: Instant) -> Vec<RefusedSummary> {
    let mut closed = Vec::new();
    open.retain(|limited, window| {
        let done = now.saturating_duration_since(window.started) >= WINDOW;
        if done {
            closed.push(RefusedSummary {
                limited: limited.clone(),
                refused: window.refused,
            });
        }
        !done
    });
    closed
}

#[cfg(test)]
mod tests {
    #[test]
    fn refused_attempts_are_counted_per_window_and_summed_when_it_closes() {
        let refused = RefusedAttempts::default();
        let start = Instant::now();
        let client = || Limited::Client("10.0.0.7".into());
        for n in 0..37 {
            assert!(refused
                .count(client(), start + Duration::from_millis(n))
                .is_empty());
        }
        assert!(
            refused.closed(start + Duration::from_secs(59)).is_empty(),
            "still open"
        );
        assert_eq!(
            refused.closed(start + WINDOW),
            [RefusedSummary {
                limited: client(),
                refused: 37
            }]
        );
        assert!(
            refused.closed(start + WINDOW * 2).is_empty(),
            "written once"
        );
    }

    #[test]
    fn a_flood_from_everywhere_is_counted_under_one_key() {
        let refused = RefusedAttempts::default();
        let now = Instant::now();
        for n in 0..(MAX_KEYS + 500) {
            refused.count(
                Limited::Client(format!("10.1.{}.{}", n / 256, n % 256)),
                now,
            );
        }
        let summaries = refused.closed(now + WINDOW);
        assert_eq!(summaries.len(), MAX_KEYS + 1);
        assert_eq!(
            summaries.iter().map(|s| s.refused).sum::<u64>(),
            (MAX_KEYS + 500) as u64
        );
    }

    use super::*;

    #[test]
    fn a_username_gets_its_quota_then_waits() {
        let limiter = SignInLimiter::new(3, 100);
        for _ in 0..3 {
            assert!(limiter.check("Alice", Some("10.0.0.1")).is_ok());
        }
        let refusal = limiter.check("alice", Some("10.0.0.2")).unwrap_err();
        assert_eq!(refusal.limited, Limited::Username("alice".into()));
        let wait = refusal.wait;
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(
            limiter.check("bob", Some("10.0.0.1")).is_ok(),
            "other users are not affected"
        );
    }

    #[test]
    fn a_client_gets_its_quota_across_usernames() {
        let limiter = SignInLimiter::new(100, 2);
        assert!(limiter.check("a", Some("10.0.0.9")).is_ok());
        assert!(limiter.check("b", Some("10.0.0.9")).is_ok());
        assert!(limiter.check("c", Some("10.0.0.9")).is_err());
        assert!(
            limiter.check("d", Some("10.0.0.8")).is_ok(),
            "other clients are not affected"
        );
    }
}
