// Leptos view types nest deeply (the admin tables); the release wasm build needs more room.
#![recursion_limit = "256"]

//! The browser side: brings the server-rendered page's islands to life (hydration).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Islands mode: the page stays as the server rendered it; Leptos's script then hydrates
    // each `<leptos-island>` (the `#[island]` components in `app`) in document order.
    leptos::mount::hydrate_islands();
}

// The islands' entry points live in `app`; naming the crate here links them into the wasm.
#[allow(unused_imports)]
use app::*;
