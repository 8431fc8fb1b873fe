//! The fleet page: one status card per project.

use fleet::model::{FleetView, Health, ProjectCard, RefreshOutcome};
use leptos::{either::Either, prelude::*};

use crate::format::{ago, upstream_time};

#[server]
pub async fn get_fleet() -> Result<FleetView, ServerFnError> {
    Ok(ssr::fleet()?.fleet_view())
}

#[server]
pub async fn refresh_project(project_id: i64) -> Result<RefreshOutcome, ServerFnError> {
    ssr::fleet()?
        .refresh(project_id)
        .await
        .map_err(ssr::to_server_fn_error)
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use fleet::{Fleet, FleetError};
    use leptos::prelude::*;

    pub fn fleet() -> Result<Fleet, ServerFnError> {
        use_context::<Fleet>()
            .ok_or_else(|| ServerFnError::new("the fleet service is not available"))
    }

    /// Users see what they can act on; internal details stay in the server log.
    pub fn to_server_fn_error(error: FleetError) -> ServerFnError {
        if let FleetError::Internal(cause) = &error {
            leptos::logging::error!("internal error: {cause:#}");
        }
        ServerFnError::new(error.to_string())
    }
}

#[component]
pub fn FleetPage() -> impl IntoView {
    let refresh = ServerAction::<RefreshProject>::new();
    let fleet = Resource::new(move || refresh.version().get(), |_| get_fleet());
    // Buttons stay disabled in the server-rendered HTML until the wasm takes over.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let last_refreshed = RwSignal::new(None::<i64>);

    view! {
        <Title text="Fleet · picky-fleet"/>
        <Transition fallback=|| view! { <p class="loading">"Loading the fleet…"</p> }>
            {move || Suspend::new(async move {
                match fleet.await {
                    Ok(view) => Either::Left(view! {
                        <FleetGrid view refresh hydrated last_refreshed/>
                    }),
                    Err(error) => Either::Right(view! {
                        <p class="alert alert--error" role="alert">
                            "The fleet could not be loaded: " {error.to_string()}
                        </p>
                    }),
                }
            })}
        </Transition>
    }
}

use leptos_meta::Title;

#[component]
fn FleetGrid(
    view: FleetView,
    refresh: ServerAction<RefreshProject>,
    hydrated: RwSignal<bool>,
    last_refreshed: RwSignal<Option<i64>>,
) -> impl IntoView {
    let counts = Health::ALL
        .into_iter()
        .map(|h| (h, view.cards.iter().filter(|c| c.status.health == h).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(h, n)| {
            view! {
                <li class=format!("count count--{}", h.slug())>
                    <span class=format!("dot dot--{}", h.slug()) aria-hidden="true" title=h.hint()></span>
                    <span class="count__n">{n}</span>
                    " "
                    {h.label()}
                </li>
            }
        })
        .collect_view();
    let total = view.cards.len();
    let now = view.generated_at;
    let cards = view
        .cards
        .iter()
        .map(|card| {
            let stale = view.is_stale(&card.status, now);
            view! { <StatusCard card=card.clone() now stale refresh hydrated last_refreshed/> }
        })
        .collect_view();

    view! {
        <section class="fleet" aria-labelledby="fleet-title">
            <div class="fleet__head">
                <h1 id="fleet-title">"Fleet" <span class="fleet__total">{total} " projects"</span></h1>
                <ul class="counts" aria-label="Projects per state">{counts}</ul>
            </div>
            {if total == 0 {
                Either::Left(view! { <p class="empty">"No projects yet."</p> })
            } else {
                Either::Right(view! { <div class="grid">{cards}</div> })
            }}
        </section>
    }
}

#[component]
fn StatusCard(
    card: ProjectCard,
    now: chrono::DateTime<chrono::Utc>,
    stale: bool,
    refresh: ServerAction<RefreshProject>,
    hydrated: RwSignal<bool>,
    last_refreshed: RwSignal<Option<i64>>,
) -> impl IntoView {
    let id = card.id;
    let health = card.status.health;
    let slug = health.slug();
    let device = card
        .status
        .device
        .clone()
        .unwrap_or_else(|| fleet::model::DeviceSnapshot {
            state: String::new(),
            connected_number: None,
            version: None,
            message_queue_count: None,
            upstream_time: None,
        });
    let last_known = health.is_upstream_problem() && card.status.device.is_some();
    let dash = || "—".to_owned();
    let checked = card
        .status
        .checked_at
        .map(|at| format!("Checked {}", ago(at, now)))
        .unwrap_or_else(|| "Not checked yet".into());
    let is_mine = move || last_refreshed.get() == Some(id);
    let busy = move || is_mine() && refresh.pending().get();
    let feedback = move || {
        if !is_mine() {
            return None;
        }
        if refresh.pending().get() {
            return Some("Asking PickyAssist…".to_owned());
        }
        refresh.value().get().map(|result| match result {
            Ok(RefreshOutcome::Refreshed { status }) => format!("Refreshed: {}", status.health.label()),
            Ok(RefreshOutcome::Throttled { retry_after_secs, .. }) => {
                format!("PickyAssist allows 3 checks a minute: next refresh possible in {retry_after_secs} s")
            }
            Err(error) => format!("Refresh failed: {error}"),
        })
    };
    let name_id = format!("card-{id}-name");
    let labelled_by = name_id.clone();

    view! {
        <article class=format!("card card--{slug}") data-project-id=id aria-labelledby=labelled_by>
            <header class="card__head">
                <h2 class="card__name" id=name_id>{card.name.clone()}</h2>
                <span class=format!("badge badge--{slug}") data-health=slug title=health.hint()>{health.label()}</span>
            </header>
            {card.status.detail.clone().map(|detail| view! { <p class="card__detail">{detail}</p> })}
            <dl class="card__facts" class:card__facts--last-known=last_known>
                <div>
                    <dt>"Number"</dt>
                    <dd>{device.connected_number.clone().unwrap_or_else(dash)}</dd>
                </div>
                <div>
                    <dt>"WhatsApp Web"</dt>
                    <dd>{device.version.clone().unwrap_or_else(dash)}</dd>
                </div>
                <div>
                    <dt>"Queue"</dt>
                    <dd class="card__queue">
                        {device.message_queue_count.map(|n| n.to_string()).unwrap_or_else(dash)}
                    </dd>
                </div>
                <div>
                    <dt>"Upstream time"</dt>
                    <dd>{device.upstream_time.as_deref().map(upstream_time).unwrap_or_else(dash)}</dd>
                </div>
            </dl>
            {last_known.then(|| view! { <p class="card__note">"Showing the last known values."</p> })}
            <footer class="card__foot">
                <span class="card__checked" class:card__checked--stale=stale>
                    {checked} {stale.then_some(" · stale")}
                </span>
                <span class="card__token" title="API token (only the last 4 characters are ever shown)">
                    {card.token_hint.clone()}
                </span>
                <button
                    type="button"
                    class="btn btn--quiet"
                    disabled=move || !hydrated.get() || busy()
                    aria-busy=move || busy().to_string()
                    on:click=move |_| {
                        if !refresh.pending().get_untracked() {
                            last_refreshed.set(Some(id));
                            refresh.dispatch(RefreshProject { project_id: id });
                        }
                    }
                >
                    {move || if busy() { "Refreshing…" } else { "Refresh" }}
                </button>
            </footer>
            <p class="card__feedback" role="status" aria-live="polite">{feedback}</p>
        </article>
    }
}
