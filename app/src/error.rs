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
                set_status_unless_plain_form_post(http::StatusCode::UNPROCESSABLE_ENTITY);
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
        use fleet::AnswerKind as K;
        let app_error = match answer.kind {
            K::Unauthenticated => AppError::Unauthenticated,
            K::Invalid | K::BadCredentials => AppError::Invalid(answer.message),
            K::Forbidden => AppError::Forbidden(answer.message),
            K::NotFound => AppError::NotFound(answer.message),
            K::Conflict => AppError::Conflict(answer.message),
            K::RateLimited => AppError::TooManyAttempts(answer.message),
            K::Unavailable => AppError::Transport(answer.message),
            K::Internal => AppError::Internal,
        };
        set_status_unless_plain_form_post(status);
        app_error
    }
}

/// Sets the answer's status, except for a form posted without JavaScript: that is answered
/// with a redirect back to the page (which shows the error), and an error status would stop
/// the browser following it.
#[cfg(feature = "ssr")]
fn set_status_unless_plain_form_post(status: http::StatusCode) {
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
}
