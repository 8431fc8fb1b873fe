//! Admin pages: projects (with their write-only API tokens), users and their API keys. Every
//! form also works before the wasm has loaded, except creating an API key (its answer, shown
//! once, needs the page's script); the server functions check the role again and leave the
//! rules to the service layer.

use fleet::model::{ApiKeyView, CreatedApiKey, ProjectAdminView, Role, UserView};
use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::{
    error::AppError,
    toast::{ToastKind, ToastRegion, Toasts},
};

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

// ---------- server functions: projects ----------

#[server(endpoint = "admin_projects")]
pub async fn admin_projects() -> Result<Vec<ProjectAdminView>, AppError> {
    let (fleet, actor) = ssr::admin("manage projects").await?;
    Ok(fleet.list_projects(&actor)?)
}

/// Adds a project. The token goes in and never comes back: the answer has its hint only.
#[server(endpoint = "add_project")]
pub async fn add_project(name: String, token: SecretInput) -> Result<String, AppError> {
    use fleet::model::{token_hint, ProjectName};
    let (fleet, actor) = ssr::admin("add projects").await?;
    let name = ProjectName::parse(&name).map_err(ssr::invalid)?;
    let token = pickyassist::ApiToken::parse(token.expose()).map_err(ssr::invalid)?;
    let hint = token_hint(&token.last4());
    fleet.add_project(&actor, name.clone(), token).await?;
    Ok(format!("Added project {name} (token {hint})."))
}

#[server(endpoint = "rename_project")]
pub async fn rename_project(project_id: i64, name: String) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("rename projects").await?;
    let name = fleet::model::ProjectName::parse(&name).map_err(ssr::invalid)?;
    fleet
        .rename_project(&actor, project_id, name.clone())
        .await?;
    Ok(format!("Renamed to {name}."))
}

#[server(endpoint = "rotate_token")]
pub async fn rotate_token(project_id: i64, token: SecretInput) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("rotate tokens").await?;
    let token = pickyassist::ApiToken::parse(token.expose()).map_err(ssr::invalid)?;
    let hint = fleet::model::token_hint(&token.last4());
    fleet.rotate_token(&actor, project_id, token).await?;
    Ok(format!("Token replaced; it now ends in {hint}."))
}

/// Removes a project; `confirm_name` must repeat its name, whatever the page checked.
#[server(endpoint = "remove_project")]
pub async fn remove_project(project_id: i64, confirm_name: String) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("remove projects").await?;
    let project = fleet
        .list_projects(&actor)?
        .into_iter()
        .find(|p| p.id == project_id)
        .ok_or(fleet::FleetError::ProjectNotFound(project_id))?;
    if confirm_name.trim() != project.name {
        return Err(ssr::invalid(format!(
            "type the project name {:?} exactly to remove it",
            project.name
        )));
    }
    fleet.remove_project(&actor, project_id).await?;
    Ok(format!(
        "Removed project {}; its audit history stays.",
        project.name
    ))
}

// ---------- server functions: users ----------

#[server(endpoint = "admin_users")]
pub async fn admin_users() -> Result<Vec<UserView>, AppError> {
    let (fleet, actor) = ssr::admin("manage users").await?;
    Ok(fleet.list_users(&actor).await?)
}

#[server(endpoint = "add_user")]
pub async fn add_user(
    username: String,
    role: String,
    password: SecretInput,
) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("add users").await?;
    let username = fleet::model::Username::parse(&username).map_err(ssr::invalid)?;
    let role: Role = role.parse().map_err(ssr::invalid)?;
    let password = fleet::auth::Password::parse(password.expose())?;
    fleet
        .add_user(&actor, username.clone(), role, password)
        .await?;
    Ok(format!(
        "Added {} as {}.",
        username.as_str(),
        role.label().to_lowercase()
    ))
}

#[server(endpoint = "set_user_role")]
pub async fn set_user_role(user_id: i64, role: String) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("change roles").await?;
    let role: Role = role.parse().map_err(ssr::invalid)?;
    fleet.set_user_role(&actor, user_id, role).await?;
    Ok(format!("Role is now {}.", role.label().to_lowercase()))
}

/// Disables (`disabled=true`) or enables a user. A disabled user's sessions stop working on
/// their next request.
#[server(endpoint = "set_user_disabled")]
pub async fn set_user_disabled(user_id: i64, disabled: bool) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("disable users").await?;
    fleet.set_user_disabled(&actor, user_id, disabled).await?;
    Ok(if disabled { "Disabled." } else { "Enabled." }.to_owned())
}

// ---------- server functions: API keys ----------

/// Every API key: prefix, owner, label, last use, never the key itself.
#[server(endpoint = "admin_api_keys")]
pub async fn admin_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    let (fleet, actor) = ssr::admin("manage API keys").await?;
    Ok(fleet.list_api_keys(&actor).await?)
}

/// Creates a key acting as `username`. The answer is the only time the key is ever shown, so
/// it must not be cached anywhere on the way.
#[server(endpoint = "create_api_key")]
pub async fn create_api_key(username: String, label: String) -> Result<CreatedApiKey, AppError> {
    let (fleet, actor) = ssr::admin("create API keys").await?;
    let user_id = fleet
        .user_id_by_name(&username)
        .await?
        .ok_or_else(|| ssr::invalid(format!("there is no user named {:?}", username.trim())))?;
    let created = fleet.create_api_key(&actor, user_id, &label).await?;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
    }
    Ok(created)
}

/// Revokes a key: it stops working at once. Revoking a revoked key changes nothing.
#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(key_id: i64) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("revoke API keys").await?;
    fleet.revoke_api_key(&actor, key_id).await?;
    Ok("Revoked; the key stops working at once.".to_owned())
}

#[cfg(feature = "ssr")]
mod ssr {
    use fleet::{auth::Actor, model::Role, Fleet, FleetError};

    use crate::error::AppError;

    /// The service and the caller if the caller is an admin; 401 or 403 otherwise. Checked
    /// before any input is read, so a viewer learns nothing from a malformed request.
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

/// `2026-11-25T10:04:05.123Z` → `2026-11-25 10:04 UTC`.
fn created(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => rfc3339.to_owned(),
    }
}

/// True once the wasm runs: only then do buttons that need JavaScript checks get disabled,
/// so the server-rendered forms stay usable without it.
fn hydrated() -> RwSignal<bool> {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    hydrated
}

// ---------- projects page ----------

#[derive(Clone, Copy)]
struct ProjectActions {
    rename: ServerAction<RenameProject>,
    rotate: ServerAction<RotateToken>,
    remove: ServerAction<RemoveProject>,
    last: RwSignal<Option<Target>>,
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

/// `/admin/projects`.
#[component]
pub fn ProjectsPage() -> impl IntoView {
    view! {
        <AdminPage
            title="Projects"
            intro="Each project is one PickyAssist automation server. Its API token is stored \
                   encrypted and is never shown again: only its last four characters."
        >
            <ProjectsAdmin/>
        </AdminPage>
    }
}

/// The forms and the list: an island, loaded from its own wasm chunk the first time an admin
/// opens the page.
#[island(lazy)]
fn ProjectsAdmin() -> impl IntoView {
    Toasts::provide();
    let add = ServerAction::<AddProject>::new();
    let actions = ProjectActions {
        rename: ServerAction::new(),
        rotate: ServerAction::new(),
        remove: ServerAction::new(),
        last: RwSignal::new(None),
    };
    let last = actions.last;
    toast_results(add, "add", last);
    toast_results(actions.rename, "rename", last);
    toast_results(actions.rotate, "rotate", last);
    toast_results(actions.remove, "remove", last);
    let projects = Resource::new(
        move || {
            (
                add.version().get(),
                actions.rename.version().get(),
                actions.rotate.version().get(),
                actions.remove.version().get(),
            )
        },
        |_| admin_projects(),
    );

    view! {
        // Everything below needs the list, which only admins get: others read why instead.
        <Transition fallback=|| view! { <p class="loading">"Loading projects…"</p> }>
            {move || Suspend::new(async move {
                let projects = projects.await;
                crate::skip_the_resource_walk().await;
                match projects {
                    Ok(list) => Either::Left(view! {
                        <AddProjectForm action=add/>
                        <section class="admin__list" aria-labelledby="project-list-title">
                            <h2 id="project-list-title">"All projects"</h2>
                            {unclaimed_error(actions.rename, last)}
                            {unclaimed_error(actions.rotate, last)}
                            {unclaimed_error(actions.remove, last)}
                            {if list.is_empty() {
                                view! { <p class="empty">"No projects yet. Add the first one above."</p> }.into_any()
                            } else {
                                view! { <ProjectsTable list actions/> }.into_any()
                            }}
                        </section>
                    }),
                    Err(error) => Either::Right(crate::load_error_view(error, "The projects", "/admin/projects")),
                }
            })}
        </Transition>
        <ToastRegion/>
    }
}

#[component]
fn AddProjectForm(action: ServerAction<AddProject>) -> impl IntoView {
    // Controlled fields, so a success can clear them (the token above all).
    let name = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            name.set(String::new());
            token.set(String::new());
        }
    });
    let pending = move || action.pending().get();
    view! {
        <section class="admin__add" aria-labelledby="add-project-title">
            <h2 id="add-project-title">"Add project"</h2>
            <ActionForm action attr:class="form admin__form">
                <label class="field">
                    <span>"Name"</span>
                    <input
                        name="name"
                        required
                        maxlength="80"
                        autocomplete="off"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </label>
                <label class="field">
                    <span>"API token"</span>
                    <input
                        name="token"
                        type="password"
                        required
                        autocomplete="off"
                        spellcheck="false"
                        aria-describedby="add-project-token-help"
                        prop:value=move || token.get()
                        on:input=move |ev| token.set(event_target_value(&ev))
                    />
                </label>
                <p class="admin__help" id="add-project-token-help">
                    "From PickyAssist's API settings: 16–128 letters, digits, '-' or '_'. Write-only."
                </p>
                {form_error(action)}
                <div class="admin__actions">
                    <button type="submit" class="btn btn--primary" disabled=pending aria-busy=move || pending().to_string()>
                        {move || if pending() { "Adding…" } else { "Add project" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn ProjectsTable(list: Vec<ProjectAdminView>, actions: ProjectActions) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|project| view! { <ProjectRow project actions/> })
        .collect_view();
    view! {
        <div class="admin__table-wrap" role="region" aria-labelledby="project-list-title" tabindex="0">
            <table class="admin-table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Token"</th>
                        <th scope="col">"Upstream id"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Manage"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn ProjectRow(project: ProjectAdminView, actions: ProjectActions) -> impl IntoView {
    let ProjectActions {
        rename,
        rotate,
        remove,
        last,
    } = actions;
    let ProjectAdminView {
        id,
        name,
        token_hint,
        upstream_project_id,
        created_at,
    } = project;
    let hydrated = hydrated();
    let typed = RwSignal::new(String::new());
    let target = move |form: &'static str, name: &str| {
        let name = name.to_owned();
        move |_: leptos::ev::SubmitEvent| {
            last.set(Some(Target {
                form,
                id,
                name: name.clone(),
            }))
        }
    };
    // Keep the row's forms open while one of them shows an error.
    let has_error = move || {
        last.with(|t| t.as_ref().is_some_and(|t| t.id == id))
            && (matches!(rename.value().get(), Some(Err(_)))
                || matches!(rotate.value().get(), Some(Err(_)))
                || matches!(remove.value().get(), Some(Err(_))))
    };
    let confirm_name = name.clone();
    let confirmed = move || typed.with(|t| t.trim() == confirm_name);
    // Each form's children are a closure of their own: give each its own copy.
    let (rename_value, remove_label, manage_label) =
        (name.clone(), name.clone(), format!("Manage {name}"));
    let (on_rename, on_rotate, on_remove) = (
        target("rename", &name),
        target("rotate", &name),
        target("remove", &name),
    );

    view! {
        <tr data-project-id=id>
            <th scope="row" class="admin-table__name">{name.clone()}</th>
            <td class="admin-table__mono" title="Only the last 4 characters of the token are ever shown">{token_hint}</td>
            <td class="admin-table__mono">{upstream_project_id.unwrap_or_else(|| "—".to_owned())}</td>
            <td><time datetime=created_at.clone()>{created(&created_at)}</time></td>
            <td>
                <details class="manage" open=has_error>
                    <summary class="manage__toggle" aria-label=manage_label>"Manage"</summary>
                    <div class="manage__forms">
                        <ActionForm action=rename attr:class="manage__form" on:submit=on_rename>
                            <input type="hidden" name="project_id" value=id/>
                            <label for=format!("rename-{id}")>"New name"</label>
                            <div class="manage__row">
                                <input id=format!("rename-{id}") name="name" required maxlength="80" autocomplete="off" value=rename_value/>
                                <button type="submit" class="btn">"Rename"</button>
                            </div>
                            {row_error(rename, last, "rename", id)}
                        </ActionForm>
                        <ActionForm action=rotate attr:class="manage__form" on:submit=on_rotate>
                            <input type="hidden" name="project_id" value=id/>
                            <label for=format!("rotate-{id}")>"New API token"</label>
                            <div class="manage__row">
                                <input
                                    id=format!("rotate-{id}")
                                    name="token"
                                    type="password"
                                    required
                                    autocomplete="off"
                                    spellcheck="false"
                                />
                                <button type="submit" class="btn">"Rotate token"</button>
                            </div>
                            {row_error(rotate, last, "rotate", id)}
                        </ActionForm>
                        <ActionForm action=remove attr:class="manage__form manage__form--danger" on:submit=on_remove>
                            <input type="hidden" name="project_id" value=id/>
                            <label for=format!("remove-{id}")>"Type " <b>{remove_label}</b> " to remove it"</label>
                            <div class="manage__row">
                                <input
                                    id=format!("remove-{id}")
                                    name="confirm_name"
                                    required
                                    autocomplete="off"
                                    prop:value=move || typed.get()
                                    on:input=move |ev| typed.set(event_target_value(&ev))
                                />
                                <button
                                    type="submit"
                                    class="btn btn--danger"
                                    disabled=move || hydrated.get() && !confirmed()
                                >
                                    "Remove"
                                </button>
                            </div>
                            {row_error(remove, last, "remove", id)}
                        </ActionForm>
                    </div>
                </details>
            </td>
        </tr>
    }
}

// ---------- users page ----------

#[derive(Clone, Copy)]
struct UserActions {
    set_role: ServerAction<SetUserRole>,
    set_disabled: ServerAction<SetUserDisabled>,
    last: RwSignal<Option<Target>>,
}

/// `/admin/users`: the users and their API keys.
#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <AdminPage
            title="Users"
            intro="Viewers see the fleet and the audit log; operators also run commands; admins \
                   also manage projects and users. Disabling a user ends their sessions at once."
        >
            <UsersAdmin/>
        </AdminPage>
    }
}

/// The forms, the list and the keys: an island, loaded from its own wasm chunk the first time
/// an admin opens the page.
#[island(lazy)]
fn UsersAdmin() -> impl IntoView {
    Toasts::provide();
    let add = ServerAction::<AddUser>::new();
    let actions = UserActions {
        set_role: ServerAction::new(),
        set_disabled: ServerAction::new(),
        last: RwSignal::new(None),
    };
    let last = actions.last;
    toast_results(add, "add", last);
    toast_results(actions.set_role, "role", last);
    toast_results(actions.set_disabled, "disabled", last);
    // Kept here, not in the keys section, so a new key stays shown while the lists reload.
    let key_actions = KeyActions {
        create: ServerAction::new(),
        revoke: ServerAction::new(),
        last,
    };
    toast_created_key(key_actions.create);
    toast_results(key_actions.revoke, "revoke", last);
    let users = Resource::new(
        move || {
            (
                add.version().get(),
                actions.set_role.version().get(),
                actions.set_disabled.version().get(),
            )
        },
        |_| admin_users(),
    );
    let keys = keys_resource(key_actions);
    // Who is looking: they cannot disable themselves or change their own role.
    let me = Resource::new(|| (), |_| crate::auth::whoami());

    view! {
        // Everything below needs the list, which only admins get: others read why instead.
        <Transition fallback=|| view! { <p class="loading">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => {
                        // Awaited here, inside the Transition, like any resource.
                        let me = me.await.ok().flatten().map(|u| u.id);
                        let key_users = list.clone();
                        Either::Left(view! {
                            <AddUserForm action=add/>
                            <section class="admin__list" aria-labelledby="user-list-title">
                                <h2 id="user-list-title">"All users"</h2>
                                {unclaimed_error(actions.set_role, last)}
                                {unclaimed_error(actions.set_disabled, last)}
                                <UsersTable list actions me/>
                            </section>
                            <ApiKeysSection users=key_users actions=key_actions keys/>
                        })
                    }
                    Err(error) => Either::Right(crate::load_error_view(error, "The users", "/admin/users")),
                }
            })}
        </Transition>
        <ToastRegion/>
    }
}

#[component]
fn AddUserForm(action: ServerAction<AddUser>) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            username.set(String::new());
            password.set(String::new());
        }
    });
    let pending = move || action.pending().get();
    let roles = Role::ALL
        .into_iter()
        .map(|role| {
            view! { <option value=role.as_str() selected={role == Role::Viewer}>{role.label()}</option> }
        })
        .collect_view();
    view! {
        <section class="admin__add" aria-labelledby="add-user-title">
            <h2 id="add-user-title">"Add user"</h2>
            <ActionForm action attr:class="form admin__form">
                <label class="field">
                    <span>"Username"</span>
                    <input
                        name="username"
                        required
                        maxlength="64"
                        autocomplete="off"
                        spellcheck="false"
                        aria-describedby="add-user-name-help"
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))
                    />
                </label>
                <p class="admin__help" id="add-user-name-help">"Letters, digits, '.', '_', '-' and '@'."</p>
                <label class="field">
                    <span>"Role"</span>
                    <select name="role">{roles}</select>
                </label>
                <label class="field">
                    <span>"Password"</span>
                    <input
                        name="password"
                        type="password"
                        required
                        minlength="10"
                        maxlength="256"
                        autocomplete="new-password"
                        aria-describedby="add-user-password-help"
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                </label>
                <p class="admin__help" id="add-user-password-help">"At least 10 characters. Tell the user through a safe channel."</p>
                {form_error(action)}
                <div class="admin__actions">
                    <button type="submit" class="btn btn--primary" disabled=pending aria-busy=move || pending().to_string()>
                        {move || if pending() { "Adding…" } else { "Add user" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn UsersTable(list: Vec<UserView>, actions: UserActions, me: Option<i64>) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|user| {
            let is_me = me == Some(user.id);
            view! { <UserRow user actions is_me/> }
        })
        .collect_view();
    view! {
        <div class="admin__table-wrap" role="region" aria-labelledby="user-list-title" tabindex="0">
            <table class="admin-table">
                <thead>
                    <tr>
                        <th scope="col">"Username"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Access"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn UserRow(user: UserView, actions: UserActions, is_me: bool) -> impl IntoView {
    let UserActions {
        set_role,
        set_disabled,
        last,
    } = actions;
    let UserView {
        id,
        username,
        role,
        disabled,
        created_at,
    } = user;
    let target = move |form: &'static str, name: &str| {
        let name = name.to_owned();
        move |_: leptos::ev::SubmitEvent| {
            last.set(Some(Target {
                form,
                id,
                name: name.clone(),
            }))
        }
    };
    let options = Role::ALL
        .into_iter()
        .map(|r| view! { <option value=r.as_str() selected={r == role}>{r.label()}</option> })
        .collect_view();
    let (status_class, status_label) = if disabled {
        ("user-status user-status--disabled", "Disabled")
    } else {
        ("user-status user-status--enabled", "Enabled")
    };
    let (on_role, on_toggle) = (target("role", &username), target("disabled", &username));
    let (role_label, save_label) = (
        format!("Role of {username}"),
        format!("Save the role of {username}"),
    );
    let (toggle_label, toggle_value) = if disabled {
        ("Enable", "false")
    } else {
        ("Disable", "true")
    };
    let toggle_aria = format!("{toggle_label} {username}");
    view! {
        <tr data-user-id=id class:admin-table__row--disabled=disabled>
            <th scope="row" class="admin-table__name">
                {username.clone()}
                {is_me.then(|| view! { <span class="muted">" (you)"</span> })}
            </th>
            <td>
                <ActionForm action=set_role attr:class="manage__row" on:submit=on_role>
                    <input type="hidden" name="user_id" value=id/>
                    <select name="role" aria-label=role_label>{options}</select>
                    <button type="submit" class="btn" aria-label=save_label>"Save"</button>
                </ActionForm>
                {row_error(set_role, last, "role", id)}
            </td>
            <td><span class=status_class>{status_label}</span></td>
            <td><time datetime=created_at.clone()>{created(&created_at)}</time></td>
            <td>
                <ActionForm action=set_disabled attr:class="inline-form" on:submit=on_toggle>
                    <input type="hidden" name="user_id" value=id/>
                    <input type="hidden" name="disabled" value=toggle_value/>
                    <button
                        type="submit"
                        class="btn"
                        class:btn--danger=!disabled
                        aria-label=toggle_aria
                    >
                        {toggle_label}
                    </button>
                </ActionForm>
                {row_error(set_disabled, last, "disabled", id)}
            </td>
        </tr>
    }
}

// ---------- API keys (on the users page) ----------

type KeysResource = Resource<Result<Vec<ApiKeyView>, AppError>>;

/// The API keys, reloaded after each create or revoke. Made where the island starts, not in
/// the section that shows it: a resource first made inside a `Suspend` that resolves later is
/// neither numbered nor sent for hydration as an island's own, and the browser would fetch it
/// again and find the page's HTML different.
fn keys_resource(actions: KeyActions) -> KeysResource {
    Resource::new(
        move || {
            (
                actions.create.version().get(),
                actions.revoke.version().get(),
            )
        },
        |_| admin_api_keys(),
    )
}

#[derive(Clone, Copy)]
struct KeyActions {
    create: ServerAction<CreateApiKey>,
    revoke: ServerAction<RevokeApiKey>,
    last: RwSignal<Option<Target>>,
}

/// A toast for each created key (never the key itself) or refusal.
fn toast_created_key(action: ServerAction<CreateApiKey>) {
    let toasts = expect_context::<Toasts>();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(created)) => toasts.push(
            ToastKind::Success,
            format!(
                "Created API key {} for {}.",
                created.prefix, created.username
            ),
        ),
        Some(Err(error)) => toasts.push(ToastKind::Error, error.to_string()),
        None => {}
    });
}

#[component]
fn ApiKeysSection(users: Vec<UserView>, actions: KeyActions, keys: KeysResource) -> impl IntoView {
    let KeyActions {
        create,
        revoke,
        last,
    } = actions;
    let disabled_users: Vec<String> = users
        .iter()
        .filter(|u| u.disabled)
        .map(|u| u.username.clone())
        .collect();
    let choices: Vec<(String, Role)> = users
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| (u.username, u.role))
        .collect();

    view! {
        <section class="admin__list api-keys" aria-labelledby="api-keys-title">
            <h2 id="api-keys-title">"API keys"</h2>
            <p class="muted api-keys__intro">
                "Scripts send a key as " <code>"Authorization: Bearer …"</code> " to " <code>"/api/v1"</code>
                " and act as its user, with that user's role. Disabling the user disables their keys."
            </p>
            <CreateApiKeyForm action=create choices/>
            <NewApiKey action=create/>
            {unclaimed_error(revoke, last)}
            <Transition fallback=|| view! { <p class="loading">"Loading API keys…"</p> }>
                {move || {
                    let disabled_users = disabled_users.clone();
                    Suspend::new(async move {
                        match keys.await {
                            Ok(list) if list.is_empty() => {
                                view! { <p class="empty">"No API keys yet."</p> }.into_any()
                            }
                            Ok(list) => view! { <ApiKeysTable list disabled_users revoke last/> }.into_any(),
                            Err(error) => crate::load_error_view(error, "The API keys", "/admin/users"),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn CreateApiKeyForm(
    action: ServerAction<CreateApiKey>,
    choices: Vec<(String, Role)>,
) -> impl IntoView {
    let label = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            label.set(String::new());
        }
    });
    // The key comes back in the answer, which a form posted without the script never shows:
    // the button waits for the script rather than create a key nobody gets to see.
    let hydrated = hydrated();
    let pending = move || action.pending().get();
    let options = choices
        .into_iter()
        .map(|(username, role)| {
            let text = format!("{username} ({})", role.label().to_lowercase());
            view! { <option value=username>{text}</option> }
        })
        .collect_view();
    view! {
        <section class="admin__add" aria-labelledby="create-key-title">
            <h3 id="create-key-title">"Create API key"</h3>
            <ActionForm action attr:class="form admin__form">
                <label class="field">
                    <span>"User"</span>
                    <select name="username" required aria-describedby="create-key-user-help">
                        <option value="" selected>"Choose a user…"</option>
                        {options}
                    </select>
                </label>
                <p class="admin__help" id="create-key-user-help">"The key acts as this user, with their role."</p>
                <label class="field">
                    <span>"Label"</span>
                    <input
                        name="label"
                        required
                        maxlength="80"
                        autocomplete="off"
                        placeholder="nightly restart job"
                        aria-describedby="create-key-label-help"
                        prop:value=move || label.get()
                        on:input=move |ev| label.set(event_target_value(&ev))
                    />
                </label>
                <p class="admin__help" id="create-key-label-help">"What the key is for, so you know which one to revoke."</p>
                {form_error(action)}
                {move || (!hydrated.get()).then(|| view! {
                    <p class="admin__help api-keys__needs-script">
                        "Creating a key needs JavaScript: the key is shown once, on this page. "
                        "Without it, use " <code>"picky-fleet apikey create"</code> "."
                    </p>
                })}
                <div class="admin__actions">
                    <button
                        type="submit"
                        class="btn btn--primary"
                        disabled=move || pending() || !hydrated.get()
                        aria-busy=move || pending().to_string()
                    >
                        {move || if pending() { "Creating…" } else { "Create API key" }}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

/// The key just created, once: it lives only in the action's answer, in this browser tab.
#[component]
fn NewApiKey(action: ServerAction<CreateApiKey>) -> impl IntoView {
    move || {
        action.value().get().and_then(Result::ok).map(|created| {
            view! { <NewApiKeyBox created on_done=move || action.clear()/> }
        })
    }
}

#[component]
fn NewApiKeyBox(
    created: CreatedApiKey,
    on_done: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let CreatedApiKey {
        key,
        prefix,
        username,
        label,
        ..
    } = created;
    let input = NodeRef::<leptos::html::Input>::new();
    // None: not tried yet; Some(true): copied; Some(false): the browser refused.
    let copied = RwSignal::new(None::<bool>);
    let select = move |_: leptos::ev::FocusEvent| {
        #[cfg(feature = "hydrate")]
        if let Some(input) = input.get_untracked() {
            input.select();
        }
    };
    let copy = {
        #[cfg(feature = "hydrate")]
        let key = key.clone();
        move |_: leptos::ev::MouseEvent| {
            #[cfg(feature = "hydrate")]
            copy_to_clipboard(&key, input, copied);
        }
    };
    view! {
        <div class="api-key-new" role="status">
            <p class="api-key-new__title">
                "New API key " <code>{prefix}</code> " for " <b>{username}</b> ": " {label}
            </p>
            <div class="api-key-new__row">
                <input
                    class="api-key-new__key"
                    node_ref=input
                    readonly
                    value=key
                    aria-label="The new API key"
                    autocomplete="off"
                    spellcheck="false"
                    on:focus=select
                />
                <button type="button" class="btn" on:click=copy>
                    {move || if copied.get() == Some(true) { "Copied" } else { "Copy" }}
                </button>
            </div>
            <p class="api-key-new__warning">"Store it now: it will not be shown again."</p>
            {move || (copied.get() == Some(false)).then(|| view! {
                <p class="api-key-new__hint">"The browser did not allow copying: the key is selected, press Ctrl+C (⌘C on a Mac)."</p>
            })}
            <div class="admin__actions">
                <button type="button" class="btn btn--quiet" on:click=move |_| on_done()>"I have stored it"</button>
            </div>
        </div>
    }
}

/// Copies `key` with the Clipboard API, and selects it too so Ctrl+C works where that API is
/// missing (pages served over plain http other than localhost).
#[cfg(feature = "hydrate")]
fn copy_to_clipboard(
    key: &str,
    input: NodeRef<leptos::html::Input>,
    copied: RwSignal<Option<bool>>,
) {
    use wasm_bindgen::{closure::Closure, JsValue};

    if let Some(input) = input.get_untracked() {
        input.select();
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let clipboard = window.navigator().clipboard();
    if clipboard.is_undefined() {
        copied.set(Some(false));
        return;
    }
    let on_copied = Closure::<dyn FnMut(JsValue)>::once(move |_: JsValue| copied.set(Some(true)));
    let on_refused = Closure::<dyn FnMut(JsValue)>::once(move |_: JsValue| copied.set(Some(false)));
    let _ = clipboard.write_text(key).then2(&on_copied, &on_refused);
    // The promise calls one of them later; the other stays unused (a few bytes per click).
    on_copied.forget();
    on_refused.forget();
}

#[component]
fn ApiKeysTable(
    list: Vec<ApiKeyView>,
    disabled_users: Vec<String>,
    revoke: ServerAction<RevokeApiKey>,
    last: RwSignal<Option<Target>>,
) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|key| {
            let user_disabled = disabled_users.contains(&key.username);
            view! { <ApiKeyRow key user_disabled revoke last/> }
        })
        .collect_view();
    view! {
        <div class="admin__table-wrap" role="region" aria-labelledby="api-keys-title" tabindex="0">
            <table class="admin-table api-keys__table">
                <thead>
                    <tr>
                        <th scope="col">"Label"</th>
                        <th scope="col">"User"</th>
                        <th scope="col">"Prefix"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Revoke"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn ApiKeyRow(
    key: ApiKeyView,
    user_disabled: bool,
    revoke: ServerAction<RevokeApiKey>,
    last: RwSignal<Option<Target>>,
) -> impl IntoView {
    let ApiKeyView {
        id,
        username,
        label,
        prefix,
        created_at,
        last_used_at,
        revoked_at,
    } = key;
    let revoked = revoked_at.is_some();
    let (status_class, status_label) = match (&revoked_at, user_disabled) {
        (Some(_), _) => ("api-key-status api-key-status--revoked", "Revoked"),
        (None, true) => (
            "api-key-status api-key-status--inactive",
            "Inactive: user disabled",
        ),
        (None, false) => ("api-key-status api-key-status--active", "Active"),
    };
    let status_title = revoked_at
        .as_deref()
        .map(|t| format!("Revoked {}", created(t)));
    let last_used = match last_used_at {
        Some(t) => view! { <time datetime=t.clone()>{created(&t)}</time> }.into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    };
    let name = format!("{label} ({prefix})");
    let manage = (!revoked).then(|| view! { <RevokeKeyForm id name revoke last/> }.into_any());
    view! {
        <tr data-api-key-id=id class:admin-table__row--revoked=revoked>
            <th scope="row" class="admin-table__name">{label}</th>
            <td>{username}</td>
            <td class="admin-table__mono">{prefix}</td>
            <td><time datetime=created_at.clone()>{created(&created_at)}</time></td>
            <td>{last_used}</td>
            <td><span class=status_class title=status_title>{status_label}</span></td>
            <td>
                {manage.unwrap_or_else(|| view! { <span class="muted">"—"</span> }.into_any())}
            </td>
        </tr>
    }
}

/// Revoke with a confirmation: the first click arms the button, the second sends (within five
/// seconds). Without the script the form posts at once.
#[component]
fn RevokeKeyForm(
    id: i64,
    name: String,
    revoke: ServerAction<RevokeApiKey>,
    last: RwSignal<Option<Target>>,
) -> impl IntoView {
    let armed = RwSignal::new(false);
    let aria = {
        let name = name.clone();
        move || {
            if armed.get() {
                format!("Confirm: revoke the API key {name}?")
            } else {
                format!("Revoke the API key {name}")
            }
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if revoke.pending().get_untracked() {
            return;
        }
        if !armed.get_untracked() {
            armed.set(true);
            set_timeout(move || armed.set(false), std::time::Duration::from_secs(5));
            return;
        }
        armed.set(false);
        last.set(Some(Target {
            form: "revoke",
            id,
            name: name.clone(),
        }));
        revoke.dispatch(RevokeApiKey { key_id: id });
    };
    let sending = move || {
        revoke.pending().get()
            && revoke
                .input()
                .with(|input| input.as_ref().is_some_and(|i| i.key_id == id))
    };
    view! {
        <form class="inline-form" method="post" action=RevokeApiKey::url() on:submit=on_submit>
            <input type="hidden" name="key_id" value=id/>
            <button
                type="submit"
                class="btn btn--danger"
                class:btn--armed=move || armed.get()
                aria-label=aria
                aria-busy=move || sending().to_string()
                disabled=sending
            >
                {move || if sending() {
                    "Revoking…"
                } else if armed.get() {
                    "Confirm revoke?"
                } else {
                    "Revoke"
                }}
            </button>
        </form>
        {row_error(revoke, last, "revoke", id)}
    }
}
