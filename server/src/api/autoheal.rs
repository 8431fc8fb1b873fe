//! `/api/v1/projects/{id}/auto-heal`: a project's auto-heal policy (admins change it; every
//! signed-in user reads it). What auto-heal did is in the audit log as the actor `auto-heal`.

use axum::{extract::State, Json};
use fleet::{model::AutoHealPolicy, Fleet};

use super::{ApiError, ApiJson, ApiPath, Caller, ErrorBody};

/// The project's policy (off unless an admin turned it on).
#[utoipa::path(get, path = "/api/v1/projects/{id}/auto-heal", tag = "projects",
    params(("id" = i64, Path, description = "The project's id")),
    responses((status = 200, body = AutoHealPolicy), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AutoHealPolicy>, ApiError> {
    Ok(Json(fleet.auto_heal_policy(&actor, id)?))
}

/// Sets the policy (admins): `{"enabled": true}` takes the defaults (restart after 10 min in
/// TIMEOUT, at most once an hour; restart-server if that did not help within 5 min, at most
/// twice a day). Suspended while the project is muted, in maintenance or disconnected on
/// purpose.
#[utoipa::path(put, path = "/api/v1/projects/{id}/auto-heal", tag = "projects", request_body = AutoHealPolicy,
    params(("id" = i64, Path, description = "The project's id")),
    responses((status = 200, body = AutoHealPolicy), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(policy): ApiJson<AutoHealPolicy>,
) -> Result<Json<AutoHealPolicy>, ApiError> {
    Ok(Json(fleet.set_auto_heal_policy(&actor, id, policy).await?))
}
