//! The error every server function returns: what the user can act on, nothing internal.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in.")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyAttempts(String),
    #[error("Something went wrong on our side; the details are in the server log.")]
    Internal,
    /// The request did not reach the function or its answer did not come back.
    #[error("The dashboard could not be reached: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server: the request's arguments did not decode. That is the caller's
            // mistake (400), not ours (500).
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::Deserialization(message) => {
                #[cfg(feature = "ssr")]
                if let Some(response) =
                    leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
                {
                    response.set_status(http::StatusCode::BAD_REQUEST);
                }
                AppError::Invalid(format!("The request is malformed: {message}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<fleet::FleetError> for AppError {
    /// Maps service errors to what users see, and sets the HTTP status to match.
    fn from(error: fleet::FleetError) -> Self {
        use fleet::FleetError as F;
        use http::StatusCode;
        let (status, app_error) = match error {
            F::Invalid(message) => (StatusCode::UNPROCESSABLE_ENTITY, AppError::Invalid(message)),
            F::ProjectNotFound(_) => (StatusCode::NOT_FOUND, AppError::NotFound(error.to_string())),
            F::Conflict(message) => (StatusCode::CONFLICT, AppError::Conflict(message)),
            F::Unauthenticated => (StatusCode::UNAUTHORIZED, AppError::Unauthenticated),
            F::Forbidden(message) => (StatusCode::FORBIDDEN, AppError::Forbidden(message)),
            F::BadCredentials => (
                StatusCode::UNAUTHORIZED,
                AppError::Invalid(error.to_string()),
            ),
            F::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                AppError::TooManyAttempts(error.to_string()),
            ),
            F::Unavailable(message) => (
                StatusCode::SERVICE_UNAVAILABLE,
                AppError::Transport(message),
            ),
            F::Internal(cause) => {
                tracing::error!("internal error: {cause:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, AppError::Internal)
            }
        };
        // A form posted without JavaScript is answered with a redirect back to the page
        // (which shows the error); an error status would stop the browser following it.
        let plain_form_post =
            leptos::prelude::use_context::<http::request::Parts>().is_some_and(|parts| {
                parts
                    .headers
                    .get(http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|accept| accept.contains("text/html"))
            });
        if !plain_form_post {
            if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(status);
            }
        }
        app_error
    }
}
