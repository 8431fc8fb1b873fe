//! Alerts as the pages and the API see them: channels (never with their secrets), rules,
//! alerts with their deliveries, mutes and maintenance windows. The rules that check them live
//! in the service (`fleet::service::alerts`).
//!
//! Just over 600 lines: one type group per topic (channels, rules, alerts and deliveries,
//! quiet); if it grows further, those four are the files it splits into.

use serde::{Deserialize, Serialize};

/// How an alert reaches people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A JSON POST signed with `X-Picky-Fleet-Signature` (HMAC-SHA256 of the body).
    Webhook,
    /// A Slack-compatible incoming webhook (also Mattermost, Rocket.Chat, Discord's `/slack`).
    Slack,
    /// E-mail over SMTP.
    Email,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 3] =
        [ChannelKind::Webhook, ChannelKind::Slack, ChannelKind::Email];

    pub const fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Email => "email",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "Webhook",
            ChannelKind::Slack => "Slack-compatible",
            ChannelKind::Email => "E-mail",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How the SMTP connection is secured.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (usually port 587); refused if the server
    /// cannot upgrade.
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network (port 25).
    None,
}

/// An e-mail channel's settings that may be shown (the password is not among them).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Empty: no authentication.
    #[serde(default)]
    pub username: String,
    /// The sender, e.g. `Picky Fleet <alerts@example.com>`.
    pub from: String,
    /// One to twenty recipients.
    pub to: Vec<String>,
}

/// A channel as every list shows it: its target in brief, never its secrets.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertChannelView {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    /// A URL's scheme and host (its path may be a secret), or an e-mail channel's recipients.
    pub target: String,
    /// E-mail channels: server, port, security, user, sender, recipients.
    pub email: Option<EmailSettings>,
    pub enabled: bool,
    pub created_at: String,
}

/// A new channel. `url` for webhooks and Slack; `email` (with `password`) for e-mail.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
pub struct NewAlertChannel {
    pub name: String,
    pub kind: ChannelKind,
    #[serde(default)]
    pub url: Option<String>,
    /// The webhook's signing secret; made up (and returned once) when left out.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub email: Option<EmailSettings>,
    /// The SMTP password: written, never read back.
    #[serde(default)]
    pub password: Option<String>,
}

/// A channel change: every field optional; a secret given replaces the stored one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct AlertChannelChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub email: Option<EmailSettings>,
    #[serde(default)]
    pub password: Option<String>,
}

// By hand: a URL (its path may be the receiver's secret), a signing secret and a password
// must not reach a log line through `{:?}`.
impl std::fmt::Debug for NewAlertChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAlertChannel")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AlertChannelChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertChannelChange")
            .field("name", &self.name)
            .field("enabled", &self.enabled)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// A channel just created. `signing_secret` is shown this once (webhooks only).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedAlertChannel {
    pub channel: AlertChannelView,
    pub signing_secret: Option<String>,
}

/// What a "send test alert" got back.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryResult {
    pub ok: bool,
    /// The receiver's HTTP status (webhooks) or SMTP reply code (e-mail).
    pub status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// When a project alerts, and whom. The fleet-wide default applies to every project without a
/// rule of its own; a project's rule replaces it whole.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRule {
    /// Consecutive failing polls before the alert (1–100).
    #[serde(default = "defaults::fail_after")]
    pub fail_after: u32,
    /// Which device states count as failing.
    #[serde(default = "defaults::yes")]
    pub on_timeout: bool,
    #[serde(default = "defaults::yes")]
    pub on_unpaired: bool,
    #[serde(default = "defaults::yes")]
    pub on_unknown_state: bool,
    /// Dashboard-side faults (upstream unreachable, token rejected, bad answers): these go to
    /// `fault_channels`, the dashboard's owners, not the project's contacts.
    #[serde(default = "defaults::yes")]
    pub on_dashboard_faults: bool,
    /// Minutes between reminders while down (1–10080).
    #[serde(default = "defaults::repeat_every_minutes")]
    pub repeat_every_minutes: u32,
    /// Reminders at most (0–100; 0: none).
    #[serde(default = "defaults::repeat_max")]
    pub repeat_max: u32,
    /// Consecutive good polls before "recovered" (1–100).
    #[serde(default = "defaults::recover_after")]
    pub recover_after: u32,
    /// Channels for the device's own states (TIMEOUT, UNPAIRED, unknown).
    #[serde(default)]
    pub device_channels: Vec<i64>,
    /// Channels for dashboard-side faults. The default rule's also receive storm alerts.
    #[serde(default)]
    pub fault_channels: Vec<i64>,
}

mod defaults {
    pub fn fail_after() -> u32 {
        2
    }
    pub fn yes() -> bool {
        true
    }
    pub fn repeat_every_minutes() -> u32 {
        60
    }
    pub fn repeat_max() -> u32 {
        5
    }
    pub fn recover_after() -> u32 {
        2
    }
}

impl Default for AlertRule {
    fn default() -> Self {
        Self {
            fail_after: defaults::fail_after(),
            on_timeout: true,
            on_unpaired: true,
            on_unknown_state: true,
            on_dashboard_faults: true,
            repeat_every_minutes: defaults::repeat_every_minutes(),
            repeat_max: defaults::repeat_max(),
            recover_after: defaults::recover_after(),
            device_channels: Vec::new(),
            fault_channels: Vec::new(),
        }
    }
}

/// The default rule and every project's own.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRules {
    pub default: AlertRule,
    pub projects: Vec<ProjectAlertRule>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectAlertRule {
    pub project_id: i64,
    pub project_name: String,
    pub rule: AlertRule,
}

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

/// A project muted until a time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectMute {
    pub project_id: i64,
    pub until: String,
    pub muted_by: String,
    pub reason: String,
}

/// `PUT /projects/{id}/mute`: for how long, and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MuteRequest {
    /// 1 minute to 30 days.
    pub minutes: u32,
    #[serde(default)]
    pub reason: String,
}

/// One-off or weekly.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WindowSchedule {
    /// From `starts_at` to `ends_at` (RFC 3339).
    Once { starts_at: String, ends_at: String },
    /// Every week: `weekday` 0 = Monday … 6 = Sunday, from `start` ("HH:MM", UTC) for
    /// `duration_minutes`.
    Weekly {
        weekday: u8,
        start: String,
        duration_minutes: u32,
    },
}

/// Monday first, as `WindowSchedule::Weekly::weekday` counts.
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl WindowSchedule {
    /// "2026-12-05 02:00 to 2026-12-05 04:00 UTC", "every Sat 02:00 UTC for 120 min".
    pub fn describe(&self) -> String {
        // Stored times are RFC 3339 UTC; their first 16 characters are the minute.
        let minute = |at: &str| at.get(..16).unwrap_or(at).replace('T', " ");
        match self {
            WindowSchedule::Once { starts_at, ends_at } => {
                format!("{} to {} UTC", minute(starts_at), minute(ends_at))
            }
            WindowSchedule::Weekly {
                weekday,
                start,
                duration_minutes,
            } => format!(
                "every {} {start} UTC for {duration_minutes} min",
                WEEKDAYS.get(usize::from(*weekday)).unwrap_or(&"?")
            ),
        }
    }
}

/// A maintenance window: during it the project (or every project) alerts nobody, and its
/// alerts are recorded as silenced by maintenance.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    pub id: i64,
    /// None: every project.
    pub project_id: Option<i64>,
    pub schedule: WindowSchedule,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewMaintenanceWindow {
    #[serde(default)]
    pub project_id: Option<i64>,
    pub schedule: WindowSchedule,
    #[serde(default)]
    pub note: String,
}

/// Why a project alerts nobody right now (shown on its card).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Quiet {
    /// An operator ran `disconnect`: the intended state until it is connected again.
    DisconnectedOnPurpose {
        by: String,
    },
    Muted {
        until: String,
    },
    Maintenance,
}

impl Quiet {
    pub fn label(&self) -> String {
        match self {
            Quiet::DisconnectedOnPurpose { by } => format!("Disconnected on purpose by {by}"),
            Quiet::Muted { until } => format!("Alerts muted until {until}"),
            Quiet::Maintenance => "In maintenance: alerts paused".to_owned(),
        }
    }

    pub const fn as_str(&self) -> &'static str {
        match self {
            Quiet::DisconnectedOnPurpose { .. } => "disconnected on purpose",
            Quiet::Muted { .. } => "muted",
            Quiet::Maintenance => "maintenance",
        }
    }
}
