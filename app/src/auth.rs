//! Signing in and out, and who is signed in.

use fleet::model::CurrentUser;
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{error::AppError, form::send_with};

/// The signed-in user, or `None`.
#[server(prefix = "/fn", endpoint = "whoami")]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    let actor = ssr::request_actor().await?;
    Ok(actor.and_then(|a| {
        a.user_id.map(|id| CurrentUser {
            id,
            username: a.name,
            role: a.role,
        })
    }))
}

/// Signs in and goes to `next` (default `/`); a failure goes back to the sign-in page with an
/// error, so the form works the same with and without JavaScript.
#[server(prefix = "/fn", endpoint = "sign_in")]
pub async fn sign_in(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use fleet::{auth::SESSION_USER_KEY, FleetError};
    let fleet = ssr::fleet()?;
    let session = ssr::session().await?;
    let client = ssr::client_addr().await;
    let request_id = ssr::request_id();
    match fleet
        .sign_in(&username, &password, client, request_id.as_deref())
        .await
    {
        Ok(user) => {
            // A fresh session id at sign-in, so a planted id is worthless.
            session.cycle_id().await.map_err(|_| AppError::Internal)?;
            session
                .insert(SESSION_USER_KEY, user.id)
                .await
                .map_err(|_| AppError::Internal)?;
            leptos_axum::redirect(&fleet::auth::local_redirect(next.as_deref()));
            Ok(())
        }
        Err(FleetError::BadCredentials) => {
            leptos_axum::redirect("/sign-in?failed=1");
            Ok(())
        }
        Err(FleetError::RateLimited { retry_after_secs }) => {
            leptos_axum::redirect(&format!("/sign-in?retry_after={retry_after_secs}"));
            Ok(())
        }
        Err(other) => Err(other.into()),
    }
}

#[server(prefix = "/fn", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let fleet = ssr::fleet()?;
    if let Some(actor) = ssr::request_actor().await? {
        fleet.sign_out(&actor).await?;
    }
    ssr::session()
        .await?
        .flush()
        .await
        .map_err(|_| AppError::Internal)?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use axum::Extension;
    use fleet::{
        auth::{Actor, RequestActor},
        Fleet,
    };
    use leptos::prelude::*;

    use crate::error::AppError;

    pub fn fleet() -> Result<Fleet, AppError> {
        use_context::<Fleet>().ok_or(AppError::Internal)
    }

    pub async fn session() -> Result<tower_sessions::Session, AppError> {
        leptos_axum::extract::<tower_sessions::Session>()
            .await
            .map_err(|_| AppError::Internal)
    }

    /// Who is calling, as the server's auth middleware found out.
    pub async fn request_actor() -> Result<Option<Actor>, AppError> {
        let Extension(RequestActor(actor)) = leptos_axum::extract::<Extension<RequestActor>>()
            .await
            .map_err(|_| AppError::Internal)?;
        Ok(actor)
    }

    /// The caller, or 401.
    pub async fn actor() -> Result<Actor, AppError> {
        request_actor()
            .await?
            .ok_or_else(|| fleet::FleetError::Unauthenticated.into())
    }

    /// The service and the caller, or 401: the first line of every protected server function.
    pub async fn caller() -> Result<(Fleet, Actor), AppError> {
        Ok((fleet()?, actor().await?))
    }

    /// The request's `x-request-id` (set by the server's request-id layer), for the audit log.
    pub fn request_id() -> Option<String> {
        use_context::<http::request::Parts>()?
            .headers
            .get("x-request-id")?
            .to_str()
            .ok()
            .map(str::to_owned)
    }

    /// The client's address as the server worked it out (behind trusted proxies too).
    pub async fn client_addr() -> Option<std::net::IpAddr> {
        leptos_axum::extract::<Extension<fleet::auth::ClientAddr>>()
            .await
            .ok()
            .map(|Extension(fleet::auth::ClientAddr(ip))| ip)
    }
}

/// `/sign-in`. The query string says why the last try failed (the server function redirects
/// here with `failed` or `retry_after`) and where to go next.
#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let (next, error) = query.with_untracked(|q| {
        let error = match q.get("retry_after") {
            Some(secs) => Some(format!("Too many sign-in attempts. Try again in {secs} s.")),
            None => q
                .get("failed")
                .map(|_| "Wrong username or password.".to_owned()),
        };
        (q.get("next").unwrap_or_default(), error)
    });
    view! {
        <Title text="Sign in · picky-fleet"/>
        <section class="signin" aria-labelledby="signin-title">
            <h1 id="signin-title">"Sign in"</h1>
            <p class="muted">"Watch and control your PickyAssist automation servers."</p>
            <SignInForm next error/>
        </section>
    }
}

/// The form: an island for its pending state. Without the wasm it is a plain form post, and
/// the server function's redirect does the rest; with it, the same redirect comes back as a
/// header that [`follow_server_redirects`] follows. Sent the islands' one way
/// ([`crate::form::send_with`]).
#[island]
fn SignInForm(next: String, error: Option<String>) -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    // Busy from the click until the browser has left the page: a success (and a wrong
    // password) answers with a redirect, which the redirect hook follows.
    let sent = action.pending();
    let pending = Signal::derive(move || sent.get() || matches!(action.value().get(), Some(Ok(_))));
    // A refusal the server could not answer with a redirect (it is shutting down, say) comes
    // back as an error; the message from the page's URL shows until then.
    let failure = move || match action.value().get() {
        Some(Err(error)) => Some(error.to_string()),
        Some(Ok(())) => None,
        None => error.clone(),
    };
    let hidden_next = next.clone();
    follow_server_redirects();
    let on_submit = send_with(action, move |f| {
        Some(SignIn {
            username: f.text("username"),
            password: f.text("password"),
            next: Some(next.clone()),
        })
    });
    view! {
        <form method="post" action=SignIn::url() class="form" on:submit=on_submit>
            <input type="hidden" name="next" value=hidden_next/>
            <label class="field">
                <span>"Username"</span>
                <input type="text" name="username" autocomplete="username" required autofocus/>
            </label>
            <label class="field">
                <span>"Password"</span>
                <input type="password" name="password" autocomplete="current-password" required/>
            </label>
            {move || failure().map(|e| view! { <p class="alert alert--error" role="alert">{e}</p> })}
            <button type="submit" class="btn btn--primary" disabled=move || pending.get()>
                {move || if pending.get() { "Signing in…" } else { "Sign in" }}
            </button>
        </form>
    }
}

/// A server function called from the browser answers a redirect with a header instead of a
/// 302; this makes the browser follow it (islands have no router to do it). Set once per page.
fn follow_server_redirects() {
    #[cfg(feature = "hydrate")]
    let _ = leptos::server_fn::redirect::set_redirect_hook(crate::page::go_to);
}
