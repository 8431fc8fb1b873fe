//! `/projects/{id}/connect-another-number`: PickyAssist's two steps for putting another
//! WhatsApp number on a project, in order and each confirmed by the project's name typed:
//! `disconnect`, then `clearlogs`; then the QR code (shown by `restart`) is scanned with the
//! new phone. Where the project stands comes from the service (`Fleet::number_change`, read
//! from the audit log), so the page shows the right step after a reload or to a colleague.
//!
//! Plain forms to a server function that runs the command through the service and comes
//! back here with the outcome: no wasm.

use fleet::model::{NumberChange, NumberChangeStep};
use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::{audit_page::readable_time, error::AppError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberChangeData {
    pub progress: NumberChange,
    pub can_run: bool,
}

#[server(prefix = "/fn", endpoint = "number_change")]
pub async fn get_number_change(id: i64) -> Result<NumberChangeData, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(NumberChangeData {
        progress: fleet.number_change(&actor, id).await?,
        can_run: actor.role >= fleet::model::Role::Operator,
    })
}

/// One step's command; back to the guide with how it went.
#[server(prefix = "/fn", endpoint = "run_guide_step")]
pub async fn run_guide_step(
    project_id: i64,
    command: String,
    confirm_name: Option<String>,
) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = match command.parse::<pickyassist::Command>() {
        Ok(command) => fleet
            .run_number_change_step(&actor, project_id, command, confirm_name.as_deref())
            .await
            .and_then(|done| match done.outcome {
                fleet::model::AuditOutcome::Success => Ok(format!("{}: done.", command.label())),
                _ => Err(fleet::FleetError::Unavailable(format!(
                    "{} did not go through: {}",
                    command.label(),
                    done.message
                ))),
            }),
        Err(e) => Err(fleet::FleetError::Invalid(e.to_string())),
    };
    crate::page::back_with_outcome(
        &format!("/projects/{project_id}/connect-another-number"),
        outcome,
    );
    Ok(())
}

#[component]
pub fn NumberChangePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    let data = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_number_change(id).await,
            None => Err(AppError::NotFound("no such project".into())),
        }
    });
    view! {
        <Title text="Connect another number · picky-fleet"/>
        <section class="batch" aria-labelledby="guide-title">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(data) => Either::Left(view! { <Guide data/> }),
                        Err(error) => Either::Right(crate::page::load_error_view(error, "The guide", "/")),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Guide(data: NumberChangeData) -> impl IntoView {
    let NumberChangeData { progress, can_run } = data;
    let id = progress.project_id;
    let name = progress.project_name.clone();
    let step_form = move |command: pickyassist::Command, confirm: bool| {
        can_run.then(|| {
            let label = command.label();
            let typed = confirm.then(|| view! {
                <label class="field">
                    {format!("Type the project name \"{}\" to confirm", progress.project_name)}
                    <input type="text" name="confirm_name" autocomplete="off" required/>
                </label>
            });
            view! {
                <form method="post" action={<RunGuideStep as ServerFn>::url()} class="batch__form">
                    <input type="hidden" name="project_id" value=id/>
                    <input type="hidden" name="command" value=command.wire_name()/>
                    {typed}
                    <div class="batch__buttons">
                        <button type="submit" class=if confirm { "btn btn--danger" } else { "btn btn--primary" }>{label}</button>
                    </div>
                </form>
            }
        })
    };
    let state = |step: NumberChangeStep, at: &Option<String>| -> (&'static str, String) {
        match at {
            Some(at) => ("done", format!("Done at {}", readable_time(at))),
            None if progress.step == step => ("current", "Next".to_owned()),
            None => ("later", "After the step above".to_owned()),
        }
    };
    let (s1, t1) = state(NumberChangeStep::Disconnect, &progress.disconnected_at);
    let (s2, t2) = state(NumberChangeStep::ClearLogs, &progress.cleared_at);
    let current = progress.step;
    view! {
        <p class="project__back"><a href=format!("/projects/{id}")>{format!("← {name}")}</a></p>
        <h1 id="guide-title">{format!("Connect another number to {name}")}</h1>
        <crate::page::OutcomeLine/>
        <p>
            "PickyAssist needs two steps before another WhatsApp number can be connected, in this \
             order. Both cannot be undone: the customers of this project get no messages until \
             the new number is connected."
        </p>
        <ol class="guide">
            <li class=format!("guide__step guide__step--{s1}")>
                <h2>"1. Disconnect the current number"</h2>
                <p class="muted">{t1}</p>
                {(current == NumberChangeStep::Disconnect).then(|| step_form(pickyassist::Command::Disconnect, true))}
            </li>
            <li class=format!("guide__step guide__step--{s2}")>
                <h2>"2. Clear logs"</h2>
                <p class="muted">"Clears the data and logs stored for the old number. " {t2}</p>
                {(current == NumberChangeStep::ClearLogs).then(|| step_form(pickyassist::Command::Clearlogs, true))}
            </li>
            <li class=format!("guide__step guide__step--{}", if current == NumberChangeStep::ScanNewNumber { "current" } else { "later" })>
                <h2>"3. Scan the QR code with the new phone"</h2>
                <p class="muted">"Restart app shows the QR code again; scan it in WhatsApp on the new phone (Linked devices)."</p>
                {(current == NumberChangeStep::ScanNewNumber).then(|| step_form(pickyassist::Command::Restart, false))}
            </li>
        </ol>
    }
}
