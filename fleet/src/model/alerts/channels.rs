//! Alert channels as the pages and the API see them (never with their secrets).

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
