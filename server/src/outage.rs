//! Without its database the dashboard still answers, and says why.
//!
//! A signed-in visitor's session lives in the database. When it cannot be read,
//! `auth::resolve_actor` answers [`unavailable`] before any handler runs; when tower-sessions
//! cannot save it after a GET, it answers a bare 500, which [`explain_database_outage`] (just
//! outside the session layer) turns into the same answer once a ping confirms the database does
//! not answer. Other methods' 500s are left alone: their handler may have acted, and "try again"
//! could send a command twice. The answer is a 503 with `Retry-After`: pages get a page that
//! reloads itself every few seconds, so the visitor is back where they were as soon as the
//! database is; the API and server functions get their JSON errors. Handlers' own errors already
//! say so (`FleetError`).

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use fleet::{Fleet, DATABASE_UNAVAILABLE};

/// Seconds before the visitor's browser asks again.
const RETRY_SECS: u32 = 5;

pub async fn explain_database_outage(
    State(fleet): State<Fleet>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR || !safe {
        return response;
    }
    let Err(why) = fleet.database_answers().await else {
        return response; // some other fault: the handler's own answer stands
    };
    tracing::warn!(error = %why, "the database does not answer; told the visitor so");
    unavailable(&path)
}

/// The answer while the database does not answer, in the form `path`'s door speaks.
pub fn unavailable(path: &str) -> Response {
    let (api, server_fn) = (path.starts_with("/api/"), path.starts_with("/fn/"));
    let unavailable = StatusCode::SERVICE_UNAVAILABLE;
    let mut answer = if api {
        crate::api::ApiError::new(
            unavailable,
            fleet::AnswerKind::Unavailable.code(),
            DATABASE_UNAVAILABLE,
        )
        .into_response()
    } else if server_fn {
        // The server functions' own error encoding, which the page shows as it is.
        let error = app::error::AppError::Transport(DATABASE_UNAVAILABLE.into());
        (unavailable, axum::Json(error)).into_response()
    } else {
        (unavailable, Html(outage_page())).into_response()
    };
    answer
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_SECS));
    let headers = answer.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Made outside the router's security headers: its own, for a page with nothing to load.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    answer
}

/// A page on its own (the site's assets may be what is failing): plain, readable in either
/// colour scheme, announced to screen readers, and reloaded by the browser (no script).
fn outage_page() -> String {
    let mut message = DATABASE_UNAVAILABLE.to_owned();
    if let Some(first) = message.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="refresh" content="{RETRY_SECS}">
<title>Database unavailable · Picky Fleet</title>
</head>
<body>
<main role="alert">
<h1>Database unavailable, retrying</h1>
<p>{message}.</p>
<p>This page reloads itself every {RETRY_SECS} seconds and shows the dashboard again as soon as the database answers. No command goes to a device until the database is back.</p>
</main>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_reloads_itself_and_says_what_is_wrong() {
        let page = outage_page();
        assert!(page.contains(r#"http-equiv="refresh" content="5""#));
        assert!(page.contains("The database is unavailable; the dashboard keeps retrying"));
        assert!(page.contains(r#"<html lang="en">"#));
    }
}
