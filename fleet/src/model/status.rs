//! The fleet page's types: a project's [`Health`] and status, its card, the whole fleet
//! view and overview, "refresh now" and the status events pushed over SSE.

use chrono::{DateTime, Utc};
use pickyassist::{DeviceState, DeviceStatus, ErrorKind};
use serde::{Deserialize, Serialize};

/// Times the fleet page reads, parsed as the RFC 3339 that chrono writes for them (the format
/// stays chrono's). chrono's own `Deserialize` goes through its general-purpose parser, which
/// the browser's wasm would otherwise carry just for these fields; `parse_from_rfc3339` is the
/// small one the page already uses for upstream's times.
mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{de::Error, Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(D::Error::custom)
    }

    pub fn deserialize_option<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(deserialize_with = "deserialize")] DateTime<Utc>);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(t)| t))
    }
}

/// What a status card shows. One colour per variant, the same everywhere (see style/main.css).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Not polled yet since the dashboard started.
    Checking,
    Connected,
    Timeout,
    Unpaired,
    /// Upstream answered with a state the docs do not list.
    UnknownState,
    /// Connection refused, reset or dropped.
    Unreachable,
    /// No answer within the request timeout.
    TimedOut,
    /// Upstream refused the token or the request (`status` code other than 100).
    Rejected,
    /// An answer we could not read, or an HTTP error status.
    Malformed,
}

impl Health {
    /// How much a state needs someone, most first, for sorting the fleet "by state": devices
    /// that are down, then faults on the way to them, then the unsure, then the well.
    pub fn severity(self) -> u8 {
        match self {
            Health::Unpaired => 0,
            Health::Timeout => 1,
            Health::Rejected => 2,
            Health::Unreachable => 3,
            Health::TimedOut => 4,
            Health::Malformed => 5,
            Health::UnknownState => 6,
            Health::Checking => 7,
            Health::Connected => 8,
        }
    }

    pub const ALL: [Health; 9] = [
        Health::Connected,
        Health::Timeout,
        Health::Unpaired,
        Health::UnknownState,
        Health::Unreachable,
        Health::TimedOut,
        Health::Rejected,
        Health::Malformed,
        Health::Checking,
    ];

    pub fn from_state(state: &DeviceState) -> Self {
        match state {
            DeviceState::Connected => Health::Connected,
            DeviceState::Timeout => Health::Timeout,
            DeviceState::Unpaired => Health::Unpaired,
            DeviceState::Unknown(_) => Health::UnknownState,
        }
    }

    pub fn from_error(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Unreachable => Health::Unreachable,
            ErrorKind::TimedOut => Health::TimedOut,
            ErrorKind::Rejected => Health::Rejected,
            ErrorKind::HttpStatus | ErrorKind::Malformed => Health::Malformed,
        }
    }

    /// The stored and JSON name (snake_case, as serde writes it).
    pub const fn as_str(self) -> &'static str {
        match self {
            Health::Checking => "checking",
            Health::Connected => "connected",
            Health::Timeout => "timeout",
            Health::Unpaired => "unpaired",
            Health::UnknownState => "unknown_state",
            Health::Unreachable => "unreachable",
            Health::TimedOut => "timed_out",
            Health::Rejected => "rejected",
            Health::Malformed => "malformed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Health::ALL.into_iter().find(|h| h.as_str() == name)
    }

    /// The state's colour where CSS cannot reach (Slack attachments); the same as the
    /// `--<slug>` colours in style/main.css.
    pub const fn colour(self) -> &'static str {
        match self {
            Health::Checking | Health::Unpaired => "#59636e",
            Health::Connected => "#1a7f37",
            Health::Timeout => "#9a6700",
            Health::UnknownState => "#0550ae",
            Health::Unreachable => "#cf222e",
            Health::TimedOut => "#bc4c00",
            Health::Rejected => "#a0111f",
            Health::Malformed => "#8250df",
        }
    }

    /// Stable identifier, used as a CSS modifier and in filters.
    pub const fn slug(self) -> &'static str {
        match self {
            Health::Checking => "checking",
            Health::Connected => "connected",
            Health::Timeout => "timeout",
            Health::Unpaired => "unpaired",
            Health::UnknownState => "unknown",
            Health::Unreachable => "unreachable",
            Health::TimedOut => "timed-out",
            Health::Rejected => "rejected",
            Health::Malformed => "malformed",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Health::Checking => "Checking…",
            Health::Connected => "Connected",
            Health::Timeout => "Timeout",
            Health::Unpaired => "Unpaired",
            Health::UnknownState => "Unknown state",
            Health::Unreachable => "Unreachable",
            Health::TimedOut => "Timed out",
            Health::Rejected => "Rejected",
            Health::Malformed => "Bad answer",
        }
    }

    /// One sentence for a tooltip: what the state means and what to do.
    pub const fn hint(self) -> &'static str {
        match self {
            Health::Checking => {
                "The dashboard has not heard from PickyAssist about this project yet."
            }
            Health::Connected => "WhatsApp Web is connected to the automation server.",
            Health::Timeout => "The phone does not answer: check its internet connection.",
            Health::Unpaired => "WhatsApp Web is not paired with the automation server.",
            Health::UnknownState => "PickyAssist reported a state its documentation does not list.",
            Health::Unreachable => "PickyAssist could not be reached.",
            Health::TimedOut => "PickyAssist did not answer in time.",
            Health::Rejected => "PickyAssist refused the request: check the project's API token.",
            Health::Malformed => "PickyAssist sent an answer the dashboard could not read.",
        }
    }

    /// The device answered and is not connected: TIMEOUT, UNPAIRED or an unknown state.
    pub const fn is_device_down(self) -> bool {
        matches!(
            self,
            Health::Timeout | Health::Unpaired | Health::UnknownState
        )
    }

    /// True when the problem is between us and PickyAssist rather than on the phone.
    pub const fn is_upstream_problem(self) -> bool {
        matches!(
            self,
            Health::Unreachable | Health::TimedOut | Health::Rejected | Health::Malformed
        )
    }
}

/// The last device data upstream gave us.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSnapshot {
    pub state: String,
    pub connected_number: Option<String>,
    pub version: Option<String>,
    pub message_queue_count: Option<u64>,
    /// Upstream's clock as it sent it, with its UTC offset (RFC 3339).
    pub upstream_time: Option<String>,
}

impl From<&DeviceStatus> for DeviceSnapshot {
    fn from(s: &DeviceStatus) -> Self {
        Self {
            state: s.state.wire_name().to_owned(),
            connected_number: s.connected_number.clone(),
            version: s.version.clone(),
            message_queue_count: s.message_queue_count,
            upstream_time: s.time.map(|t| t.to_rfc3339()),
        }
    }
}

/// The latest known status of one project.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub health: Health,
    /// Upstream's message or the reason a check failed.
    pub detail: Option<String>,
    /// The last successful answer, kept while later checks fail.
    pub device: Option<DeviceSnapshot>,
    /// When the last check finished, successful or not.
    #[serde(default, deserialize_with = "rfc3339::deserialize_option")]
    pub checked_at: Option<DateTime<Utc>>,
    /// When `device` was fetched.
    #[serde(default, deserialize_with = "rfc3339::deserialize_option")]
    pub device_at: Option<DateTime<Utc>>,
    /// The last 24 hours in brief, for the card's strip; `None` before the first check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<super::CardHistory>,
    /// What to try next, when there is something (`fleet::remediation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<super::Advice>,
    /// What auto-heal last did, when it is on and did something ("Auto-heal: restarted at
    /// 10:02 UTC").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_heal: Option<String>,
}

impl StatusView {
    /// Stale: the last check is older than two poll intervals (the poller has missed at least
    /// one). Never checked is "checking", not stale. The one rule for the cards, the API and
    /// anything else that says "stale".
    pub fn is_stale(&self, poll_interval_secs: u64, now: DateTime<Utc>) -> bool {
        self.checked_at
            .is_some_and(|at| (now - at).num_seconds() > 2 * poll_interval_secs as i64)
    }

    pub fn checking() -> Self {
        Self {
            health: Health::Checking,
            detail: None,
            device: None,
            checked_at: None,
            device_at: None,
            history: None,
            advice: None,
            auto_heal: None,
        }
    }
}

/// A project as the fleet page shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCard {
    pub id: i64,
    pub name: String,
    /// `••••1f29`: all of the token the browser ever sees.
    pub token_hint: String,
    pub status: StatusView,
    /// Why the project alerts nobody right now ("Disconnected on purpose by olga", "Alerts
    /// muted until …", "In maintenance: alerts paused").
    #[serde(default)]
    pub quiet: Option<String>,
}

/// Everything the fleet page needs in one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetView {
    pub cards: Vec<ProjectCard>,
    pub poll_interval_secs: u64,
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub generated_at: DateTime<Utc>,
}

/// The fleet page's first load: every project in brief, the first cards in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetOverview {
    /// Every project, in name order.
    pub projects: Vec<ProjectBrief>,
    /// The first projects in name order, in full (the cards shown first).
    pub cards: Vec<ProjectCard>,
    pub poll_interval_secs: u64,
}

/// A project as the counts, the state filters and the search need it. On the wire it is a
/// tuple, `[id, name, token_last4, health]`: a big fleet's page carries a thousand of these,
/// and the field names were a third of their bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectBrief {
    pub id: i64,
    pub name: String,
    /// The token's last four characters, shown as [`token_hint`](super::token_hint). Not the
    /// hint itself: the page's data goes into an inline script as an escaped string, and
    /// escaping costs far more per non-ASCII character (the hint's bullets) than per ASCII
    /// one; for a thousand projects that was a fifth of the page's render time.
    pub token_last4: String,
    pub health: Health,
    /// Uptime over the last 24 hours in tenths of a percent (see `CardHistory`), for sorting.
    pub uptime_permille: Option<u16>,
    /// When the state last changed (Unix seconds), for sorting and "changed in the last hour".
    pub changed_at: Option<i64>,
    /// Why it alerts nobody right now, for its card (see [`ProjectCard::quiet`]).
    pub quiet: Option<String>,
    /// The message queue as last seen, for sorting by queue.
    pub queue: Option<u64>,
}

impl Serialize for ProjectBrief {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (
            self.id,
            &self.name,
            &self.token_last4,
            self.health,
            self.uptime_permille,
            self.changed_at,
            &self.quiet,
            self.queue,
        )
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ProjectBrief {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (id, name, token_last4, health, uptime_permille, changed_at, quiet, queue) =
            Deserialize::deserialize(deserializer)?;
        Ok(Self {
            id,
            name,
            token_last4,
            health,
            uptime_permille,
            changed_at,
            quiet,
            queue,
        })
    }
}

/// The answer to "refresh now".
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// Upstream was asked; here is the new status.
    Refreshed { status: StatusView },
    /// The per-token budget (3 checks a minute) is spent; nothing was sent.
    Throttled {
        retry_after_secs: u64,
        status: StatusView,
    },
}

/// One card's new status, as pushed to browsers over Server-Sent Events.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEvent {
    pub project_id: i64,
    pub status: StatusView,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_names_are_serdes_and_parse_back() {
        for health in Health::ALL {
            assert_eq!(
                serde_json::to_value(health).unwrap(),
                serde_json::Value::from(health.as_str())
            );
            assert_eq!(Health::parse(health.as_str()), Some(health));
        }
        assert_eq!(Health::parse("CONNECTED"), None);
    }

    #[test]
    fn times_read_back_exactly_as_chrono_writes_them_and_bad_ones_are_refused() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T13:05:09.123456789Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{e}"));
        let status = StatusView {
            checked_at: Some(at),
            device_at: None,
            ..StatusView::checking()
        };
        let json = serde_json::to_string(&status).unwrap_or_default();
        assert!(
            json.contains(r#""checked_at":"2026-12-01T13:05:09.123456789Z""#),
            "{json}"
        );
        let back: StatusView = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, status);

        // Missing times are `None`, as before; an offset is converted to UTC.
        let sparse: StatusView = serde_json::from_str(
            r#"{"health":"connected","detail":null,"device":null,"device_at":"2026-12-01T14:05:09+01:00"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sparse.checked_at, None);
        assert_eq!(
            sparse.device_at.map(|t| t.timestamp()),
            Some(at.timestamp())
        );

        let bad = r#"{"health":"connected","detail":null,"device":null,"checked_at":"yesterday"}"#;
        assert!(serde_json::from_str::<StatusView>(bad).is_err());
        let view = r#"{"cards":[],"poll_interval_secs":5,"generated_at":"2026-12-01T13:05:09Z"}"#;
        let view: FleetView = serde_json::from_str(view).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(view.generated_at.timestamp(), at.timestamp());
    }

    #[test]
    fn a_brief_travels_as_a_tuple_and_comes_back_the_same() {
        let brief = ProjectBrief {
            id: 7,
            name: "Café \"Ünïcode\"".into(),
            token_last4: "1f29".into(),
            health: Health::Unpaired,
            uptime_permille: Some(998),
            changed_at: None,
            quiet: None,
            queue: Some(12),
        };
        let json = serde_json::to_string(&brief).unwrap_or_default();
        assert_eq!(
            json,
            r#"[7,"Café \"Ünïcode\"","1f29","unpaired",998,null,null,12]"#
        );
        let back: ProjectBrief = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, brief);
        assert!(serde_json::from_str::<ProjectBrief>(r#"[7,"x","1f29"]"#).is_err());
    }

    #[test]
    fn every_health_has_a_distinct_slug_and_label() {
        let slugs: std::collections::HashSet<_> = Health::ALL.iter().map(|h| h.slug()).collect();
        let labels: std::collections::HashSet<_> = Health::ALL.iter().map(|h| h.label()).collect();
        assert_eq!(slugs.len(), Health::ALL.len());
        assert_eq!(labels.len(), Health::ALL.len());
    }

    #[test]
    fn upstream_failures_map_to_their_own_health() {
        assert_eq!(
            Health::from_error(ErrorKind::Unreachable),
            Health::Unreachable
        );
        assert_eq!(Health::from_error(ErrorKind::TimedOut), Health::TimedOut);
        assert_eq!(Health::from_error(ErrorKind::Rejected), Health::Rejected);
        assert_eq!(Health::from_error(ErrorKind::Malformed), Health::Malformed);
        assert!(Health::Rejected.is_upstream_problem());
        assert!(!Health::Timeout.is_upstream_problem());
    }

    #[test]
    fn a_status_is_stale_after_two_intervals() {
        let now = Utc::now();
        let mut status = StatusView::checking();
        assert!(
            !status.is_stale(30, now),
            "never checked is 'checking', not stale"
        );
        status.checked_at = Some(now - chrono::Duration::seconds(59));
        assert!(!status.is_stale(30, now));
        status.checked_at = Some(now - chrono::Duration::seconds(61));
        assert!(status.is_stale(30, now));
    }
}
