//! Admin pages: projects (with their write-only API tokens), users and their API keys. Every
//! form also works before the wasm has loaded, except creating an API key (its answer, shown
//! once, needs the page's script); the server functions check the role again and leave the
//! rules to the service layer.
//!
//! This file holds what the pages share; each page (and the API keys on the users page) has
//! its own file.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::{
    error::AppError,
    toast::{ToastKind, Toasts},
};

mod api_keys;
mod projects;
mod users;

pub use projects::ProjectsPage;
pub use users::UsersPage;

/// A secret form field (an API token, a password): a plain string on the wire, but `Debug`
/// prints `••••`, so the server function's argument struct cannot log it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretInput(String);

impl SecretInput {
    #[cfg_attr(not(feature = "ssr"), allow(dead_code))]
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretInput(••••)")
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use fleet::{auth::Actor, model::Role, Fleet, FleetError};

    use crate::error::AppError;

    /// The service and the caller if the caller is an admin; 401 or 403 otherwise. Checked
    /// before the function's own parsing of its input (its arguments' decoding comes first).
    pub async fn admin(to: &str) -> Result<(Fleet, Actor), AppError> {
        let (fleet, actor) = crate::auth::ssr::caller().await?;
        actor.require(Role::Admin, to)?;
        Ok((fleet, actor))
    }

    /// Input that does not parse: 422, nothing changed.
    pub fn invalid(message: impl ToString) -> AppError {
        AppError::from(FleetError::Invalid(message.to_string()))
    }
}

// ---------- shared UI pieces ----------

/// Which row's form was sent last, so its error shows next to it.
#[derive(Clone, PartialEq)]
struct Target {
    form: &'static str,
    id: i64,
    name: String,
}

/// Every result of `action` as a toast; row actions prefix the row's name.
fn toast_results<S>(action: ServerAction<S>, form: &'static str, last: RwSignal<Option<Target>>)
where
    S: ServerFn<Output = String, Error = AppError> + Clone + Send + Sync + 'static,
{
    let toasts = expect_context::<Toasts>();
    Effect::new(move |_| {
        let Some(result) = action.value().get() else {
            return;
        };
        let prefix = last
            .get_untracked()
            .filter(|t| t.form == form)
            .map(|t| format!("{}: ", t.name))
            .unwrap_or_default();
        match result {
            Ok(message) => toasts.push(ToastKind::Success, format!("{prefix}{message}")),
            Err(error) => toasts.push(ToastKind::Error, format!("{prefix}{error}")),
        }
    });
}

/// The error of `action` if it belongs to this row's `form`.
fn row_error<S>(
    action: ServerAction<S>,
    last: RwSignal<Option<Target>>,
    form: &'static str,
    id: i64,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static
where
    S: ServerFn<Output = String, Error = AppError> + Clone + Send + Sync + 'static,
{
    move || {
        let mine = last.with(|t| t.as_ref().is_some_and(|t| t.form == form && t.id == id));
        match action.value().get() {
            Some(Err(error)) if mine => Some(error_alert(error.to_string()).into_any()),
            _ => None,
        }
    }
}

/// An error no row claims: after a form post without JavaScript the page reloads and does not
/// know which row sent it, so it shows above the table.
fn unclaimed_error<S>(
    action: ServerAction<S>,
    last: RwSignal<Option<Target>>,
) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static
where
    S: ServerFn<Output = String, Error = AppError> + Clone + Send + Sync + 'static,
{
    move || match action.value().get() {
        Some(Err(error)) if last.with(Option::is_none) => {
            Some(error_alert(error.to_string()).into_any())
        }
        _ => None,
    }
}

/// The error of a page-level form (the "Add" and "Create" forms).
fn form_error<S>(action: ServerAction<S>) -> impl Fn() -> Option<AnyView> + Send + Sync + 'static
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || match action.value().get() {
        Some(Err(error)) => Some(error_alert(error.to_string()).into_any()),
        _ => None,
    }
}

fn error_alert(message: String) -> impl IntoView {
    view! { <p class="alert alert--error admin__error" role="alert">{message}</p> }
}

/// `2026-11-25T10:04:05.123Z` → `2026-11-25 11:04 CET` (the viewer's zone).
fn created(rfc3339: &str) -> String {
    crate::prefs::zoned_rfc3339(rfc3339, "%Y-%m-%d %H:%M %Z")
}

/// True once the wasm runs: only then do buttons that need JavaScript checks get disabled,
/// so the server-rendered forms stay usable without it.
fn hydrated() -> RwSignal<bool> {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    hydrated
}

/// An admin page around its island: the title, the heading and what the page is for render
/// on the server; `children` is the island.
#[component]
fn AdminPage(title: &'static str, intro: &'static str, children: Children) -> impl IntoView {
    let heading_id = format!("{}-title", title.to_lowercase());
    let labelled_by = heading_id.clone();
    view! {
        <Title text=format!("{title} · picky-fleet")/>
        <section class="admin" aria-labelledby=labelled_by>
            <header class="admin__head">
                <h1 id=heading_id>{title}</h1>
                <p class="muted">{intro}</p>
            </header>
            {children()}
        </section>
    }
}

/// An admin list: a keyboard-focusable scrolling region around a table with these column
/// headings; `children` are its rows. The region is named "`label`, table": its section is
/// already named by the heading, and two landmarks of one name confuse screen readers.
#[component]
fn AdminTable(
    label: &'static str,
    columns: &'static [&'static str],
    class: &'static str,
    children: Children,
) -> impl IntoView {
    let headings = columns
        .iter()
        .map(|column| view! { <th scope="col">{*column}</th> })
        .collect_view();
    view! {
        <div class="admin__table-wrap" role="region" aria-label=format!("{label}, table") tabindex="0">
            <table class=class>
                <thead>
                    <tr>{headings}</tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
