//! `GET /api/v1/audit.csv`: the whole audit log (or what the filters keep) as CSV, newest
//! first. Rows are read in keyset pages of [`PAGE`] and streamed, so an export of any size
//! never sits in memory at once.
//!
//! Query parameters: `project_id`, `actor`, `action`, `outcome`, `since`, `until` (the same
//! filters as the audit page), `before` (start below this id) and `limit` (at most this many
//! rows in total). Empty values mean "any".

use crate::api::ApiError;
use axum::{
    body::Body,
    extract::{rejection::QueryRejection, Query, State},
    http::header,
    response::{IntoResponse, Response},
    Extension,
};
use fleet::{
    auth::{Actor, RequestActor},
    model::{AuditEntry, AuditFilter, AuditPage, AuditQueryText, PageSize},
    Fleet, FleetError,
};
use futures::StreamExt;

/// Rows per read: the most one `Fleet::audit_page` call returns.
const PAGE: u32 = PageSize::MAX.get();

const HEADER: [&str; 13] = [
    "id",
    "at",
    "actor",
    "action",
    "project_id",
    "project_name",
    "command",
    "outcome",
    "detail",
    "upstream_latency_ms",
    "request_id",
    "completed_at",
    "batch_id",
];

/// The audit log as CSV: every row matching the filters (not just one page), streamed.
#[utoipa::path(get, path = "/api/v1/audit.csv", tag = "audit", params(fleet::model::AuditQueryText),
    responses(
        (status = 200, description = "CSV, one row per audit entry, newest first", content_type = "text/csv"),
        (status = 401, description = "not signed in"),
        (status = 422, description = "invalid filters")))]
#[tracing::instrument(skip_all)]
pub async fn export(
    State(fleet): State<Fleet>,
    Extension(RequestActor(actor)): Extension<RequestActor>,
    params: Result<Query<AuditQueryText>, QueryRejection>,
) -> Response {
    let Some(actor) = actor else {
        return ApiError::from(FleetError::Unauthenticated).into_response();
    };
    let Ok(Query(params)) = params else {
        return ApiError::invalid(
            "The query string could not be read; give each filter at most once.",
        )
        .into_response();
    };
    let (filter, total) = match parse_params(params) {
        Ok(parsed) => parsed,
        Err(message) => return ApiError::invalid(message).into_response(),
    };
    // The first page is read before answering: bad filters and missing rights get a status
    // code, not a truncated download.
    let export = Export {
        fleet,
        actor,
        filter,
        remaining: total,
        cursor: Cursor::Start,
    };
    let (first, export) = match export.next_page().await {
        Ok(step) => step,
        Err(error) => return error_response(error),
    };
    let head = futures::stream::once(async { Ok::<_, std::io::Error>(csv_line(HEADER)) });
    let first = futures::stream::once(async move { Ok(first) });
    let rest = futures::stream::unfold(Some(export), |state| async move {
        let export = state.filter(|e| !e.is_done())?;
        match export.next_page().await {
            Ok((chunk, export)) => Some((Ok(chunk), Some(export))),
            Err(error) => {
                tracing::error!(error = %error, "audit export stopped part-way");
                // Ending the body with an error aborts the response, so the client sees a
                // failed download instead of a silently short file.
                Some((Err(std::io::Error::other("audit export failed")), None))
            }
        }
    });
    // Fused: a reader may poll once more after the end (the compression layer does), which
    // an `unfold` answers with a panic.
    let body = Body::from_stream(head.chain(first).chain(rest).fuse());
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"picky-fleet-audit.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The filters ([`AuditQueryText::parse`], the rules every audit view shares) and the total
/// row cap (`None`: every row). Here `limit` caps the whole export rather than one page.
fn parse_params(mut params: AuditQueryText) -> Result<(AuditFilter, Option<u64>), String> {
    let limit = std::mem::take(&mut params.limit);
    let limit = limit.trim();
    let total = (!limit.is_empty())
        .then(|| match limit.parse::<u64>() {
            Ok(0) | Err(_) => Err(format!(
                "`limit` must be a whole number of at least 1, not {limit:?}."
            )),
            Ok(n) => Ok(n),
        })
        .transpose()?;
    Ok((params.parse()?, total))
}

/// The API's one error shape (see [`crate::api::ApiError`]).
fn error_response(error: FleetError) -> Response {
    ApiError::from(error).into_response()
}

enum Cursor {
    /// Nothing read yet: start at the query's own `before`.
    Start,
    Before(i64),
    Done,
}

/// Where an export has got to.
struct Export {
    fleet: Fleet,
    actor: Actor,
    filter: AuditFilter,
    remaining: Option<u64>,
    cursor: Cursor,
}

impl Export {
    fn is_done(&self) -> bool {
        matches!(self.cursor, Cursor::Done) || self.remaining == Some(0)
    }

    /// Reads the next page and renders it as CSV lines.
    async fn next_page(mut self) -> Result<(String, Self), FleetError> {
        let before = match self.cursor {
            Cursor::Start => self.filter.before,
            Cursor::Before(id) => Some(id),
            Cursor::Done => return Ok((String::new(), self)),
        };
        let page_size = match self.remaining {
            Some(n) => u32::try_from(n.min(u64::from(PAGE))).unwrap_or(PAGE),
            None => PAGE,
        };
        let filter = AuditFilter {
            before,
            limit: PageSize::new(page_size).unwrap_or(PageSize::MAX),
            ..self.filter.clone()
        };
        let AuditPage {
            entries,
            next_before,
        } = self.fleet.audit_page(&self.actor, &filter).await?;
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.saturating_sub(entries.len() as u64);
        }
        self.cursor = match next_before {
            Some(id) if self.remaining != Some(0) => Cursor::Before(id),
            _ => Cursor::Done,
        };
        let chunk: String = entries.iter().map(entry_line).collect();
        Ok((chunk, self))
    }
}

fn entry_line(entry: &AuditEntry) -> String {
    let id = entry.id.to_string();
    let project_id = entry
        .project_id
        .map(|id| id.to_string())
        .unwrap_or_default();
    let latency = entry
        .upstream_latency_ms
        .map(|ms| ms.to_string())
        .unwrap_or_default();
    let batch_id = entry.batch_id.map(|id| id.to_string()).unwrap_or_default();
    csv_line([
        id.as_str(),
        &entry.at,
        &entry.actor,
        entry.action.as_str(),
        &project_id,
        entry.project_name.as_deref().unwrap_or(""),
        entry.command.as_deref().unwrap_or(""),
        entry.outcome.as_str(),
        entry.detail.as_deref().unwrap_or(""),
        &latency,
        entry.request_id.as_deref().unwrap_or(""),
        entry.completed_at.as_deref().unwrap_or(""),
        &batch_id,
    ])
}

/// One record, fields escaped, ended by CRLF (RFC 4180).
fn csv_line<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = fields
        .into_iter()
        .map(csv_field)
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Escapes one field. A value a spreadsheet would run as a formula (it starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading `'`, so it is shown as text; then a
/// value containing `,`, `;`, `"`, CR or LF is quoted, with its quotes doubled.
fn csv_field(raw: &str) -> String {
    let neutralised = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    // `;` too: spreadsheets in locales with a decimal comma split CSV on semicolons.
    if neutralised.contains([',', ';', '"', '\r', '\n']) {
        format!("\"{}\"", neutralised.replace('"', "\"\""))
    } else {
        neutralised
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet::model::AuditAction;

    #[test]
    fn plain_fields_are_left_alone() {
        for plain in [
            "",
            "alice",
            "Acme Support",
            "2026-11-25T14:03:05.123Z",
            "42",
        ] {
            assert_eq!(csv_field(plain), plain, "{plain:?}");
        }
    }

    #[test]
    fn separators_quotes_and_line_breaks_are_quoted() {
        let cases = [
            ("a,b", "\"a,b\""),
            // A semicolon locale's spreadsheet splits on `;`.
            ("Acme; Ltd", "\"Acme; Ltd\""),
            ("=1;2", "\"'=1;2\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("line\nbreak", "\"line\nbreak\""),
            ("carriage\rreturn", "\"carriage\rreturn\""),
            ("\"", "\"\"\"\""),
        ];
        for (raw, want) in cases {
            assert_eq!(csv_field(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn formula_starts_are_neutralised() {
        let cases = [
            ("=cmd", "'=cmd"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            // Neutralised first, then quoted: the quote still wraps the whole field.
            ("\rx", "\"'\rx\""),
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            // Only the start matters.
            ("a=b", "a=b"),
            ("x-y", "x-y"),
        ];
        for (raw, want) in cases {
            assert_eq!(csv_field(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn a_line_joins_escaped_fields_and_ends_with_crlf() {
        assert_eq!(csv_line(["1", "a,b", "=x", ""]), "1,\"a,b\",'=x,\r\n");
        assert_eq!(
            csv_line(HEADER),
            "id,at,actor,action,project_id,project_name,command,outcome,detail,upstream_latency_ms,request_id,completed_at,batch_id\r\n"
        );
    }

    #[test]
    fn parameters_are_parsed_and_bad_ones_explained() {
        let params = AuditQueryText {
            project_id: "3".into(),
            actor: " alice ".into(),
            action: "sign_in".into(),
            outcome: "".into(),
            before: "100".into(),
            limit: "1000".into(),
            ..AuditQueryText::default()
        };
        let (filter, total) = parse_params(params).expect("valid");
        assert_eq!(filter.project_id, Some(3));
        assert_eq!(filter.actor.as_deref(), Some("alice"));
        assert_eq!(filter.action, Some(AuditAction::SignIn));
        assert_eq!(filter.outcome, None);
        assert_eq!(filter.before, Some(100));
        assert_eq!(
            filter.limit,
            PageSize::DEFAULT,
            "paging is the export's business"
        );
        assert_eq!(total, Some(1000));

        let bad = [
            (
                "action",
                AuditQueryText {
                    action: "bogus".into(),
                    ..AuditQueryText::default()
                },
            ),
            (
                "outcome",
                AuditQueryText {
                    outcome: "meh".into(),
                    ..AuditQueryText::default()
                },
            ),
            (
                "project_id",
                AuditQueryText {
                    project_id: "x".into(),
                    ..AuditQueryText::default()
                },
            ),
            (
                "before",
                AuditQueryText {
                    before: "1.5".into(),
                    ..AuditQueryText::default()
                },
            ),
            (
                "limit",
                AuditQueryText {
                    limit: "0".into(),
                    ..AuditQueryText::default()
                },
            ),
        ];
        for (name, params) in bad {
            let message = parse_params(params).expect_err(name);
            assert!(message.contains(name), "{name}: {message}");
        }
    }
}
