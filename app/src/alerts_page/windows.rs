//! The Alerts page's maintenance windows: the list, and for admins a Remove button per window
//! and a form to schedule one (one-off or weekly, in UTC, for one project or all).

use fleet::model::MaintenanceWindow;
use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The add form's fields, as the browser posts them (every input, filled or not).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowForm {
    /// Empty: every project.
    #[serde(default)]
    project_id: String,
    kind: String,
    /// `datetime-local` values, read as UTC.
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    weekday: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    note: String,
}

#[cfg(feature = "ssr")]
impl WindowForm {
    /// The request the API would take; the service checks the rest (a window that ends
    /// before it starts, or is already over).
    fn into_new_window(self) -> Result<fleet::model::NewMaintenanceWindow, fleet::FleetError> {
        use fleet::{
            model::{NewMaintenanceWindow, WindowSchedule},
            FleetError,
        };
        let number = crate::page::form_number;
        // `datetime-local` sends "2026-12-05T02:00", without a zone; the form says UTC.
        let utc = |text: &str| match text.trim() {
            "" => String::new(),
            t if t.len() == 16 => format!("{t}:00Z"),
            t => t.to_owned(),
        };
        let project_id = match self.project_id.trim() {
            "" => None,
            id => Some(
                id.parse::<i64>()
                    .map_err(|_| FleetError::Invalid(format!("{id:?} is not a project id")))?,
            ),
        };
        let schedule = match self.kind.as_str() {
            "once" => WindowSchedule::Once {
                starts_at: utc(&self.starts_at),
                ends_at: utc(&self.ends_at),
            },
            "weekly" => WindowSchedule::Weekly {
                weekday: number(&self.weekday, "the weekday")?.min(255) as u8,
                start: self.start.trim().to_owned(),
                duration_minutes: number(&self.duration_minutes, "the length")?,
            },
            other => {
                return Err(FleetError::Invalid(format!(
                    "a window is \"once\" or \"weekly\", not {other:?}"
                )))
            }
        };
        Ok(NewMaintenanceWindow {
            project_id,
            schedule,
            note: self.note,
        })
    }
}

#[server(prefix = "/fn", endpoint = "add_maintenance_window")]
pub async fn add_maintenance_window(form: WindowForm) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = match form.into_new_window() {
        Ok(new) => fleet
            .add_maintenance_window(&actor, new)
            .await
            .map(|w| format!("Maintenance scheduled: {}.", w.schedule.describe())),
        Err(e) => Err(e),
    };
    crate::page::back_with_outcome("/alerts", outcome);
    Ok(())
}

#[server(prefix = "/fn", endpoint = "remove_maintenance_window")]
pub async fn remove_maintenance_window(window_id: i64) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = fleet
        .remove_maintenance_window(&actor, window_id)
        .await
        .map(|()| "Maintenance window removed.".to_owned());
    crate::page::back_with_outcome("/alerts", outcome);
    Ok(())
}

#[component]
pub(super) fn Windows(
    windows: Vec<MaintenanceWindow>,
    projects: Vec<(i64, String)>,
    is_admin: bool,
) -> impl IntoView {
    let name_of = {
        let projects = projects.clone();
        move |id: Option<i64>| match id {
            None => "Every project".to_owned(),
            Some(id) => projects
                .iter()
                .find(|(p, _)| *p == id)
                .map_or_else(|| format!("Project {id}"), |(_, name)| name.clone()),
        }
    };
    let list = if windows.is_empty() {
        Either::Left(view! {
            <p class="empty">"No maintenance windows. During one, a project alerts nobody and its downtime is marked as maintenance in its history."</p>
        })
    } else {
        Either::Right(view! {
            <ul class="alerts__channels" aria-labelledby="windows-title">
                {windows.into_iter().map(|w| {
                    let whose = name_of(w.project_id);
                    let remove = is_admin.then(|| view! {
                        <form method="post" action={<RemoveMaintenanceWindow as ServerFn>::url()} class="inline-form">
                            <input type="hidden" name="window_id" value=w.id/>
                            <button type="submit" class="btn btn--danger" aria-label=format!("Remove the maintenance window of {whose}, {}", w.schedule.describe())>"Remove"</button>
                        </form>
                    });
                    view! {
                        <li>
                            <strong>{whose.clone()}</strong>" · "{w.schedule.describe()}
                            {(!w.note.is_empty()).then(|| view! { <span class="muted">" · "{w.note.clone()}</span> })}
                            " "{remove}
                        </li>
                    }
                }).collect_view()}
            </ul>
        })
    };
    view! {
        <h2 id="windows-title">"Maintenance windows"</h2>
        {list}
        {is_admin.then(|| view! { <AddWindow projects/> })}
    }
}

#[component]
fn AddWindow(projects: Vec<(i64, String)>) -> impl IntoView {
    view! {
        <details class="settings-form">
            <summary>"Schedule maintenance"</summary>
            <form method="post" action={<AddMaintenanceWindow as ServerFn>::url()} class="window-form">
                <label class="field">
                    "Project"
                    <select name="form[project_id]">
                        <option value="">"Every project"</option>
                        {projects.into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    "Repeats"
                    <select name="form[kind]" class="window-form__kind">
                        <option value="once">"Once"</option>
                        <option value="weekly">"Every week"</option>
                    </select>
                </label>
                <fieldset class="window-form__once">
                    <legend>"Once (UTC)"</legend>
                    <label class="field">"From"<input type="datetime-local" name="form[starts_at]"/></label>
                    <label class="field">"To"<input type="datetime-local" name="form[ends_at]"/></label>
                </fieldset>
                <fieldset class="window-form__weekly">
                    <legend>"Every week (UTC)"</legend>
                    <label class="field">
                        "Day"
                        <select name="form[weekday]">
                            {fleet::model::WEEKDAYS.into_iter().enumerate().map(|(i, day)| view! { <option value=i>{day}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="field">"Starts at"<input type="time" name="form[start]" value="02:00"/></label>
                    <label class="field">"Minutes"<input type="number" name="form[duration_minutes]" min="1" value="120"/></label>
                </fieldset>
                <label class="field">"Note"<input type="text" name="form[note]" maxlength="200" placeholder="router firmware"/></label>
                <button type="submit" class="btn btn--primary">"Schedule"</button>
            </form>
        </details>
    }
}
