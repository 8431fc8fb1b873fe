//! The audit log: what it records ([`AuditAction`], [`AuditOutcome`]), its rows and pages,
//! and [`CommandResult`], a command's audited result. Its filters are in `audit_filter`.

use pickyassist::ErrorKind;
use serde::{Deserialize, Serialize};

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
    /// Rows written before the hash chain existed were sealed into it (once, on upgrade).
    AuditSealed,
    /// The retention job moved old rows to an archive file.
    AuditArchived,
    AlertChannelAdded,
    AlertChannelChanged,
    AlertChannelRemoved,
    AlertTestSent,
    AlertRuleChanged,
    AlertAcknowledged,
    ProjectMuted,
    ProjectUnmuted,
    MaintenanceScheduled,
    MaintenanceRemoved,
    /// One command for many projects; pending while it runs, then completed with the counts.
    Batch,
    BatchCancelled,
    AutoHealChanged,
    /// Auto-heal used up its caps on a project still down; an alert says a person is needed.
    AutoHealGaveUp,
}

impl AuditAction {
    pub const ALL: [AuditAction; 30] = [
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
        AuditAction::AuditSealed,
        AuditAction::AuditArchived,
        AuditAction::AlertChannelAdded,
        AuditAction::AlertChannelChanged,
        AuditAction::AlertChannelRemoved,
        AuditAction::AlertTestSent,
        AuditAction::AlertRuleChanged,
        AuditAction::AlertAcknowledged,
        AuditAction::ProjectMuted,
        AuditAction::ProjectUnmuted,
        AuditAction::MaintenanceScheduled,
        AuditAction::MaintenanceRemoved,
        AuditAction::Batch,
        AuditAction::BatchCancelled,
        AuditAction::AutoHealChanged,
        AuditAction::AutoHealGaveUp,
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
            AuditAction::AuditSealed => "audit_sealed",
            AuditAction::AuditArchived => "audit_archived",
            AuditAction::AlertChannelAdded => "alert_channel_added",
            AuditAction::AlertChannelChanged => "alert_channel_changed",
            AuditAction::AlertChannelRemoved => "alert_channel_removed",
            AuditAction::AlertTestSent => "alert_test_sent",
            AuditAction::AlertRuleChanged => "alert_rule_changed",
            AuditAction::AlertAcknowledged => "alert_acknowledged",
            AuditAction::ProjectMuted => "project_muted",
            AuditAction::ProjectUnmuted => "project_unmuted",
            AuditAction::MaintenanceScheduled => "maintenance_scheduled",
            AuditAction::MaintenanceRemoved => "maintenance_removed",
            AuditAction::Batch => "batch",
            AuditAction::BatchCancelled => "batch_cancelled",
            AuditAction::AutoHealChanged => "auto_heal_changed",
            AuditAction::AutoHealGaveUp => "auto_heal_gave_up",
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
            AuditAction::AuditSealed => "Audit log sealed",
            AuditAction::AuditArchived => "Audit rows archived",
            AuditAction::AlertChannelAdded => "Alert channel added",
            AuditAction::AlertChannelChanged => "Alert channel changed",
            AuditAction::AlertChannelRemoved => "Alert channel removed",
            AuditAction::AlertTestSent => "Test alert sent",
            AuditAction::AlertRuleChanged => "Alert rule changed",
            AuditAction::AlertAcknowledged => "Alert acknowledged",
            AuditAction::ProjectMuted => "Alerts muted",
            AuditAction::ProjectUnmuted => "Alerts unmuted",
            AuditAction::MaintenanceScheduled => "Maintenance scheduled",
            AuditAction::MaintenanceRemoved => "Maintenance removed",
            AuditAction::Batch => "Bulk command",
            AuditAction::BatchCancelled => "Bulk command cancelled",
            AuditAction::AutoHealChanged => "Auto-heal changed",
            AuditAction::AutoHealGaveUp => "Auto-heal gave up",
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
    /// A bulk command of which some projects failed, were cancelled or interrupted.
    Partial,
}

impl AuditOutcome {
    pub const ALL: [AuditOutcome; 10] = [
        AuditOutcome::Pending,
        AuditOutcome::Success,
        AuditOutcome::Rejected,
        AuditOutcome::Unreachable,
        AuditOutcome::TimedOut,
        AuditOutcome::HttpStatus,
        AuditOutcome::Malformed,
        AuditOutcome::Interrupted,
        AuditOutcome::Denied,
        AuditOutcome::Partial,
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
            AuditOutcome::Partial => "partial",
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
            AuditOutcome::Partial => "Partly done",
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
            AuditOutcome::Interrupted | AuditOutcome::Partial => "timeout",
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
    /// The bulk command this row belongs to (its own row, or one project's command).
    #[serde(default)]
    pub batch_id: Option<i64>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
