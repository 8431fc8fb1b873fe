//! Guided remediation: what a support agent should try next for a project, from what the
//! polls saw and which command was sent, following PickyAssist's own advice for each command
//! (`restart` when the QR code does not show or the connection misbehaves, `restart-server`
//! only when `restart` did not help, `delete-message-queue` deletes customers' messages).
//!
//! Pure: [`Memory`] is one project's recent past, updated by each poll ([`Memory::observe`])
//! and each command that upstream accepted ([`Memory::command_sent`]); [`advise`] reads it.
//! Advice is shown on the card with the command one click away; nothing runs by itself.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use pickyassist::Command;

use crate::model::{Advice, Health};

/// Minutes in TIMEOUT after which `restart` is worth a try (before, it is usually the phone).
pub const TIMEOUT_MINUTES_BEFORE_RESTART: i64 = 10;
/// How long a `restart` gets to help, and the checks that must have seen the device still
/// down since, before `restart-server` is suggested (time as well as checks: the check that
/// confirms a command comes seconds after it). Auto-heal's default is the same five minutes.
pub const MINUTES_FOR_RESTART_TO_HELP: i64 = 5;
pub const POLLS_TO_RECOVER_FROM_RESTART: u32 = 2;
/// Queue counts kept while CONNECTED; a rise across all of them is "growing".
const QUEUE_SAMPLES: usize = 3;

/// One project's recent past, as far as advice needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// The state the last poll found, and since when it has held.
    state: Option<(Health, DateTime<Utc>)>,
    /// The last queue counts seen while CONNECTED, oldest first.
    queue: VecDeque<i64>,
    /// A `restart` upstream accepted, and the polls since that still found the device down.
    restart: Option<(DateTime<Utc>, u32)>,
}

impl Memory {
    /// One poll's result.
    pub fn observe(&mut self, health: Health, queue: Option<i64>, now: DateTime<Utc>) {
        if health == Health::Checking {
            return;
        }
        match self.state {
            Some((previous, _)) if previous == health => {}
            _ => self.state = Some((health, now)),
        }
        if health == Health::Connected {
            // Back: the restart worked (or was not needed).
            self.restart = None;
            if let Some(queue) = queue {
                if self.queue.len() == QUEUE_SAMPLES {
                    self.queue.pop_front();
                }
                self.queue.push_back(queue);
            }
        } else {
            self.queue.clear();
            if let Some((_, polls)) = &mut self.restart {
                *polls += 1;
            }
        }
    }

    /// A command upstream accepted.
    pub fn command_sent(&mut self, command: Command, now: DateTime<Utc>) {
        match command {
            Command::Restart => self.restart = Some((now, 0)),
            // The bigger hammer was used: nothing further to suggest about restarts.
            Command::RestartServer => self.restart = None,
            Command::DeleteMessageQueue => self.queue.clear(),
            Command::Disconnect | Command::Clearlogs => {
                self.restart = None;
                self.queue.clear();
            }
        }
    }
}

/// What to try next, if anything.
pub fn advise(memory: &Memory, now: DateTime<Utc>) -> Option<Advice> {
    let (health, since) = memory.state?;
    if health == Health::Rejected {
        return Some(Advice {
            text: "PickyAssist refuses this project's API token: it was changed or revoked. An \
                   admin can enter the new one on the Projects page."
                .into(),
            command: None,
            warning: None,
            link: Some("/admin/projects".into()),
        });
    }
    if let Some((restarted_at, polls)) = memory.restart {
        if polls >= POLLS_TO_RECOVER_FROM_RESTART
            && now - restarted_at >= Duration::minutes(MINUTES_FOR_RESTART_TO_HELP)
            && health.is_device_down()
        {
            return Some(Advice {
                text: format!(
                    "Restart app did not bring it back ({} min, {polls} checks since). Try \
                     Restart server: it restarts the whole automation server.",
                    (now - restarted_at).num_minutes()
                ),
                command: Some(Command::RestartServer),
                warning: None,
                link: None,
            });
        }
    }
    match health {
        Health::Unpaired => Some(Advice {
            text: "WhatsApp Web is not paired. Restart app to show the QR code again, then scan \
                   it with the phone."
                .into(),
            command: Some(Command::Restart),
            warning: None,
            link: None,
        }),
        Health::Timeout => {
            let minutes = (now - since).num_minutes();
            if now - since < Duration::minutes(TIMEOUT_MINUTES_BEFORE_RESTART) {
                Some(Advice {
                    text: "The phone does not answer: check that it is on, has internet, and \
                           that WhatsApp is open."
                        .into(),
                    command: None,
                    warning: None,
                    link: None,
                })
            } else {
                Some(Advice {
                    text: format!(
                        "No answer from the phone for {minutes} min. If it is on and online, \
                         try Restart app."
                    ),
                    command: Some(Command::Restart),
                    warning: None,
                    link: None,
                })
            }
        }
        Health::Connected => {
            let growing = memory.queue.len() == QUEUE_SAMPLES
                && memory
                    .queue
                    .iter()
                    .zip(memory.queue.iter().skip(1))
                    .all(|(a, b)| b > a);
            growing.then(|| {
                let (first, last) = (memory.queue[0], memory.queue[QUEUE_SAMPLES - 1]);
                Advice {
                    text: format!(
                        "The message queue keeps growing while connected ({first} → {last}): \
                         messages may be stuck."
                    ),
                    command: Some(Command::DeleteMessageQueue),
                    warning: Some(
                        "Clear queue deletes the waiting messages: your customers' messages \
                         will not be sent."
                            .into(),
                    ),
                    link: None,
                }
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).expect("time") + Duration::minutes(minutes)
    }

    fn command(memory: &Memory, now: DateTime<Utc>) -> Option<Command> {
        advise(memory, now).and_then(|a| a.command)
    }

    #[test]
    fn timeout_first_asks_about_the_phone_then_suggests_restart() {
        let mut m = Memory::default();
        m.observe(Health::Connected, Some(1), t(0));
        m.observe(Health::Timeout, None, t(1));
        let early = advise(&m, t(5)).expect("advice");
        assert!(early.text.contains("internet"), "{early:?}");
        assert_eq!(early.command, None);
        m.observe(Health::Timeout, None, t(10));
        assert_eq!(
            command(&m, t(11)),
            Some(Command::Restart),
            "10 min after it began"
        );
    }

    #[test]
    fn unpaired_suggests_restart_for_the_qr_code() {
        let mut m = Memory::default();
        m.observe(Health::Unpaired, None, t(0));
        let advice = advise(&m, t(0)).expect("advice");
        assert!(advice.text.contains("QR code"));
        assert_eq!(advice.command, Some(Command::Restart));
    }

    #[test]
    fn a_restart_that_did_not_help_within_two_polls_leads_to_restart_server() {
        let mut m = Memory::default();
        m.observe(Health::Timeout, None, t(0));
        m.command_sent(Command::Restart, t(20));
        m.observe(Health::Timeout, None, t(20));
        m.observe(Health::Timeout, None, t(21));
        assert_eq!(
            command(&m, t(21)),
            Some(Command::Restart),
            "two checks, but a minute is too soon"
        );
        m.observe(Health::Timeout, None, t(25));
        assert_eq!(command(&m, t(25)), Some(Command::RestartServer));
        m.command_sent(Command::RestartServer, t(26));
        assert_eq!(
            command(&m, t(26)),
            Some(Command::Restart),
            "back to the plain advice"
        );

        // A restart that worked ends it.
        m.command_sent(Command::Restart, t(30));
        m.observe(Health::Connected, Some(0), t(31));
        m.observe(Health::Timeout, None, t(32));
        m.observe(Health::Timeout, None, t(33));
        assert_ne!(command(&m, t(33)), Some(Command::RestartServer));
    }

    #[test]
    fn a_queue_rising_over_three_polls_while_connected_offers_clear_queue_with_a_warning() {
        let mut m = Memory::default();
        m.observe(Health::Connected, Some(5), t(0));
        m.observe(Health::Connected, Some(9), t(1));
        assert_eq!(advise(&m, t(1)), None, "two samples say nothing yet");
        m.observe(Health::Connected, Some(14), t(2));
        let advice = advise(&m, t(2)).expect("advice");
        assert_eq!(advice.command, Some(Command::DeleteMessageQueue));
        assert!(advice.text.contains("5 → 14"), "{advice:?}");
        assert!(advice
            .warning
            .expect("warning")
            .contains("customers' messages"));
        m.observe(Health::Connected, Some(14), t(3));
        assert_eq!(advise(&m, t(3)), None, "flat is not growing");
        m.command_sent(Command::DeleteMessageQueue, t(4));
        assert_eq!(advise(&m, t(4)), None);
    }

    #[test]
    fn a_rejected_token_sends_the_admin_to_the_projects_page_and_other_faults_say_nothing() {
        let mut m = Memory::default();
        m.observe(Health::Rejected, None, t(0));
        let advice = advise(&m, t(0)).expect("advice");
        assert_eq!(advice.link.as_deref(), Some("/admin/projects"));
        assert_eq!(advice.command, None);
        m.observe(Health::Unreachable, None, t(1));
        assert_eq!(advise(&m, t(1)), None, "upstream's fault: no device advice");
        assert_eq!(advise(&Memory::default(), t(0)), None, "never polled");
    }
}
