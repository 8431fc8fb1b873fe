//! Reading and writing the audit log.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    db::audit::{self, Filter, NewEntry},
    model::{AuditPage, AuditQuery, Role},
};

/// Rows per page unless asked otherwise, and the most one request may ask for.
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 500;

impl Fleet {
    /// Appends a completed row with the actor's name and request id filled in.
    pub(crate) async fn audit(&self, actor: &Actor, entry: NewEntry<'_>) -> Result<(), FleetError> {
        let entry = NewEntry {
            actor: &actor.name,
            request_id: actor.request_id.as_deref(),
            ..entry
        };
        audit::append(&self.inner.db.writer, &entry)
            .await
            .map(|_| ())
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("writing an audit row"))
            })
    }

    /// One page of the audit log, newest first. Any signed-in user may review it.
    pub async fn audit_page(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> Result<AuditPage, FleetError> {
        actor.require(Role::Viewer, "read the audit log")?;
        let (filter, limit) = parse_query(query)?;
        // One extra row tells whether there is a next page.
        let mut entries = audit::query(&self.inner.db.reader, &filter, limit + 1)
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("reading the audit log"))
            })?;
        let next_before = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage {
            entries,
            next_before,
        })
    }
}

/// Checks the filters: limits, and times in RFC 3339 or `YYYY-MM-DD`.
pub fn parse_query(query: &AuditQuery) -> Result<(Filter, u32), FleetError> {
    let limit = match query.limit {
        None => DEFAULT_PAGE,
        Some(0) => return Err(FleetError::Invalid("limit must be at least 1".into())),
        Some(n) if n > MAX_PAGE => {
            return Err(FleetError::Invalid(format!(
                "limit must be at most {MAX_PAGE}"
            )))
        }
        Some(n) => n,
    };
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let filter = Filter {
        project_id: query.project_id,
        actor: text(&query.actor),
        action: query.action,
        outcome: query.outcome,
        since: text(&query.since)
            .map(|s| parse_time(&s, "since"))
            .transpose()?,
        until: text(&query.until)
            .map(|s| parse_time(&s, "until"))
            .transpose()?,
        before: query.before,
    };
    if let (Some(since), Some(until)) = (&filter.since, &filter.until) {
        if since >= until {
            return Err(FleetError::Invalid("`since` must be before `until`".into()));
        }
    }
    Ok((filter, limit))
}

/// Normalises to the stored format (UTC, milliseconds, `Z`) so text comparison orders by time.
fn parse_time(raw: &str, field: &str) -> Result<String, FleetError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::Millis, true));
    }
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        if let Some(midnight) = date.and_hms_opt(0, 0, 0) {
            return Ok(midnight
                .and_utc()
                .to_rfc3339_opts(SecondsFormat::Millis, true));
        }
    }
    Err(FleetError::Invalid(format!(
        "`{field}` must be a date (2026-11-25) or a date-time with an offset (2026-11-25T14:00:00Z)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_normalised_to_utc() {
        assert_eq!(
            parse_time("2026-11-25", "since").unwrap(),
            "2026-11-25T00:00:00.000Z"
        );
        assert_eq!(
            parse_time("2026-11-25T19:30:00+05:30", "since").unwrap(),
            "2026-11-25T14:00:00.000Z"
        );
        assert!(parse_time("yesterday", "since").is_err());
    }

    #[test]
    fn limits_and_ranges_are_checked() {
        let q = |limit, since: &str, until: &str| AuditQuery {
            limit,
            since: Some(since.into()),
            until: Some(until.into()),
            ..Default::default()
        };
        assert!(parse_query(&q(Some(0), "", "")).is_err());
        assert!(parse_query(&q(Some(501), "", "")).is_err());
        assert_eq!(parse_query(&q(None, "", "")).unwrap().1, DEFAULT_PAGE);
        assert!(parse_query(&q(Some(10), "2026-11-26", "2026-11-25")).is_err());
        assert!(parse_query(&q(Some(10), "2026-11-25", "2026-11-26")).is_ok());
    }
}
