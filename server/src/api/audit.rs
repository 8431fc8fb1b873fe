//! `GET /api/v1/audit` and `GET /api/v1/audit/verify`

use axum::{extract::State, Json};
use fleet::{
    model::{AuditPage, AuditQueryText, ChainReport},
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

/// Checks the audit log's hash chain now (admins only): every sealed row in order, from the
/// archive anchor to the newest seal, and any completed row outside the chain. `verified`
/// false names the first problem. Takes about a second per million rows.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = ChainReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn verify(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
) -> Result<Json<ChainReport>, ApiError> {
    Ok(Json(fleet.verify_audit_chain(&actor).await?))
}
