//! Sign-in rate limits, per username and per client address (governor's keyed GCRA limiters),
//! so a password cannot be guessed quickly from one machine or against one account.

use std::{num::NonZeroU32, time::Duration};

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

    /// Takes one attempt for this username and client, or says how long to wait.
    pub fn check(&self, username: &str, client: Option<&str>) -> Result<(), Duration> {
        for limiter in [&self.by_user, &self.by_client] {
            if limiter.len() > FORGET_ABOVE {
                limiter.retain_recent();
            }
        }
        let now = self.clock.now();
        self.by_user
            .check_key(&username.trim().to_lowercase())
            .map_err(|not_until| not_until.wait_time_from(now))?;
        if let Some(client) = client {
            self.by_client
                .check_key(&client.to_owned())
                .map_err(|not_until| not_until.wait_time_from(now))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_gets_its_quota_then_waits() {
        let limiter = SignInLimiter::new(3, 100);
        for _ in 0..3 {
            assert!(limiter.check("Alice", Some("10.0.0.1")).is_ok());
        }
        let wait = limiter.check("alice", Some("10.0.0.2")).unwrap_err();
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
