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
    /// The call is still running past its deadline; what it started goes on.
    #[error("{0}")]
    StillRunning(String),
    /// The request did not reach the function or its answer did not come back.
    #[error("The dashboard could not be reached: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server: the request's arguments did not decode (a number that is not
            // one, an unknown command). That is the caller's mistake (422, as in the API),
            // not ours (500).
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::Deserialization(message) => {
                #[cfg(feature = "ssr")]
                if let Some(response) =
                    leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
                {
                    response.set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
                }
                AppError::Invalid(format!("The request is malformed: {message}"))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<fleet::FleetError> for AppError {
    /// What users see of a service error ([`fleet::FleetError::answer`], the one mapping
    /// every door uses), with the HTTP status to match.
    fn from(error: fleet::FleetError) -> Self {
        let answer = error.answer();
        let status = answer.status;
        let app_error = match answer.code {
            "unauthenticated" => AppError::Unauthenticated,
            "forbidden" => AppError::Forbidden(answer.message),
            "not_found" => AppError::NotFound(answer.message),
            "conflict" => AppError::Conflict(answer.message),
            "rate_limited" => AppError::TooManyAttempts(answer.message),
            "unavailable" => AppError::Transport(answer.message),
            "internal" => AppError::Internal,
            _ => AppError::Invalid(answer.message),
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
