//! Admin pages: projects and users. (Being written.)

use leptos::prelude::*;

#[component]
pub fn ProjectsPage() -> impl IntoView {
    view! { <h1>"Projects"</h1> }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    view! { <h1>"Users"</h1> }
}
