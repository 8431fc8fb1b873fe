//! State shared by every handler.

use fleet::Fleet;
use leptos::config::LeptosOptions;

/// State shared by every handler.
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub fleet: Fleet,
    pub leptos_options: LeptosOptions,
}
