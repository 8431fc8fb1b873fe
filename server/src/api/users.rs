//! `/api/v1/users…` (admins only)

use axum::{extract::State, http::StatusCode, Json};
use fleet::{
    auth::{Actor, Password},
    model::{Role, UserView, Username},
    Fleet,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiError, ApiJson, ApiPath, Caller, ErrorBody, WriteOnly};

/// Every user.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    Ok(Json(fleet.list_users(&actor).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Letters, digits, '.', '_', '-' and '@'.
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    pub username: String,
    pub role: Role,
    /// At least 10 characters. Stored only as an argon2id hash.
    #[schema(value_type = String, min_length = 10)]
    pub password: WriteOnly,
}

/// Adds a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    actor.require(Role::Admin, "add users")?;
    let username = Username::parse(&new.username).map_err(ApiError::invalid)?;
    let password = Password::parse(new.password.expose())?;
    let id = fleet.add_user(&actor, username, new.role, password).await?;
    Ok((
        StatusCode::CREATED,
        Json(user_view(&fleet, &actor, id).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// Changes a user's role and/or disables or enables them. The last enabled admin can be
/// neither demoted nor disabled (409).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "The user's id")), request_body = UserChanges,
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(changes): ApiJson<UserChanges>,
) -> Result<Json<UserView>, ApiError> {
    actor.require(Role::Admin, "change users")?;
    if changes.role.is_none() && changes.disabled.is_none() {
        return Err(ApiError::invalid(
            "nothing to change: send `role` and/or `disabled`",
        ));
    }
    user_view(&fleet, &actor, id).await?; // unknown user: 404 before any change
    if let Some(role) = changes.role {
        fleet.set_user_role(&actor, id, role).await?;
    }
    if let Some(disabled) = changes.disabled {
        fleet.set_user_disabled(&actor, id, disabled).await?;
    }
    Ok(Json(user_view(&fleet, &actor, id).await?))
}

async fn user_view(fleet: &Fleet, actor: &Actor, id: i64) -> Result<UserView, ApiError> {
    fleet
        .list_users(actor)
        .await?
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("there is no user with id {id}"),
            )
        })
}
