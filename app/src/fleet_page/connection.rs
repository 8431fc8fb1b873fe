//! The line under the fleet's title that says whether the board is live: "Live · updated 5 s
//! ago", or, when the event stream drops, "Connection lost, reconnecting…" in the error colour
//! until it is back. Staff keep this page open for hours; a silently frozen board would be
//! worse than none.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::format::ago;

/// What the page knows of its live connection.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Connection {
    /// `None` until the stream first opens or fails (and always on the server).
    pub(super) open: Option<bool>,
    /// The last status that arrived, or when the page's data was loaded.
    pub(super) updated_at: Option<DateTime<Utc>>,
}

#[component]
pub(super) fn ConnectionLine(
    connection: RwSignal<Connection>,
    now: RwSignal<DateTime<Utc>>,
) -> impl IntoView {
    let state = move || connection.with(|c| c.open);
    let updated = move || {
        connection
            .with(|c| c.updated_at)
            .map(|at| format!(" · updated {}", ago(at, now.get())))
    };
    view! {
        <p class="live" class:live--lost=move || state() == Some(false)>
            <span class="live__dot" aria-hidden="true"></span>
            // Only the connection's state is announced; the ticking age is not.
            <span role="status">
                {move || match state() {
                    None => "Connecting to live updates…",
                    Some(true) => "Live",
                    Some(false) => "Connection lost, reconnecting…",
                }}
            </span>
            <span class="live__age">{updated}</span>
        </p>
    }
}
