//! The router: the REST API and its OpenAPI document, server functions, the pages (rendered
//! by Leptos), `/pkg` assets, health and metrics; and the headers and body limit every
//! response and request gets.

use std::path::PathBuf;

use app::{shell, App};
use axum::http::{header, HeaderValue};
use axum::{routing::get, Router};
use fleet::Fleet;
use leptos::prelude::*;
use leptos_axum::{generate_route_list_with_exclusions, LeptosRoutes};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::{session_store::Sessions, state::AppState};

pub fn router(fleet: Fleet, leptos_options: LeptosOptions, sessions: Sessions) -> Router {
    crate::metrics::handle(); // install the recorder before the first request records anything

    // Server functions have their own routes, outside the page render threads and deadline
    // (see `server_fns`); the page routes leave their paths out.
    let routes = generate_route_list_with_exclusions(App, Some(crate::server_fns::paths()));
    let state = AppState {
        fleet: fleet.clone(),
        leptos_options,
        sessions,
    };
    let server_fns = crate::server_fns::routes(&state, fleet.longest_command());
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, move || provide_context(fleet.clone()), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        // The fallback renders the app too (its "not found" page): it gets the same thread.
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(
            crate::pages::render_on_one_thread,
        ))
        // Live data for a signed-in user: kept, but asked for again each time.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ));
    // `/pkg` by its own file service: Leptos's fallback serves files but drops the request's
    // `If-Modified-Since`, so a reload would download the wasm again instead of a 304.
    let pkg_dir = PathBuf::from(state.leptos_options.site_root.as_ref())
        .join(state.leptos_options.site_pkg_dir.as_ref());

    let (api, openapi) = crate::api::routes();
    let openapi = std::sync::Arc::new(openapi);
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let openapi = openapi.clone();
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .route(
            "/alerts/acknowledge",
            get(crate::ack_link::show).post(crate::ack_link::acknowledge),
        )
        .route("/healthz", get(crate::health::healthz))
        .route("/metrics", get(crate::metrics::render))
        .merge(server_fns)
        .merge(crate::assets::pkg_routes(&pkg_dir))
        .merge(pages)
        .with_state(state)
}

/// Every request body we accept is small (forms, JSON commands); anything bigger is refused
/// with 413 before a handler reads it.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Headers on every response: no MIME sniffing, no framing (clickjacking), no referrer to other
/// sites, and a policy that allows only our own scripts, styles and connections. Pages replace
/// the policy with one that also allows their nonce-carrying inline scripts (`app::shell`).
pub(crate) fn with_security_headers(router: Router) -> Router {
    let set =
        |name, value| SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value));
    router
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; \
             base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        ))
}
