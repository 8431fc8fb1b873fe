//! Alerts as the pages and the API see them: channels (never with their secrets), rules,
//! alerts with their deliveries, mutes and maintenance windows, one file per topic (this one:
//! alerts and their deliveries). The rules that check them live in the service
//! (`fleet::service::alerts`).

use serde::{Deserialize, Serialize};

mod channels;
mod quiet;
mod rules;

pub use channels::*;
pub use quiet::*;
pub use rules::*;

/// What an alert is about.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The device's own state: TIMEOUT, UNPAIRED or one the docs do not list.
    Device,
    /// The dashboard could not get a good answer: unreachable, token rejected, bad answer.
    Dashboard,
    /// Many projects went down in one round: upstream itself is likely down.
    Storm,
    /// A "send test alert".
    Test,
    /// Auto-heal used up its caps and the device is still down: a person is needed.
    AutoHeal,
}

impl AlertKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertKind::Device => "device",
            AlertKind::Dashboard => "dashboard",
            AlertKind::Storm => "storm",
            AlertKind::Test => "test",
            AlertKind::AutoHeal => "auto_heal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Device,
            Self::Dashboard,
            Self::Storm,
            Self::Test,
            Self::AutoHeal,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Where an alert stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Down, nobody has acknowledged it: reminders go out.
    Open,
    /// Down, somebody is on it: no more reminders.
    Acknowledged,
    /// Back up (or a test, done).
    Resolved,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 3] = [Self::Open, Self::Acknowledged, Self::Resolved];

    pub const fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            AlertStatus::Open => "Open",
            AlertStatus::Acknowledged => "Acknowledged",
            AlertStatus::Resolved => "Resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How one message to one channel fared.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not sent yet: waiting for its first attempt or its next retry.
    Pending,
    Sent,
    /// Every attempt for a day failed.
    Failed,
}

impl DeliveryStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Which message a delivery carries.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    Down,
    Repeat,
    Recovered,
    Test,
}

impl AlertEvent {
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertEvent::Down => "down",
            AlertEvent::Repeat => "repeat",
            AlertEvent::Recovered => "recovered",
            AlertEvent::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Down, Self::Repeat, Self::Recovered, Self::Test]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One attempt to deliver.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub at: String,
    pub ok: bool,
    pub status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// One message to one channel, with its attempts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDelivery {
    pub id: i64,
    pub channel_id: i64,
    pub channel_name: Option<String>,
    pub event: AlertEvent,
    pub status: DeliveryStatus,
    pub attempts: Vec<DeliveryAttempt>,
    pub next_attempt_at: Option<String>,
}

/// An alert: one incident from its first failing poll to its recovery.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i64,
    pub kind: AlertKind,
    pub status: AlertStatus,
    pub project_id: Option<i64>,
    pub project_name: Option<String>,
    /// The failing state (`timeout`, `unreachable`, …); for a storm, "N projects".
    pub state: String,
    /// The first failing poll.
    pub since: String,
    pub opened_at: String,
    pub resolved_at: Option<String>,
    pub repeats: u32,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<String>,
    /// Part of this storm alert: it sent nothing itself.
    pub storm_id: Option<i64>,
    /// Why it alerted nobody: `muted`, `maintenance` or `disconnected on purpose`.
    pub silenced: Option<String>,
    /// Delivery counts by status, for lists.
    pub sent: u32,
    pub failed: u32,
    pub pending: u32,
}

/// An alert with every delivery and attempt.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDetail {
    pub alert: AlertView,
    pub deliveries: Vec<AlertDelivery>,
}

/// The filters of an alert list, as text (query string or form).
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertQueryText {
    /// `open`, `acknowledged` or `resolved`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    /// Rows per page, 1–500 (default 100).
    #[serde(default)]
    pub limit: Option<String>,
    /// Alerts with ids below this (the previous page's last id).
    #[serde(default)]
    pub before: Option<i64>,
}

/// A page of alerts, newest first, and the Alerts page's delivery counts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertPage {
    pub alerts: Vec<AlertView>,
    /// Pass as `before` for the next page; none when this is the last.
    pub next_before: Option<i64>,
    pub deliveries: DeliveryCounts,
}

/// Deliveries by status, over every alert.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
}
