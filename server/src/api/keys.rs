//! `/api/v1/api-keys…` (admins only)

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use fleet::{
    model::{ApiKeyView, CreatedApiKey, Role},
    Fleet,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiError, ApiJson, ApiPath, Caller, ErrorBody};

/// Every API key (never the keys themselves: prefix, owner, last use).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys",
    responses((status = 200, body = Vec<ApiKeyView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    Ok(Json(fleet.list_api_keys(&actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// The user the key acts as (with that user's role).
    pub username: String,
    /// What the key is for, e.g. "nightly restart job".
    pub label: String,
}

/// Creates a key. The answer is the only time the key is shown: store it now.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewApiKey>,
) -> Result<impl IntoResponse, ApiError> {
    actor.require(Role::Admin, "create API keys")?;
    let user_id = fleet
        .user_id_by_name(&new.username)
        .await?
        .ok_or_else(|| ApiError::invalid(format!("there is no user named {:?}", new.username)))?;
    // The only time the key is shown: no cache on the way may keep it.
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(fleet.create_api_key(&actor, user_id, &new.label).await?),
    ))
}

/// Revokes a key: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = i64, Path, description = "The key's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn revoke(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    fleet.revoke_api_key(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
