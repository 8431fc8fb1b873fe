//! The fleet board's grid: the counts that filter by state, the search, the cards that pass
//! both, and the full cards fetched as they come into view.

use chrono::{DateTime, Utc};
use fleet::model::{CurrentUser, Health, ProjectCard};
use leptos::{either::Either, prelude::*};

use super::{
    card::GridCell, commands::CommandAccess, statuses::FleetStatuses, Project, FIRST_CARDS,
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
) -> impl IntoView {
    let filter = RwSignal::new(None::<Health>);
    let search = RwSignal::new(String::new());
    let sort = RwSignal::new(SortBy::Name);
    let recent_only = RwSignal::new(false);
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
            // Health is read (and tracked) only while a state filter is on; change times only
            // while they sort or filter.
            let health = wanted.map(|_| statuses.health.get());
            let changed =
                (recent_only.get() || sort == SortBy::LastChange).then(|| statuses.changed.get());
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
    let grid = view! {
        <div class="grid">
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
            <div class="fleet__order">
                <label class="fleet__sort">
                    "Sort by "
                    <select on:change=move |ev| sort.set(SortBy::parse(&event_target_value(&ev)))>
                        <option value="name" selected=true>"Name"</option>
                        <option value="uptime">"Uptime (24 h), lowest first"</option>
                        <option value="change">"Last change, newest first"</option>
                    </select>
                </label>
                <label class="fleet__recent">
                    <input type="checkbox" on:change=move |ev| recent_only.set(event_target_checked(&ev))/>
                    " Changed in the last hour"
                </label>
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

/// The orders the fleet can be shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortBy {
    Name,
    Uptime,
    LastChange,
}

impl SortBy {
    fn parse(value: &str) -> Self {
        match value {
            "uptime" => SortBy::Uptime,
            "change" => SortBy::LastChange,
            _ => SortBy::Name,
        }
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
