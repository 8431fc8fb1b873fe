//! Types sent to the browser. None of them can hold a token: the server keeps only its last
//! four characters for display.

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
}

impl StatusView {
    pub fn checking() -> Self {
        Self {
            health: Health::Checking,
            detail: None,
            device: None,
            checked_at: None,
            device_at: None,
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
}

/// Everything the fleet page needs in one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetView {
    pub cards: Vec<ProjectCard>,
    pub poll_interval_secs: u64,
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub generated_at: DateTime<Utc>,
}

impl FleetView {
    /// A status is stale when it is older than two poll intervals.
    pub fn is_stale(&self, status: &StatusView, now: DateTime<Utc>) -> bool {
        match status.checked_at {
            Some(at) => (now - at).num_seconds() > 2 * self.poll_interval_secs as i64,
            None => false,
        }
    }
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
    /// The token's last four characters, shown as [`token_hint`]. Not the hint itself: the
    /// page's data goes into an inline script as an escaped string, and escaping costs far
    /// more per non-ASCII character (the hint's bullets) than per ASCII one; for a thousand
    /// projects that was a fifth of the page's render time.
    pub token_last4: String,
    pub health: Health,
}

impl Serialize for ProjectBrief {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.id, &self.name, &self.token_last4, self.health).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ProjectBrief {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (id, name, token_last4, health) = Deserialize::deserialize(deserializer)?;
        Ok(Self {
            id,
            name,
            token_last4,
            health,
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

/// A token shown as `••••` plus its last four characters.
pub fn token_hint(last4: &str) -> String {
    format!("••••{last4}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let json = serde_json::to_string(&brief).unwrap_or_default();
        assert_eq!(json, r#"[7,"Café \"Ünïcode\"","1f29","unpaired"]"#);
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
        let view = FleetView {
            cards: vec![],
            poll_interval_secs: 30,
            generated_at: now,
        };
        let mut status = StatusView::checking();
        assert!(
            !view.is_stale(&status, now),
            "never checked is 'checking', not stale"
        );
        status.checked_at = Some(now - chrono::Duration::seconds(59));
        assert!(!view.is_stale(&status, now));
        status.checked_at = Some(now - chrono::Duration::seconds(61));
        assert!(view.is_stale(&status, now));
    }
}

/// One card's new status, as pushed to browsers over Server-Sent Events.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEvent {
    pub project_id: i64,
    pub status: StatusView,
}

/// A project's display name: trimmed, 1–80 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProjectName {
    #[error("the project name is empty")]
    Empty,
    #[error("the project name is longer than {0} characters")]
    TooLong(usize),
    #[error("the project name contains control characters")]
    ControlCharacters,
}

impl ProjectName {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, InvalidProjectName> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(InvalidProjectName::Empty);
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(InvalidProjectName::TooLong(Self::MAX_CHARS));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidProjectName::ControlCharacters);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProjectName {
    type Error = InvalidProjectName;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ProjectName> for String {
    fn from(name: ProjectName) -> Self {
        name.0
    }
}

impl std::fmt::Display for ProjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(
            ProjectName::parse("  Acme Support ").unwrap().as_str(),
            "Acme Support"
        );
        assert_eq!(ProjectName::parse(" \t"), Err(InvalidProjectName::Empty));
        assert_eq!(
            ProjectName::parse(&"x".repeat(81)),
            Err(InvalidProjectName::TooLong(80))
        );
        assert_eq!(
            ProjectName::parse("a\u{0}b"),
            Err(InvalidProjectName::ControlCharacters)
        );
        assert!(ProjectName::parse("Café Ünïcode 📱").is_ok());
    }

    proptest! {
        #[test]
        fn a_parsed_name_always_parses_again_to_itself(raw in ".{0,100}") {
            if let Ok(name) = ProjectName::parse(&raw) {
                prop_assert_eq!(ProjectName::parse(name.as_str()), Ok(name.clone()));
                prop_assert!(!name.as_str().is_empty());
            }
        }
    }
}

/// What a user may do. Each role includes the ones before it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees the fleet and the audit log.
    Viewer,
    /// Also runs device commands and refreshes.
    Operator,
    /// Also manages projects, tokens, users and API keys.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Operator => "Operator",
            Role::Admin => "Admin",
        }
    }

    pub fn can_run_commands(self) -> bool {
        self >= Role::Operator
    }

    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| "the role must be viewer, operator or admin".to_owned())
    }
}

/// The signed-in user, as the browser knows them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

/// A user as the admin page lists them (no password hash, ever).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
}

/// A project as the admin page lists it: the token only as its hint.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectAdminView {
    pub id: i64,
    pub name: String,
    pub token_hint: String,
    pub upstream_project_id: Option<String>,
    pub created_at: String,
}

/// What the audit log records. Stored as the snake_case name.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Command,
    SignIn,
    SignInFailed,
    SignOut,
    ProjectAdded,
    ProjectRenamed,
    ProjectTokenRotated,
    ProjectRemoved,
    UserAdded,
    UserRoleChanged,
    UserDisabled,
    UserEnabled,
    ApiKeyCreated,
    ApiKeyRevoked,
}

impl AuditAction {
    pub const ALL: [AuditAction; 14] = [
        AuditAction::Command,
        AuditAction::SignIn,
        AuditAction::SignInFailed,
        AuditAction::SignOut,
        AuditAction::ProjectAdded,
        AuditAction::ProjectRenamed,
        AuditAction::ProjectTokenRotated,
        AuditAction::ProjectRemoved,
        AuditAction::UserAdded,
        AuditAction::UserRoleChanged,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyRevoked,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::Command => "command",
            AuditAction::SignIn => "sign_in",
            AuditAction::SignInFailed => "sign_in_failed",
            AuditAction::SignOut => "sign_out",
            AuditAction::ProjectAdded => "project_added",
            AuditAction::ProjectRenamed => "project_renamed",
            AuditAction::ProjectTokenRotated => "project_token_rotated",
            AuditAction::ProjectRemoved => "project_removed",
            AuditAction::UserAdded => "user_added",
            AuditAction::UserRoleChanged => "user_role_changed",
            AuditAction::UserDisabled => "user_disabled",
            AuditAction::UserEnabled => "user_enabled",
            AuditAction::ApiKeyCreated => "api_key_created",
            AuditAction::ApiKeyRevoked => "api_key_revoked",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            AuditAction::Command => "Command",
            AuditAction::SignIn => "Signed in",
            AuditAction::SignInFailed => "Failed sign-in",
            AuditAction::SignOut => "Signed out",
            AuditAction::ProjectAdded => "Project added",
            AuditAction::ProjectRenamed => "Project renamed",
            AuditAction::ProjectTokenRotated => "Token rotated",
            AuditAction::ProjectRemoved => "Project removed",
            AuditAction::UserAdded => "User added",
            AuditAction::UserRoleChanged => "Role changed",
            AuditAction::UserDisabled => "User disabled",
            AuditAction::UserEnabled => "User enabled",
            AuditAction::ApiKeyCreated => "API key created",
            AuditAction::ApiKeyRevoked => "API key revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// How an audited action ended. Commands go `pending` → one of the others.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Written before the upstream call; completed right after it.
    Pending,
    Success,
    /// Upstream answered with a non-success status code; `detail` has its message.
    Rejected,
    Unreachable,
    TimedOut,
    HttpStatus,
    Malformed,
    /// The dashboard stopped while the command was in flight; found pending at start-up.
    Interrupted,
    /// Wrong password, unknown or disabled user.
    Denied,
}

impl AuditOutcome {
    pub const ALL: [AuditOutcome; 9] = [
        AuditOutcome::Pending,
        AuditOutcome::Success,
        AuditOutcome::Rejected,
        AuditOutcome::Unreachable,
        AuditOutcome::TimedOut,
        AuditOutcome::HttpStatus,
        AuditOutcome::Malformed,
        AuditOutcome::Interrupted,
        AuditOutcome::Denied,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Pending => "pending",
            AuditOutcome::Success => "success",
            AuditOutcome::Rejected => "rejected",
            AuditOutcome::Unreachable => "unreachable",
            AuditOutcome::TimedOut => "timed_out",
            AuditOutcome::HttpStatus => "http_status",
            AuditOutcome::Malformed => "malformed",
            AuditOutcome::Interrupted => "interrupted",
            AuditOutcome::Denied => "denied",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            AuditOutcome::Pending => "Pending",
            AuditOutcome::Success => "Success",
            AuditOutcome::Rejected => "Rejected",
            AuditOutcome::Unreachable => "Unreachable",
            AuditOutcome::TimedOut => "Timed out",
            AuditOutcome::HttpStatus => "HTTP error",
            AuditOutcome::Malformed => "Bad answer",
            AuditOutcome::Interrupted => "Interrupted",
            AuditOutcome::Denied => "Denied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        AuditOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn from_error(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Unreachable => AuditOutcome::Unreachable,
            ErrorKind::TimedOut => AuditOutcome::TimedOut,
            ErrorKind::HttpStatus => AuditOutcome::HttpStatus,
            ErrorKind::Malformed => AuditOutcome::Malformed,
            ErrorKind::Rejected => AuditOutcome::Rejected,
        }
    }

    /// The CSS modifier: the same colours as the card states they correspond to.
    pub const fn slug(self) -> &'static str {
        match self {
            AuditOutcome::Pending => "checking",
            AuditOutcome::Success => "connected",
            AuditOutcome::Rejected => "rejected",
            AuditOutcome::Unreachable => "unreachable",
            AuditOutcome::TimedOut => "timed-out",
            AuditOutcome::HttpStatus | AuditOutcome::Malformed => "malformed",
            AuditOutcome::Interrupted => "timeout",
            AuditOutcome::Denied => "unpaired",
        }
    }
}

/// One row of the audit log.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: AuditAction,
    pub project_id: Option<i64>,
    pub project_name: Option<String>,
    pub command: Option<String>,
    pub outcome: AuditOutcome,
    pub detail: Option<String>,
    pub upstream_latency_ms: Option<i64>,
    pub request_id: Option<String>,
    pub completed_at: Option<String>,
}

/// Filters for the audit log; every field is optional. `before` is the keyset cursor: the
/// id of the last row of the previous page.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub project_id: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub outcome: Option<AuditOutcome>,
    /// RFC 3339 or `YYYY-MM-DD`; inclusive.
    pub since: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`; exclusive.
    pub until: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

/// A page of the audit log, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// The result of running a command, as the toast and the API show it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandResult {
    pub audit_id: i64,
    pub project_id: i64,
    pub project_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "restart"))]
    pub command: pickyassist::Command,
    pub outcome: AuditOutcome,
    /// Upstream's message ("Success") or what went wrong.
    pub message: String,
    pub upstream_latency_ms: i64,
}

/// A sign-in name: 1–64 characters of letters, digits, `.`, `_`, `-` and `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("the username is empty".into());
        }
        if name.len() > Self::MAX_CHARS {
            return Err(format!(
                "the username is longer than {} characters",
                Self::MAX_CHARS
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err(
                "the username may only contain letters, digits, '.', '_', '-' and '@'".into(),
            );
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Username> for String {
    fn from(name: Username) -> Self {
        name.0
    }
}

#[cfg(test)]
mod user_tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parsed_from_their_names() {
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
        assert!(!Role::Viewer.can_run_commands());
        assert!(Role::Operator.can_run_commands() && !Role::Operator.is_admin());
        assert_eq!(" Admin ".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn usernames_are_checked() {
        assert_eq!(Username::parse(" alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("ops.team-lead@acme").is_ok());
        for bad in ["", "a b", "<script>", "ü", &"x".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn audit_names_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        for outcome in AuditOutcome::ALL {
            assert_eq!(AuditOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(AuditAction::parse("drop table"), None);
    }
}

/// An API key as listed: never the key itself, only its prefix.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: i64,
    pub username: String,
    pub label: String,
    /// The first characters of the key (`pf_1a2b3c4d`), enough to recognise it.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A freshly created key: the only time the secret is ever shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub id: i64,
    pub key: String,
    pub prefix: String,
    pub username: String,
    pub label: String,
}

/// The audit filters as text, the way a URL or a form carries them. [`AuditQueryText::parse`]
/// is the one set of rules (and messages) for the audit page, the CSV export and the API.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditQueryText {
    /// A project's id.
    pub project_id: String,
    /// A user name, exactly.
    pub actor: String,
    /// An action: `command`, `sign_in`, `sign_in_failed`, `sign_out`, `project_added`, ...
    pub action: String,
    /// An outcome: `pending`, `success`, `rejected`, `unreachable`, `timed_out`, ...
    pub outcome: String,
    /// From this time on: `2026-11-25` or `2026-11-25T14:00:00Z`.
    pub since: String,
    /// Before this time (same forms as `since`).
    pub until: String,
    /// The keyset cursor: `next_before` of the previous page.
    pub before: String,
    /// Rows per page, at most 500 (default 50).
    pub limit: String,
}

impl AuditQueryText {
    /// Parses every filter; an error names the filter, the value and what it may be.
    pub fn parse(&self) -> Result<AuditQuery, String> {
        fn text(v: &str) -> Option<String> {
            let v = v.trim();
            (!v.is_empty()).then(|| v.to_owned())
        }
        fn number<T: std::str::FromStr>(v: &str, name: &str) -> Result<Option<T>, String> {
            text(v)
                .map(|raw| {
                    raw.parse()
                        .map_err(|_| format!("`{name}` must be a whole number, not {raw:?}."))
                })
                .transpose()
        }
        let action = text(&self.action)
            .map(|raw| {
                AuditAction::parse(&raw).ok_or_else(|| {
                    format!(
                        "`action` {raw:?} is unknown; use one of: {}.",
                        AuditAction::ALL.map(AuditAction::as_str).join(", ")
                    )
                })
            })
            .transpose()?;
        let outcome = text(&self.outcome)
            .map(|raw| {
                AuditOutcome::parse(&raw).ok_or_else(|| {
                    format!(
                        "`outcome` {raw:?} is unknown; use one of: {}.",
                        AuditOutcome::ALL.map(AuditOutcome::as_str).join(", ")
                    )
                })
            })
            .transpose()?;
        Ok(AuditQuery {
            project_id: number(&self.project_id, "project_id")?,
            actor: text(&self.actor),
            action,
            outcome,
            since: text(&self.since),
            until: text(&self.until),
            before: number(&self.before, "before")?,
            limit: number(&self.limit, "limit")?,
        })
    }
}

#[cfg(test)]
mod audit_text_tests {
    use super::*;

    #[test]
    fn text_filters_parse_into_a_query() {
        let text = AuditQueryText {
            project_id: "7".into(),
            actor: " alice ".into(),
            action: "sign_in".into(),
            outcome: "denied".into(),
            since: "2026-11-25".into(),
            before: "120".into(),
            limit: "20".into(),
            ..Default::default()
        };
        let q = text.parse().unwrap();
        assert_eq!(
            q,
            AuditQuery {
                project_id: Some(7),
                actor: Some("alice".into()),
                action: Some(AuditAction::SignIn),
                outcome: Some(AuditOutcome::Denied),
                since: Some("2026-11-25".into()),
                until: None,
                before: Some(120),
                limit: Some(20),
            }
        );
        assert_eq!(AuditQueryText::default().parse(), Ok(AuditQuery::default()));
    }

    #[test]
    fn bad_values_are_named_with_their_choices() {
        let bad = |f: fn(&mut AuditQueryText)| {
            let mut text = AuditQueryText::default();
            f(&mut text);
            text.parse().unwrap_err()
        };
        assert!(bad(|t| t.action = "bogus".into()).contains("use one of: command, sign_in"));
        assert!(bad(|t| t.outcome = "meh".into()).contains("`outcome` \"meh\""));
        assert!(bad(|t| t.project_id = "x".into()).contains("`project_id` must be a whole number"));
        assert!(bad(|t| t.before = "-".into()).contains("`before`"));
        assert!(bad(|t| t.limit = "many".into()).contains("`limit`"));
    }
}
