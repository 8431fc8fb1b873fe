//! Helpers every page uses: the view of data that did not load, sending the browser elsewhere,
//! and skipping Leptos's second walk through a loaded page.

use leptos::prelude::*;

use crate::error;

/// Where a page's data did not load: anonymous visitors go to the sign-in page (and come back
/// to `here` afterwards), everyone else reads why. Each page's server function checks the
/// caller, so this is the only guard the pages need. Works on the server (a 302) and inside an
/// island in the browser (after a reload of its data found the session gone).
pub fn load_error_view(error: error::AppError, what: &str, here: &str) -> AnyView {
    match error {
        error::AppError::Unauthenticated => {
            let next = if here == "/" { String::new() } else { format!("?next={here}") };
            go_to(&format!("/sign-in{next}"));
            ().into_any()
        }
        error::AppError::Forbidden(message) => {
            view! { <p class="alert alert--error" role="alert">{message}</p> }.into_any()
        }
        other => view! {
            <p class="alert alert--error" role="alert">{format!("{what} could not be loaded. {other}")}</p>
        }
        .into_any(),
    }
}

/// Sends the browser to `path`: a redirect of the response being rendered on the server, a
/// page load in the browser (islands have no client-side router).
pub(crate) fn go_to(path: &str) {
    #[cfg(feature = "ssr")]
    leptos_axum::redirect(path);
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(path);
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    let _ = path;
}

/// After a plain form's server function: back to `path` with what happened in the query
/// string (`done=` or `error=`, signed: `fleet::notice`), which the page shows as its status
/// line. Pages with such forms work without the wasm and add nothing to it.
#[cfg(feature = "ssr")]
pub(crate) fn back_with_outcome(path: &str, outcome: Result<String, fleet::FleetError>) {
    let (kind, text) = match outcome {
        Ok(done) => ("done", done),
        Err(e) => ("error", e.answer().message),
    };
    let signature = crate::auth::ssr::fleet()
        .map(|fleet| fleet.sign_notice(kind, &text))
        .unwrap_or_default();
    let encode = crate::audit_page::encode;
    let separator = if path.contains('?') { '&' } else { '?' };
    leptos_axum::redirect(&format!(
        "{path}{separator}{kind}={}&sig={signature}",
        encode(&text)
    ));
}

/// A whole number from a plain form's field, or a refusal that names the field.
#[cfg(feature = "ssr")]
pub(crate) fn form_number(text: &str, what: &str) -> Result<u32, fleet::FleetError> {
    let text = text.trim();
    text.parse()
        .map_err(|_| fleet::FleetError::Invalid(format!("{what}: {text:?} is not a whole number")))
}

/// The status line of a page with plain forms: what the last one did, from the query string
/// [`back_with_outcome`] wrote, shown only if its signature holds. These pages render on the
/// server only (they are not islands), where the check runs.
#[component]
pub(crate) fn OutcomeLine() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let genuine = move |kind: &str, text: &str| {
        let signature = query.with(|q| q.get("sig")).unwrap_or_default();
        #[cfg(feature = "ssr")]
        return crate::auth::ssr::fleet()
            .is_ok_and(|fleet| fleet.notice_is_genuine(kind, text, &signature));
        #[cfg(not(feature = "ssr"))]
        {
            let _ = (kind, text, signature);
            false
        }
    };
    let done = move || query.with(|q| q.get("done")).filter(|t| genuine("done", t));
    let error = move || {
        query
            .with(|q| q.get("error"))
            .filter(|t| genuine("error", t))
    };
    view! {
        {move || done().map(|text| view! { <p class="alert alert--success" role="status">{text}</p> })}
        {move || error().map(|text| view! { <p class="alert alert--error" role="alert">{text}</p> })}
    }
}

/// Awaited in a `Suspend` once its data are in, where the view below reads no resource: it
/// spares the server building that view twice per request.
///
/// Once a Suspense's resources have loaded, Leptos walks its children once more (a "dry
/// resolve", to find resources read further down) before it renders them. A `Suspend` that is
/// ready by then builds its whole view for that walk and drops it: on the fleet page, every
/// card was built twice. Pending for one poll here, the Suspend is not ready during the walk,
/// which stops at it; the render awaits it and goes on at once. Where the view below does read
/// a resource, leave this out: the walk is how the Suspense finds it.
pub(crate) async fn skip_the_resource_walk() {
    #[cfg(feature = "ssr")]
    PendingOnce(false).await;
}

/// Pending once (waking itself at once), then ready.
#[cfg(feature = "ssr")]
struct PendingOnce(bool);

#[cfg(feature = "ssr")]
impl std::future::Future for PendingOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use std::{
        future::Future,
        pin::pin,
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
        task::{Context, Poll, Wake, Waker},
    };

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_walk_skipper_is_pending_once_asks_to_be_polled_again_then_is_ready() {
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(super::skip_the_resource_walk());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            wakes.0.load(Ordering::SeqCst),
            1,
            "a pending future that is never woken would hang the page"
        );
        assert_eq!(future.as_mut().poll(&mut cx), Poll::Ready(()));
    }
}
