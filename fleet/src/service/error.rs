//! [`FleetError`]: what a service call can fail with, sorted by who can fix it.

/// What went wrong, sorted by who can fix it. Adapters map these to status codes in one place.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Bad input: nothing was changed and nothing was sent upstream.
    #[error("{0}")]
    Invalid(String),
    #[error("there is no project with id {0}")]
    ProjectNotFound(i64),
    /// Something else asked for by id is not there (an alert, a channel, a window).
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// No session or API key.
    #[error("sign in first")]
    Unauthenticated,
    /// Signed in, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// Too many sign-in attempts for this username or from this address.
    #[error("too many sign-in attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Wrong username or password; deliberately the same answer for both.
    #[error("wrong username or password")]
    BadCredentials,

    /// The dashboard cannot take this now (it is shutting down); try again shortly.
    #[error("{0}")]
    Unavailable(String),

    /// Our fault (database, key); details go to the log, not to the user.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// What every door (server function, REST API, the auth middleware) answers for an error:
/// the one mapping from [`FleetError`] to a status code, a kind and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorAnswer {
    pub status: http::StatusCode,
    pub kind: AnswerKind,
    /// For people; never an internal detail.
    pub message: String,
}

/// The kinds of answer, each with a stable machine-readable [`AnswerKind::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    Invalid,
    NotFound,
    Conflict,
    Unauthenticated,
    BadCredentials,
    Forbidden,
    RateLimited,
    Unavailable,
    Internal,
}

impl AnswerKind {
    pub const fn code(self) -> &'static str {
        match self {
            AnswerKind::Invalid => "invalid_request",
            AnswerKind::NotFound => "not_found",
            AnswerKind::Conflict => "conflict",
            AnswerKind::Unauthenticated => "unauthenticated",
            AnswerKind::BadCredentials => "bad_credentials",
            AnswerKind::Forbidden => "forbidden",
            AnswerKind::RateLimited => "rate_limited",
            AnswerKind::Unavailable => "unavailable",
            AnswerKind::Internal => "internal",
        }
    }
}

impl FleetError {
    /// The answer for this error. An internal error's cause is logged here, once, and the
    /// answer says only that something went wrong on our side.
    pub fn answer(self) -> ErrorAnswer {
        use http::StatusCode as S;
        use AnswerKind as K;
        let mut message = self.to_string();
        let (status, kind) = match &self {
            FleetError::Invalid(_) => (S::UNPROCESSABLE_ENTITY, K::Invalid),
            FleetError::ProjectNotFound(_) | FleetError::NotFound(_) => (S::NOT_FOUND, K::NotFound),
            FleetError::Conflict(_) => (S::CONFLICT, K::Conflict),
            FleetError::Unauthenticated => (S::UNAUTHORIZED, K::Unauthenticated),
            FleetError::BadCredentials => (S::UNAUTHORIZED, K::BadCredentials),
            FleetError::Forbidden(_) => (S::FORBIDDEN, K::Forbidden),
            FleetError::RateLimited { .. } => (S::TOO_MANY_REQUESTS, K::RateLimited),
            FleetError::Unavailable(_) => (S::SERVICE_UNAVAILABLE, K::Unavailable),
            FleetError::Internal(cause) if database_unreachable(cause) => {
                tracing::error!("the database is unreachable: {cause:#}");
                message = DATABASE_UNAVAILABLE.into();
                (S::SERVICE_UNAVAILABLE, K::Unavailable)
            }
            FleetError::Internal(cause) => {
                tracing::error!("internal error: {cause:#}");
                message = "internal error; the details are in the server log".into();
                (S::INTERNAL_SERVER_ERROR, K::Internal)
            }
        };
        ErrorAnswer {
            status,
            kind,
            message,
        }
    }
}

/// What people are told while the database does not answer.
pub const DATABASE_UNAVAILABLE: &str =
    "the database is unavailable; the dashboard keeps retrying, try again in a moment";

/// The database could not be reached (see [`crate::db::is_unreachable`]): nothing was done,
/// and the same request will work once it is back.
fn database_unreachable(cause: &anyhow::Error) -> bool {
    cause.chain().any(|e| {
        e.downcast_ref::<sqlx::Error>()
            .is_some_and(crate::db::is_unreachable)
            || e.is::<crate::db::Unreachable>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_its_status_and_internal_causes_stay_out_of_the_message() {
        let cases = [
            (FleetError::Invalid("bad".into()), 422, "invalid_request"),
            (FleetError::ProjectNotFound(7), 404, "not_found"),
            (FleetError::Conflict("taken".into()), 409, "conflict"),
            (FleetError::Unauthenticated, 401, "unauthenticated"),
            (FleetError::BadCredentials, 401, "bad_credentials"),
            (FleetError::Forbidden("no".into()), 403, "forbidden"),
            (
                FleetError::RateLimited {
                    retry_after_secs: 3,
                },
                429,
                "rate_limited",
            ),
            (FleetError::Unavailable("later".into()), 503, "unavailable"),
            (
                FleetError::Internal(
                    anyhow::Error::new(sqlx::Error::PoolTimedOut).context("writing an audit row"),
                ),
                503,
                "unavailable",
            ),
            (
                FleetError::Internal(anyhow::anyhow!("disk full at /secret/path")),
                500,
                "internal",
            ),
        ];
        for (error, status, code) in cases {
            let answer = error.answer();
            assert_eq!(
                (answer.status.as_u16(), answer.kind.code()),
                (status, code),
                "{answer:?}"
            );
        }
        let internal = FleetError::Internal(anyhow::anyhow!("disk full at /secret/path")).answer();
        assert_eq!(
            internal.message,
            "internal error; the details are in the server log"
        );
    }
}
