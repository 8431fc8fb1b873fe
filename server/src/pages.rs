//! Server-side rendering of pages, each on one thread.
//!
//! Leptos 0.8 resolves a page's `Suspense`/`Transition` boundaries with resources whose tasks
//! the multi-threaded runtime may run on any worker. Under load, with more runnable threads than
//! cores, about one page render in a few thousand never finished: the resource's answer came
//! while the boundary, on another thread, was between reading and subscribing (the kind of race
//! leptos-rs/leptos#4851 and #4673 describe; 0.8.23 fixed one such window, not all). Seen here as
//! a page request that hung for good in the integration tests, both worker threads idle.
//!
//! A page therefore renders on a small pool of single-threaded runtimes: everything one render
//! spawns runs on the same thread as the render, so no such interleaving can happen, while
//! different pages still render in parallel on the pool's threads. As a last guard, a render
//! that misses a deadline is tried once more or answered with a 503 (see below).

use std::{sync::LazyLock, time::Duration};

use axum::{
    body::Body,
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio_util::task::LocalPoolHandle;

/// One thread per core: rendering is CPU work.
static RENDER_THREADS: LazyLock<LocalPoolHandle> = LazyLock::new(|| {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    LocalPoolHandle::new(threads)
});

/// A render takes milliseconds; one still running after this lost its wakeup (see above).
const RENDER_DEADLINE: Duration = Duration::from_secs(8);

/// Middleware for the Leptos page routes and the fallback (static files, or the app's "not
/// found" page): runs the rest of the request on one of the render threads and hands its
/// response back.
///
/// The one thread made the lost wakeup rare, not impossible: with the CPU kept busy, about one
/// run in ten of the audit and fleet page tests (18 tests, 8 at a time) still saw a page hang.
/// So no render may take forever. A GET or HEAD past the deadline is cancelled and rendered once
/// more (it changes nothing, so it can be); a second miss, or any other request past it, ends in
/// a 503 that says to reload. Only the response head is timed: a static file's body streams on.
pub async fn render_on_one_thread(request: Request, next: Next) -> Response {
    render_with_deadline(request, next, RENDER_DEADLINE).await
}

async fn render_with_deadline(request: Request, next: Next, deadline: Duration) -> Response {
    let rerenderable = matches!(*request.method(), Method::GET | Method::HEAD);
    if !rerenderable {
        return render_once(request, next, deadline)
            .await
            .unwrap_or_else(|| too_slow(1));
    }
    let (head, _empty_body) = request.into_parts();
    for attempt in 1..=2 {
        let request = Request::from_parts(head.clone(), Body::empty());
        if let Some(response) = render_once(request, next.clone(), deadline).await {
            if attempt > 1 {
                tracing::warn!(path = %head.uri.path(), "a page rendered on its second attempt");
            }
            return response;
        }
        tracing::warn!(path = %head.uri.path(), attempt, ?deadline, "a page render missed its deadline");
    }
    too_slow(2)
}

/// The response, or `None` if the render missed the deadline (it is cancelled then).
async fn render_once(request: Request, next: Next, deadline: Duration) -> Option<Response> {
    let mut render = RENDER_THREADS.spawn_pinned(move || next.run(request));
    match tokio::time::timeout(deadline, &mut render).await {
        Ok(Ok(response)) => Some(response),
        Ok(Err(error)) => {
            tracing::error!(%error, "a page render failed");
            Some((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
        }
        Err(_elapsed) => {
            render.abort();
            None
        }
    }
}

fn too_slow(attempts: u32) -> Response {
    tracing::error!(attempts, "a page could not be rendered in time");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        "This page took too long to prepare. Reload it to try again.",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    use axum::{routing::any, Router};
    use tower::ServiceExt;

    use super::*;

    /// A route whose first `hangs` calls never answer, behind the deadline middleware.
    fn app(hangs: usize, calls: Arc<AtomicUsize>) -> Router {
        Router::new()
            .route(
                "/page",
                any(move || {
                    let call = calls.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if call < hangs {
                            std::future::pending::<()>().await;
                        }
                        "rendered"
                    }
                }),
            )
            .layer(axum::middleware::from_fn(|request, next| {
                render_with_deadline(request, next, Duration::from_millis(200))
            }))
    }

    /// Sends `method /page` to a route that hangs `hangs` times: the status, the body and how
    /// many times the route was called.
    async fn send(hangs: usize, method: Method) -> (StatusCode, String, usize) {
        let calls = Arc::new(AtomicUsize::new(0));
        let request = Request::builder()
            .method(method)
            .uri("/page")
            .body(Body::empty())
            .unwrap();
        let response = app(hangs, calls.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body).into_owned();
        (status, body, calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_page_that_hangs_once_is_rendered_again() {
        let (status, body, calls) = send(1, Method::GET).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "rendered"));
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn a_page_that_keeps_hanging_ends_in_a_503_after_two_tries() {
        let (status, body, calls) = send(usize::MAX, Method::GET).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("Reload"), "{body}");
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn a_request_that_changes_state_is_never_sent_twice() {
        let (status, _, calls) = send(1, Method::POST).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_quick_page_is_rendered_once() {
        let (status, _, calls) = send(0, Method::GET).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(calls, 1);
    }
}
