//! The audit log page. (Being written.)

use leptos::prelude::*;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <h1>"Audit log"</h1> }
}
