//! Auto-heal as the API sees it: a project's policy. Off unless an admin turns it on.

use serde::{Deserialize, Serialize};

/// What the server may do by itself for a project in TIMEOUT, as the actor `auto-heal`,
/// audited like any command: `restart` after a while, `restart-server` if that did not help,
/// each capped; past the caps it stops and says (with an alert) that a person is needed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoHealPolicy {
    #[serde(default)]
    pub enabled: bool,
    /// Minutes in TIMEOUT before a `restart` (1–1440).
    #[serde(default = "defaults::restart_after_minutes")]
    pub restart_after_minutes: u32,
    /// `restart`s at most per hour (1–10).
    #[serde(default = "defaults::restarts_per_hour")]
    pub restarts_per_hour: u32,
    /// Minutes a `restart` has to help before `restart-server` (1–1440).
    #[serde(default = "defaults::restart_server_after_minutes")]
    pub restart_server_after_minutes: u32,
    /// `restart-server`s at most per day (0–10; 0: never).
    #[serde(default = "defaults::restart_servers_per_day")]
    pub restart_servers_per_day: u32,
}

mod defaults {
    pub fn restart_after_minutes() -> u32 {
        10
    }
    pub fn restarts_per_hour() -> u32 {
        1
    }
    pub fn restart_server_after_minutes() -> u32 {
        5
    }
    pub fn restart_servers_per_day() -> u32 {
        2
    }
}

impl Default for AutoHealPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            restart_after_minutes: defaults::restart_after_minutes(),
            restarts_per_hour: defaults::restarts_per_hour(),
            restart_server_after_minutes: defaults::restart_server_after_minutes(),
            restart_servers_per_day: defaults::restart_servers_per_day(),
        }
    }
}

impl AutoHealPolicy {
    /// Why the policy cannot be, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let ranges = [
            ("restart_after_minutes", self.restart_after_minutes, 1, 1440),
            ("restarts_per_hour", self.restarts_per_hour, 1, 10),
            (
                "restart_server_after_minutes",
                self.restart_server_after_minutes,
                1,
                1440,
            ),
            (
                "restart_servers_per_day",
                self.restart_servers_per_day,
                0,
                10,
            ),
        ];
        ranges
            .into_iter()
            .find(|(_, value, low, high)| !(low..=high).contains(&value))
            .map(|(name, value, low, high)| format!("{name} must be {low} to {high}, not {value}"))
    }
}
