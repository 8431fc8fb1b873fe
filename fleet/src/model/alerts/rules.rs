//! Alert rules: when a project alerts, and whom.

use serde::{Deserialize, Serialize};

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
