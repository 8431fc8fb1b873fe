//! The users page (`/admin/users`): its server functions, its island and the users' forms and
//! table; the API keys shown below them are in `api_keys`.

use fleet::model::{Role, UserView};
use leptos::{either::Either, prelude::*, server_fn::ServerFn};

#[cfg(feature = "ssr")]
use super::ssr;
use super::{
    api_keys::{keys_resource, toast_created_key, ApiKeysSection, KeyActions},
    created, form_error, row_error, toast_results, unclaimed_error, AdminPage, AdminTable,
    SecretInput, Target,
};
use crate::{
    error::AppError,
    form::send_with,
    toast::{ToastRegion, Toasts},
};

// ---------- server functions: users ----------

#[server(prefix = "/fn", endpoint = "admin_users")]
pub async fn admin_users() -> Result<Vec<UserView>, AppError> {
    let (fleet, actor) = ssr::admin("manage users").await?;
    Ok(fleet.list_users(&actor).await?)
}

#[server(prefix = "/fn", endpoint = "add_user")]
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

#[server(prefix = "/fn", endpoint = "set_user_role")]
pub async fn set_user_role(user_id: i64, role: String) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("change roles").await?;
    let role: Role = role.parse().map_err(ssr::invalid)?;
    fleet.set_user_role(&actor, user_id, role).await?;
    Ok(format!("Role is now {}.", role.label().to_lowercase()))
}

/// Disables (`disabled=true`) or enables a user. A disabled user's sessions stop working on
/// their next request.
#[server(prefix = "/fn", endpoint = "set_user_disabled")]
pub async fn set_user_disabled(user_id: i64, disabled: bool) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("disable users").await?;
    fleet.set_user_disabled(&actor, user_id, disabled).await?;
    Ok(if disabled { "Disabled." } else { "Enabled." }.to_owned())
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
                    Err(error) => Either::Right(crate::page::load_error_view(error, "The users", "/admin/users")),
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
    let busy = action.pending();
    let pending = move || busy.get();
    let roles = Role::ALL
        .into_iter()
        .map(|role| {
            view! { <option value=role.as_str() selected={role == Role::Viewer}>{role.label()}</option> }
        })
        .collect_view();
    view! {
        <section class="admin__add" aria-labelledby="add-user-title">
            <h2 id="add-user-title">"Add user"</h2>
            <form
                method="post"
                action=AddUser::url()
                class="form admin__form"
                on:submit=send_with(action, |f| Some(AddUser {
                    username: f.text("username"),
                    role: f.text("role"),
                    password: SecretInput(f.text("password")),
                }))
            >
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
            </form>
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
    const COLUMNS: &[&str] = &["Username", "Role", "Status", "Created", "Access"];
    view! {
        <AdminTable label="All users" columns=COLUMNS class="admin-table">
            {rows}
        </AdminTable>
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
                <form
                    method="post"
                    action=SetUserRole::url()
                    class="manage__row"
                    on:submit=send_with(set_role, move |f| {
                        on_role();
                        Some(SetUserRole { user_id: id, role: f.text("role") })
                    })
                >
                    <input type="hidden" name="user_id" value=id/>
                    <select name="role" aria-label=role_label>{options}</select>
                    <button type="submit" class="btn" aria-label=save_label>"Save"</button>
                </form>
                {row_error(set_role, last, "role", id)}
            </td>
            <td><span class=status_class>{status_label}</span></td>
            <td><time datetime=created_at.clone()>{created(&created_at)}</time></td>
            <td>
                <form
                    method="post"
                    action=SetUserDisabled::url()
                    class="inline-form"
                    on:submit=send_with(set_disabled, move |_| {
                        on_toggle();
                        Some(SetUserDisabled { user_id: id, disabled: !disabled })
                    })
                >
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
                </form>
                {row_error(set_disabled, last, "disabled", id)}
            </td>
        </tr>
    }
}
