//! The projects page (`/admin/projects`): its server functions, its island and the forms and
//! table inside it.

use fleet::model::ProjectAdminView;
use leptos::{either::Either, prelude::*, server_fn::ServerFn};

#[cfg(feature = "ssr")]
use super::ssr;
use super::{
    created, form_error, hydrated, row_error, toast_results, unclaimed_error, AdminPage,
    AdminTable, SecretInput, Target,
};
use crate::{
    error::AppError,
    form::send_with,
    toast::{ToastRegion, Toasts},
};

// ---------- server functions: projects ----------

#[server(prefix = "/fn", endpoint = "admin_projects")]
pub async fn admin_projects() -> Result<Vec<ProjectAdminView>, AppError> {
    let (fleet, actor) = ssr::admin("manage projects").await?;
    Ok(fleet.list_projects(&actor)?)
}

/// Adds a project. The token goes in and never comes back: the answer has its hint only.
#[server(prefix = "/fn", endpoint = "add_project")]
pub async fn add_project(name: String, token: SecretInput) -> Result<String, AppError> {
    use fleet::model::{token_hint, ProjectName};
    let (fleet, actor) = ssr::admin("add projects").await?;
    let name = ProjectName::parse(&name).map_err(ssr::invalid)?;
    let token = pickyassist::ApiToken::parse(token.expose()).map_err(ssr::invalid)?;
    let hint = token_hint(&token.last4());
    fleet.add_project(&actor, name.clone(), token).await?;
    Ok(format!("Added project {name} (token {hint})."))
}

#[server(prefix = "/fn", endpoint = "rename_project")]
pub async fn rename_project(project_id: i64, name: String) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("rename projects").await?;
    let name = fleet::model::ProjectName::parse(&name).map_err(ssr::invalid)?;
    fleet
        .rename_project(&actor, project_id, name.clone())
        .await?;
    Ok(format!("Renamed to {name}."))
}

#[server(prefix = "/fn", endpoint = "rotate_token")]
pub async fn rotate_token(project_id: i64, token: SecretInput) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("rotate tokens").await?;
    let token = pickyassist::ApiToken::parse(token.expose()).map_err(ssr::invalid)?;
    let hint = fleet::model::token_hint(&token.last4());
    fleet.rotate_token(&actor, project_id, token).await?;
    Ok(format!("Token replaced; it now ends in {hint}."))
}

/// Removes a project; `confirm_name` must repeat its name, whatever the page checked.
#[server(prefix = "/fn", endpoint = "remove_project")]
pub async fn remove_project(project_id: i64, confirm_name: String) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("remove projects").await?;
    let removed = fleet
        .remove_project(&actor, project_id, &confirm_name)
        .await?;
    Ok(format!(
        "Removed project {removed}; its audit history stays."
    ))
}

// ---------- projects page ----------

#[derive(Clone, Copy)]
struct ProjectActions {
    rename: ServerAction<RenameProject>,
    rotate: ServerAction<RotateToken>,
    remove: ServerAction<RemoveProject>,
    last: RwSignal<Option<Target>>,
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
                crate::page::skip_the_resource_walk().await;
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
                    Err(error) => Either::Right(crate::page::load_error_view(error, "The projects", "/admin/projects")),
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
    let busy = action.pending();
    let pending = move || busy.get();
    view! {
        <section class="admin__add" aria-labelledby="add-project-title">
            <h2 id="add-project-title">"Add project"</h2>
            <form
                method="post"
                action=AddProject::url()
                class="form admin__form"
                on:submit=send_with(action, |f| Some(AddProject {
                    name: f.text("name"),
                    token: SecretInput(f.text("token")),
                }))
            >
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
            </form>
        </section>
    }
}

#[component]
fn ProjectsTable(list: Vec<ProjectAdminView>, actions: ProjectActions) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|project| view! { <ProjectRow project actions/> })
        .collect_view();
    const COLUMNS: &[&str] = &["Name", "Token", "Upstream id", "Created", "Manage"];
    view! {
        <AdminTable label="All projects" columns=COLUMNS class="admin-table">
            {rows}
        </AdminTable>
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
    // Which row's form went last, so its answer shows next to it.
    let target = move |form: &'static str, name: &str| {
        let name = name.to_owned();
        move || {
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
                        <form
                            method="post"
                            action=RenameProject::url()
                            class="manage__form"
                            on:submit=send_with(rename, move |f| {
                                on_rename();
                                Some(RenameProject { project_id: id, name: f.text("name") })
                            })
                        >
                            <input type="hidden" name="project_id" value=id/>
                            <label for=format!("rename-{id}")>"New name"</label>
                            <div class="manage__row">
                                <input id=format!("rename-{id}") name="name" required maxlength="80" autocomplete="off" value=rename_value/>
                                <button type="submit" class="btn">"Rename"</button>
                            </div>
                            {row_error(rename, last, "rename", id)}
                        </form>
                        <form
                            method="post"
                            action=RotateToken::url()
                            class="manage__form"
                            on:submit=send_with(rotate, move |f| {
                                on_rotate();
                                Some(RotateToken { project_id: id, token: SecretInput(f.text("token")) })
                            })
                        >
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
                        </form>
                        <form
                            method="post"
                            action=RemoveProject::url()
                            class="manage__form manage__form--danger"
                            on:submit=send_with(remove, move |f| {
                                on_remove();
                                Some(RemoveProject { project_id: id, confirm_name: f.text("confirm_name") })
                            })
                        >
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
                        </form>
                    </div>
                </details>
            </td>
        </tr>
    }
}
