//! `/api/v1/projects…`

use axum::{extract::State, http::StatusCode, Json};
use chrono::Utc;
use fleet::{
    model::{
        CommandResult, ProjectAdminView, ProjectCard, ProjectName, RefreshOutcome, StatusView,
        Uptime,
    },
    Fleet, FleetError,
};
use pickyassist::{ApiToken, Command};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, ApiJson, ApiPath, Caller, ErrorBody, WriteOnly};

/// A project with its latest status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiProject {
    pub id: i64,
    pub name: String,
    /// The only part of the token the API ever shows: `••••1f29`.
    pub token_hint: String,
    pub status: StatusView,
    /// True when the last check is older than two poll intervals.
    pub stale: bool,
    /// Share of polled time in CONNECTED (TIMEOUT, UNPAIRED and unknown states are down;
    /// checks that failed on our side are left out); `null` with no data. 24 h is live, 7 d
    /// from hourly and 30/90 d from daily roll-ups, refreshed every few minutes.
    pub uptime: Uptime,
}

impl ApiProject {
    fn from_card(card: ProjectCard, poll_interval_secs: u64, fleet: &Fleet) -> Self {
        let stale = card.status.is_stale(poll_interval_secs, Utc::now());
        Self {
            uptime: fleet.uptime(card.id),
            id: card.id,
            name: card.name,
            token_hint: card.token_hint,
            status: card.status,
            stale,
        }
    }
}

/// Every project with its latest status.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects",
    responses((status = 200, body = Vec<ApiProject>), (status = 401, body = ErrorBody)))]
pub async fn list(State(fleet): State<Fleet>, Caller(actor): Caller) -> Json<Vec<ApiProject>> {
    let view = fleet.fleet_view(&actor);
    Json(
        view.cards
            .into_iter()
            .map(|c| ApiProject::from_card(c, view.poll_interval_secs, &fleet))
            .collect(),
    )
}

/// One project with its latest status.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = i64, Path, description = "The project's id")),
    responses((status = 200, body = ApiProject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ApiProject>, ApiError> {
    let view = fleet.fleet_view(&actor);
    let card = view
        .cards
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(FleetError::ProjectNotFound(id))?;
    Ok(Json(ApiProject::from_card(
        card,
        view.poll_interval_secs,
        &fleet,
    )))
}

/// One immediate status check, within upstream's 3-a-minute budget; coalesced with a check
/// already in flight. When the budget is spent, nothing is sent and the answer says when the
/// next check is possible.
#[utoipa::path(post, path = "/api/v1/projects/{id}/refresh", tag = "projects",
    params(("id" = i64, Path, description = "The project's id")),
    responses((status = 200, body = RefreshOutcome), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn refresh(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RefreshOutcome>, ApiError> {
    Ok(Json(fleet.refresh(&actor, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    /// `restart`, `restart-server`, `delete-message-queue`, `disconnect` or `clearlogs`.
    #[schema(
        example = "restart",
        pattern = "^(restart|restart-server|delete-message-queue|disconnect|clearlogs)$"
    )]
    #[schema(value_type = String)]
    pub command: Command,
    /// Required for `disconnect` and `clearlogs`: the project's name, as a confirmation.
    pub confirm_name: Option<String>,
}

/// Runs a device command (operators and admins). The answer has the audit id, the outcome
/// (`success`, `rejected`, `unreachable`, `timed_out`, `http_status`, `malformed`) and
/// upstream's message; an upstream failure is still a 200, since the command was attempted
/// and recorded. With an `Idempotency-Key`, a retry gets the first attempt's answer (the same
/// audit row) and nothing is sent again.
#[utoipa::path(post, path = "/api/v1/projects/{id}/commands", tag = "projects",
    params(("id" = i64, Path, description = "The project's id"),
        ("Idempotency-Key" = Option<String>, Header,
            description = "1-128 visible ASCII characters, the caller's own for 24 h: a request repeated with the same key returns the first result instead of running again")),
    request_body = CommandRequest,
    responses(
        (status = 200, body = CommandResult),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the same command for this project is already queued or on its way (a double submit); the message names who sent it", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn run_command(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<CommandRequest>,
) -> Result<Json<CommandResult>, ApiError> {
    let confirm_name = request.confirm_name.as_deref();
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => Some(value.to_str().map_err(|_| {
            ApiError::invalid("an Idempotency-Key is 1 to 128 visible ASCII characters")
        })?),
    };
    if let Some(key) = key {
        return Ok(Json(
            fleet
                .run_command_once(&actor, key, id, request.command, confirm_name)
                .await?,
        ));
    }
    Ok(Json(
        fleet
            .run_command(&actor, id, request.command, confirm_name)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    #[schema(min_length = 1, max_length = 80, example = "Acme Support")]
    pub name: String,
    /// Write-only: stored encrypted, never returned.
    #[schema(value_type = String, pattern = "^[A-Za-z0-9_-]{16,128}$")]
    pub token: WriteOnly,
}

/// Adds a project (admins).
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, body = ProjectAdminView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewProject>,
) -> Result<(StatusCode, Json<ProjectAdminView>), ApiError> {
    actor.require(fleet::model::Role::Admin, "add projects")?;
    let name = ProjectName::parse(&new.name).map_err(|e| ApiError::invalid(e.to_string()))?;
    let token =
        ApiToken::parse(new.token.expose()).map_err(|e| ApiError::invalid(e.to_string()))?;
    let id = fleet.add_project(&actor, name, token).await?;
    Ok((StatusCode::CREATED, Json(admin_view(&fleet, &actor, id)?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectChanges {
    #[schema(min_length = 1, max_length = 80)]
    pub name: Option<String>,
    /// Write-only: replaces the token.
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{16,128}$")]
    pub token: Option<WriteOnly>,
}

/// Renames a project and/or replaces its token (admins). Everything is checked before
/// anything changes.
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = i64, Path, description = "The project's id")), request_body = ProjectChanges,
    responses((status = 200, body = ProjectAdminView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(changes): ApiJson<ProjectChanges>,
) -> Result<Json<ProjectAdminView>, ApiError> {
    actor.require(fleet::model::Role::Admin, "change projects")?;
    let name = changes
        .name
        .as_deref()
        .map(ProjectName::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let token = changes
        .token
        .as_ref()
        .map(|t| ApiToken::parse(t.expose()))
        .transpose()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    if name.is_none() && token.is_none() {
        return Err(ApiError::invalid(
            "nothing to change: send `name` and/or `token`",
        ));
    }
    admin_view(&fleet, &actor, id)?; // 404 before any change
    if let Some(name) = name {
        fleet.rename_project(&actor, id, name).await?;
    }
    if let Some(token) = token {
        fleet.rotate_token(&actor, id, token).await?;
    }
    Ok(Json(admin_view(&fleet, &actor, id)?))
}

/// `DELETE /api/v1/projects/{id}`'s body: the project's name again, as on the page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveRequest {
    /// The project's exact name, as a confirmation.
    #[schema(example = "Acme Support")]
    pub confirm_name: String,
}

/// Removes a project (admins). Its audit rows stay. The body must repeat the project's name
/// (`{"confirm_name": "Acme Support"}`), the same rule as the page's typed confirmation.
#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = i64, Path, description = "The project's id")),
    request_body = RemoveRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "`confirm_name` missing or not the project's name", body = ErrorBody)))]
pub async fn remove(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    // The role first, so a viewer learns nothing from the body's errors; then no body is a
    // missing confirmation (422 from the service), not a missing content type.
    actor.require(fleet::model::Role::Admin, "remove projects")?;
    let confirm_name = if body.is_empty() {
        String::new()
    } else {
        serde_json::from_slice::<RemoveRequest>(&body)
            .map_err(|e| {
                ApiError::invalid(format!(
                    "the body must be {{\"confirm_name\": \"<the project's name>\"}}: {e}"
                ))
            })?
            .confirm_name
    };
    fleet.remove_project(&actor, id, &confirm_name).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn admin_view(
    fleet: &Fleet,
    actor: &fleet::auth::Actor,
    id: i64,
) -> Result<ProjectAdminView, ApiError> {
    fleet
        .list_projects(actor)?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| FleetError::ProjectNotFound(id).into())
}
