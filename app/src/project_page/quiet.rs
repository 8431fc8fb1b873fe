//! The project page's "Alerts" section: whether the project alerts anybody now, and for
//! operators a form to mute it for a while (a phone swap, a known outage) or unmute it.
//!
//! Plain forms posting to server functions that redirect back to the page with the outcome
//! in the query string (`done=` / `error=`), like the Alerts page: no wasm.

use fleet::model::ProjectMute;
use leptos::{prelude::*, server_fn::ServerFn};

use crate::error::AppError;

/// The lengths the form offers, in minutes (the API takes any from 1 minute to 30 days).
const MUTE_FOR: [(u32, &str); 7] = [
    (30, "30 minutes"),
    (60, "1 hour"),
    (120, "2 hours"),
    (240, "4 hours"),
    (480, "8 hours"),
    (1440, "1 day"),
    (10_080, "7 days"),
];

#[server(prefix = "/fn", endpoint = "mute_project")]
pub async fn mute_project(project_id: i64, minutes: u32, reason: String) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let request = fleet::model::MuteRequest { minutes, reason };
    let outcome = fleet
        .mute_project(&actor, project_id, request)
        .await
        .map(|mute| {
            format!(
                "Muted until {}: this project alerts nobody until then.",
                crate::audit_page::readable_time(&mute.until)
            )
        });
    crate::page::back_with_outcome(&format!("/projects/{project_id}"), outcome);
    Ok(())
}

#[server(prefix = "/fn", endpoint = "unmute_project")]
pub async fn unmute_project(project_id: i64) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = fleet
        .unmute_project(&actor, project_id)
        .await
        .map(|()| "Unmuted: this project alerts again.".to_owned());
    crate::page::back_with_outcome(&format!("/projects/{project_id}"), outcome);
    Ok(())
}

#[component]
pub(super) fn QuietSection(
    project_id: i64,
    /// Why the project alerts nobody now, as its card says it.
    quiet: Option<String>,
    mute: Option<ProjectMute>,
    can_mute: bool,
) -> impl IntoView {
    let state = quiet.unwrap_or_else(|| "Alerts on: this project alerts as its rule says.".into());
    let unmute = (can_mute && mute.is_some()).then(|| {
        view! {
            <form method="post" action={<UnmuteProject as ServerFn>::url()} class="inline-form">
                <input type="hidden" name="project_id" value=project_id/>
                <button type="submit" class="btn">"Unmute"</button>
            </form>
        }
    });
    let submit = if mute.is_some() {
        "Mute for this long instead"
    } else {
        "Mute alerts"
    };
    let reason = mute
        .filter(|m| !m.reason.is_empty())
        .map(|m| format!("Muted by {}: {}", m.muted_by, m.reason));
    let form = can_mute.then(|| {
        view! {
            <form method="post" action={<MuteProject as ServerFn>::url()} class="quiet__form">
                <input type="hidden" name="project_id" value=project_id/>
                <label class="field">
                    "Mute for"
                    <select name="minutes">
                        {MUTE_FOR.into_iter().map(|(minutes, label)| view! {
                            <option value=minutes selected=minutes == 120>{label}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    "Reason"
                    <input type="text" name="reason" maxlength="200" placeholder="phone swap"/>
                </label>
                <button type="submit" class="btn">{submit}</button>
            </form>
        }
    });
    view! {
        <h2 class="project__section" id="quiet-title">"Alerts"</h2>
        <div class="quiet" aria-labelledby="quiet-title">
            // A div: a form may not sit inside a paragraph.
            <div class="quiet__state"><span>{state}</span>{unmute}</div>
            {reason.map(|r| view! { <p class="muted">{r}</p> })}
            {form}
        </div>
    }
}
