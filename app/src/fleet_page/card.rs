//! One place in the fleet grid: a project's status card (with its refresh button), or a
//! placeholder while its status is on the way.

use chrono::{DateTime, Utc};
use fleet::model::{DeviceSnapshot, RefreshOutcome, StatusView};
use leptos::{either::Either, prelude::*};

use super::{
    bulk::SelectBox,
    commands::{CommandAccess, CommandPanel},
    statuses::FleetStatuses,
    strip::Strip,
    Project,
};
use crate::{
    error::AppError,
    format::{ago, upstream_time},
};

#[server(prefix = "/fn", endpoint = "refresh_project")]
pub async fn refresh_project(project_id: i64) -> Result<RefreshOutcome, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(fleet.refresh(&actor, project_id).await?)
}

/// One place in the grid: the project's full card once its status is known, a placeholder
/// until then.
#[component]
pub(super) fn GridCell(
    project: Project,
    statuses: FleetStatuses,
    poll_interval_secs: u64,
    now: RwSignal<DateTime<Utc>>,
    commands: Option<CommandAccess>,
    hydrated: RwSignal<bool>,
) -> impl IntoView {
    let id = project.id;
    // A memo, so the cell changes only when this project's status arrives, not anyone's.
    let loaded = Memo::new(move |_| statuses.is_loaded(id));
    view! {
        <div class="grid__cell">
            {move || match loaded.get().then(|| statuses.status_of(id)).flatten() {
                Some(status) => Either::Left(view! {
                    <StatusCard
                        project=project.clone()
                        statuses
                        status=RwSignal::from(status)
                        poll_interval_secs
                        now
                        commands
                        hydrated
                    />
                }),
                None => Either::Right(view! { <LoadingCard name=project.name.clone()/> }),
            }}
        </div>
    }
}

/// A card in view whose status is on its way.
#[component]
fn LoadingCard(name: String) -> impl IntoView {
    view! {
        <article class="card card--loading" aria-busy="true">
            <header class="card__head">
                <h2 class="card__name">{name}</h2>
            </header>
            <p class="card__detail">"Loading…"</p>
        </article>
    }
}

#[component]
fn StatusCard(
    project: Project,
    statuses: FleetStatuses,
    status: RwSignal<StatusView>,
    poll_interval_secs: u64,
    now: RwSignal<DateTime<Utc>>,
    commands: Option<CommandAccess>,
    hydrated: RwSignal<bool>,
) -> impl IntoView {
    let Project {
        id,
        name,
        token_last4,
        quiet,
        ..
    } = project;
    let refreshing = RwSignal::new(false);
    let refresh_feedback = RwSignal::new(None::<String>);
    let refresh = move |_| {
        if refreshing.get_untracked() {
            return;
        }
        refreshing.set(true);
        refresh_feedback.set(None);
        leptos::task::spawn_local(async move {
            let message = match refresh_project(id).await {
                // A refresh answer is a status too: show it at once, not when the event comes.
                Ok(RefreshOutcome::Refreshed { status: fresh }) => {
                    let label = fresh.health.label();
                    statuses.show(id, fresh);
                    format!("Refreshed: {label}")
                }
                Ok(RefreshOutcome::Throttled {
                    retry_after_secs, ..
                }) => {
                    format!("PickyAssist allows 3 checks a minute: next refresh possible in {retry_after_secs} s")
                }
                Err(error) => format!("Refresh failed: {error}"),
            };
            // The card may be gone meanwhile (filtered out, project removed).
            refreshing.try_set(false);
            refresh_feedback.try_set(Some(message));
        });
    };

    let health = move || status.with(|s| s.health);
    // One fact of the device, read in place (not a copy of the whole snapshot per fact).
    let fact = move |read: fn(&DeviceSnapshot) -> Option<String>| {
        status
            .with(|s| s.device.as_ref().and_then(read))
            .unwrap_or_else(|| "—".to_owned())
    };
    let last_known = move || status.with(|s| s.health.is_upstream_problem() && s.device.is_some());
    let stale = move || status.with(|s| s.is_stale(poll_interval_secs, now.get()));
    let checked = move || match status.with(|s| s.checked_at) {
        Some(at) => format!("Checked {}", ago(at, now.get())),
        None => "Not checked yet".into(),
    };
    let busy = move || refreshing.get();
    let panel_open = RwSignal::new(false);
    let can_command = commands.is_some();
    let advice =
        move || {
            status.with(|s| s.advice.clone()).map(|advice| {
            let open = advice.command.filter(|_| can_command).map(|command| view! {
                <a
                    class="btn card__advice-go"
                    href=format!("/?commands={id}#card-{id}-name")
                    on:click=move |ev| { ev.prevent_default(); panel_open.set(true); }
                >
                    {format!("{}…", command.label())}
                </a>
            });
            view! {
                <div class="card__advice" role="note">
                    <p>{advice.text}</p>
                    {advice.warning.map(|w| view! { <p class="card__warning">{w}</p> })}
                    {open}
                    {advice.link.map(|href| view! { <a href=href>"Go to the Projects page"</a> })}
                </div>
            }
        })
        };
    let name_id = format!("card-{id}-name");
    let labelled_by = name_id.clone();
    let commands_name = name.clone();

    view! {
        <article
            class=move || format!("card card--{}", health().slug())
            data-project-id=id
            aria-labelledby=labelled_by
        >
            <header class="card__head">
                {commands.map(|access| view! { <SelectBox id name=name.clone() selection=access.selection/> })}
                <h2 class="card__name" id=name_id>
                    <a href=format!("/projects/{id}") title="History and uptime">{name.clone()}</a>
                </h2>
                <span
                    class=move || format!("badge badge--{}", health().slug())
                    data-health=move || health().slug()
                    title=move || health().hint()
                >
                    {move || health().label()}
                </span>
            </header>
            {move || status.with(|s| s.detail.clone()).map(|detail| view! { <p class="card__detail">{detail}</p> })}
            {quiet.map(|quiet| view! { <p class="card__quiet">{quiet}</p> })}
            {move || status.with(|s| s.auto_heal.clone()).map(|line| view! { <p class="card__quiet">{line}</p> })}
            {advice}
            <dl class="card__facts" class:card__facts--last-known=last_known>
                <div>
                    <dt>"Number"</dt>
                    <dd>{move || fact(|d| d.connected_number.clone())}</dd>
                </div>
                <div>
                    <dt>"WhatsApp Web"</dt>
                    <dd>{move || fact(|d| d.version.clone())}</dd>
                </div>
                <div>
                    <dt>"Queue"</dt>
                    <dd class="card__queue">
                        {move || fact(|d| d.message_queue_count.map(|n| n.to_string()))}
                    </dd>
                </div>
                <div>
                    <dt title="PickyAssist's own clock, in its profile's time zone, as it sent it">"Upstream time"</dt>
                    <dd>{move || fact(|d| d.upstream_time.as_deref().map(upstream_time))}</dd>
                </div>
            </dl>
            {move || last_known().then(|| view! { <p class="card__note">"Showing the last known values."</p> })}
            <Strip history=Signal::derive(move || status.with(|s| s.history.clone()))/>
            <footer class="card__foot">
                <span class="card__checked" class:card__checked--stale=stale>
                    {checked}
                    {move || stale().then_some(" · stale")}
                </span>
                <span class="card__token" title="API token: only its last 4 characters are ever shown">
                    {fleet::model::token_hint(&token_last4)}
                </span>
                <button
                    type="button"
                    class="btn btn--quiet"
                    disabled=move || !hydrated.get() || busy()
                    aria-busy=move || busy().to_string()
                    on:click=refresh
                >
                    {move || if busy() { "Refreshing…" } else { "Refresh" }}
                </button>
            </footer>
            <p class="card__feedback" role="status" aria-live="polite">
                {move || if busy() { Some("Asking PickyAssist…".to_owned()) } else { refresh_feedback.get() }}
            </p>
            {commands.map(|access| view! { <CommandPanel project_id=id project_name=commands_name access opened=panel_open/> })}
        </article>
    }
}
