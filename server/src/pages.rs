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
//! different pages still render in parallel on the pool's threads.

use std::sync::LazyLock;

use axum::{
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio_util::task::LocalPoolHandle;

/// One thread per core: rendering is CPU work.
static RENDER_THREADS: LazyLock<LocalPoolHandle> = LazyLock::new(|| {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    LocalPoolHandle::new(threads)
});

/// Middleware for the Leptos page routes and the fallback (static files, or the app's "not
/// found" page): runs the rest of the request on one of the render threads and hands its
/// response back.
pub async fn render_on_one_thread(request: Request, next: Next) -> Response {
    match RENDER_THREADS.spawn_pinned(move || next.run(request)).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%error, "a page render failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
