//! `GET /api/v1/projects/{id}/history` and `…/changes`: a project's status history.

use axum::{extract::State, Json};
use fleet::{
    model::{ChangesQueryText, HistoryQueryText, ProjectHistory, StateChangePage},
    Fleet,
};

use super::{ApiError, ApiPath, ApiQuery, Caller, ErrorBody};

/// A project's polls rolled up per minute (kept 48 h), hour (90 days) or day (2 years) over
/// `[from, to)`: counts per state, queue min/avg/max and upstream latency. Only buckets with
/// polls are listed: a missing bucket is time nobody polled ("no data"). Uptime is
/// connected ÷ (connected + timeout + unpaired + unknown state); `faults` (checks that failed
/// on our side) are unknown, not down.
#[utoipa::path(get, path = "/api/v1/projects/{id}/history", tag = "projects",
    params(("id" = i64, Path, description = "The project's id"), HistoryQueryText),
    responses((status = 200, body = ProjectHistory), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn history(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(text): ApiQuery<HistoryQueryText>,
) -> Result<Json<ProjectHistory>, ApiError> {
    let range = text.parse(fleet.now()).map_err(ApiError::invalid)?;
    Ok(Json(
        fleet
            .project_history(&actor, id, range.from, range.to, range.resolution)
            .await?,
    ))
}

/// A project's state changes (from → to, when, upstream's message for failures) with
/// `from <= at < to`, newest first; page with `before` (the `next_before` of the previous
/// page) and `limit` (1 to 500, default 100).
#[utoipa::path(get, path = "/api/v1/projects/{id}/changes", tag = "projects",
    params(("id" = i64, Path, description = "The project's id"), ChangesQueryText),
    responses((status = 200, body = StateChangePage), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn changes(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(text): ApiQuery<ChangesQueryText>,
) -> Result<Json<StateChangePage>, ApiError> {
    let query = text.parse(fleet.now()).map_err(ApiError::invalid)?;
    Ok(Json(
        fleet
            .project_changes(&actor, id, query.from, query.to, query.before, query.limit)
            .await?,
    ))
}
