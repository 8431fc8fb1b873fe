//! picky-fleet's user interface. Pages render on the server; the parts marked `#[island]`
//! hydrate in the browser. The server functions beside them only adapt requests to [`fleet::Fleet`].
#![recursion_limit = "256"]

use fleet::model::Role;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path, SsrMode,
};

mod admin;
mod audit_page;
mod auth;
pub mod error;
mod fleet_page;
mod format;
mod live;
mod toast;

pub use auth::{SignIn, SignOut};
pub use fleet_page::FleetPage;

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    send_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Scripts run only if they come from us or carry this response's nonce (leptos_axum makes a
/// fresh one per request and puts it on the hydration and resource scripts). The wasm needs
/// 'wasm-unsafe-eval' to be compiled; nothing needs 'unsafe-inline' or 'unsafe-eval'.
#[cfg(feature = "ssr")]
fn send_content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // Islands: the router, the top bar and every page render on the server only; the parts
    // that change in the browser are `#[island]`s (the fleet board, the sign-in form, the
    // admin pages), hydrated on their own. Moving between pages is a normal page load, so the
    // first page's wasm holds the fleet board and little else (see README, Benchmarks).
    view! {
        <Stylesheet id="leptos" href="/pkg/picky-fleet.css"/>
        <Title text="picky-fleet"/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <TopBar/>
            <main class="page" id="main">
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=path!("/sign-in") view=auth::SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/") view=FleetPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=audit_page::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/projects") view=admin::ProjectsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=admin::UsersPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            // Last in the document: islands hydrate in document order, so this one runs once
            // every island above it (the lazily loaded ones too) has hydrated.
            <HydrationMark/>
        </Router>
    }
}

/// Where a page's data did not load: anonymous visitors go to the sign-in page (and come back
/// to `here` afterwards), everyone else reads why. Each page's server function checks the
/// caller, so this is the only guard the pages need. Works on the server (a 302) and inside an
/// island in the browser (after a reload of its data found the session gone).
pub fn load_error_view(error: error::AppError, what: &str, here: &'static str) -> AnyView {
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

#[component]
fn TopBar() -> impl IntoView {
    let user = Resource::new(|| (), |_| auth::whoami());
    view! {
        <header class="topbar">
            <A href="/" attr:class="brand">
                <span class="brand__mark" aria-hidden="true">"◆"</span>
                " picky-fleet"
            </A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    user.await.ok().flatten().map(|user| {
                        let is_admin = user.role == Role::Admin;
                        view! {
                            <nav class="topbar__nav" aria-label="Main">
                                <A href="/">"Fleet"</A>
                                <A href="/audit">"Audit log"</A>
                                {is_admin.then(|| view! {
                                    <A href="/admin/projects">"Projects"</A>
                                    <A href="/admin/users">"Users"</A>
                                })}
                            </nav>
                            <div class="topbar__user">
                                <span class="topbar__name">{user.username.clone()}</span>
                                <span class="role">{user.role.label()}</span>
                                // A plain form (the top bar is not an island): the server
                                // function signs out and redirects to the sign-in page.
                                <form method="post" action={<SignOut as leptos::server_fn::ServerFn>::url()} class="inline-form">
                                    <button type="submit" class="btn btn--on-dark">"Sign out"</button>
                                </form>
                            </div>
                        }
                    })
                })}
            </Transition>
        </header>
    }
}

/// Sets `data-hydrated` on `<body>` once the wasm has hydrated the page's islands, so browser
/// tests (and curious engineers) can tell a live page from its server-rendered HTML.
#[island]
fn HydrationMark() -> impl IntoView {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
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
