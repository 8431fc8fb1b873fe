//! What an alert says, written once when it is queued (so a retry a day later says the same),
//! and how each kind of channel renders it. A message is built from names, states and times
//! only: there is no way for a token to get into one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{AlertEvent, AlertKind, Health};

/// The body of a generic webhook, and the source of every other rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    pub event: AlertEvent,
    pub alert_id: i64,
    pub kind: AlertKind,
    pub project: Option<ProjectRef>,
    /// States as `Health` names (`connected`, `timeout`, …); for a storm, `connected` to
    /// `unreachable`.
    pub state_from: String,
    pub state_to: String,
    /// When the trouble began (the first failing poll).
    pub since: String,
    /// Recovered: how long it was down.
    pub downtime_seconds: Option<i64>,
    /// Storms: how many projects.
    pub affected: Option<usize>,
    /// Reminders: which one (1, 2, …).
    pub repeat: Option<u32>,
    /// One line for people.
    pub message: String,
    /// The project's page (or the Alerts page for a storm or test).
    pub link: String,
    /// Acknowledges the alert (down and repeat messages; expires after a week).
    pub acknowledge_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRef {
    pub id: i64,
    pub name: String,
}

/// What the caller knows when it queues a message.
pub struct Facts<'a> {
    pub event: AlertEvent,
    pub alert_id: i64,
    pub kind: AlertKind,
    pub project: Option<(i64, &'a str)>,
    pub failing: Health,
    pub since: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub affected: Option<usize>,
    pub repeat: Option<u32>,
    /// The dashboard's address as people reach it, without a trailing slash.
    pub public_url: &'a str,
    pub acknowledge_token: Option<String>,
}

impl AlertMessage {
    pub fn new(facts: Facts<'_>) -> Self {
        let Facts {
            event,
            alert_id,
            kind,
            project,
            failing,
            since,
            now,
            affected,
            repeat,
            public_url,
            acknowledge_token,
        } = facts;
        let (state_from, state_to) = match event {
            AlertEvent::Recovered => (failing, Health::Connected),
            _ => (Health::Connected, failing),
        };
        let down_for = human_duration(now - since);
        let name = project.map_or("", |(_, name)| name);
        let message = match (kind, event) {
            (AlertKind::Test, _) => "Test alert from Picky Fleet: this channel works.".to_owned(),
            (AlertKind::AutoHeal, _) => format!(
                "{name} is still {} after auto-heal's restarts (down since {}): a person is needed.",
                failing.label().to_uppercase(),
                since.format("%H:%M UTC")
            ),
            (AlertKind::Storm, AlertEvent::Recovered) => {
                format!("PickyAssist answers again: the outage lasted {down_for}.")
            }
            (AlertKind::Storm, _) => format!(
                "PickyAssist unreachable: {} projects affected since {}.",
                affected.unwrap_or(0),
                since.format("%H:%M UTC")
            ),
            (_, AlertEvent::Recovered) => {
                format!("{name} is connected again after {down_for} down.")
            }
            (AlertKind::Dashboard, _) => format!(
                "The dashboard cannot check {name}: {} for {down_for}.",
                failing.label().to_lowercase()
            ),
            (_, AlertEvent::Repeat) => format!(
                "Still down: {name} is {} (for {down_for}, reminder {}).",
                failing.label().to_uppercase(),
                repeat.unwrap_or(1)
            ),
            _ => format!(
                "{name} is down: {} since {}.",
                failing.label().to_uppercase(),
                since.format("%H:%M UTC")
            ),
        };
        let link = match project {
            Some((id, _)) => format!("{public_url}/projects/{id}"),
            None => format!("{public_url}/alerts"),
        };
        Self {
            event,
            alert_id,
            kind,
            project: project.map(|(id, name)| ProjectRef {
                id,
                name: name.to_owned(),
            }),
            state_from: state_from.as_str().to_owned(),
            state_to: state_to.as_str().to_owned(),
            since: since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            downtime_seconds: (event == AlertEvent::Recovered).then(|| (now - since).num_seconds()),
            affected,
            repeat,
            message,
            link,
            acknowledge_url: acknowledge_token
                .map(|token| format!("{public_url}/alerts/acknowledge?token={token}")),
        }
    }

    /// The state the message is about, for its colour.
    fn shown_state(&self) -> Health {
        Health::parse(&self.state_to).unwrap_or(Health::UnknownState)
    }

    /// An e-mail's subject line.
    pub fn subject(&self) -> String {
        let what = match self.event {
            AlertEvent::Recovered => "Recovered",
            AlertEvent::Repeat => "Still down",
            AlertEvent::Test => "Test",
            AlertEvent::Down => "Down",
        };
        match &self.project {
            Some(p) => format!("[Picky Fleet] {what}: {}", p.name),
            None => format!("[Picky Fleet] {what}: {}", self.message),
        }
    }

    /// An e-mail's plain-text body.
    pub fn text(&self) -> String {
        let mut body = format!("{}\n\nDetails: {}\n", self.message, self.link);
        if let Some(url) = &self.acknowledge_url {
            body.push_str(&format!("Acknowledge (stops the reminders): {url}\n"));
        }
        body.push_str(&format!(
            "\nState: {} -> {}\nSince: {}\nAlert: #{}\n",
            self.state_from, self.state_to, self.since, self.alert_id
        ));
        body
    }

    /// A Slack-compatible incoming-webhook body: the line, and an attachment in the state's
    /// colour with the links.
    pub fn slack(&self) -> serde_json::Value {
        let mut links = format!("<{}|Open in Picky Fleet>", self.link);
        if let Some(url) = &self.acknowledge_url {
            links.push_str(&format!(" · <{url}|Acknowledge>"));
        }
        serde_json::json!({
            "text": self.message,
            "attachments": [{
                "color": self.shown_state().colour(),
                "fallback": self.message,
                "text": links,
                "footer": format!("Alert #{} · since {}", self.alert_id, self.since),
            }],
        })
    }
}

/// "3 h 20 min", "12 min", "45 s".
pub fn human_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => match (secs / 3600, secs % 3600 / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
        _ => match (secs / 86_400, secs % 86_400 / 3600) {
            (d, 0) => format!("{d} d"),
            (d, h) => format!("{d} d {h} h"),
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn facts(event: AlertEvent) -> Facts<'static> {
        let since = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        Facts {
            event,
            alert_id: 7,
            kind: AlertKind::Device,
            project: Some((3, "Green Leaf Clinic")),
            failing: Health::Unpaired,
            since,
            now: since + chrono::Duration::minutes(95),
            affected: None,
            repeat: None,
            public_url: "https://fleet.example.com",
            acknowledge_token: Some("7.99.ab".into()),
        }
    }

    #[test]
    fn a_down_message_names_project_state_time_and_links() {
        let m = AlertMessage::new(facts(AlertEvent::Down));
        assert_eq!(
            m.message,
            "Green Leaf Clinic is down: UNPAIRED since 09:00 UTC."
        );
        assert_eq!(
            (m.state_from.as_str(), m.state_to.as_str()),
            ("connected", "unpaired")
        );
        assert_eq!(m.link, "https://fleet.example.com/projects/3");
        assert_eq!(
            m.acknowledge_url.as_deref(),
            Some("https://fleet.example.com/alerts/acknowledge?token=7.99.ab")
        );
        let slack = m.slack();
        assert_eq!(slack["attachments"][0]["color"], Health::Unpaired.colour());
        assert!(m.text().contains("Acknowledge (stops the reminders)"));
        assert_eq!(m.subject(), "[Picky Fleet] Down: Green Leaf Clinic");
    }

    #[test]
    fn a_recovery_says_how_long_it_was_down() {
        let m = AlertMessage::new(Facts {
            acknowledge_token: None,
            ..facts(AlertEvent::Recovered)
        });
        assert_eq!(
            m.message,
            "Green Leaf Clinic is connected again after 1 h 35 min down."
        );
        assert_eq!(m.downtime_seconds, Some(95 * 60));
        assert_eq!(m.state_to, "connected");
        assert_eq!(
            m.slack()["attachments"][0]["color"],
            Health::Connected.colour()
        );
    }

    #[test]
    fn durations_read_naturally() {
        let d = chrono::Duration::seconds;
        assert_eq!(human_duration(d(45)), "45 s");
        assert_eq!(human_duration(d(600)), "10 min");
        assert_eq!(human_duration(d(7200)), "2 h");
        assert_eq!(human_duration(d(90_000)), "1 d 1 h");
    }
}
