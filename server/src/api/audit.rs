//! `GET /api/v1/audit`

use axum::{extract::State, Json};
use fleet::{
    model::{AuditPage, AuditQueryText},
    Fleet,
};

use super::{ApiError, ApiQuery, Caller, ErrorBody};

/// The audit log, newest first. Filters are optional; page with `before` (the `next_before`
/// of the previous page) and `limit` (at most 500, default 50).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQueryText),
    responses((status = 200, body = AuditPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiQuery(text): ApiQuery<AuditQueryText>,
) -> Result<Json<AuditPage>, ApiError> {
    let filter = text.parse().map_err(ApiError::invalid)?;
    Ok(Json(fleet.audit_page(&actor, &filter).await?))
}
