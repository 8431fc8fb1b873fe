//! `GET /healthz`: the process is up and the database answers.

use axum::{extract::State, http::StatusCode, Json};
use fleet::Fleet;
use serde_json::{json, Value};

pub async fn healthz(State(fleet): State<Fleet>) -> (StatusCode, Json<Value>) {
    match sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(fleet.pool())
        .await
    {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "database": "ok"})),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "error"})),
            )
        }
    }
}
