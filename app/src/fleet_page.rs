//! The fleet page: one live status card per project, with filters and command buttons.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fleet::model::{
    AuditOutcome, CommandResult, CurrentUser, DeviceSnapshot, FleetOverview, Health, ProjectBrief,
    ProjectCard, RefreshOutcome, StatusView,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use pickyassist::Command;

use crate::{
    error::AppError,
    format::{ago, upstream_time},
    live::{self, LiveMessage},
    toast::{ToastKind, Toasts},
};

/// The fleet and who is looking at it (the page shows command buttons by role).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FleetPageData {
    pub view: FleetOverview,
    pub user: CurrentUser,
}

#[server(endpoint = "fleet")]
pub async fn get_fleet() -> Result<FleetPageData, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let user = CurrentUser {
        id: actor.user_id.unwrap_or_default(),
        username: actor.name.clone(),
        role: actor.role,
    };
    Ok(FleetPageData {
        view: fleet.fleet_overview(&actor, FIRST_CARDS),
        user,
    })
}

/// The full cards of projects the page knows only in brief, when they come into view.
// JSON: a list of ids has no natural form encoding.
#[server(endpoint = "fleet_cards", input = leptos::server_fn::codec::Json)]
pub async fn get_cards(ids: Vec<i64>) -> Result<Vec<ProjectCard>, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(fleet.project_cards(&actor, &ids)?)
}

#[server(endpoint = "refresh_project")]
pub async fn refresh_project(project_id: i64) -> Result<RefreshOutcome, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(fleet.refresh(&actor, project_id).await?)
}

/// Runs a device command. `confirm_name` must repeat the project name for disconnect and
/// clearlogs; the service checks it, whatever the page did.
#[server(endpoint = "run_command")]
pub async fn run_command(
    project_id: i64,
    command: String,
    confirm_name: Option<String>,
) -> Result<CommandResult, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let command: Command = command.parse().map_err(|e: pickyassist::UnknownCommand| {
        AppError::from(fleet::FleetError::Invalid(e.to_string()))
    })?;
    Ok(fleet
        .run_command(&actor, project_id, command, confirm_name.as_deref())
        .await?)
}

/// Cards rendered at first; the rest on request. A thousand cards are megabytes of HTML that
/// nobody reads: the search and the state filters find any project, and the counts cover all.
/// The page's data has these cards in full and every other project in brief.
const FIRST_CARDS: usize = 60;

/// Cards asked for in one request when a filter, the search or "Show all" reveals projects
/// the page has only in brief (within the service's limit per request).
const CARDS_PER_REQUEST: usize = 500;

/// A card's fixed facts plus its live status.
#[derive(Clone)]
struct LiveCard {
    id: i64,
    name: String,
    /// `name` in lower case, for the search (made once, not on every status change).
    search_key: String,
    token_hint: String,
    live: LiveStatus,
}

impl LiveCard {
    fn from_brief(brief: &ProjectBrief) -> Self {
        Self {
            id: brief.id,
            name: brief.name.clone(),
            search_key: brief.name.to_lowercase(),
            token_hint: brief.token_hint.clone(),
            live: LiveStatus {
                status: RwSignal::new(StatusView {
                    health: brief.health,
                    ..StatusView::checking()
                }),
                loaded: RwSignal::new(false),
            },
        }
    }
}

/// A card's status as it changes.
#[derive(Clone, Copy)]
struct LiveStatus {
    /// Until `loaded`, only the health is known (from the brief).
    status: RwSignal<StatusView>,
    /// Whether `status` is the full status (a full card or a live event has arrived).
    loaded: RwSignal<bool>,
}

impl LiveStatus {
    fn show(&self, status: StatusView) {
        self.status.try_set(status);
        // Only the first time: setting it again would build the card anew and lose what it
        // shows (a refresh's answer, an open command panel).
        if self.loaded.try_get_untracked() == Some(false) {
            self.loaded.try_set(true);
        }
    }
}

/// Every card's status by project id, for live events and cards that arrive later.
type CardsById = StoredValue<HashMap<i64, LiveStatus>>;

#[component]
pub fn FleetPage() -> impl IntoView {
    // Bumped when the event stream says we missed events: reload everything.
    let resync = RwSignal::new(0u32);
    let fleet = Resource::new(move || resync.get(), |_| get_fleet());
    let by_id: CardsById = StoredValue::new(HashMap::new());
    live::subscribe(move |message| match message {
        LiveMessage::Status(event) => {
            if let Some(live) = by_id.with_value(|cards| cards.get(&event.project_id).copied()) {
                live.show(event.status);
            }
        }
        LiveMessage::Resync => resync.update(|n| *n += 1),
    });

    let now = RwSignal::new(Utc::now());
    Effect::new(move |_| {
        // Keeps "checked 12 s ago" and staleness current between events (browser only).
        let handle = set_interval_with_handle(
            move || now.set(Utc::now()),
            std::time::Duration::from_secs(5),
        );
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    });

    view! {
        <Title text="Fleet · picky-fleet"/>
        <Transition fallback=|| view! { <p class="loading">"Loading the fleet…"</p> }>
            {move || {
                Suspend::new(async move {
                    match fleet.await {
                        Ok(FleetPageData { view, user }) => {
                            let cards: Vec<LiveCard> =
                                view.projects.iter().map(LiveCard::from_brief).collect();
                            by_id.set_value(cards.iter().map(|c| (c.id, c.live)).collect());
                            for full in view.cards {
                                if let Some(live) = by_id.with_value(|c| c.get(&full.id).copied()) {
                                    live.show(full.status);
                                }
                            }
                            Either::Left(view! {
                                <FleetGrid cards by_id user poll_interval_secs=view.poll_interval_secs now/>
                            })
                        }
                        Err(error) => Either::Right(crate::load_error_view(error, "The fleet")),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn FleetGrid(
    cards: Vec<LiveCard>,
    by_id: CardsById,
    user: CurrentUser,
    poll_interval_secs: u64,
    now: RwSignal<DateTime<Utc>>,
) -> impl IntoView {
    let filter = RwSignal::new(None::<Health>);
    let search = RwSignal::new(String::new());
    let total = cards.len();
    let statuses: Vec<RwSignal<StatusView>> = cards.iter().map(|c| c.live.status).collect();
    let counts = Memo::new(move |_| {
        let mut counts: Vec<(Health, usize)> = Health::ALL.iter().map(|h| (*h, 0)).collect();
        for status in &statuses {
            let health = status.with(|s| s.health);
            if let Some(entry) = counts.iter_mut().find(|(h, _)| *h == health) {
                entry.1 += 1;
            }
        }
        counts.retain(|(_, n)| *n > 0);
        counts
    });
    let can_command = user.role.can_run_commands();
    // Positions (in name order) of the cards that pass the state filter and the search.
    let cards = StoredValue::new(cards);
    let matching = Memo::new(move |_| {
        let wanted = filter.get();
        let query = search.with(|q| q.trim().to_lowercase());
        cards.with_value(|cards| {
            cards
                .iter()
                .enumerate()
                .filter(|(_, card)| {
                    wanted.is_none_or(|f| card.live.status.with(|s| s.health) == f)
                        && (query.is_empty() || card.search_key.contains(&query))
                })
                .map(|(position, _)| position)
                .collect::<Vec<_>>()
        })
    });
    let shown = RwSignal::new(FIRST_CARDS);
    let visible_cards = move || {
        let limit = shown.get();
        matching.with(|positions| {
            cards.with_value(|cards| {
                positions
                    .iter()
                    .take(limit)
                    .map(|&position| cards[position].clone())
                    .collect::<Vec<_>>()
            })
        })
    };
    let hidden_count = move || matching.with(Vec::len).saturating_sub(shown.get());
    load_cards_coming_into_view(visible_cards, by_id);
    let grid = view! {
        <div class="grid">
            <For each=visible_cards key=|card| card.id let:card>
                <div class="grid__cell">
                    {move || {
                        let card = card.clone();
                        if card.live.loaded.get() {
                            Either::Left(view! { <StatusCard card poll_interval_secs now can_command/> })
                        } else {
                            Either::Right(view! { <LoadingCard name=card.name/> })
                        }
                    }}
                </div>
            </For>
        </div>
        <Show when=move || matching.with(Vec::is_empty)>
            <p class="empty">"No project matches this state and search."</p>
        </Show>
        <Show when=move || { hidden_count() > 0 }>
            <p class="fleet__more">
                {move || format!("Showing {} of {} matching projects. ", shown.get(), matching.with(Vec::len))}
                <button type="button" class="btn" on:click=move |_| shown.set(usize::MAX)>
                    {move || format!("Show all {}", matching.with(Vec::len))}
                </button>
            </p>
        </Show>
    };

    view! {
        <section class="fleet" aria-labelledby="fleet-title">
            <div class="fleet__head">
                <h1 id="fleet-title">"Fleet " <span class="fleet__total">{total} " projects"</span></h1>
                <input
                    type="search"
                    class="fleet__search"
                    placeholder="Search projects"
                    aria-label="Search projects by name"
                    on:input=move |ev| search.set(event_target_value(&ev))
                />
            </div>
            <div class="counts" role="group" aria-label="Filter by state">
                <button
                    type="button"
                    class="count count--all"
                    aria-pressed=move || filter.get().is_none().to_string()
                    on:click=move |_| filter.set(None)
                >
                    <span class="count__n">{total}</span>
                    " All"
                </button>
                <For each=move || counts.get() key=|(h, n)| (*h, *n) let:entry>
                    <button
                        type="button"
                        class=format!("count count--{}", entry.0.slug())
                        title=entry.0.hint()
                        aria-pressed=move || (filter.get() == Some(entry.0)).to_string()
                        on:click=move |_| filter.update(|f| *f = if *f == Some(entry.0) { None } else { Some(entry.0) })
                    >
                        <span class=format!("dot dot--{}", entry.0.slug()) aria-hidden="true"></span>
                        <span class="count__n">{entry.1}</span>
                        " "
                        {entry.0.label()}
                    </button>
                </For>
            </div>
            {if total == 0 {
                Either::Left(view! {
                    <p class="empty">"No projects yet. An admin can add them on the Projects page."</p>
                })
            } else {
                Either::Right(grid)
            }}
        </section>
    }
}

/// Asks the server for the full cards of projects that come into view while the page has them
/// only in brief (browser only: on the server every card in view is already full).
fn load_cards_coming_into_view(
    visible_cards: impl Fn() -> Vec<LiveCard> + Send + Sync + 'static,
    by_id: CardsById,
) {
    let toasts = expect_context::<Toasts>();
    let missing = Memo::new(move |_| {
        visible_cards()
            .iter()
            .filter(|card| !card.live.loaded.get())
            .map(|card| card.id)
            .collect::<Vec<_>>()
    });
    Effect::new(move |_| {
        let ids = missing.get();
        if ids.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            for batch in ids.chunks(CARDS_PER_REQUEST) {
                match get_cards(batch.to_vec()).await {
                    Ok(full) => {
                        for full in full {
                            if let Some(live) = by_id.with_value(|c| c.get(&full.id).copied()) {
                                live.show(full.status);
                            }
                        }
                    }
                    Err(error) => {
                        toasts.push(
                            ToastKind::Error,
                            format!("Some cards could not be loaded: {error}"),
                        );
                        return;
                    }
                }
            }
        });
    });
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
    card: LiveCard,
    poll_interval_secs: u64,
    now: RwSignal<DateTime<Utc>>,
    can_command: bool,
) -> impl IntoView {
    let LiveCard {
        id,
        name,
        token_hint,
        live: LiveStatus { status, .. },
        ..
    } = card;
    let refresh = ServerAction::<RefreshProject>::new();
    let toasts = expect_context::<Toasts>();
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    // A refresh answer is a status too: show it at once rather than waiting for the event.
    let refresh_feedback = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(result) = refresh.value().get() {
            let message = match result {
                Ok(RefreshOutcome::Refreshed { status: fresh }) => {
                    let label = fresh.health.label();
                    status.set(fresh);
                    format!("Refreshed: {label}")
                }
                Ok(RefreshOutcome::Throttled {
                    retry_after_secs, ..
                }) => {
                    format!("PickyAssist allows 3 checks a minute: next refresh possible in {retry_after_secs} s")
                }
                Err(error) => format!("Refresh failed: {error}"),
            };
            refresh_feedback.set(Some(message));
        }
    });

    let health = move || status.with(|s| s.health);
    let device = move || {
        status
            .with(|s| s.device.clone())
            .unwrap_or_else(empty_device)
    };
    let last_known = move || status.with(|s| s.health.is_upstream_problem() && s.device.is_some());
    let stale = move || {
        status
            .with(|s| s.checked_at)
            .is_some_and(|at| (now.get() - at).num_seconds() > 2 * poll_interval_secs as i64)
    };
    let checked = move || match status.with(|s| s.checked_at) {
        Some(at) => format!("Checked {}", ago(at, now.get())),
        None => "Not checked yet".into(),
    };
    let busy = move || refresh.pending().get();
    let name_id = format!("card-{id}-name");
    let labelled_by = name_id.clone();
    let dash = || "—".to_owned();
    let commands_name = name.clone();

    view! {
        <article
            class=move || format!("card card--{}", health().slug())
            data-project-id=id
            aria-labelledby=labelled_by
        >
            <header class="card__head">
                <h2 class="card__name" id=name_id>{name.clone()}</h2>
                <span
                    class=move || format!("badge badge--{}", health().slug())
                    data-health=move || health().slug()
                    title=move || health().hint()
                >
                    {move || health().label()}
                </span>
            </header>
            {move || status.with(|s| s.detail.clone()).map(|detail| view! { <p class="card__detail">{detail}</p> })}
            <dl class="card__facts" class:card__facts--last-known=last_known>
                <div>
                    <dt>"Number"</dt>
                    <dd>{move || device().connected_number.unwrap_or_else(dash)}</dd>
                </div>
                <div>
                    <dt>"WhatsApp Web"</dt>
                    <dd>{move || device().version.unwrap_or_else(dash)}</dd>
                </div>
                <div>
                    <dt>"Queue"</dt>
                    <dd class="card__queue">
                        {move || device().message_queue_count.map(|n| n.to_string()).unwrap_or_else(dash)}
                    </dd>
                </div>
                <div>
                    <dt>"Upstream time"</dt>
                    <dd>{move || device().upstream_time.as_deref().map(upstream_time).unwrap_or_else(dash)}</dd>
                </div>
            </dl>
            {move || last_known().then(|| view! { <p class="card__note">"Showing the last known values."</p> })}
            <footer class="card__foot">
                <span class="card__checked" class:card__checked--stale=stale>
                    {checked}
                    {move || stale().then_some(" · stale")}
                </span>
                <span class="card__token" title="API token: only its last 4 characters are ever shown">
                    {token_hint}
                </span>
                <button
                    type="button"
                    class="btn btn--quiet"
                    disabled=move || !hydrated.get() || busy()
                    aria-busy=move || busy().to_string()
                    on:click=move |_| {
                        if !refresh.pending().get_untracked() {
                            refresh_feedback.set(None);
                            refresh.dispatch(RefreshProject { project_id: id });
                        }
                    }
                >
                    {move || if busy() { "Refreshing…" } else { "Refresh" }}
                </button>
            </footer>
            <p class="card__feedback" role="status" aria-live="polite">
                {move || if busy() { Some("Asking PickyAssist…".to_owned()) } else { refresh_feedback.get() }}
            </p>
            {can_command.then(|| view! { <CommandPanel project_id=id project_name=commands_name toasts/> })}
        </article>
    }
}

fn empty_device() -> DeviceSnapshot {
    DeviceSnapshot {
        state: String::new(),
        connected_number: None,
        version: None,
        message_queue_count: None,
        upstream_time: None,
    }
}

/// The five commands behind a disclosure, so the card stays calm until someone means it.
/// Works without JavaScript (plain form posts); with it, commands ask for confirmation, show
/// a pending state and end in a toast.
#[component]
fn CommandPanel(project_id: i64, project_name: String, toasts: Toasts) -> impl IntoView {
    let action = ServerAction::<RunCommand>::new();
    Effect::new(move |_| {
        if let Some(result) = action.value().get() {
            match result {
                Ok(done) => toasts.push(toast_kind(&done), toast_message(&done)),
                Err(error) => toasts.push(ToastKind::Error, error.to_string()),
            }
        }
    });
    let forms = Command::ALL
        .into_iter()
        .map(|command| view! { <CommandForm project_id project_name=project_name.clone() command action/> })
        .collect_view();
    view! {
        <details class="commands">
            <summary class="commands__toggle">"Commands"</summary>
            <div class="commands__list">{forms}</div>
        </details>
    }
}

#[component]
fn CommandForm(
    project_id: i64,
    project_name: String,
    command: Command,
    action: ServerAction<RunCommand>,
) -> impl IntoView {
    let toasts = expect_context::<Toasts>();
    // First click arms the button ("Confirm …?"); the second sends. Destructive commands
    // instead need the project name typed out.
    let armed = RwSignal::new(false);
    let typed = RwSignal::new(String::new());
    let sending = RwSignal::new(false);
    Effect::new(move |_| {
        if !action.pending().get() {
            sending.set(false);
        }
    });
    let destructive = command.is_destructive();
    let name_for_check = project_name.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if action.pending().get_untracked() {
            return; // a double click sends one command
        }
        if destructive {
            if typed.get_untracked().trim() != name_for_check {
                toasts.push(
                    ToastKind::Error,
                    format!("Type {name_for_check:?} exactly to confirm."),
                );
                return;
            }
        } else if !armed.get_untracked() {
            armed.set(true);
            set_timeout(move || armed.set(false), std::time::Duration::from_secs(5));
            return;
        }
        armed.set(false);
        sending.set(true);
        action.dispatch(RunCommand {
            project_id,
            command: command.wire_name().to_owned(),
            confirm_name: destructive.then(|| typed.get_untracked()),
        });
        typed.set(String::new());
    };
    let field_id = format!("confirm-{project_id}-{}", command.wire_name());
    let label = command.label();
    view! {
        <form
            class="command"
            class:command--destructive=destructive
            method="post"
            action="/api/run_command"
            on:submit=on_submit
        >
            <input type="hidden" name="project_id" value=project_id/>
            <input type="hidden" name="command" value=command.wire_name()/>
            <div class="command__text">
                <strong>{label}</strong>
                <p>{command.explanation()}</p>
            </div>
            {destructive.then(|| view! {
                <label class="command__confirm" for=field_id.clone()>
                    "Type " <b>{project_name.clone()}</b> " to confirm"
                </label>
                <input
                    id=field_id.clone()
                    name="confirm_name"
                    autocomplete="off"
                    required
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                />
            })}
            <button
                type="submit"
                class="btn"
                class:btn--danger=destructive
                class:btn--armed=move || armed.get()
                data-command=command.wire_name()
                aria-busy=move || sending.get().to_string()
                disabled=move || sending.get()
            >
                {move || {
                    if sending.get() {
                        "Sending…".to_owned()
                    } else if armed.get() {
                        format!("Confirm: {label}?")
                    } else {
                        label.to_owned()
                    }
                }}
            </button>
        </form>
    }
}

fn toast_kind(result: &CommandResult) -> ToastKind {
    if result.outcome == AuditOutcome::Success {
        ToastKind::Success
    } else {
        ToastKind::Error
    }
}

fn toast_message(result: &CommandResult) -> String {
    if result.outcome == AuditOutcome::Success {
        format!(
            "{} sent to {}: {} ({} ms)",
            result.command.label(),
            result.project_name,
            result.message,
            result.upstream_latency_ms
        )
    } else {
        format!(
            "{} on {} failed ({}): {}",
            result.command.label(),
            result.project_name,
            result.outcome.label(),
            result.message
        )
    }
}
