//! The one way an island sends a form. The `<form>` posts to its server function's own URL
//! (`method="post" action=S::url()`), so it works before the wasm has loaded (the server
//! function answers a plain post with a redirect back). Once hydrated, [`send_with`] turns the
//! submit into a dispatch of a [`ServerAction`]: its input is built from the form's fields by
//! the caller, and its `pending`, `value` and `version` drive the page (busy buttons, toasts,
//! lists that reload).
//!
//! Not `ActionForm`: it decodes the fields through a query-string parser, which would come
//! into the first page's wasm for a form or two.

use leptos::{ev::SubmitEvent, prelude::*, server_fn::ServerFn};

/// The fields of a submitted form, by name.
pub struct Fields {
    #[cfg(feature = "hydrate")]
    data: Option<web_sys::FormData>,
}

impl Fields {
    /// The field's value; empty when there is no such field.
    pub fn text(&self, name: &str) -> String {
        #[cfg(feature = "hydrate")]
        if let Some(value) = self.data.as_ref().and_then(|d| d.get(name).as_string()) {
            return value;
        }
        let _ = name;
        String::new()
    }

    #[cfg(feature = "hydrate")]
    fn of(ev: &SubmitEvent) -> Self {
        use wasm_bindgen::JsCast;
        let data = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            .and_then(|form| web_sys::FormData::new_with_form(&form).ok());
        Self { data }
    }
}

/// The `on:submit` handler of an island's form: no page load; unless a call of `action` is
/// still on its way (a double click sends once), `input` builds the call from the form's
/// fields and `action` sends it. `input` returns `None` to send nothing (it has told the user
/// why).
pub fn send_with<S>(
    action: ServerAction<S>,
    input: impl Fn(&Fields) -> Option<S> + Send + Sync + 'static,
) -> impl Fn(SubmitEvent) + Send + Sync + 'static
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    let pending = action.pending();
    move |ev: SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        #[cfg(feature = "hydrate")]
        if let Some(call) = input(&Fields::of(&ev)) {
            action.dispatch(call);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &input;
    }
}
