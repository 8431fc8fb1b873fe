//! Sign-in rate limits, per username and per client address (governor's keyed GCRA limiters),
//! so a password cannot be guessed quickly from one machine or against one account.
//!
//! The username limit must not become a way to lock a user out: an attacker who spends
//! `admin`'s attempts from one address would otherwise keep the real admin out for as long as
//! they keep trying. So it applies only to clients that failed a sign-in within
//! [`RECENTLY`]: a user signing in from an address with no recent failures is checked against
//! their client's limit only. An attacker spread over many addresses gets one guess per
//! address before the username limit applies to it too.
//!
//! Clients are keyed by address, IPv6 ones by their /64 (one customer's network hands out a
//! whole /64, so one machine can change address within it at will); see [`client_key`].
//!
//! With several instances on PostgreSQL, what this lets through is counted again fleet-wide
//! (`crate::db::sign_in_limits`), with the same rules: this stays the first gate, so a flood
//! it refuses costs the database nothing.
//!
//! A refused attempt costs no hashing and writes no audit row of its own: [`RefusedAttempts`]
//! counts them per limited username or client, and the audit log gets one summary row per
//! window ("37 attempts refused…"), so a loop of anonymous requests cannot grow the database
//! or keep its one writer busy.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use governor::{clock::Clock, clock::DefaultClock, DefaultKeyedRateLimiter, Quota};

pub struct SignInLimiter {
    per_user: u32,
    per_client: u32,
    by_user: DefaultKeyedRateLimiter<String>,
    by_client: DefaultKeyedRateLimiter<String>,
    /// When each client (by [`client_key`]) last failed a sign-in.
    failures: Mutex<HashMap<String, Instant>>,
    clock: DefaultClock,
}

/// Limiters keep one entry per key; past this many they forget keys that are back to full.
const FORGET_ABOVE: usize = 10_000;

/// How long a failed sign-in puts its client under the username limit.
pub const RECENTLY: Duration = Duration::from_secs(15 * 60);

/// The key a client's attempts are counted under: the address, or for IPv6 its /64 prefix
/// (`2001:db8:1:2::/64`). An IPv4 address mapped into IPv6 counts as the IPv4 address.
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

impl SignInLimiter {
    /// `per_user` and `per_client` attempts a minute (at least 1), each with that many at once.
    pub fn new(per_user: u32, per_client: u32) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            per_user: per_user.max(1),
            per_client: per_client.max(1),
            by_user: DefaultKeyedRateLimiter::keyed(quota(per_user)),
            by_client: DefaultKeyedRateLimiter::keyed(quota(per_client)),
            failures: Mutex::default(),
            clock: DefaultClock::default(),
        }
    }

    /// Attempts a minute: per username, per client.
    pub fn quotas(&self) -> (u32, u32) {
        (self.per_user, self.per_client)
    }

    /// Takes one attempt for this username and client, or says which limit refused it and
    /// how long to wait. The username's limit counts only attempts from clients that failed
    /// recently (and from unknown clients).
    pub fn check(&self, username: &str, client: Option<IpAddr>) -> Result<Passed, Refusal> {
        self.check_at(username, client, Instant::now())
    }

    fn check_at(
        &self,
        username: &str,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<Passed, Refusal> {
        for limiter in [&self.by_user, &self.by_client] {
            if limiter.len() > FORGET_ABOVE {
                limiter.retain_recent();
            }
        }
        let client = client.map(client_key);
        let suspect = match &client {
            None => true,
            Some(key) => self.failed_recently(key, now),
        };
        // An attempt in progress counts as a failure until it succeeds: parallel guesses from
        // a clean address get one past the username limit, not thirty.
        if let (false, Some(key)) = (suspect, &client) {
            self.mark(key.clone(), now);
        }
        let clock_now = self.clock.now();
        let username = username.trim().to_lowercase();
        if suspect {
            self.by_user
                .check_key(&username)
                .map_err(|not_until| Refusal {
                    wait: not_until.wait_time_from(clock_now),
                    limited: Limited::Username(username.clone()),
                })?;
        }
        if let Some(client) = &client {
            self.by_client
                .check_key(client)
                .map_err(|not_until| Refusal {
                    wait: not_until.wait_time_from(clock_now),
                    limited: Limited::Client(client.clone()),
                })?;
        }
        Ok(Passed {
            username,
            client,
            suspect,
        })
    }

    /// Notes a failed sign-in (wrong password, unknown or disabled user) from `client`.
    pub fn record_failure(&self, client: Option<IpAddr>) {
        self.record_failure_at(client, Instant::now());
    }

    fn record_failure_at(&self, client: Option<IpAddr>, now: Instant) {
        if let Some(ip) = client {
            self.mark(client_key(ip), now);
        }
    }

    /// A successful sign-in: the address is clean again.
    pub fn record_success(&self, client: Option<IpAddr>) {
        if let Some(ip) = client {
            self.failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&client_key(ip));
        }
    }

    fn mark(&self, key: String, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > FORGET_ABOVE {
            failures.retain(|_, at| now.saturating_duration_since(*at) < RECENTLY);
        }
        failures.insert(key, now);
    }

    fn failed_recently(&self, key: &str, now: Instant) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures
            .get(key)
            .is_some_and(|at| now.saturating_duration_since(*at) < RECENTLY)
    }
}

/// An attempt the limits let through, as they saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    /// Trimmed and lower-cased.
    pub username: String,
    /// The client's key ([`client_key`]), if its address is known.
    pub client: Option<String>,
    /// Whether the username's limit applied (the client failed recently, or is unknown).
    pub suspect: bool,
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

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn what_passes_says_how_it_was_counted_for_the_fleet_wide_limits() {
        let limiter = SignInLimiter::new(3, 100);
        let clean = limiter.check(" Alice ", ip("10.0.0.7")).unwrap();
        assert_eq!(clean.username, "alice");
        assert_eq!(clean.client.as_deref(), Some("10.0.0.7"));
        assert!(
            !clean.suspect,
            "a clean address is not under the username limit"
        );
        limiter.record_failure(ip("10.0.0.7"));
        assert!(limiter.check("alice", ip("10.0.0.7")).unwrap().suspect);
        assert!(
            limiter.check("alice", None).unwrap().suspect,
            "unknown clients are"
        );
        assert_eq!(limiter.quotas(), (3, 100));
    }

    #[test]
    fn a_username_gets_its_quota_then_waits_from_clients_that_failed() {
        let limiter = SignInLimiter::new(3, 100);
        for _ in 0..3 {
            assert!(limiter.check("Alice", None).is_ok());
        }
        limiter.record_failure(ip("10.0.0.2"));
        let refusal = limiter.check("alice", ip("10.0.0.2")).unwrap_err();
        assert_eq!(refusal.limited, Limited::Username("alice".into()));
        let wait = refusal.wait;
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(
            limiter.check("bob", ip("10.0.0.2")).is_ok(),
            "other users are not affected"
        );
    }

    #[test]
    fn an_attacker_spending_a_usernames_quota_does_not_lock_out_a_clean_address() {
        let limiter = SignInLimiter::new(3, 100);
        let start = Instant::now();
        let attacker = ip("203.0.113.9");
        // The first guess comes from a clean address and is not counted against `admin`;
        // the next three spend its quota.
        for _ in 0..4 {
            assert!(limiter.check_at("admin", attacker, start).is_ok());
            limiter.record_failure_at(attacker, start);
        }
        assert!(limiter.check_at("admin", attacker, start).is_err());
        // Parallel guesses from a fresh address: the first one in flight makes it suspect.
        let swarm = ip("192.0.2.77");
        assert!(limiter.check_at("admin", swarm, start).is_ok());
        assert!(limiter.check_at("admin", swarm, start).is_err());
        // The real admin, from an address that has not failed: only its own limit counts.
        assert!(limiter.check_at("admin", ip("198.51.100.4"), start).is_ok());
        limiter.record_success(ip("198.51.100.4"));
        // Once a typo makes that address suspect too, it waits like the attacker.
        limiter.record_failure_at(ip("198.51.100.4"), start);
        assert!(limiter
            .check_at("admin", ip("198.51.100.4"), start)
            .is_err());
        // Failures are forgotten after a while: the address is clean again.
        assert!(limiter
            .check_at("admin", ip("198.51.100.4"), start + RECENTLY)
            .is_ok());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| client_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        // One machine hopping through its /64 shares one quota.
        let limiter = SignInLimiter::new(100, 2);
        assert!(limiter.check("a", ip("2001:db8::1")).is_ok());
        assert!(limiter.check("b", ip("2001:db8::2")).is_ok());
        assert!(limiter.check("c", ip("2001:db8::3")).is_err());
        assert!(limiter.check("d", ip("2001:db8:0:1::1")).is_ok());
    }

    #[test]
    fn a_client_gets_its_quota_across_usernames() {
        let limiter = SignInLimiter::new(100, 2);
        assert!(limiter.check("a", ip("10.0.0.9")).is_ok());
        assert!(limiter.check("b", ip("10.0.0.9")).is_ok());
        assert!(limiter.check("c", ip("10.0.0.9")).is_err());
        assert!(
            limiter.check("d", ip("10.0.0.8")).is_ok(),
            "other clients are not affected"
        );
    }
}
