//! The project page's "Auto-heal" section: the project's policy in words, and for admins a
//! form to turn it on or off and set its limits. A plain form, like the Alerts section.

use std::collections::HashMap;

use fleet::model::AutoHealPolicy;
use leptos::{prelude::*, server_fn::ServerFn};

use crate::error::AppError;

#[server(prefix = "/fn", endpoint = "set_auto_heal")]
pub async fn set_auto_heal(project_id: i64, form: HashMap<String, String>) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let number =
        |key: &str| crate::page::form_number(form.get(key).map_or("", String::as_str), key);
    let policy = (|| {
        Ok::<_, fleet::FleetError>(AutoHealPolicy {
            enabled: form.contains_key("enabled"),
            restart_after_minutes: number("restart_after_minutes")?,
            restarts_per_hour: number("restarts_per_hour")?,
            restart_server_after_minutes: number("restart_server_after_minutes")?,
            restart_servers_per_day: number("restart_servers_per_day")?,
        })
    })();
    let outcome = match policy {
        Ok(policy) => fleet
            .set_auto_heal_policy(&actor, project_id, policy)
            .await
            .map(|p| {
                if p.enabled {
                    "Auto-heal is on.".to_owned()
                } else {
                    "Auto-heal is off.".to_owned()
                }
            }),
        Err(e) => Err(e),
    };
    crate::page::back_with_outcome(&format!("/projects/{project_id}"), outcome);
    Ok(())
}

fn describe(policy: &AutoHealPolicy) -> String {
    if !policy.enabled {
        return "Off: the dashboard sends no command by itself for this project.".to_owned();
    }
    format!(
        "On: after {} min in TIMEOUT the dashboard restarts the app (at most {} an hour); if \
         that did not help within {} min, it restarts the server (at most {} a day); then it \
         stops and alerts that a person is needed. Paused while the project is quiet.",
        policy.restart_after_minutes,
        policy.restarts_per_hour,
        policy.restart_server_after_minutes,
        policy.restart_servers_per_day
    )
}

#[component]
pub(super) fn AutoHealSection(
    project_id: i64,
    policy: AutoHealPolicy,
    is_admin: bool,
) -> impl IntoView {
    let number = |name: &'static str, label: &'static str, value: u32, min: u32, max: u32| {
        view! {
            <label class="field">{label}<input type="number" name=format!("form[{name}]") value=value min=min max=max required/></label>
        }
    };
    let form = is_admin.then(|| {
        view! {
            <details class="settings-form">
                <summary>"Change auto-heal"</summary>
                <form method="post" action={<SetAutoHeal as ServerFn>::url()} class="channel-form">
                    <input type="hidden" name="project_id" value=project_id/>
                    <label class="check"><input type="checkbox" name="form[enabled]" checked=policy.enabled/>" On"</label>
                    {number("restart_after_minutes", "Minutes in TIMEOUT before Restart app", policy.restart_after_minutes, 1, 1440)}
                    {number("restarts_per_hour", "Restart app at most, per hour", policy.restarts_per_hour, 1, 10)}
                    {number("restart_server_after_minutes", "Minutes Restart app has to help before Restart server", policy.restart_server_after_minutes, 1, 1440)}
                    {number("restart_servers_per_day", "Restart server at most, per day", policy.restart_servers_per_day, 0, 10)}
                    <button type="submit" class="btn btn--primary">"Save"</button>
                </form>
            </details>
        }
    });
    view! {
        <h2 class="project__section" id="auto-heal-title">"Auto-heal"</h2>
        <p aria-labelledby="auto-heal-title">{describe(&policy)}</p>
        {form}
    }
}
