//! The fleet page: one live status card per project, with filters and command buttons.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fleet::model::{
    AuditOutcome, CommandResult, CurrentUser, DeviceSnapshot, FleetOverview, Health, ProjectBrief,
    ProjectCard, RefreshOutcome, StatusView,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use pickyassist::Command;

use crate::{
    error::AppError,
    format::{ago, upstream_time},
    live::{self, LiveMessage},
    toast::{ToastKind, ToastRegion, Toasts},
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

/// Cards rendered at first (about two screens on a wide monitor); more on request. A thousand
/// cards are megabytes of HTML that nobody reads: the search and the state filters find any
/// project, and the counts cover all. The page's data has these cards in full and every other
/// project in brief. Rendering cost grows with the cards, so this is also the page's speed.
const FIRST_CARDS: usize = 24;

/// Cards asked for in one request when a filter, the search or "Show all" reveals projects
/// the page has only in brief (within the service's limit per request).
const CARDS_PER_REQUEST: usize = 500;

/// A project as the page always knows it, from its brief: fixed facts, no signals.
#[derive(Clone)]
struct Project {
    id: i64,
    name: String,
    token_last4: String,
}

impl Project {
    fn from_brief(brief: &ProjectBrief) -> Self {
        Self {
            id: brief.id,
            name: brief.name.clone(),
            token_last4: brief.token_last4.clone(),
        }
    }
}

/// The statuses the page shows, in one place: a handful of reactive nodes for the whole
/// fleet rather than a few per project. (Creating, tracking and dropping reactive nodes was
/// most of the time a big fleet page took to render on the server.)
#[derive(Clone, Copy)]
struct FleetStatuses {
    /// Every project's health, by position in the page's list (name order): the counts and
    /// the state filter read this one signal.
    health: RwSignal<Vec<Health>>,
    /// The project ids in that order (found by a scan: a live event costs microseconds, and a
    /// map would cost a thousand inserts on every render).
    ids: StoredValue<Vec<i64>>,
    /// The full status of each project that has one (its full card or a live event arrived).
    /// The map itself changes only when a project gets its first full status: a card in view
    /// then switches from "loading" to full.
    full: RwSignal<HashMap<i64, ArcRwSignal<StatusView>>>,
}

impl FleetStatuses {
    fn new() -> Self {
        Self {
            health: RwSignal::new(Vec::new()),
            ids: StoredValue::new(Vec::new()),
            full: RwSignal::new(HashMap::new()),
        }
    }

    /// Starts over from the page's data: every project in brief, the first ones in full.
    fn reset(&self, briefs: &[ProjectBrief], cards: Vec<ProjectCard>) {
        self.health.set(briefs.iter().map(|b| b.health).collect());
        self.ids.set_value(briefs.iter().map(|b| b.id).collect());
        self.full.set(
            cards
                .into_iter()
                .map(|c| (c.id, ArcRwSignal::new(c.status)))
                .collect(),
        );
    }

    /// A new status for a project, from a live event or a full card that was asked for.
    fn show(&self, project_id: i64, status: StatusView) {
        if let Some(position) = self
            .ids
            .with_value(|ids| ids.iter().position(|id| *id == project_id))
        {
            let health = status.health;
            self.health.maybe_update(|all| match all.get_mut(position) {
                Some(old) if *old != health => {
                    *old = health;
                    true
                }
                _ => false,
            });
        }
        match self.status_of(project_id) {
            Some(known) => known.set(status),
            None => {
                self.full.update(|full| {
                    full.insert(project_id, ArcRwSignal::new(status));
                });
            }
        }
    }

    /// Untracked: a card follows its own status signal, not the map.
    fn status_of(&self, project_id: i64) -> Option<ArcRwSignal<StatusView>> {
        self.full
            .with_untracked(|full| full.get(&project_id).cloned())
    }

    /// Tracked: whether the project has its full status yet.
    fn is_loaded(&self, project_id: i64) -> bool {
        self.full.with(|full| full.contains_key(&project_id))
    }
}

/// `/`: the page around the board. `?commands=ID` opens that card's command panel (the
/// no-JavaScript way to reach the commands, see `CommandPanel`).
#[component]
pub fn FleetPage() -> impl IntoView {
    let open_for = use_query_map()
        .with_untracked(|query| query.get("commands"))
        .and_then(|id| id.parse().ok());
    view! {
        <Title text="Fleet · picky-fleet"/>
        <FleetBoard open_for/>
    }
}

/// The live board: every card, the filters and the commands. The one island of the fleet
/// page, and the first page's wasm is mostly this.
#[island]
fn FleetBoard(open_for: Option<i64>) -> impl IntoView {
    Toasts::provide();
    // Bumped when the event stream says we missed events: reload everything.
    let resync = RwSignal::new(0u32);
    let fleet = Resource::new(move || resync.get(), |_| get_fleet());
    let statuses = FleetStatuses::new();
    live::subscribe(move |message| match message {
        LiveMessage::Status(event) => statuses.show(event.project_id, event.status),
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
        <Transition fallback=|| view! { <p class="loading">"Loading the fleet…"</p> }>
            {move || {
                Suspend::new(async move {
                    // By reference: a thousand projects are worth not copying once more.
                    let data = fleet.by_ref().await;
                    crate::skip_the_resource_walk().await;
                    match &*data {
                        Ok(FleetPageData { view, user }) => {
                            statuses.reset(&view.projects, view.cards.clone());
                            let projects: Vec<Project> =
                                view.projects.iter().map(Project::from_brief).collect();
                            Either::Left(view! {
                                <FleetGrid
                                    projects
                                    statuses
                                    user=user.clone()
                                    poll_interval_secs=view.poll_interval_secs
                                    now
                                    open_for
                                />
                            })
                        }
                        Err(error) => {
                            Either::Right(crate::load_error_view(error.clone(), "The fleet", "/"))
                        }
                    }
                })
            }}
        </Transition>
        <ToastRegion/>
    }
}

#[component]
fn FleetGrid(
    projects: Vec<Project>,
    statuses: FleetStatuses,
    user: CurrentUser,
    poll_interval_secs: u64,
    now: RwSignal<DateTime<Utc>>,
    open_for: Option<i64>,
) -> impl IntoView {
    let filter = RwSignal::new(None::<Health>);
    let search = RwSignal::new(String::new());
    let total = projects.len();
    let counts = Memo::new(move |_| {
        let mut counts: Vec<(Health, usize)> = Health::ALL.iter().map(|h| (*h, 0)).collect();
        statuses.health.with(|all| {
            for health in all {
                if let Some(entry) = counts.iter_mut().find(|(h, _)| h == health) {
                    entry.1 += 1;
                }
            }
        });
        counts.retain(|(_, n)| *n > 0);
        counts
    });
    // Set once the wasm runs: buttons that need it stay disabled in the server's HTML.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let commands = user.role.can_run_commands().then(|| CommandAccess {
        open_for,
        toasts: expect_context::<Toasts>(),
    });
    // Positions (in name order) of the cards that pass the state filter and the search.
    let projects = StoredValue::new(projects);
    let matching = Memo::new(move |_| {
        let wanted = filter.get();
        let query = search.with(|q| q.trim().to_lowercase());
        // Health is read (and tracked) only while a state filter is on.
        let health = wanted.map(|_| statuses.health.get());
        projects.with_value(|projects| {
            projects
                .iter()
                .enumerate()
                .filter(|(position, project)| {
                    wanted.is_none_or(|f| {
                        health.as_ref().and_then(|all| all.get(*position)) == Some(&f)
                    }) && (query.is_empty() || project.name.to_lowercase().contains(&query))
                })
                .map(|(position, _)| position)
                .collect::<Vec<_>>()
        })
    });
    let shown = RwSignal::new(FIRST_CARDS);
    let visible_cards = move || {
        let limit = shown.get();
        matching.with(|positions| {
            projects.with_value(|projects| {
                positions
                    .iter()
                    .take(limit)
                    .filter_map(|&position| projects.get(position).cloned())
                    .collect::<Vec<_>>()
            })
        })
    };
    let hidden_count = move || matching.with(Vec::len).saturating_sub(shown.get());
    load_cards_coming_into_view(visible_cards, statuses);
    let grid = view! {
        <div class="grid">
            <For each=visible_cards key=|project| project.id let:project>
                <GridCell project statuses poll_interval_secs now commands hydrated/>
            </For>
        </div>
        <Show when=move || matching.with(Vec::is_empty)>
            <p class="empty">"No project matches this state and search."</p>
        </Show>
        <Show when=move || { hidden_count() > 0 }>
            <p class="fleet__more">
                {move || format!("Showing {} of {} matching projects. ", shown.get(), matching.with(Vec::len))}
                <button type="button" class="btn" on:click=move |_| shown.update(|n| *n += FIRST_CARDS)>
                    {move || format!("Show {} more", hidden_count().min(FIRST_CARDS))}
                </button>
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
    visible_cards: impl Fn() -> Vec<Project> + Send + Sync + 'static,
    statuses: FleetStatuses,
) {
    let toasts = expect_context::<Toasts>();
    let missing = Memo::new(move |_| {
        let visible = visible_cards();
        statuses.full.with(|full| {
            visible
                .iter()
                .filter(|project| !full.contains_key(&project.id))
                .map(|project| project.id)
                .collect::<Vec<_>>()
        })
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
                            statuses.show(full.id, full.status);
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

/// One place in the grid: the project's full card once its status is known, a placeholder
/// until then.
#[component]
fn GridCell(
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
    let stale = move || {
        status
            .with(|s| s.checked_at)
            .is_some_and(|at| (now.get() - at).num_seconds() > 2 * poll_interval_secs as i64)
    };
    let checked = move || match status.with(|s| s.checked_at) {
        Some(at) => format!("Checked {}", ago(at, now.get())),
        None => "Not checked yet".into(),
    };
    let busy = move || refreshing.get();
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
                    <dt>"Upstream time"</dt>
                    <dd>{move || fact(|d| d.upstream_time.as_deref().map(upstream_time))}</dd>
                </div>
            </dl>
            {move || last_known().then(|| view! { <p class="card__note">"Showing the last known values."</p> })}
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
            {commands.map(|access| view! { <CommandPanel project_id=id project_name=commands_name access/> })}
        </article>
    }
}

/// What the cards of someone allowed to run commands need for their panels.
#[derive(Clone, Copy)]
struct CommandAccess {
    /// `?commands=ID`: the card whose panel the server renders open.
    open_for: Option<i64>,
    toasts: Toasts,
}

/// The five commands behind a disclosure, so the card stays calm until someone means it.
///
/// The forms are made when the disclosure is first opened, not with the page: five forms on
/// each of dozens of cards were most of what a fleet page cost to render, for panels that are
/// rarely opened. Without JavaScript the closed panel holds a link to `?commands=ID`, and the
/// server renders that card's panel open, with forms that post as they are. With JavaScript
/// commands ask for confirmation, show a pending state and end in a toast; one at a time per
/// card.
#[component]
fn CommandPanel(project_id: i64, project_name: String, access: CommandAccess) -> impl IntoView {
    let asked = access.open_for == Some(project_id);
    let opened = RwSignal::new(asked);
    let toasts = access.toasts;
    let forms = move || {
        // Shared by the five forms: which one waits for its second click, which one is on
        // its way. Made with the forms, like everything else the panel needs.
        let armed = RwSignal::new(None::<Command>);
        let sending = RwSignal::new(None::<Command>);
        let send = move |command: Command, confirm_name: Option<String>| {
            sending.set(Some(command));
            leptos::task::spawn_local(async move {
                let answer =
                    run_command(project_id, command.wire_name().to_owned(), confirm_name).await;
                match answer {
                    Ok(done) => toasts.push(toast_kind(&done), toast_message(&done)),
                    Err(error) => toasts.push(ToastKind::Error, error.to_string()),
                }
                sending.try_set(None);
            });
        };
        Command::ALL
            .into_iter()
            .map(|command| {
                view! {
                    <CommandForm
                        project_id
                        project_name=project_name.clone()
                        command
                        armed
                        sending
                        send
                        toasts
                    />
                }
            })
            .collect_view()
    };
    view! {
        <details class="commands" open=asked on:toggle=move |_| opened.set(true)>
            <summary class="commands__toggle">"Commands"</summary>
            {move || {
                if opened.get() {
                    Either::Left(view! { <div class="commands__list">{forms()}</div> })
                } else {
                    Either::Right(view! {
                        <a class="commands__open" href=format!("/?commands={project_id}#card-{project_id}-name")>
                            "Show the commands"
                        </a>
                    })
                }
            }}
        </details>
    }
}

#[component]
fn CommandForm(
    project_id: i64,
    project_name: String,
    command: Command,
    armed: RwSignal<Option<Command>>,
    sending: RwSignal<Option<Command>>,
    send: impl Fn(Command, Option<String>) + Copy + Send + Sync + 'static,
    toasts: Toasts,
) -> impl IntoView {
    // First click arms the button ("Confirm …?"); the second sends. Destructive commands
    // instead need the project name typed out (and only they keep what was typed).
    let destructive = command.is_destructive();
    let typed = destructive.then(|| RwSignal::new(String::new()));
    let name_for_check = project_name.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked().is_some() {
            return; // a double click sends one command
        }
        let confirm_name = match typed {
            Some(typed) => {
                let name = typed.get_untracked();
                if name.trim() != name_for_check {
                    toasts.push(
                        ToastKind::Error,
                        format!("Type {name_for_check:?} exactly to confirm."),
                    );
                    return;
                }
                typed.set(String::new());
                Some(name)
            }
            None if armed.get_untracked() != Some(command) => {
                armed.set(Some(command));
                set_timeout(
                    move || {
                        armed.try_update(|a| {
                            if *a == Some(command) {
                                *a = None;
                            }
                        });
                    },
                    std::time::Duration::from_secs(5),
                );
                return;
            }
            None => None,
        };
        armed.set(None);
        send(command, confirm_name);
    };
    let is_armed = move || armed.get() == Some(command);
    let is_sending = move || sending.get() == Some(command);
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
            {typed.map(|typed| view! {
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
                class:btn--armed=is_armed
                data-command=command.wire_name()
                aria-busy=move || is_sending().to_string()
                disabled=move || sending.get().is_some()
            >
                {move || {
                    if is_sending() {
                        "Sending…".to_owned()
                    } else if is_armed() {
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
