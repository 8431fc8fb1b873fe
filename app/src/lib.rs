//! picky-fleet's user interface. Pages render on the server; the parts marked `#[island]`
//! hydrate in the browser. The server functions beside them only adapt requests to [`fleet::Fleet`].
#![recursion_limit = "256"]

use fleet::model::Role;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path, SsrMode,
};

mod admin;
mod alerts_page;
mod audit_page;
mod auth;
mod batch_page;
mod confirm;
pub mod error;
mod fleet_page;
mod form;
mod format;
mod live;
mod number_change_page;
mod page;
mod prefs;
mod project_page;
mod toast;

pub use auth::{SignIn, SignOut};
pub use fleet_page::FleetPage;

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    send_content_security_policy();
    // The theme the viewer chose is rendered, not applied by a script: the first paint is right.
    let theme = prefs::current_theme().data_attribute();
    prefs::provide_viewer_zone();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <link rel="stylesheet" id="leptos" href=stylesheet_href(&options)/>
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

/// `/pkg/picky-fleet.css`, or with cargo-leptos's `hash-files` the name with the content's hash
/// (`picky-fleet.<hash>.css`, read once from the hash file beside the binary, as Leptos's
/// `HydrationScripts` reads the wasm's and the JS's).
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    #[cfg(feature = "ssr")]
    {
        static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        HREF.get_or_init(|| {
            let hash = options
                .hash_files
                .then(|| {
                    let exe = std::env::current_exe().ok()?;
                    let file = exe.parent()?.join(options.hash_file.as_ref());
                    let hashes = std::fs::read_to_string(file).ok()?;
                    hashes.lines().find_map(|line| {
                        let (kind, hash) = line.split_once(':')?;
                        (kind.trim() == "css").then(|| hash.trim().to_owned())
                    })
                })
                .flatten();
            match hash {
                Some(hash) => format!(
                    "/{}/{}.{hash}.css",
                    options.site_pkg_dir, options.output_name
                ),
                None => format!("/{}/{}.css", options.site_pkg_dir, options.output_name),
            }
        })
        .clone()
    }
    #[cfg(not(feature = "ssr"))]
    format!("/{}/{}.css", options.site_pkg_dir, options.output_name)
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
    // first page's wasm holds the fleet board and little else (see bench/README.md).
    view! {
        <Title text="picky-fleet"/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <TopBar/>
            <main class="page" id="main">
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=path!("/sign-in") view=auth::SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/") view=FleetPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=audit_page::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/alerts") view=alerts_page::AlertsPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:id") view=project_page::ProjectPage ssr=SsrMode::Async/>
                    <Route path=path!("/projects/:id/connect-another-number") view=number_change_page::NumberChangePage ssr=SsrMode::Async/>
                    <Route path=path!("/batches/new") view=batch_page::ConfirmBatchPage ssr=SsrMode::Async/>
                    <Route path=path!("/batches/:id") view=batch_page::BatchPage ssr=SsrMode::Async/>
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
                                <A href="/alerts">"Alerts"</A>
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
            <prefs::ThemeButton/>
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
        prefs::remember_time_zone();
    });
}
