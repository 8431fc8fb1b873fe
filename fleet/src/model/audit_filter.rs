//! The audit log's filters: [`AuditQueryText`] as a URL, a form or a query string carries
//! them, and [`AuditFilter`], what one parse makes of them. The page, the API and the CSV
//! export all parse with [`AuditQueryText::parse`]; the service and the database take only
//! the parsed [`AuditFilter`].

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{AuditAction, AuditOutcome};

/// The audit filters as text. Empty means "any".
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

/// The audit filters, parsed and checked. Every field is optional; `before` is the keyset
/// cursor (the id of the last row of the previous page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub project_id: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub outcome: Option<AuditOutcome>,
    /// Inclusive.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
    pub before: Option<i64>,
    pub limit: PageSize,
}

/// Rows in one page of the audit log: 1 to [`PageSize::MAX`], [`PageSize::DEFAULT`] unless
/// asked otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    pub const DEFAULT: PageSize = PageSize(50);
    pub const MAX: PageSize = PageSize(500);

    pub fn new(rows: u32) -> Result<Self, String> {
        match rows {
            0 => Err("limit must be at least 1".into()),
            n if n > Self::MAX.0 => Err(format!("limit must be at most {}", Self::MAX.0)),
            n => Ok(Self(n)),
        }
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl AuditQueryText {
    /// The filters with a value, as query-string pairs in a stable order (`before` and
    /// `limit` left out: links to other pages set those themselves).
    pub fn filter_pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("project_id", self.project_id.as_str()),
            ("actor", &self.actor),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.trim()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }

    /// Parses and checks every filter; an error names the filter, the value and what it may
    /// be. The one set of rules (and messages) for the audit page, the API and the CSV export.
    pub fn parse(&self) -> Result<AuditFilter, String> {
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
        let since = text(&self.since)
            .map(|raw| parse_time(&raw, "since"))
            .transpose()?;
        let until = text(&self.until)
            .map(|raw| parse_time(&raw, "until"))
            .transpose()?;
        if let (Some(since), Some(until)) = (since, until) {
            if since >= until {
                return Err("`since` must be before `until`".into());
            }
        }
        let limit = match number::<u32>(&self.limit, "limit")? {
            Some(rows) => PageSize::new(rows)?,
            None => PageSize::DEFAULT,
        };
        Ok(AuditFilter {
            project_id: number(&self.project_id, "project_id")?,
            actor: text(&self.actor),
            action,
            outcome,
            since,
            until,
            before: number(&self.before, "before")?,
            limit,
        })
    }
}

/// The stored form of a time (UTC, milliseconds, `Z`): as text it sorts by time.
pub fn stored_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

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

/// RFC 3339 with an offset, or a date (its midnight, UTC). Years 0 to 9999 only: stored
/// times compare as text, and `+10000-…` would sort before `2026-…`.
pub fn parse_time(raw: &str, field: &str) -> Result<DateTime<Utc>, String> {
    use chrono::Datelike;
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .map(|midnight| midnight.and_utc())
        });
    if let Some(at) = parsed.filter(|at| (0..=9999).contains(&at.year())) {
        return Ok(at);
    }
    Err(format!(
        "`{field}` must be a date (2026-11-25) or a date-time with an offset (2026-11-25T14:00:00Z)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
            .with_timezone(&Utc)
    }

    #[test]
    fn text_filters_parse_into_a_filter() {
        let text = AuditQueryText {
            project_id: "7".into(),
            actor: " alice ".into(),
            action: "sign_in".into(),
            outcome: "denied".into(),
            since: "2026-11-25".into(),
            until: "2026-11-25T19:30:00+05:30".into(),
            before: "120".into(),
            limit: "20".into(),
        };
        assert_eq!(
            text.parse(),
            Ok(AuditFilter {
                project_id: Some(7),
                actor: Some("alice".into()),
                action: Some(AuditAction::SignIn),
                outcome: Some(AuditOutcome::Denied),
                since: Some(at("2026-11-25T00:00:00Z")),
                until: Some(at("2026-11-25T14:00:00Z")),
                before: Some(120),
                limit: PageSize::new(20).unwrap(),
            })
        );
        assert_eq!(
            AuditQueryText::default().parse(),
            Ok(AuditFilter::default())
        );
        assert_eq!(AuditFilter::default().limit.get(), 50);
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
        assert!(bad(|t| t.limit = "0".into()).contains("at least 1"));
        assert!(bad(|t| t.limit = "501".into()).contains("at most 500"));
        assert!(bad(|t| t.since = "yesterday".into()).contains("`since` must be a date"));
        assert!(bad(|t| t.until = "+10000-01-01T00:00:00Z".into()).contains("`until`"));
        assert!(bad(|t| t.since = "10000-01-01".into()).contains("`since`"));
        assert!(bad(|t| {
            t.since = "2026-11-26".into();
            t.until = "2026-11-25".into();
        })
        .contains("`since` must be before `until`"));
    }

    #[test]
    fn stored_times_sort_as_text() {
        assert_eq!(
            stored_time(at("2026-11-25T19:30:00+05:30")),
            "2026-11-25T14:00:00.000Z"
        );
    }

    #[test]
    fn filter_pairs_keep_only_the_filters_with_a_value() {
        let text = AuditQueryText {
            actor: " alice ".into(),
            outcome: "success".into(),
            before: "9".into(),
            ..Default::default()
        };
        assert_eq!(
            text.filter_pairs(),
            [("actor", "alice"), ("outcome", "success")]
        );
    }
}
