//! API keys, on the users page: their server functions, the create form, the key shown once
//! and the table with its revoke buttons.

use fleet::model::{ApiKeyView, CreatedApiKey, Role, UserView};
use leptos::{prelude::*, server_fn::ServerFn};

#[cfg(feature = "ssr")]
use super::ssr;
use super::{created, form_error, hydrated, row_error, unclaimed_error, AdminTable, Target};
use crate::{
    confirm::TwoClicks,
    error::AppError,
    form::send_with,
    toast::{ToastKind, Toasts},
};

// ---------- server functions: API keys ----------

/// Every API key: prefix, owner, label, last use, never the key itself.
#[server(prefix = "/fn", endpoint = "admin_api_keys")]
pub async fn admin_api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    let (fleet, actor) = ssr::admin("manage API keys").await?;
    Ok(fleet.list_api_keys(&actor).await?)
}

/// Creates a key acting as `username`. The answer is the only time the key is ever shown, so
/// it must not be cached anywhere on the way.
#[server(prefix = "/fn", endpoint = "create_api_key")]
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
#[server(prefix = "/fn", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(key_id: i64) -> Result<String, AppError> {
    let (fleet, actor) = ssr::admin("revoke API keys").await?;
    fleet.revoke_api_key(&actor, key_id).await?;
    Ok("Revoked; the key stops working at once.".to_owned())
}

// ---------- API keys (on the users page) ----------

pub(super) type KeysResource = Resource<Result<Vec<ApiKeyView>, AppError>>;

/// The API keys, reloaded after each create or revoke. Made where the island starts, not in
/// the section that shows it: a resource first made inside a `Suspend` that resolves later is
/// neither numbered nor sent for hydration as an island's own, and the browser would fetch it
/// again and find the page's HTML different.
pub(super) fn keys_resource(actions: KeyActions) -> KeysResource {
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
pub(super) struct KeyActions {
    pub(super) create: ServerAction<CreateApiKey>,
    pub(super) revoke: ServerAction<RevokeApiKey>,
    pub(super) last: RwSignal<Option<Target>>,
}

/// A toast for each created key (never the key itself) or refusal.
pub(super) fn toast_created_key(action: ServerAction<CreateApiKey>) {
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
pub(super) fn ApiKeysSection(
    users: Vec<UserView>,
    actions: KeyActions,
    keys: KeysResource,
) -> impl IntoView {
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
                            Err(error) => crate::page::load_error_view(error, "The API keys", "/admin/users"),
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
    let busy = action.pending();
    let pending = move || busy.get();
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
            <form
                method="post"
                action=CreateApiKey::url()
                class="form admin__form"
                on:submit=send_with(action, |f| Some(CreateApiKey {
                    username: f.text("username"),
                    label: f.text("label"),
                }))
            >
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
            </form>
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
    const COLUMNS: &[&str] = &[
        "Label",
        "User",
        "Prefix",
        "Created",
        "Last used",
        "Status",
        "Revoke",
    ];
    view! {
        <AdminTable label="API keys" columns=COLUMNS class="admin-table api-keys__table">
            {rows}
        </AdminTable>
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

/// Revoke with a confirmation ([`TwoClicks`]). Without the script the form posts at once.
#[component]
fn RevokeKeyForm(
    id: i64,
    name: String,
    revoke: ServerAction<RevokeApiKey>,
    last: RwSignal<Option<Target>>,
) -> impl IntoView {
    let armed = TwoClicks::<()>::new();
    let aria = {
        let name = name.clone();
        move || {
            if armed.is_armed(()) {
                format!("Confirm: revoke the API key {name}?")
            } else {
                format!("Revoke the API key {name}")
            }
        }
    };
    let on_submit = send_with(revoke, move |_| {
        if !armed.second_click(()) {
            return None;
        }
        last.set(Some(Target {
            form: "revoke",
            id,
            name: name.clone(),
        }));
        Some(RevokeApiKey { key_id: id })
    });
    let revoking = revoke.pending();
    let sending = move || {
        revoking.get()
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
                class:btn--armed=move || armed.is_armed(())
                aria-label=aria
                aria-busy=move || sending().to_string()
                disabled=sending
            >
                {move || if sending() {
                    "Revoking…"
                } else if armed.is_armed(()) {
                    "Confirm revoke?"
                } else {
                    "Revoke"
                }}
            </button>
        </form>
        {row_error(revoke, last, "revoke", id)}
    }
}
