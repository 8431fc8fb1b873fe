//! The fleet board's grid: the counts that filter by state, the search, the cards that pass
//! both, and the full cards fetched as they come into view.

use chrono::{DateTime, Utc};
use fleet::model::{CurrentUser, Health, ProjectCard};
use leptos::{either::Either, prelude::*};

use super::{
    card::GridCell,
    commands::CommandAccess,
    connection::{Connection, ConnectionLine},
    statuses::FleetStatuses,
    view_state::{show_in_address_bar, Layout, SortBy, ViewState},
    Project, FIRST_CARDS,
};
use crate::{
    error::AppError,
    toast::{ToastKind, Toasts},
};

/// Cards asked for in one request when a filter, the search or "Show all" reveals projects
/// the page has only in brief (within the service's limit per request).
const CARDS_PER_REQUEST: usize = 500;

/// The full cards of projects the page knows only in brief, when they come into view.
// JSON: a list of ids has no natural form encoding.
#[server(prefix = "/fn", endpoint = "fleet_cards", input = leptos::server_fn::codec::Json)]
pub async fn get_cards(ids: Vec<i64>) -> Result<Vec<ProjectCard>, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(fleet.project_cards(&actor, &ids)?)
}

#[component]
pub(super) fn FleetGrid(
    projects: Vec<Project>,
    statuses: FleetStatuses,
    user: CurrentUser,
    poll_interval_secs: u64,
    now: RwSignal<DateTime<Utc>>,
    open_for: Option<i64>,
    selection: super::bulk::Selection,
    view: StoredValue<ViewState>,
    live: RwSignal<Connection>,
) -> impl IntoView {
    let initial = view.get_value();
    let filter = RwSignal::new(initial.state);
    let search = RwSignal::new(initial.search);
    let sort = RwSignal::new(initial.sort);
    let layout = RwSignal::new(initial.layout);
    let recent_only = RwSignal::new(initial.recent);
    // The address bar follows the view, so it can be bookmarked and shared.
    Effect::new(move |_| {
        let now = ViewState {
            state: filter.get(),
            search: search.get(),
            sort: sort.get(),
            layout: layout.get(),
            recent: recent_only.get(),
        };
        show_in_address_bar(&now);
        view.set_value(now);
    });
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
        selection,
    });
    // Positions (in name order) of the cards that pass the state filter and the search.
    let projects = StoredValue::new(projects);
    let matching =
        Memo::new(move |_| {
            let wanted = filter.get();
            let query = search.with(|q| q.trim().to_lowercase());
            let sort = sort.get();
            // Each column is read (and tracked) only while something filters or sorts by it.
            let health = (wanted.is_some() || sort == SortBy::State).then(|| statuses.health.get());
            let changed =
                (recent_only.get() || sort == SortBy::LastChange).then(|| statuses.changed.get());
            let queue = (sort == SortBy::Queue).then(|| statuses.queue.get());
            let hour_ago = now.get().timestamp() - 3600;
            let changed_at = |position: usize| {
                changed
                    .as_ref()
                    .and_then(|c| c.get(position).copied().flatten())
            };
            projects.with_value(|projects| {
                let mut positions: Vec<usize> = projects
                    .iter()
                    .enumerate()
                    .filter(|(position, project)| {
                        wanted.is_none_or(|f| {
                            health.as_ref().and_then(|all| all.get(*position)) == Some(&f)
                        }) && (query.is_empty() || project.name.to_lowercase().contains(&query))
                            && (!recent_only.get_untracked()
                                || changed_at(*position).is_some_and(|at| at >= hour_ago))
                    })
                    .map(|(position, _)| position)
                    .collect();
                // Stable sorts over name order: ties stay alphabetical.
                match sort {
                    SortBy::Name => {}
                    SortBy::State => positions.sort_by_key(|&p| {
                        health
                            .as_ref()
                            .and_then(|all| all.get(p))
                            .map_or(u8::MAX, |h| h.severity())
                    }),
                    SortBy::Queue => positions.sort_by_key(|&p| {
                        std::cmp::Reverse(queue.as_ref().and_then(|q| q.get(p).copied().flatten()))
                    }),
                    SortBy::Uptime => positions
                        .sort_by_key(|&p| projects[p].uptime_permille.map_or(u16::MAX, |u| u)),
                    SortBy::LastChange => positions
                        .sort_by_key(|&p| std::cmp::Reverse(changed_at(p).unwrap_or(i64::MIN))),
                }
                positions
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
    let bulk_bar = commands
        .is_some()
        .then(|| view! { <super::bulk::BulkBar selection matching projects hydrated/> });
    // A dense list shows more rows at a time than cards.
    let step = move || match layout.get() {
        Layout::Cards => FIRST_CARDS,
        Layout::List => FIRST_CARDS * 4,
    };
    let grid = view! {
        <div class="grid" class:grid--list=move || layout.get() == Layout::List>
            <For each=visible_cards key=|project| project.id let:project>
                <GridCell project statuses poll_interval_secs now commands hydrated/>
            </For>
        </div>
        <Show when=move || matching.with(Vec::is_empty)>
            <p class="empty">"No project matches these filters and search."</p>
        </Show>
        <Show when=move || { hidden_count() > 0 }>
            <p class="fleet__more">
                {move || format!("Showing {} of {} matching projects. ", shown.get(), matching.with(Vec::len))}
                <button type="button" class="btn" on:click=move |_| shown.update(|n| *n += step())>
                    {move || format!("Show {} more", hidden_count().min(step()))}
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
                <div>
                    <h1 id="fleet-title">"Fleet " <span class="fleet__total">{total} " projects"</span></h1>
                    <ConnectionLine connection=live now/>
                </div>
                <input
                    type="search"
                    class="fleet__search"
                    placeholder="Search projects"
                    aria-label="Search projects by name"
                    // The attribute for the server's HTML, the property for later changes.
                    value=search.get_untracked()
                    prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev))
                />
            </div>
            <div class="fleet__order">
                <label class="fleet__sort">
                    "Sort by "
                    <select on:change=move |ev| sort.set(SortBy::parse(&event_target_value(&ev)))>
                        {SortBy::ALL.map(|option| view! {
                            <option value=option.slug() selected=move || sort.get() == option>{option.label()}</option>
                        })}
                    </select>
                </label>
                <label class="fleet__recent">
                    <input
                        type="checkbox"
                        checked=recent_only.get_untracked()
                        prop:checked=move || recent_only.get()
                        on:change=move |ev| recent_only.set(event_target_checked(&ev))
                    />
                    " Changed in the last hour"
                </label>
                <div class="layout-switch" role="group" aria-label="Layout">
                    {[(Layout::Cards, "Cards"), (Layout::List, "List")].map(|(option, label)| view! {
                        <button
                            type="button"
                            class="btn btn--quiet layout-switch__option"
                            aria-pressed=move || (layout.get() == option).to_string()
                            on:click=move |_| layout.set(option)
                        >
                            {label}
                        </button>
                    })}
                </div>
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
            {bulk_bar}
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
