//! The fleet page: one live status card per project, with filters and command buttons.
//!
//! This file holds the page, its island and the page's data; the parts of the board have files
//! of their own.

use chrono::Utc;
use fleet::model::{CurrentUser, FleetOverview, ProjectBrief, StatusEvent};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    error::AppError,
    live::{self, LiveMessage},
    toast::{ToastRegion, Toasts},
};

mod bulk;
mod card;
mod commands;
mod connection;
mod grid;
mod statuses;
mod strip;
mod view_state;

use grid::FleetGrid;
use statuses::FleetStatuses;
pub use view_state::ViewState;

/// The fleet and who is looking at it (the page shows command buttons by role).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FleetPageData {
    pub view: FleetOverview,
    pub user: CurrentUser,
}

#[server(prefix = "/fn", endpoint = "fleet")]
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

/// Cards rendered at first (about two screens on a wide monitor); more on request. A thousand
/// cards are megabytes of HTML that nobody reads: the search and the state filters find any
/// project, and the counts cover all. The page's data has these cards in full and every other
/// project in brief. Rendering cost grows with the cards, so this is also the page's speed.
const FIRST_CARDS: usize = 24;

/// A project as the page always knows it, from its brief: fixed facts, no signals.
#[derive(Clone)]
struct Project {
    id: i64,
    name: String,
    token_last4: String,
    /// 24-hour uptime as the page loaded, for sorting.
    uptime_permille: Option<u16>,
    /// Why it alerts nobody (disconnected on purpose, muted, maintenance), as the page loaded.
    quiet: Option<String>,
}

impl Project {
    fn from_brief(brief: &ProjectBrief) -> Self {
        Self {
            id: brief.id,
            name: brief.name.clone(),
            token_last4: brief.token_last4.clone(),
            uptime_permille: brief.uptime_permille,
            quiet: brief.quiet.clone(),
        }
    }
}

/// `/`: the page around the board. `?commands=ID` opens that card's command panel (the
/// no-JavaScript way to reach the commands, see `CommandPanel`); the rest of the query is the
/// view ([`ViewState`]: filter, search, sort, layout).
#[component]
pub fn FleetPage() -> impl IntoView {
    let query = use_query_map();
    let open_for = query
        .with_untracked(|query| query.get("commands"))
        .and_then(|id| id.parse().ok());
    let view = query.with_untracked(|query| ViewState::from_query(|name| query.get(name)));
    view! {
        <Title text="Fleet · picky-fleet"/>
        <FleetBoard open_for view/>
    }
}

/// The live board: every card, the filters and the commands. The one island of the fleet
/// page, and the first page's wasm is mostly this.
#[island]
fn FleetBoard(open_for: Option<i64>, view: ViewState) -> impl IntoView {
    // Held here, above the grid: a reload of the fleet keeps the view as it is now.
    let view_state = StoredValue::new(view);
    Toasts::provide();
    // Bumped when the event stream says we missed events: reload everything.
    let resync = RwSignal::new(0u32);
    let fleet = Resource::new(move || resync.get(), |_| get_fleet());
    let statuses = FleetStatuses::new();
    // Outside the Transition below: a reload of the fleet keeps what was ticked.
    let selection: bulk::Selection = RwSignal::new(Default::default());
    let live = RwSignal::new(connection::Connection::default());
    live::subscribe(move |message| match message {
        LiveMessage::Status(event) => {
            let StatusEvent { project_id, status } = *event;
            live.update(|c| c.updated_at = Some(Utc::now()));
            statuses.show(project_id, status)
        }
        LiveMessage::Resync => resync.update(|n| *n += 1),
        LiveMessage::Connection(open) => live.update(|c| c.open = Some(open)),
    });

    let now = RwSignal::new(Utc::now());
    Effect::new(move |_| {
        // The page's data is as fresh as the page (browser only: effects run after hydration).
        live.update(|c| {
            c.updated_at.get_or_insert_with(Utc::now);
        });
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
                    crate::page::skip_the_resource_walk().await;
                    match &*data {
                        Ok(FleetPageData { view, user }) => {
                            statuses.reset(&view.projects, view.cards.clone());
                            // Projects removed meanwhile leave the selection.
                            selection.update(|s| s.retain(|id| view.projects.iter().any(|p| p.id == *id)));
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
                                    selection
                                    view=view_state
                                    live
                                />
                            })
                        }
                        Err(error) => {
                            Either::Right(crate::page::load_error_view(error.clone(), "The fleet", "/"))
                        }
                    }
                })
            }}
        </Transition>
        <ToastRegion/>
    }
}
