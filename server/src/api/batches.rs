//! `/api/v1/batches`: bulk commands over the service's rules (operators start, cancel and
//! retry; viewers read). A batch runs on the server; its progress is also on
//! `/api/v1/events` as `event: batch`.

use axum::{extract::State, http::StatusCode, Json};
use fleet::{
    model::{BatchRequest, BatchView},
    Fleet,
};

use super::{ApiError, ApiJson, ApiPath, Caller, ErrorBody};

/// Starts one command for many projects: `project_ids` in the order to send, or `filter`
/// (`state`, `search`) as the fleet page would show them now. `disconnect` and `clearlogs`
/// need `confirm_count`, the number of projects. Answers at once, with every project queued;
/// follow it with `GET /api/v1/batches/{id}` or the event stream.
#[utoipa::path(post, path = "/api/v1/batches", tag = "batches", request_body = BatchRequest,
    responses((status = 202, body = BatchView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn start(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<(StatusCode, Json<BatchView>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(fleet.start_batch(&actor, request).await?),
    ))
}

/// The newest 50 batches, newest first, with their counts (items: `GET /api/v1/batches/{id}`).
#[utoipa::path(get, path = "/api/v1/batches", tag = "batches",
    responses((status = 200, body = Vec<BatchView>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
) -> Result<Json<Vec<BatchView>>, ApiError> {
    Ok(Json(fleet.batches(&actor).await?))
}

/// A batch with every project's result: queued, sending, sent, confirmed (with what the
/// follow-up check found), failed (with upstream's message), cancelled or interrupted.
#[utoipa::path(get, path = "/api/v1/batches/{id}", tag = "batches",
    params(("id" = i64, Path, description = "The batch's id")),
    responses((status = 200, body = BatchView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<BatchView>, ApiError> {
    Ok(Json(fleet.batch(&actor, id).await?))
}

/// Cancels a running batch: what was not sent yet is not sent; commands on their way finish.
/// Asking again while it stops answers with the batch as it is; a batch that has ended
/// answers 409.
#[utoipa::path(post, path = "/api/v1/batches/{id}/cancel", tag = "batches",
    params(("id" = i64, Path, description = "The batch's id")),
    responses((status = 200, body = BatchView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<BatchView>, ApiError> {
    Ok(Json(fleet.cancel_batch(&actor, id).await?))
}

/// Starts a new batch of the projects whose command failed in this one. For `disconnect` and
/// `clearlogs` the body must carry `{"confirm_count": <how many failed>}`; otherwise it may be
/// empty.
#[utoipa::path(post, path = "/api/v1/batches/{id}/retry", tag = "batches", request_body = RetryRequest,
    params(("id" = i64, Path, description = "The batch to retry the failures of")),
    responses((status = 202, body = BatchView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn retry(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<BatchView>), ApiError> {
    let request: RetryRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RetryRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::invalid(format!(
                "the body must be {{\"confirm_count\": <number>}}: {e}"
            ))
        })?
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(fleet.retry_batch(&actor, id, request.confirm_count).await?),
    ))
}

/// `POST /batches/{id}/retry`'s body, needed only for a destructive command.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// How many projects failed (and are retried), typed to confirm.
    #[serde(default)]
    pub confirm_count: Option<u32>,
}
