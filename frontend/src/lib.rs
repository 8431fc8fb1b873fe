// Leptos view types nest deeply (the admin tables); the release wasm build needs more room.
#![recursion_limit = "256"]

//! The browser side: takes over the server-rendered page (hydration).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_lazy`, not `hydrate_body`: a page whose code is split out (see `app`'s routes)
    // waits for its code before it hydrates.
    leptos::mount::hydrate_lazy(app::App);
}
