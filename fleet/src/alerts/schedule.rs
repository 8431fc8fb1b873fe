//! Maintenance windows: parsing a schedule once, and whether it covers a moment. Weekly windows
//! are in UTC (the page says so) and may run over the week's end (Sunday 23:00 for 3 hours).

use chrono::{DateTime, Datelike, NaiveTime, Timelike, Utc};

use crate::model::{parse_time, WindowSchedule};

const MINUTES_PER_WEEK: i64 = 7 * 24 * 60;

/// A schedule checked and in numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Once {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    Weekly {
        /// Minutes since Monday 00:00 UTC.
        start: i64,
        duration_minutes: i64,
    },
}

impl Schedule {
    /// Checks a schedule as typed; the error says what is wrong in words.
    pub fn parse(schedule: &WindowSchedule) -> Result<Self, String> {
        match schedule {
            WindowSchedule::Once { starts_at, ends_at } => {
                let starts_at = parse_time(starts_at.trim(), "starts_at")?;
                let ends_at = parse_time(ends_at.trim(), "ends_at")?;
                if ends_at <= starts_at {
                    return Err("the window must end after it starts".into());
                }
                if ends_at - starts_at > chrono::Duration::days(31) {
                    return Err("a one-off window lasts at most 31 days".into());
                }
                Ok(Schedule::Once { starts_at, ends_at })
            }
            WindowSchedule::Weekly {
                weekday,
                start,
                duration_minutes,
            } => {
                if *weekday > 6 {
                    return Err("weekday must be 0 (Monday) to 6 (Sunday)".into());
                }
                let time = NaiveTime::parse_from_str(start.trim(), "%H:%M")
                    .map_err(|_| format!("start must be a time as HH:MM (UTC), not {start:?}"))?;
                if !(1..=MINUTES_PER_WEEK).contains(&i64::from(*duration_minutes)) {
                    return Err("duration_minutes must be 1 to 10080 (a week)".into());
                }
                Ok(Schedule::Weekly {
                    start: i64::from(*weekday) * 1440
                        + i64::from(time.hour()) * 60
                        + i64::from(time.minute()),
                    duration_minutes: i64::from(*duration_minutes),
                })
            }
        }
    }

    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        match *self {
            Schedule::Once { starts_at, ends_at } => starts_at <= at && at < ends_at,
            Schedule::Weekly {
                start,
                duration_minutes,
            } => {
                let minute_of_week = i64::from(at.weekday().num_days_from_monday()) * 1440
                    + i64::from(at.hour()) * 60
                    + i64::from(at.minute());
                (minute_of_week - start).rem_euclid(MINUTES_PER_WEEK) < duration_minutes
            }
        }
    }

    /// A one-off window that is over can never cover anything again.
    pub fn is_over(&self, at: DateTime<Utc>) -> bool {
        matches!(*self, Schedule::Once { ends_at, .. } if ends_at <= at)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn weekly(weekday: u8, start: &str, duration_minutes: u32) -> Result<Schedule, String> {
        Schedule::parse(&WindowSchedule::Weekly {
            weekday,
            start: start.into(),
            duration_minutes,
        })
    }

    #[test]
    fn a_weekly_window_covers_its_hours_and_wraps_over_the_weeks_end() {
        // 2026-12-06 is a Sunday.
        let window = weekly(6, "23:00", 180).unwrap();
        let sunday = |h, m| Utc.with_ymd_and_hms(2026, 12, 6, h, m, 0).unwrap();
        assert!(!window.covers(sunday(22, 59)));
        assert!(window.covers(sunday(23, 0)));
        assert!(window.covers(sunday(23, 0) + chrono::Duration::minutes(179)));
        assert!(!window.covers(sunday(23, 0) + chrono::Duration::minutes(180)));
        assert!(!window.covers(sunday(23, 0) + chrono::Duration::days(1)));
        assert!(window.covers(sunday(23, 30) + chrono::Duration::days(7)));
    }

    #[test]
    fn impossible_windows_are_refused_with_a_reason() {
        let once = |a: &str, b: &str| {
            Schedule::parse(&WindowSchedule::Once {
                starts_at: a.into(),
                ends_at: b.into(),
            })
        };
        assert_eq!(
            once("2026-12-02T10:00:00Z", "2026-12-02T09:00:00Z").unwrap_err(),
            "the window must end after it starts"
        );
        assert!(once("2026-12-02T10:00:00Z", "2026-12-02T10:00:00Z").is_err());
        assert!(once("yesterday", "2026-12-02T10:00:00Z").is_err());
        assert!(weekly(7, "10:00", 60).is_err());
        assert!(weekly(0, "25:00", 60).is_err());
        assert!(weekly(0, "10:00", 0).is_err());
        let ok = once("2026-12-02T10:00:00Z", "2026-12-02T11:00:00Z").unwrap();
        let at = |h, m| Utc.with_ymd_and_hms(2026, 12, 2, h, m, 0).unwrap();
        assert!(ok.covers(at(10, 0)) && ok.covers(at(10, 59)) && !ok.covers(at(11, 0)));
        assert!(ok.is_over(at(11, 0)) && !ok.is_over(at(10, 30)));
    }
}
