//! Server functions under `/fn/…`: the calls the pages and islands make to the service layer
//! (the scripts' API is `/api/v1`, see [`crate::api`]).
//!
//! `leptos_routes_with_context` would register them among the page routes, behind the page
//! render threads and their 8 s deadline ([`crate::pages`]). That deadline is for a render
//! that lost its wakeup; a server function is a plain async call that may legitimately wait
//! much longer: a command waits for its turn in its project's queue and then for upstream.
//! Under the page deadline, an operator whose command took 9 s was told the page failed while
//! the command went on in the background, and an admin change could be cut between its write
//! and its audit row. So the page routes leave these paths out and they are routed here, with
//! a deadline longer than the longest command can take ([`fleet::Fleet::longest_command`]).

use std::time::Duration;

use app::error::AppError;
use axum::{
    body::Body,
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{delete, get, patch, post, put},
    Router,
};
use leptos::prelude::provide_context;

use crate::state::AppState;

/// Where every `#[server]` function lives: each says `prefix = "/fn"` (the macro needs the
/// literal), and a unit test below holds them to it.
pub const PREFIX: &str = "/fn/";

/// The path of every server function, for the page routes to leave out.
pub fn paths() -> Vec<String> {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect()
}

/// A route for each server function, with the state they read from context, under
/// `deadline`.
pub fn routes(state: &AppState, deadline: Duration) -> Router<AppState> {
    let mut router = Router::new();
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        let state = state.clone();
        let handler = move |request: Request<Body>| {
            let state = state.clone();
            async move {
                let context = move || {
                    provide_context(state.fleet.clone());
                    provide_context(state.clone());
                };
                leptos_axum::handle_server_fns_with_context(context, request).await
            }
        };
        let route = match method {
            Method::GET => get(handler),
            Method::PUT => put(handler),
            Method::DELETE => delete(handler),
            Method::PATCH => patch(handler),
            _ => post(handler),
        };
        router = router.route(path, route);
    }
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| with_deadline(request, next, deadline),
    ))
}

/// Answers a call still running after `deadline` with a 504 the page can show. What it
/// started goes on: a command runs in its own task and completes its audit row.
async fn with_deadline(request: Request, next: Next, deadline: Duration) -> Response {
    let path = request.uri().path().to_owned();
    // A form posted without JavaScript goes back to its page, as any answer to it does.
    let plain_form_back_to = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|accept| accept.contains("text/html"))
        .and(request.headers().get(header::REFERER).cloned());
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => {
            tracing::error!(%path, ?deadline, "a server function missed its deadline");
            if let Some(referer) = plain_form_back_to {
                return (StatusCode::SEE_OTHER, [(header::LOCATION, referer)]).into_response();
            }
            let error = AppError::StillRunning(
                "This is taking much longer than it should. The dashboard goes on with it: \
                 reload the page in a minute to see the result (a command's is in the audit \
                 log)."
                    .into(),
            );
            let body = serde_json::to_string(&error).unwrap_or_default();
            (
                StatusCode::GATEWAY_TIMEOUT,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_function_lives_under_the_prefix() {
        let paths = paths();
        assert!(
            paths.len() > 10,
            "the app's server functions are linked in: {paths:?}"
        );
        for path in paths {
            assert!(path.starts_with(PREFIX), "{path} is outside {PREFIX}");
        }
    }

    #[tokio::test]
    async fn a_call_past_its_deadline_gets_a_504_the_page_can_read() {
        use tower::ServiceExt;
        let app = Router::new()
            .route(
                "/fn/slow",
                post(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "done"
                }),
            )
            .layer(axum::middleware::from_fn(|request: Request, next: Next| {
                with_deadline(request, next, Duration::from_millis(50))
            }));
        let request = Request::post("/fn/slow").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let error: AppError = serde_json::from_slice(&body).unwrap();
        assert!(matches!(error, AppError::StillRunning(_)), "{error:?}");
    }
}
