//! State shared by every handler.

use crate::session_store::Sessions;
use fleet::Fleet;
use leptos::config::LeptosOptions;

/// State shared by every handler.
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub fleet: Fleet,
    pub leptos_options: LeptosOptions,
    /// The session store, for the event streams to see a session end (signed out, expired).
    pub sessions: Sessions,
}
