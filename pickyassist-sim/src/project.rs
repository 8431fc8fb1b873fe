//! One simulated project's state machine. Every function takes the current [`Instant`] so the
//! tests drive time by hand; nothing here reads a clock or runs a timer.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use pickyassist::{Command, DeviceState, DeviceStatus};
use serde::{Deserialize, Serialize};

use crate::stats::RequestCounts;

/// Commands kept per project; older ones are forgotten so a long benchmark stays bounded.
pub(crate) const LOG_CAPACITY: usize = 50;

/// Upstream's rate limit is "per minute"; we read that as a rolling window.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// The durations that drive state changes, copied from [`crate::SimConfig`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timings {
    pub restart_timeout: Duration,
    pub server_restart_downtime: Duration,
    pub queue_growth_interval: Option<Duration>,
}

/// A command the simulator executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// When it arrived, in the simulator's configured offset.
    pub time: DateTime<FixedOffset>,
    pub command: Command,
}

/// A project as the control API shows it. Deliberately without the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectView {
    pub project_id: u64,
    pub name: Option<String>,
    /// What `device-status` reports now (`TIMEOUT` during a restart).
    pub state: DeviceState,
    pub connected_number: Option<String>,
    pub message_queue_count: u64,
    pub version: String,
    /// `true` while `restart-server` downtime drops this project's requests.
    pub server_down: bool,
    /// The most recent executed commands, oldest first (at most 50).
    pub recent_commands: Vec<CommandRecord>,
    pub requests: RequestCounts,
}

#[derive(Debug)]
pub(crate) struct Project {
    pub(crate) id: u64,
    pub(crate) token: String,
    pub(crate) name: Option<String>,
    /// The state without the `restart` overlay: what the project returns to.
    state: DeviceState,
    number: Option<String>,
    version: String,
    /// The queue as of `queue_since`; growth after that is computed when someone looks.
    queue: u64,
    queue_since: Instant,
    /// Whether the queue grows while connected (a stuck queue, or a busy one).
    pub(crate) queue_grows: bool,
    restarting_until: Option<Instant>,
    down_until: Option<Instant>,
    log: VecDeque<CommandRecord>,
    /// Instants of the status checks let through in the last minute (only while limited).
    status_window: VecDeque<Instant>,
    pub(crate) counts: RequestCounts,
}

impl Project {
    pub(crate) fn new(
        id: u64,
        token: String,
        state: DeviceState,
        number: Option<String>,
        queue: u64,
        now: Instant,
    ) -> Self {
        Self {
            id,
            token,
            name: None,
            state,
            number,
            version: crate::SIM_VERSION.to_owned(),
            queue,
            queue_since: now,
            queue_grows: true,
            restarting_until: None,
            down_until: None,
            log: VecDeque::new(),
            status_window: VecDeque::new(),
            counts: RequestCounts::default(),
        }
    }

    /// Brings the lazily computed parts up to `now`: ends expired restarts and downtimes and
    /// adds the queue growth since the last look. Call before reading or changing anything.
    pub(crate) fn settle(&mut self, now: Instant, growth: Option<Duration>) {
        // Overlays end in order; the queue did not grow while any was active, so the growth
        // clock restarts at each end.
        while let Some(end) = [self.restarting_until, self.down_until]
            .into_iter()
            .flatten()
            .filter(|end| *end <= now)
            .min()
        {
            self.queue_since = self.queue_since.max(end);
            if self.restarting_until.is_some_and(|t| t <= end) {
                self.restarting_until = None;
            }
            if self.down_until.is_some_and(|t| t <= end) {
                self.down_until = None;
            }
        }

        let interval = growth.filter(|i| !i.is_zero());
        match interval {
            Some(interval) if self.is_growing() => {
                let elapsed = now.saturating_duration_since(self.queue_since);
                let steps = elapsed.as_nanos() / interval.as_nanos();
                if steps > 0 {
                    self.queue = self
                        .queue
                        .saturating_add(u64::try_from(steps).unwrap_or(u64::MAX));
                    // Keep the partial interval, so frequent polling does not slow growth down.
                    let remainder = elapsed.as_nanos() % interval.as_nanos();
                    let remainder = Duration::from_nanos(u64::try_from(remainder).unwrap_or(0));
                    self.queue_since = now.checked_sub(remainder).unwrap_or(now);
                }
            }
            _ => self.queue_since = self.queue_since.max(now),
        }
    }

    fn is_growing(&self) -> bool {
        self.queue_grows
            && self.state == DeviceState::Connected
            && self.restarting_until.is_none()
            && self.down_until.is_none()
    }

    /// Whether `restart-server` downtime is dropping this project's requests. Assumes `settle`.
    pub(crate) fn is_down(&self) -> bool {
        self.down_until.is_some()
    }

    /// The state `device-status` reports. Assumes `settle`.
    pub(crate) fn reported_state(&self) -> DeviceState {
        if self.restarting_until.is_some() {
            DeviceState::Timeout
        } else {
            self.state.clone()
        }
    }

    /// Lets a status check through unless `limit` checks already went through in the last
    /// minute. Dropped checks do not count: upstream never processed them.
    pub(crate) fn admit_status_check(&mut self, now: Instant, limit: Option<u32>) -> bool {
        let Some(limit) = limit else {
            // Nothing to remember while unlimited, so a benchmark's flood costs no memory.
            self.status_window.clear();
            return true;
        };
        while self
            .status_window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= RATE_WINDOW)
        {
            self.status_window.pop_front();
        }
        if self.status_window.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            return false;
        }
        self.status_window.push_back(now);
        true
    }

    /// What an operator's phone does on its own: the device goes to `state` (CONNECTED gets
    /// a number again; any other state drops it) and, if given, the queue to `queue`.
    pub(crate) fn set_state(&mut self, state: DeviceState, queue: Option<u64>, now: Instant) {
        self.number = match state {
            DeviceState::Connected => self
                .number
                .clone()
                .or_else(|| Some(crate::sim::made_up_number(self.id))),
            _ => None,
        };
        self.state = state;
        self.restarting_until = None;
        if let Some(queue) = queue {
            self.queue = queue;
        }
        self.queue_since = now;
    }

    /// Executes a command. Assumes `settle`.
    pub(crate) fn apply(
        &mut self,
        command: Command,
        now: Instant,
        timings: &Timings,
        time: DateTime<FixedOffset>,
    ) {
        match command {
            Command::Restart => self.restarting_until = Some(now + timings.restart_timeout),
            Command::RestartServer => self.down_until = Some(now + timings.server_restart_downtime),
            Command::DeleteMessageQueue => self.queue = 0,
            Command::Disconnect => {
                self.state = DeviceState::Unpaired;
                self.number = None;
                self.restarting_until = None;
            }
            Command::Clearlogs => {
                self.state = DeviceState::Unpaired;
                self.number = None;
                self.queue = 0;
                self.restarting_until = None;
            }
        }
        // A change of state or queue restarts the growth clock.
        self.queue_since = now;
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(CommandRecord { time, command });
    }

    /// The `device-status` answer. Assumes `settle`.
    pub(crate) fn status(&self, time: DateTime<FixedOffset>) -> DeviceStatus {
        DeviceStatus {
            project_id: Some(self.id.to_string()),
            state: self.reported_state(),
            connected_number: self.number.clone(),
            version: Some(self.version.clone()),
            message_queue_count: Some(self.queue),
            time: Some(time),
        }
    }

    /// The control API's view. Assumes `settle`.
    pub(crate) fn view(&self) -> ProjectView {
        ProjectView {
            project_id: self.id,
            name: self.name.clone(),
            state: self.reported_state(),
            connected_number: self.number.clone(),
            message_queue_count: self.queue,
            version: self.version.clone(),
            server_down: self.is_down(),
            recent_commands: self.log.iter().cloned().collect(),
            requests: self.counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const TIMINGS: Timings = Timings {
        restart_timeout: Duration::from_secs(5),
        server_restart_downtime: Duration::from_secs(8),
        queue_growth_interval: Some(Duration::from_secs(10)),
    };
    const GROWTH: Option<Duration> = TIMINGS.queue_growth_interval;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn wall() -> DateTime<FixedOffset> {
        let offset = crate::SimConfig::default().utc_offset;
        match offset.with_ymd_and_hms(2021, 6, 1, 14, 5, 26) {
            chrono::LocalResult::Single(t) => t,
            other => panic!("{other:?}"),
        }
    }

    fn connected(t0: Instant, queue: u64) -> Project {
        Project::new(
            929,
            "t".repeat(34),
            DeviceState::Connected,
            Some("15555550100".into()),
            queue,
            t0,
        )
    }

    /// Settles at `at` and returns (reported state, queue).
    fn look(p: &mut Project, at: Instant) -> (DeviceState, u64) {
        p.settle(at, GROWTH);
        (
            p.reported_state(),
            p.status(wall()).message_queue_count.unwrap_or(u64::MAX),
        )
    }

    fn run(p: &mut Project, command: Command, at: Instant) {
        p.settle(at, GROWTH);
        p.apply(command, at, &TIMINGS, wall());
    }

    #[test]
    fn the_queue_grows_one_per_interval_while_connected_however_often_it_is_read() {
        let t0 = Instant::now();
        let mut p = connected(t0, 2);
        assert_eq!(look(&mut p, t0 + secs(9)).1, 2);
        // Reading every 3 s must not lose the partial intervals.
        for s in (0..=35).step_by(3) {
            look(&mut p, t0 + secs(s));
        }
        assert_eq!(look(&mut p, t0 + secs(35)).1, 5);
        assert_eq!(look(&mut p, t0 + secs(100)).1, 12);
    }

    #[test]
    fn the_queue_does_not_grow_unless_connected_or_configured_to() {
        let t0 = Instant::now();
        for state in [
            DeviceState::Timeout,
            DeviceState::Unpaired,
            DeviceState::Unknown("PAIRING".into()),
        ] {
            let mut p = Project::new(1, "t".into(), state.clone(), None, 3, t0);
            assert_eq!(look(&mut p, t0 + secs(600)), (state, 3));
        }
        let mut p = connected(t0, 3);
        p.settle(t0 + secs(600), None);
        assert_eq!(p.queue, 3);
        p.settle(t0 + secs(1200), Some(Duration::ZERO));
        assert_eq!(p.queue, 3);
    }

    #[test]
    fn restart_reports_timeout_for_the_restart_time_then_the_previous_state() {
        let t0 = Instant::now();
        let mut p = connected(t0, 0);
        run(&mut p, Command::Restart, t0 + secs(1));
        assert_eq!(look(&mut p, t0 + secs(1)).0, DeviceState::Timeout);
        assert_eq!(look(&mut p, t0 + secs(5)).0, DeviceState::Timeout);
        assert_eq!(look(&mut p, t0 + secs(6)).0, DeviceState::Connected);
        // No growth while restarting: the clock starts again at the end of the restart (6 s).
        assert_eq!(look(&mut p, t0 + secs(15)).1, 0);
        assert_eq!(look(&mut p, t0 + secs(16)).1, 1);

        let mut unpaired = Project::new(2, "u".into(), DeviceState::Unpaired, None, 0, t0);
        run(&mut unpaired, Command::Restart, t0);
        assert_eq!(look(&mut unpaired, t0 + secs(1)).0, DeviceState::Timeout);
        assert_eq!(look(&mut unpaired, t0 + secs(5)).0, DeviceState::Unpaired);
    }

    #[test]
    fn a_second_restart_extends_the_timeout() {
        let t0 = Instant::now();
        let mut p = connected(t0, 0);
        run(&mut p, Command::Restart, t0);
        run(&mut p, Command::Restart, t0 + secs(4));
        assert_eq!(look(&mut p, t0 + secs(8)).0, DeviceState::Timeout);
        assert_eq!(look(&mut p, t0 + secs(9)).0, DeviceState::Connected);
    }

    #[test]
    fn restart_server_is_down_for_the_downtime_then_back_as_it_was() {
        let t0 = Instant::now();
        let mut p = connected(t0, 7);
        run(&mut p, Command::RestartServer, t0);
        p.settle(t0 + secs(7), GROWTH);
        assert!(p.is_down());
        assert_eq!(p.queue, 7, "no growth while the server is down");
        p.settle(t0 + secs(8), GROWTH);
        assert!(!p.is_down());
        assert_eq!(look(&mut p, t0 + secs(8)), (DeviceState::Connected, 7));
        assert_eq!(look(&mut p, t0 + secs(18)).1, 8);
    }

    #[test]
    fn overlapping_restart_and_downtime_end_in_order() {
        let t0 = Instant::now();
        let mut p = connected(t0, 0);
        run(&mut p, Command::Restart, t0); // until 5 s
        run(&mut p, Command::RestartServer, t0 + secs(1)); // until 9 s
                                                           // Both expired by 30 s: growth counts from 9 s only.
        assert_eq!(look(&mut p, t0 + secs(30)), (DeviceState::Connected, 2));
        assert!(!p.is_down());
    }

    #[test]
    fn delete_message_queue_empties_the_queue_and_keeps_the_rest() {
        let t0 = Instant::now();
        let mut p = connected(t0, 40);
        run(&mut p, Command::DeleteMessageQueue, t0 + secs(25));
        let status = p.status(wall());
        assert_eq!(status.message_queue_count, Some(0));
        assert_eq!(status.state, DeviceState::Connected);
        assert_eq!(status.connected_number.as_deref(), Some("15555550100"));
        assert_eq!(look(&mut p, t0 + secs(35)).1, 1);
    }

    #[test]
    fn disconnect_unpairs_clears_the_number_and_keeps_the_queue() {
        let t0 = Instant::now();
        let mut p = connected(t0, 12);
        run(&mut p, Command::Restart, t0);
        run(&mut p, Command::Disconnect, t0 + secs(1));
        let status = p.status(wall());
        assert_eq!(
            status.state,
            DeviceState::Unpaired,
            "disconnect ends a restart"
        );
        assert_eq!(status.connected_number, None);
        assert_eq!(status.message_queue_count, Some(12));
        assert_eq!(look(&mut p, t0 + secs(300)), (DeviceState::Unpaired, 12));
    }

    #[test]
    fn clearlogs_resets_state_number_and_queue() {
        let t0 = Instant::now();
        let mut p = Project::new(
            3,
            "c".into(),
            DeviceState::Timeout,
            Some("15555550104".into()),
            9,
            t0,
        );
        run(&mut p, Command::Clearlogs, t0);
        let status = p.status(wall());
        assert_eq!(
            (
                status.state,
                status.connected_number,
                status.message_queue_count
            ),
            (DeviceState::Unpaired, None, Some(0))
        );
    }

    #[test]
    fn executed_commands_are_logged_with_a_bounded_history() {
        let t0 = Instant::now();
        let mut p = connected(t0, 0);
        run(&mut p, Command::Disconnect, t0);
        assert_eq!(
            p.view().recent_commands,
            vec![CommandRecord {
                time: wall(),
                command: Command::Disconnect
            }]
        );
        for _ in 0..LOG_CAPACITY + 10 {
            run(&mut p, Command::DeleteMessageQueue, t0);
        }
        let log = p.view().recent_commands;
        assert_eq!(log.len(), LOG_CAPACITY);
        assert!(log.iter().all(|r| r.command == Command::DeleteMessageQueue));
    }

    #[test]
    fn the_rate_limit_is_a_rolling_minute_and_drops_do_not_count() {
        let t0 = Instant::now();
        let mut p = connected(t0, 0);
        let limit = Some(3);
        assert!(p.admit_status_check(t0, limit));
        assert!(p.admit_status_check(t0 + secs(20), limit));
        assert!(p.admit_status_check(t0 + secs(40), limit));
        for s in [41, 50, 59] {
            assert!(!p.admit_status_check(t0 + secs(s), limit), "{s}");
        }
        // The first check leaves the window at 60 s; the drops above did not take its place.
        assert!(p.admit_status_check(t0 + secs(60), limit));
        assert!(!p.admit_status_check(t0 + secs(61), limit));
        assert!(p.admit_status_check(t0 + secs(80), limit));
    }

    #[test]
    fn no_limit_admits_everything_and_a_zero_limit_nothing() {
        let t0 = Instant::now();
        let mut p = connected(t0, 0);
        assert!((0..1000).all(|_| p.admit_status_check(t0, None)));
        assert!(p.status_window.is_empty());
        assert!(!p.admit_status_check(t0, Some(0)));
    }

    #[test]
    fn the_status_is_the_documented_wire_shape() {
        let t0 = Instant::now();
        let mut p = connected(t0, 0);
        p.settle(t0, GROWTH);
        let wire = p.status(wall()).to_wire();
        assert_eq!(
            wire,
            serde_json::json!({
                "project_id": "929",
                "status": "CONNECTED",
                "connected_number": "15555550100",
                "version": "2.2119.6",
                "message_queue_count": 0,
                "time": "2021-06-01T14:05:26+05:30",
            })
        );
    }
}
