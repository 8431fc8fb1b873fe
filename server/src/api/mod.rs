//! The REST API under `/api/v1`: JSON over the same service layer as the pages, with the
//! same roles, validation and audit log. The OpenAPI document is generated from these
//! handlers (utoipa), so it cannot drift from what the router serves.

use axum::{
    extract::{
        rejection::{JsonRejection, PathRejection, QueryRejection},
        FromRequest, FromRequestParts,
    },
    http::{request::Parts, StatusCode},
    response::{IntoResponse, Response},
    Json, Router,
};
use fleet::{
    auth::{Actor, RequestActor},
    FleetError,
};
use serde::{Deserialize, Serialize};
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi, ToSchema,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

mod alerts;
mod audit;
pub mod audit_csv;
mod autoheal;
mod batches;
pub mod events;
mod history;
mod keys;
mod projects;
mod users;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "picky-fleet API",
        version = "1",
        description = "Watch and control a fleet of PickyAssist WhatsApp automation servers. \
                       Authenticate with `Authorization: Bearer <API key>` (keys are created by an admin) \
                       or a browser session. Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "projects", description = "Projects, their live status, refreshes and commands"),
        (name = "audit", description = "The audit log"),
        (name = "users", description = "Users (admins only)"),
        (name = "api-keys", description = "API keys (admins only)"),
        (name = "events", description = "Live status changes"),
        (name = "alerts", description = "Alerts: channels, rules, alerts and their deliveries, mutes, maintenance"),
        (name = "batches", description = "Bulk commands: one command for many projects, run by the server")
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("picky_fleet_session"))),
        );
    }
}

/// The API's routes and the OpenAPI document describing exactly those routes.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(
            projects::get_one,
            projects::update,
            projects::remove
        ))
        .routes(routes!(projects::refresh))
        .routes(routes!(projects::run_command))
        .routes(routes!(history::history))
        .routes(routes!(history::changes))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .routes(routes!(audit_csv::export))
        .routes(routes!(events::status_events))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::update))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::revoke))
        .routes(routes!(alerts::list_channels, alerts::add_channel))
        .routes(routes!(alerts::change_channel, alerts::remove_channel))
        .routes(routes!(alerts::test_channel))
        .routes(routes!(alerts::rules))
        .routes(routes!(alerts::set_default_rule))
        .routes(routes!(
            alerts::set_project_rule,
            alerts::remove_project_rule
        ))
        .routes(routes!(alerts::list_alerts))
        .routes(routes!(alerts::get_alert))
        .routes(routes!(alerts::acknowledge))
        .routes(routes!(alerts::list_windows, alerts::add_window))
        .routes(routes!(alerts::remove_window))
        .routes(routes!(alerts::mute, alerts::unmute))
        .routes(routes!(autoheal::get, autoheal::set))
        .routes(routes!(batches::start, batches::list))
        .routes(routes!(batches::get))
        .routes(routes!(batches::cancel))
        .routes(routes!(batches::retry))
        .split_for_parts()
}

/// A secret in a request body (a token, a password): read once, never shown. Its `Debug` is
/// `••••`, so a body logged or put in an error message cannot carry it.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct WriteOnly(String);

impl WriteOnly {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WriteOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteOnly(••••)")
    }
}

/// `{"error": {"code": "...", "message": "..."}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_request`, `bad_request`, `not_found`, `conflict`,
    /// `unauthenticated`, `bad_credentials`, `invalid_api_key`, `cross_origin`, `forbidden`,
    /// `rate_limited`, `unavailable`, `internal`.
    pub code: String,
    /// For people.
    pub message: String,
}

/// Every API error: a status code and a human message, in one shape.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }
}

impl From<FleetError> for ApiError {
    fn from(error: FleetError) -> Self {
        let answer = error.answer();
        Self::new(answer.status, answer.kind.code(), answer.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => Self::invalid(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_request",
                "send the body as JSON with `content-type: application/json`",
            ),
            other => Self::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::invalid(rejection.body_text())
    }
}

/// `Json` whose rejections use the API's error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "the id in the path must be a whole number: {}",
                rejection.body_text()
            ),
        )
    }
}

/// `Path` whose rejections use the API's error shape (`/projects/abc` is a 400 in JSON).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `Query` whose rejections use the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The authenticated caller (API key or session), or 401.
pub struct Caller(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<RequestActor>() {
            Some(RequestActor(Some(actor))) => Ok(Caller(actor.clone())),
            _ => Err(FleetError::Unauthenticated.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WriteOnly;

    #[test]
    fn a_write_only_field_never_shows_in_debug() {
        let body: serde_json::Value = serde_json::json!({"token": "0123456789abcdef-secret"});
        let token: WriteOnly = serde_json::from_value(body["token"].clone()).unwrap();
        assert_eq!(token.expose(), "0123456789abcdef-secret");
        assert_eq!(format!("{token:?}"), "WriteOnly(••••)");
    }
}
