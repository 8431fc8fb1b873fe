//! Quiet: projects muted until a time, and maintenance windows.

use serde::{Deserialize, Serialize};

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
