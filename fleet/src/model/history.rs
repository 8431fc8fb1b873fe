//! Status history as the pages and the API show it: roll-ups of polls ([`HistoryBucket`]),
//! state changes ([`StateChange`]) and uptime figures ([`Uptime`]); a card's 24-hour strip is
//! in `strip`.
//!
//! Uptime is the share of polled time in CONNECTED among the polls that reached the device:
//! TIMEOUT, UNPAIRED and a state PickyAssist does not document count as down; a check that
//! failed on our side (unreachable, timed out, rejected, unreadable) says nothing about the
//! device and is counted as "unknown", apart. Time nobody polled (the dashboard was stopped,
//! the project was backing off) is "no data", never made up.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{parse_time, Health};

/// How fine a history's buckets are.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    Minute,
    Hour,
    Day,
}

impl Resolution {
    pub const ALL: [Resolution; 3] = [Resolution::Minute, Resolution::Hour, Resolution::Day];

    /// The bucket's length in seconds (also how it is stored).
    pub const fn seconds(self) -> i64 {
        match self {
            Resolution::Minute => 60,
            Resolution::Hour => 3600,
            Resolution::Day => 86_400,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Resolution::Minute => "minute",
            Resolution::Hour => "hour",
            Resolution::Day => "day",
        }
    }

    /// The finest resolution kept for a range this long by default (48 h of minutes, 90 days
    /// of hours).
    pub fn fitting(range: Duration) -> Self {
        if range <= Duration::hours(48) {
            Resolution::Minute
        } else if range <= Duration::days(90) {
            Resolution::Hour
        } else {
            Resolution::Day
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        Resolution::ALL
            .into_iter()
            .find(|r| r.as_str() == text.trim())
            .ok_or_else(|| format!("resolution {text:?} is not one of minute, hour, day"))
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the polls of one bucket found.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PollCounts {
    pub polls: u32,
    pub connected: u32,
    pub timeout: u32,
    pub unpaired: u32,
    pub unknown_state: u32,
    /// Checks that failed on our side: unknown, not down.
    pub faults: u32,
    /// Polls during a maintenance window that found the device down: planned, so neither
    /// down nor counted in uptime.
    #[serde(default)]
    pub maintenance: u32,
}

impl PollCounts {
    /// Polls that reached the device and found it not connected.
    pub fn down(&self) -> u32 {
        self.timeout + self.unpaired + self.unknown_state
    }

    /// Polls that reached the device.
    pub fn known(&self) -> u32 {
        self.connected + self.down()
    }

    /// Connected ÷ polls that reached the device; `None` when none did.
    pub fn uptime(&self) -> Option<f64> {
        (self.known() > 0).then(|| f64::from(self.connected) / f64::from(self.known()))
    }

    /// What a strip segment shows: the worst state any poll found, so a short drop in a long
    /// bucket is not averaged away (the segment's text gives the shares); planned downtime
    /// ranks below every unplanned fault and above connected.
    pub fn worst(&self) -> Option<Shown> {
        [
            (self.unpaired, Shown::State(Health::Unpaired)),
            (self.timeout, Shown::State(Health::Timeout)),
            (self.unknown_state, Shown::State(Health::UnknownState)),
            (self.faults, Shown::State(Health::Unreachable)),
            (self.maintenance, Shown::Maintenance),
            (self.connected, Shown::State(Health::Connected)),
        ]
        .into_iter()
        .find(|(n, _)| *n > 0)
        .map(|(_, shown)| shown)
    }

    pub fn add(&mut self, other: &PollCounts) {
        self.polls += other.polls;
        self.connected += other.connected;
        self.timeout += other.timeout;
        self.unpaired += other.unpaired;
        self.unknown_state += other.unknown_state;
        self.faults += other.faults;
        self.maintenance += other.maintenance;
    }
}

/// What a stretch of history shows: the state the polls found, or planned downtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    State(Health),
    Maintenance,
}

impl Shown {
    pub const fn label(self) -> &'static str {
        match self {
            Shown::State(health) => health.label(),
            Shown::Maintenance => "Maintenance",
        }
    }

    /// The CSS modifier, shared with the state badges so a state has one colour everywhere.
    pub const fn slug(self) -> &'static str {
        match self {
            Shown::State(health) => health.slug(),
            Shown::Maintenance => "maintenance",
        }
    }
}

/// `GET …/history`'s query as text: `from` and `to` (dates or RFC 3339; default the last 24
/// hours) and `resolution` (default: minute up to 48 hours, hour up to 90 days, else day).
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryQueryText {
    /// Start (inclusive): `2026-11-25` or `2026-11-25T14:00:00Z`.
    pub from: String,
    /// End (exclusive); default now.
    pub to: String,
    /// `minute`, `hour` or `day`.
    pub resolution: String,
}

/// [`HistoryQueryText`] parsed against `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRange {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub resolution: Resolution,
}

impl HistoryQueryText {
    pub fn parse(&self, now: DateTime<Utc>) -> Result<HistoryRange, String> {
        let (from, to) = parse_range(&self.from, &self.to, now)?;
        let resolution = match self.resolution.trim() {
            "" => Resolution::fitting(to - from),
            text => Resolution::parse(text)?,
        };
        Ok(HistoryRange {
            from,
            to,
            resolution,
        })
    }
}

/// `GET …/changes`'s query as text: `from` and `to` as for the history (default the last 24
/// hours), `before` (the previous page's `next_before`) and `limit` (1 to 500, default 100).
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangesQueryText {
    pub from: String,
    pub to: String,
    pub before: String,
    pub limit: String,
}

/// [`ChangesQueryText`] parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangesQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub before: Option<i64>,
    pub limit: u32,
}

impl ChangesQueryText {
    pub fn parse(&self, now: DateTime<Utc>) -> Result<ChangesQuery, String> {
        let (from, to) = parse_range(&self.from, &self.to, now)?;
        let number = |raw: &str, name: &str| -> Result<Option<i64>, String> {
            let raw = raw.trim();
            if raw.is_empty() {
                return Ok(None);
            }
            raw.parse()
                .map(Some)
                .map_err(|_| format!("`{name}` must be a whole number, not {raw:?}"))
        };
        let limit = match number(&self.limit, "limit")? {
            None => 100,
            Some(n) if (1..=500).contains(&n) => n as u32,
            Some(n) => return Err(format!("`limit` must be 1 to 500, not {n}")),
        };
        Ok(ChangesQuery {
            from,
            to,
            before: number(&self.before, "before")?,
            limit,
        })
    }
}

fn parse_range(
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let to = match to.trim() {
        "" => now,
        text => parse_time(text, "to")?,
    };
    let from = match from.trim() {
        "" => to - Duration::hours(24),
        text => parse_time(text, "from")?,
    };
    if from >= to {
        return Err(format!(
            "`from` ({}) must be before `to` ({})",
            super::stored_time(from),
            super::stored_time(to)
        ));
    }
    Ok((from, to))
}

/// One bucket of a project's history.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryBucket {
    /// When the bucket starts (RFC 3339, UTC).
    pub start: String,
    #[serde(flatten)]
    pub counts: PollCounts,
    pub queue_min: Option<i64>,
    pub queue_avg: Option<f64>,
    pub queue_max: Option<i64>,
    pub latency_avg_ms: Option<f64>,
    pub latency_max_ms: Option<i64>,
}

/// A project's history over a range: buckets that have polls (a missing bucket is "no data").
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectHistory {
    pub project_id: i64,
    pub resolution: Resolution,
    pub from: String,
    pub to: String,
    pub buckets: Vec<HistoryBucket>,
}

/// A change of a project's state.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    pub id: i64,
    pub project_id: i64,
    /// When the poll that saw the new state ran (RFC 3339, UTC).
    pub at: String,
    /// `None` for the first state the dashboard saw.
    pub from: Option<Health>,
    pub to: Health,
    /// What went wrong, for failures.
    pub message: Option<String>,
    pub queue: Option<i64>,
    /// Seen during one of the project's maintenance windows: planned.
    #[serde(default)]
    pub maintenance: bool,
}

/// A page of state changes, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChangePage {
    pub changes: Vec<StateChange>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// Uptime over the last 24 hours, 7, 30 and 90 days; `None` where nothing reached the device.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Uptime {
    #[serde(rename = "24h")]
    pub day: Option<f64>,
    #[serde(rename = "7d")]
    pub week: Option<f64>,
    #[serde(rename = "30d")]
    pub month: Option<f64>,
    #[serde(rename = "90d")]
    pub quarter: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CardHistory, StripSegment};

    #[test]
    fn uptime_counts_the_device_states_and_leaves_our_faults_out() {
        let counts = PollCounts {
            polls: 10,
            connected: 6,
            timeout: 1,
            unpaired: 1,
            unknown_state: 0,
            faults: 2,
            maintenance: 0,
        };
        assert_eq!(counts.known(), 8);
        assert_eq!(counts.uptime(), Some(0.75));
        let only_faults = PollCounts {
            polls: 3,
            faults: 3,
            ..Default::default()
        };
        assert_eq!(only_faults.uptime(), None, "unknown, not down");
        assert_eq!(only_faults.worst(), Some(Shown::State(Health::Unreachable)));
        assert_eq!(PollCounts::default().worst(), None, "no data");
        assert_eq!(counts.worst(), Some(Shown::State(Health::Unpaired)));
    }

    #[test]
    fn planned_downtime_shows_as_maintenance_and_leaves_uptime_alone() {
        let planned = PollCounts {
            polls: 10,
            connected: 4,
            maintenance: 6,
            ..Default::default()
        };
        assert_eq!(
            planned.uptime(),
            Some(1.0),
            "only unplanned downtime counts"
        );
        assert_eq!(planned.worst(), Some(Shown::Maintenance));
        let also_unplanned = PollCounts {
            timeout: 1,
            ..planned
        };
        assert_eq!(
            also_unplanned.worst(),
            Some(Shown::State(Health::Timeout)),
            "an outage outside the window is not hidden by it"
        );
        let card = CardHistory::new(
            &[StripSegment {
                hours_ago: 0,
                counts: planned,
            }],
            0,
        );
        assert_eq!(card.strip, "m");
        assert_eq!(card.hours().next(), Some((0, Some(Shown::Maintenance))));
    }

    #[test]
    fn history_queries_default_to_the_last_day_and_refuse_backwards_ranges() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let range = HistoryQueryText::default().parse(now).unwrap();
        assert_eq!(
            (range.to - range.from, range.resolution),
            (Duration::hours(24), Resolution::Minute)
        );
        let week = HistoryQueryText {
            from: "2026-11-25".into(),
            ..Default::default()
        };
        assert_eq!(week.parse(now).unwrap().resolution, Resolution::Hour);
        let backwards = HistoryQueryText {
            from: "2026-12-02".into(),
            to: "2026-12-01".into(),
            resolution: String::new(),
        };
        assert!(backwards.parse(now).unwrap_err().contains("must be before"));
        let bad = ChangesQueryText {
            limit: "0".into(),
            ..Default::default()
        };
        assert!(bad.parse(now).unwrap_err().contains("1 to 500"));
    }

    #[test]
    fn resolutions_parse_by_name_and_say_what_is_allowed() {
        assert_eq!(Resolution::parse("hour"), Ok(Resolution::Hour));
        let error = Resolution::parse("week").unwrap_err();
        assert!(error.contains("minute, hour, day"), "{error}");
    }
}
