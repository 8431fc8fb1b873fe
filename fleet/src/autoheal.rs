//! Auto-heal's decisions, pure: given a project's policy, what the polls saw and what
//! auto-heal already did, whether to `restart`, `restart-server`, or give up and call a
//! person. The service (`service::autoheal`) feeds it each poll, runs what it decides as
//! the actor `auto-heal`, and tells it what was sent.
//!
//! Only TIMEOUT is healed: an UNPAIRED phone needs someone to scan the QR code, and the
//! dashboard-side faults are not the device's. A quiet project (muted, in maintenance,
//! disconnected on purpose) is left alone.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use pickyassist::Command;

use crate::model::{AutoHealPolicy, Health};

/// What auto-heal does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealAction {
    Send(Command),
    /// The caps are used up and the device is still down: stop, and say a person is needed.
    GiveUp,
}

/// One project's auto-heal past.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealMemory {
    /// When this outage (TIMEOUT, not yet CONNECTED again) began.
    down_since: Option<DateTime<Utc>>,
    /// What auto-heal sent in the last day, oldest first.
    sent: Vec<(Command, DateTime<Utc>)>,
    /// The day it last gave up: once a day is enough.
    gave_up_on: Option<NaiveDate>,
    /// It called a person and the device has not been seen connected since.
    person_called: bool,
    /// The last command someone else sent (a person, a bulk command): auto-heal gives it its
    /// time like one of its own, without counting it against its caps.
    others: Option<(Command, DateTime<Utc>)>,
}

impl HealMemory {
    pub fn observe(&mut self, health: Health, now: DateTime<Utc>) {
        match health {
            Health::Connected => {
                self.down_since = None;
            }
            Health::Timeout => {
                self.down_since.get_or_insert(now);
            }
            // Other states neither start nor end an outage auto-heal acts on.
            _ => {}
        }
        self.sent.retain(|(_, at)| now - *at < Duration::days(1));
    }

    pub fn sent(&mut self, command: Command, now: DateTime<Utc>) {
        self.sent.push((command, now));
    }

    /// Before the sends are read back from the audit log (which holds every one).
    pub fn forget_sends(&mut self) {
        self.sent.clear();
    }

    pub fn gave_up(&mut self, now: DateTime<Utc>) {
        self.gave_up_on = Some(now.date_naive());
        self.person_called = true;
    }

    /// Someone else's command that upstream accepted.
    pub fn others_sent(&mut self, command: Command, now: DateTime<Utc>) {
        self.others = Some((command, now));
    }

    /// Whether a person was called and the device is connected again (once: the alert that
    /// called them can be resolved).
    pub fn take_recovered_after_call(&mut self, health: Health) -> bool {
        let recovered = self.person_called && health == Health::Connected;
        if recovered {
            self.person_called = false;
        }
        recovered
    }

    /// What auto-heal last did, for the card: "restarted 10:02".
    pub fn last_sent(&self) -> Option<(Command, DateTime<Utc>)> {
        self.sent.last().copied()
    }

    /// When the outage auto-heal is working on began.
    pub fn down_since(&self) -> Option<DateTime<Utc>> {
        self.down_since
    }

    pub fn gave_up_today(&self, now: DateTime<Utc>) -> bool {
        self.gave_up_on == Some(now.date_naive())
    }

    fn count(&self, command: Command, within: Duration, now: DateTime<Utc>) -> u32 {
        self.sent
            .iter()
            .filter(|(c, at)| *c == command && now - *at < within)
            .count() as u32
    }
}

/// What to do for a project now, if anything.
pub fn decide(
    policy: &AutoHealPolicy,
    memory: &HealMemory,
    health: Health,
    quiet: bool,
    now: DateTime<Utc>,
) -> Option<HealAction> {
    if !policy.enabled || quiet || health != Health::Timeout {
        return None;
    }
    let down_since = memory.down_since?;
    // The last command of this outage, auto-heal's or anyone's.
    let last = [memory.last_sent(), memory.others]
        .into_iter()
        .flatten()
        .filter(|(_, at)| *at >= down_since)
        .max_by_key(|(_, at)| *at);
    let settle = Duration::minutes(i64::from(policy.restart_server_after_minutes));
    let restarts_this_hour = memory.count(Command::Restart, Duration::hours(1), now);
    let may_restart = restarts_this_hour < policy.restarts_per_hour;
    match last {
        Some((Command::Restart, at)) if now - at >= settle => {
            let servers_today = memory.count(Command::RestartServer, Duration::days(1), now);
            if servers_today < policy.restart_servers_per_day {
                Some(HealAction::Send(Command::RestartServer))
            } else if memory.gave_up_today(now) {
                None
            } else {
                Some(HealAction::GiveUp)
            }
        }
        // A restart or restart-server that has not had its time yet: wait.
        Some((Command::Restart | Command::RestartServer, at)) if now - at < settle => None,
        // After a restart-server, or none yet this outage: restart when allowed.
        _ => {
            let waited =
                now - down_since >= Duration::minutes(i64::from(policy.restart_after_minutes));
            (waited && may_restart).then_some(HealAction::Send(Command::Restart))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).expect("time") + Duration::minutes(minutes)
    }

    fn on() -> AutoHealPolicy {
        AutoHealPolicy {
            enabled: true,
            ..Default::default()
        }
    }

    /// Polls every minute from `from` to `to`, doing what auto-heal decides; returns what it did.
    fn run(
        policy: &AutoHealPolicy,
        memory: &mut HealMemory,
        quiet: bool,
        from: i64,
        to: i64,
    ) -> Vec<(i64, HealAction)> {
        let mut done = Vec::new();
        for minute in from..=to {
            memory.observe(Health::Timeout, t(minute));
            if let Some(action) = decide(policy, memory, Health::Timeout, quiet, t(minute)) {
                match action {
                    HealAction::Send(command) => memory.sent(command, t(minute)),
                    HealAction::GiveUp => memory.gave_up(t(minute)),
                }
                done.push((minute, action));
            }
        }
        done
    }

    #[test]
    fn restart_after_ten_minutes_then_restart_server_then_caps_then_a_person() {
        let mut memory = HealMemory::default();
        let done = run(&on(), &mut memory, false, 0, 200);
        use HealAction::*;
        assert_eq!(
            done,
            [
                (10, Send(Command::Restart)),
                (15, Send(Command::RestartServer)),
                // Once an hour: the next restart waits for the first to be an hour old.
                (70, Send(Command::Restart)),
                (75, Send(Command::RestartServer)),
                (130, Send(Command::Restart)),
                // Two restart-servers a day: the third restart that did not help calls a person.
                (135, GiveUp),
            ]
        );
    }

    #[test]
    fn a_persons_restart_gets_its_time_and_a_restart_server_too() {
        let mut memory = HealMemory::default();
        memory.observe(Health::Timeout, t(0));
        memory.others_sent(Command::Restart, t(9));
        memory.observe(Health::Timeout, t(10));
        assert_eq!(
            decide(&on(), &memory, Health::Timeout, false, t(10)),
            None,
            "someone just restarted it"
        );
        memory.observe(Health::Timeout, t(14));
        assert_eq!(
            decide(&on(), &memory, Health::Timeout, false, t(14)),
            Some(HealAction::Send(Command::RestartServer)),
            "their restart did not help within 5 min"
        );

        let generous = AutoHealPolicy {
            restarts_per_hour: 3,
            ..on()
        };
        let done = run(&generous, &mut HealMemory::default(), false, 0, 30);
        assert_eq!(
            done,
            [
                (10, HealAction::Send(Command::Restart)),
                (15, HealAction::Send(Command::RestartServer)),
                (20, HealAction::Send(Command::Restart)),
                (25, HealAction::Send(Command::RestartServer)),
                (30, HealAction::Send(Command::Restart)),
            ],
            "a restart-server gets its 5 min before the next restart"
        );
    }

    #[test]
    fn off_quiet_or_not_in_timeout_does_nothing_and_a_recovery_starts_over() {
        let mut memory = HealMemory::default();
        assert!(
            run(&AutoHealPolicy::default(), &mut memory, false, 0, 30).is_empty(),
            "off"
        );
        let mut memory = HealMemory::default();
        assert!(run(&on(), &mut memory, true, 0, 30).is_empty(), "quiet");
        let mut memory = HealMemory::default();
        memory.observe(Health::Unpaired, t(0));
        assert_eq!(decide(&on(), &memory, Health::Unpaired, false, t(30)), None);

        let mut memory = HealMemory::default();
        run(&on(), &mut memory, false, 0, 12);
        memory.observe(Health::Connected, t(13));
        assert!(
            run(&on(), &mut memory, false, 14, 20).is_empty(),
            "a new outage waits its ten minutes again"
        );
    }
}
