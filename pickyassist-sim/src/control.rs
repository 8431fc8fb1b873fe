//! The `/_sim/` control API (see the crate docs for the routes).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use crate::fault::{Fault, FaultScope, FaultsView};
use crate::sim::{AddProjectError, NewProject, Simulator};

/// Control bodies are a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub(crate) fn routes() -> Router<Simulator> {
    Router::new()
        .route("/_sim/stats", get(stats))
        .route("/_sim/stats/reset", post(reset_stats))
        .route("/_sim/faults", get(faults).delete(clear_faults))
        .route(
            "/_sim/faults/global",
            put(set_global_fault).delete(clear_global_fault),
        )
        .route(
            "/_sim/faults/projects/{project_id}",
            put(set_project_fault).delete(clear_project_fault),
        )
        .route("/_sim/projects", get(projects).post(add_project))
        .route("/_sim/projects/{project_id}", get(project).patch(set_state))
        .route("/_sim/config", get(config).put(set_config))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// `{"error": "..."}` with a 4xx status.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn unknown_project(project_id: u64) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no project {project_id}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

pub(crate) async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint").into_response()
}

/// Parses a body by hand (not with axum's `Json`) so every failure has the `{"error"}` shape:
/// 400 when it is not JSON at all, 422 when it is JSON of the wrong shape.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        let status = match error.classify() {
            serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, format!("invalid body: {error}"))
    })
}

fn parse_project_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "the project id must be a whole number",
        )
    })
}

async fn stats(State(sim): State<Simulator>) -> Response {
    Json(sim.stats()).into_response()
}

async fn reset_stats(State(sim): State<Simulator>) -> Response {
    sim.reset_stats();
    Json(sim.stats()).into_response()
}

async fn faults(State(sim): State<Simulator>) -> Json<FaultsView> {
    Json(sim.faults())
}

async fn clear_faults(State(sim): State<Simulator>) -> Json<FaultsView> {
    sim.clear_faults();
    Json(sim.faults())
}

fn parse_fault(body: &[u8]) -> Result<Fault, ApiError> {
    let fault: Fault = parse_body(body)?;
    fault
        .validate()
        .map_err(|message| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message))?;
    Ok(fault)
}

async fn set_global_fault(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Json<FaultsView>, ApiError> {
    let fault = parse_fault(&body)?;
    sim.set_fault(FaultScope::Global, Some(fault));
    Ok(Json(sim.faults()))
}

async fn clear_global_fault(State(sim): State<Simulator>) -> Json<FaultsView> {
    sim.set_fault(FaultScope::Global, None);
    Json(sim.faults())
}

async fn set_project_fault(
    State(sim): State<Simulator>,
    Path(project_id): Path<String>,
    body: Bytes,
) -> Result<Json<FaultsView>, ApiError> {
    let project_id = parse_project_id(&project_id)?;
    if !sim.has_project(project_id) {
        return Err(ApiError::unknown_project(project_id));
    }
    let fault = parse_fault(&body)?;
    sim.set_fault(FaultScope::Project(project_id), Some(fault));
    Ok(Json(sim.faults()))
}

async fn clear_project_fault(
    State(sim): State<Simulator>,
    Path(project_id): Path<String>,
) -> Result<Json<FaultsView>, ApiError> {
    let project_id = parse_project_id(&project_id)?;
    // A fault armed through the library for a project that never existed can still be cleared.
    if !sim.has_project(project_id) && !sim.faults().projects.contains_key(&project_id) {
        return Err(ApiError::unknown_project(project_id));
    }
    sim.set_fault(FaultScope::Project(project_id), None);
    Ok(Json(sim.faults()))
}

async fn projects(State(sim): State<Simulator>) -> Response {
    Json(sim.projects()).into_response()
}

async fn project(
    State(sim): State<Simulator>,
    Path(project_id): Path<String>,
) -> Result<Response, ApiError> {
    let project_id = parse_project_id(&project_id)?;
    let view = sim
        .project(project_id)
        .ok_or_else(|| ApiError::unknown_project(project_id))?;
    Ok(Json(view).into_response())
}

/// `PATCH /_sim/projects/{id}`: `{"state": "TIMEOUT", "queue": 12}` (queue optional).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatePatch {
    state: pickyassist::DeviceState,
    #[serde(default)]
    queue: Option<u64>,
}

async fn set_state(
    State(sim): State<Simulator>,
    Path(project_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let project_id = parse_project_id(&project_id)?;
    let patch: StatePatch = parse_body(&body)?;
    if !sim.set_state(project_id, patch.state, patch.queue) {
        return Err(ApiError::unknown_project(project_id));
    }
    project(State(sim), Path(project_id.to_string())).await
}

async fn add_project(State(sim): State<Simulator>, body: Bytes) -> Result<Response, ApiError> {
    let new: NewProject = parse_body(&body)?;
    // The dashboard will only accept a token it can parse, so refuse the others here.
    match pickyassist::ApiToken::parse(&new.token) {
        Ok(token) if token.expose() == new.token => {}
        Ok(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid token: surrounding whitespace",
            ))
        }
        Err(error) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid token: {error}"),
            ))
        }
    }
    let project_id = new.project_id;
    sim.insert_project(new).map_err(|error| {
        let status = match error {
            AddProjectError::EmptyToken => StatusCode::UNPROCESSABLE_ENTITY,
            AddProjectError::DuplicateToken | AddProjectError::DuplicateProjectId(_) => {
                StatusCode::CONFLICT
            }
        };
        ApiError::new(status, error.to_string())
    })?;
    let view = sim
        .project(project_id)
        .ok_or_else(|| ApiError::unknown_project(project_id))?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The run-time settings, as `GET`/`PUT /_sim/config` show them.
#[derive(Debug, Serialize)]
struct ConfigView {
    status_limit_per_minute: Option<u32>,
    /// How long a `restart-server` keeps the project's requests dropped.
    server_restart_downtime_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigPatch {
    /// Outer `None`: not in the body. `Some(None)`: `null`, no limit.
    #[serde(default, deserialize_with = "present")]
    status_limit_per_minute: Option<Option<u32>>,
    #[serde(default)]
    server_restart_downtime_ms: Option<u64>,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(deserializer).map(Some)
}

fn config_view(sim: &Simulator) -> ConfigView {
    ConfigView {
        status_limit_per_minute: sim.status_limit(),
        server_restart_downtime_ms: sim.server_restart_downtime().as_millis() as u64,
    }
}

async fn config(State(sim): State<Simulator>) -> Json<ConfigView> {
    Json(config_view(&sim))
}

async fn set_config(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Json<ConfigView>, ApiError> {
    let patch: ConfigPatch = parse_body(&body)?;
    // An empty object must not silently lift the limit.
    if patch.status_limit_per_minute.is_none() && patch.server_restart_downtime_ms.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "expected {\"status_limit_per_minute\": <number> or null} and/or {\"server_restart_downtime_ms\": <number>}",
        ));
    }
    if let Some(limit) = patch.status_limit_per_minute {
        sim.set_status_limit(limit);
    }
    if let Some(ms) = patch.server_restart_downtime_ms {
        sim.set_server_restart_downtime(std::time::Duration::from_millis(ms));
    }
    Ok(Json(config_view(&sim)))
}
