//! `/projects/{id}`: one project's history. Uptime over 24 hours to 90 days, its states over
//! the chosen range as a band, the message queue and upstream's latency as charts, and a
//! timeline where state changes and the project's audit rows read as one story ("restart at
//! 14:02 → CONNECTED at 14:03").
//!
//! Rendered on the server only, charts included (SVG with a text summary for screen
//! readers): the page needs no wasm and works without JavaScript. `charts` draws the band and
//! the charts, `timeline` the story.

use chrono::{DateTime, Duration, Utc};
use fleet::model::{
    percent, AuditEntry, Health, HistoryBucket, ProjectCard, ProjectHistory, ProjectMute,
    StateChange, Uptime,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

mod autoheal;
mod charts;
mod quiet;
mod timeline;

use autoheal::AutoHealSection;
use charts::{runs, Chart, StateBand};
use quiet::QuietSection;
use timeline::Timeline;

/// The ranges the page offers, with the roll-ups it reads for each.
const RANGES: [(&str, &str, i64); 4] = [
    ("24h", "24 hours", 24),
    ("7d", "7 days", 7 * 24),
    ("30d", "30 days", 30 * 24),
    ("90d", "90 days", 90 * 24),
];

/// Changes and audit rows the timeline shows at most, each: the newest (the API pages
/// through the rest).
const TIMELINE_ITEMS: u32 = 50;

/// Everything the page shows, in one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectPageData {
    pub card: ProjectCard,
    pub uptime: Uptime,
    /// The range shown (`24h`, `7d`, …).
    pub range: String,
    /// The history's buckets are summed into groups this long (0: as stored).
    pub group_seconds: i64,
    pub history: ProjectHistory,
    /// State changes in the range, newest first (at most [`TIMELINE_ITEMS`]).
    pub changes: Vec<StateChange>,
    /// The state in force when the range starts, if the history knows it.
    pub state_at_start: Option<Health>,
    /// The project's audit rows in the range, newest first (at most [`TIMELINE_ITEMS`]).
    pub audit: Vec<AuditEntry>,
    /// The project's mute, if it is muted now.
    pub mute: Option<ProjectMute>,
    /// Whether the viewer may mute it (operators and admins).
    pub can_mute: bool,
    pub auto_heal: fleet::model::AutoHealPolicy,
    pub is_admin: bool,
    pub now: String,
}

#[server(prefix = "/fn", endpoint = "project_page")]
pub async fn load_project_page(id: i64, range: String) -> Result<ProjectPageData, AppError> {
    use fleet::model::{AuditFilter, PageSize, Resolution};
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let (range, _, hours) = RANGES
        .into_iter()
        .find(|(name, _, _)| *name == range)
        .unwrap_or(RANGES[0]);
    let card = fleet
        .project_cards(&actor, &[id])?
        .pop()
        .ok_or(fleet::FleetError::ProjectNotFound(id))?;
    // What the poller recorded in the last seconds is written first, so the page shows a
    // change the card already shows.
    fleet.flush_project_history(id).await?;
    let now = fleet.now();
    let from = now - Duration::hours(hours);
    // The finest roll-ups kept for the whole range (the retention is a setting).
    let retention = fleet.history_retention();
    let span = Duration::hours(hours);
    let resolution = if range == "24h" && retention.minutes >= span {
        Resolution::Minute
    } else if range != "90d" && retention.hours >= span {
        Resolution::Hour
    } else {
        Resolution::Day
    };
    // A day of minutes in five-minute groups: the page has no room for more.
    let group_seconds = if resolution == Resolution::Minute {
        300
    } else {
        0
    };
    let history = fleet
        .project_history_grouped(&actor, id, from, now, resolution, group_seconds)
        .await?;
    let changes = fleet
        .project_changes(&actor, id, from, now, None, TIMELINE_ITEMS)
        .await?
        .changes;
    let state_at_start = fleet.state_at(id, from).await?;
    let audit = fleet
        .audit_page(
            &actor,
            &AuditFilter {
                project_id: Some(id),
                since: Some(from),
                limit: PageSize::new(TIMELINE_ITEMS).map_err(|_| AppError::Internal)?,
                ..Default::default()
            },
        )
        .await?
        .entries;
    let mute = fleet
        .project_mutes(&actor)
        .await?
        .into_iter()
        .find(|m| m.project_id == id);
    Ok(ProjectPageData {
        mute,
        can_mute: actor.role >= fleet::model::Role::Operator,
        auto_heal: fleet.auto_heal_policy(&actor, id)?,
        is_admin: actor.role == fleet::model::Role::Admin,
        uptime: fleet.project_uptime(&actor, id).await?,
        card,
        range: range.to_owned(),
        group_seconds,
        history,
        changes,
        state_at_start,
        audit,
        now: fleet::model::stored_time(now),
    })
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    let range = move || query.with(|q| q.get("range").unwrap_or_else(|| "24h".to_owned()));
    let data = Resource::new(
        move || (id(), range()),
        |(id, range)| async move {
            match id {
                Some(id) => load_project_page(id, range).await,
                None => Err(AppError::NotFound("no such project".into())),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading the project…"</p> }>
            {move || Suspend::new(async move {
                let loaded = data.await;
                crate::page::skip_the_resource_walk().await;
                match loaded {
                    Ok(data) => Either::Left(view! { <ProjectView data/> }),
                    Err(error) => {
                        let here = id().map_or_else(|| "/".to_owned(), |id| format!("/projects/{id}"));
                        Either::Right(crate::page::load_error_view(error, "The project", &here))
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ProjectView(data: ProjectPageData) -> impl IntoView {
    let ProjectPageData {
        card,
        uptime,
        range,
        group_seconds,
        history,
        changes,
        state_at_start,
        audit,
        mute,
        can_mute,
        auto_heal,
        is_admin,
        now,
    } = data;
    let now = parse(&now).unwrap_or_else(Utc::now);
    let health = card.status.health;
    let checked = card
        .status
        .checked_at
        .map(|at| format!("checked {}", crate::format::ago(at, now)));
    let title = format!("{} · picky-fleet", card.name);
    let id = card.id;
    let (range_label, range_hours) = RANGES
        .iter()
        .find(|(name, _, _)| *name == range)
        .map_or(("24 hours", 24), |(_, label, hours)| (*label, *hours));
    let from = now - Duration::hours(range_hours);
    // Each bucket's time read once (three views below use it).
    let step = Duration::seconds(history.resolution.seconds().max(group_seconds));
    let clipped =
        changes.len() >= TIMELINE_ITEMS as usize || audit.len() >= TIMELINE_ITEMS as usize;
    let timed: Vec<(DateTime<Utc>, HistoryBucket)> = history
        .buckets
        .iter()
        .filter_map(|b| Some((bucket_time(b)?, b.clone())))
        .collect();
    let queue = timed
        .iter()
        .filter_map(|(at, b)| Some((*at, b.queue_avg?)))
        .collect();
    let latency = timed
        .iter()
        .filter_map(|(at, b)| Some((*at, b.latency_avg_ms?)))
        .collect();
    let summary = checks_summary(&history);
    view! {
        <Title text=title/>
        <section class="project" aria-labelledby="project-title">
            <p class="project__back"><a href="/">"← Fleet"</a></p>
            <div class="project__head">
                <h1 id="project-title">{card.name.clone()}</h1>
                <span class=format!("badge badge--{}", health.slug())>{health.label()}</span>
                <span class="muted">{checked}</span>
                <a class="project__guide" href=format!("/projects/{id}/connect-another-number")>"Connect another number…"</a>
            </div>
            <crate::page::OutcomeLine/>
            <UptimeTiles uptime/>
            <nav class="ranges" aria-label="Range">
                {RANGES.iter().map(|(name, label, _)| {
                    let current = *name == range;
                    view! {
                        <a
                            href=format!("/projects/{id}?range={name}")
                            class="ranges__link"
                            aria-current=current.then_some("page")
                        >{*label}</a>
                    }
                }).collect_view()}
            </nav>
            <h2 class="project__section">{format!("States over the last {range_label}")}</h2>
            <p class="muted project__checks">{summary}</p>
            <StateBand runs=runs(&timed, step) from now/>
            <div class="charts">
                <Chart
                    title="Message queue"
                    unit=""
                    points=queue
                    from
                    now
                />
                <Chart
                    title="Upstream latency"
                    unit=" ms"
                    points=latency
                    from
                    now
                />
            </div>
            <QuietSection project_id=id quiet=card.quiet.clone() mute can_mute/>
            <AutoHealSection project_id=id policy=auto_heal is_admin/>
            <h2 class="project__section">"What happened"</h2>
            <Timeline changes audit state_at_start now/>
            {clipped.then(|| view! {
                <p class="muted">
                    {format!("The newest {TIMELINE_ITEMS} changes and audit rows of this range; choose a shorter range, or read them all with GET /api/v1/projects/{id}/changes.")}
                </p>
            })}
        </section>
    }
}

/// "2,880 checks: 98.2 % reached the device, 1.8 % failed on the dashboard's side (unknown)."
fn checks_summary(history: &ProjectHistory) -> String {
    let mut total = fleet::model::PollCounts::default();
    for bucket in &history.buckets {
        total.add(&bucket.counts);
    }
    if total.polls == 0 {
        return "No checks in this range.".to_owned();
    }
    let share = |n: u32| percent(Some(f64::from(n) / f64::from(total.polls)));
    format!(
        "{} checks: {} reached the device, {} failed on the dashboard's side (unknown).",
        total.polls,
        share(total.known()),
        share(total.faults)
    )
}

pub(super) fn parse(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(super) fn bucket_time(bucket: &HistoryBucket) -> Option<DateTime<Utc>> {
    parse(&bucket.start)
}

#[component]
fn UptimeTiles(uptime: Uptime) -> impl IntoView {
    let tiles = [
        ("24 hours", uptime.day),
        ("7 days", uptime.week),
        ("30 days", uptime.month),
        ("90 days", uptime.quarter),
    ];
    view! {
        <dl class="uptime">
            {tiles.into_iter().map(|(label, share)| view! {
                <div class="uptime__tile">
                    <dt>{format!("Uptime, {label}")}</dt>
                    <dd class="uptime__figure">{percent(share)}</dd>
                </div>
            }).collect_view()}
        </dl>
        <p class="muted uptime__note">
            "Uptime is the share of checks that found the device CONNECTED. TIMEOUT, UNPAIRED and \
             unknown states count as down; checks that failed on the dashboard's side \
             (unreachable, timed out, rejected, unreadable) say nothing about the device and are \
             left out, as is time nobody checked. 7 days from hourly, 30 and 90 days from daily \
             figures."
        </p>
    }
}

/// "14:03", in the viewer's zone.
pub(super) fn hm(at: DateTime<Utc>) -> String {
    crate::prefs::zoned(at, "%H:%M")
}

/// "Dec 2, 14:03 CET", in the viewer's zone.
pub(super) fn hm_day(at: DateTime<Utc>) -> String {
    crate::prefs::zoned(at, "%b %-d, %H:%M %Z")
}

/// "40 min", "3 h 5 min", "2 d 4 h".
pub(super) fn duration(seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
    match minutes {
        0 => "under a minute".to_owned(),
        1..=59 => format!("{minutes} min"),
        60..=1439 if minutes % 60 == 0 => format!("{} h", minutes / 60),
        60..=1439 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} d {} h", minutes / 1440, minutes % 1440 / 60),
    }
}

pub(super) fn number(v: f64) -> String {
    if v.fract().abs() < 0.05 || v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
