//! `/projects/{id}`: one project's history. Uptime over 24 hours to 90 days, its states over
//! the chosen range as a band, the message queue and upstream's latency as charts, and a
//! timeline where state changes and the project's audit rows read as one story ("restart at
//! 14:02 → CONNECTED at 14:03").
//!
//! Rendered on the server only, charts included (SVG with a text summary for screen
//! readers): the page needs no wasm and works without JavaScript.

use chrono::{DateTime, Duration, Utc};
use fleet::model::{
    percent, AuditEntry, Health, HistoryBucket, ProjectCard, ProjectHistory, StateChange, Uptime,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The ranges the page offers, with the roll-ups it reads for each.
const RANGES: [(&str, &str, i64); 4] = [
    ("24h", "24 hours", 24),
    ("7d", "7 days", 7 * 24),
    ("30d", "30 days", 30 * 24),
    ("90d", "90 days", 90 * 24),
];

/// Everything the page shows, in one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectPageData {
    pub card: ProjectCard,
    pub uptime: Uptime,
    /// The range shown (`24h`, `7d`, …).
    pub range: String,
    pub history: ProjectHistory,
    /// State changes in the range, newest first (at most 200).
    pub changes: Vec<StateChange>,
    /// The state in force when the range starts, if the history knows it.
    pub state_at_start: Option<Health>,
    /// The project's audit rows in the range, newest first (at most 200).
    pub audit: Vec<AuditEntry>,
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
    fleet.flush_history().await?;
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
    let history = fleet
        .project_history(&actor, id, from, now, resolution)
        .await?;
    let changes = fleet
        .project_changes(&actor, id, from, now, None, 200)
        .await?
        .changes;
    let state_at_start = fleet.state_at(id, from).await?;
    let audit = fleet
        .audit_page(
            &actor,
            &AuditFilter {
                project_id: Some(id),
                since: Some(from),
                limit: PageSize::new(200).map_err(|_| AppError::Internal)?,
                ..Default::default()
            },
        )
        .await?
        .entries;
    Ok(ProjectPageData {
        uptime: fleet.project_uptime(&actor, id).await?,
        card,
        range: range.to_owned(),
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
        history,
        changes,
        state_at_start,
        audit,
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
    let step = Duration::seconds(history.resolution.seconds());
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
            </div>
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
            <h2 class="project__section">"What happened"</h2>
            <Timeline changes audit state_at_start now/>
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

fn parse(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn bucket_time(bucket: &HistoryBucket) -> Option<DateTime<Utc>> {
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

/// The chart area's size in SVG units; it scales to the page's width.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;

fn x_of(at: DateTime<Utc>, from: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    let span = (now - from).num_seconds().max(1) as f64;
    ((at - from).num_seconds() as f64 / span * WIDTH).clamp(0.0, WIDTH)
}

/// Runs of buckets in the same state, as (start, end, state): a day of minutes in one state
/// is one rectangle, and a gap (no bucket) ends a run.
fn runs(
    timed: &[(DateTime<Utc>, HistoryBucket)],
    step: Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, Health)> {
    let mut runs: Vec<(DateTime<Utc>, DateTime<Utc>, Health)> = Vec::new();
    for (start, bucket) in timed {
        let (start, Some(state)) = (*start, bucket.counts.worst()) else {
            continue;
        };
        match runs.last_mut() {
            Some((_, end, last)) if *end == start && *last == state => *end = start + step,
            _ => runs.push((start, start + step, state)),
        }
    }
    runs
}

#[component]
fn StateBand(
    runs: Vec<(DateTime<Utc>, DateTime<Utc>, Health)>,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> impl IntoView {
    let mut seconds: std::collections::BTreeMap<&'static str, i64> = Default::default();
    for (start, end, state) in &runs {
        *seconds.entry(state.label()).or_default() += (*end - *start).num_seconds();
    }
    let summary = if runs.is_empty() {
        "No data for this range: the dashboard made no check.".to_owned()
    } else {
        let parts: Vec<String> = seconds
            .iter()
            .map(|(label, secs)| format!("{label} {}", duration(*secs)))
            .collect();
        format!("{}; the rest no data.", parts.join(", "))
    };
    let rects = runs
        .into_iter()
        .map(|(start, end, state)| {
            let x = x_of(start, from, now);
            let width = (x_of(end, from, now) - x).max(0.5);
            let label = format!("{}–{}: {}", hm(start), hm(end), state.label());
            view! {
                <rect class=format!("band__run band__run--{}", state.slug()) x=format!("{x:.1}") y="0" width=format!("{width:.1}") height="24">
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <figure class="band">
            <svg viewBox=format!("0 0 {WIDTH} 24") preserveAspectRatio="none" role="img" aria-label=summary.clone() class="band__svg">
                <rect class="band__nodata" x="0" y="0" width=WIDTH.to_string() height="24"/>
                {rects}
            </svg>
            <figcaption class="band__axis">
                <span>{hm_day(from)}</span>
                <span class="muted">{summary}</span>
                <span>{hm_day(now)}</span>
            </figcaption>
        </figure>
    }
}

#[component]
fn Chart(
    title: &'static str,
    unit: &'static str,
    points: Vec<(DateTime<Utc>, f64)>,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> impl IntoView {
    // A day of minutes is more points than the chart has pixels: average them in runs.
    let points = thin(points, MAX_POINTS);
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let min = points.iter().map(|(_, v)| *v).fold(f64::INFINITY, f64::min);
    let top = if max > 0.0 { max } else { 1.0 };
    let y = |v: f64| HEIGHT - v / top * (HEIGHT - 8.0);
    let summary = if points.is_empty() {
        format!("{title}: no data for this range.")
    } else {
        let avg = points.iter().map(|(_, v)| *v).sum::<f64>() / points.len() as f64;
        format!(
            "{title}: from {} to {}{unit}, {} on average.",
            number(min),
            number(max),
            number(avg)
        )
    };
    let path = points
        .iter()
        .enumerate()
        .map(|(i, (at, v))| {
            format!(
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { "L" },
                x_of(*at, from, now),
                y(*v)
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let id = title.to_lowercase().replace(' ', "-");
    // Few points make no visible line: each gets a dot as well.
    let dots = (points.len() <= 48)
        .then(|| {
            points
                .iter()
                .map(|(at, v)| {
                    view! { <circle class="chart__dot" cx=format!("{:.1}", x_of(*at, from, now)) cy=format!("{:.1}", y(*v)) r="3"/> }
                })
                .collect_view()
        });
    view! {
        <figure class="chart">
            <figcaption class="chart__title" id=format!("{id}-title")>{title}</figcaption>
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                preserveAspectRatio="none"
                role="img"
                aria-labelledby=format!("{id}-title {id}-desc")
                class="chart__svg"
            >
                <desc id=format!("{id}-desc")>{summary.clone()}</desc>
                <line class="chart__axis" x1="0" y1=HEIGHT.to_string() x2=WIDTH.to_string() y2=HEIGHT.to_string()/>
                <path class="chart__line" d=path vector-effect="non-scaling-stroke"/>
                {dots}
            </svg>
            <p class="chart__scale muted">
                <span>{format!("max {}{unit}", number(max))}</span>
                <span>{summary}</span>
            </p>
        </figure>
    }
}

/// Points a chart draws at most.
const MAX_POINTS: usize = 300;

/// At most `max` points: each run of consecutive points becomes one, at the run's first time,
/// with the run's mean.
fn thin(points: Vec<(DateTime<Utc>, f64)>, max: usize) -> Vec<(DateTime<Utc>, f64)> {
    if points.len() <= max {
        return points;
    }
    let run = points.len().div_ceil(max);
    points
        .chunks(run)
        .map(|chunk| {
            let mean = chunk.iter().map(|(_, v)| v).sum::<f64>() / chunk.len() as f64;
            (chunk[0].0, mean)
        })
        .collect()
}

/// One line of the timeline: a change of state or an audit row.
enum Event {
    Change(StateChange, Option<DateTime<Utc>>),
    Audit(AuditEntry),
}

#[component]
fn Timeline(
    changes: Vec<StateChange>,
    audit: Vec<AuditEntry>,
    state_at_start: Option<Health>,
    now: DateTime<Utc>,
) -> impl IntoView {
    // Each change lasted until the next (newer) one, or is still in force.
    let mut events: Vec<(DateTime<Utc>, Event)> = Vec::new();
    let mut until: Option<DateTime<Utc>> = None;
    for change in changes {
        let Some(at) = parse(&change.at) else {
            continue;
        };
        events.push((at, Event::Change(change, until)));
        until = Some(at);
    }
    for row in audit {
        if let Some(at) = parse(&row.at) {
            events.push((at, Event::Audit(row)));
        }
    }
    events.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    if events.is_empty() {
        let state = state_at_start.map_or("no recorded state".to_owned(), |h| h.label().to_owned());
        return Either::Left(view! {
            <p class="empty">{format!("Nothing happened in this range: the project stayed in {state}.")}</p>
        });
    }
    let items = events
        .into_iter()
        .map(|(at, event)| match event {
            Event::Change(change, until) => {
                let lasted = match until {
                    Some(end) => format!("for {}", duration((end - at).num_seconds())),
                    None => format!("for {} so far", duration((now - at).num_seconds())),
                };
                let from = change.from.map(|h| h.label()).unwrap_or("first check");
                let to = change.to;
                view! {
                    <li class="timeline__item timeline__item--change">
                        <time datetime=change.at.clone()>{hm_day(at)}</time>
                        <span class=format!("badge badge--{}", to.slug())>{to.label()}</span>
                        <span>{format!("from {from}, {lasted}")}</span>
                        {change.message.map(|m| view! { <span class="muted timeline__detail">{m}</span> })}
                    </li>
                }
                .into_any()
            }
            Event::Audit(row) => {
                let what = match &row.command {
                    Some(command) => format!("{} sent {command}", row.actor),
                    None => format!("{}: {}", row.actor, row.action.label()),
                };
                view! {
                    <li class="timeline__item timeline__item--audit">
                        <time datetime=row.at.clone()>{hm_day(at)}</time>
                        <span class=format!("badge badge--{}", row.outcome.slug())>{row.outcome.label()}</span>
                        <span>{what}</span>
                        {row.detail.map(|d| view! { <span class="muted timeline__detail">{d}</span> })}
                    </li>
                }
                .into_any()
            }
        })
        .collect_view();
    Either::Right(view! { <ol class="timeline">{items}</ol> })
}

/// "14:03".
fn hm(at: DateTime<Utc>) -> String {
    at.format("%H:%M").to_string()
}

/// "Dec 2, 14:03 UTC".
fn hm_day(at: DateTime<Utc>) -> String {
    at.format("%b %-d, %H:%M UTC").to_string()
}

/// "40 min", "3 h 5 min", "2 d 4 h".
fn duration(seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
    match minutes {
        0 => "under a minute".to_owned(),
        1..=59 => format!("{minutes} min"),
        60..=1439 if minutes % 60 == 0 => format!("{} h", minutes / 60),
        60..=1439 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} d {} h", minutes / 1440, minutes % 1440 / 60),
    }
}

fn number(v: f64) -> String {
    if v.fract().abs() < 0.05 || v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet::model::{PollCounts, Resolution};

    fn bucket(start: &str, connected: u32, timeout: u32) -> HistoryBucket {
        HistoryBucket {
            start: start.into(),
            counts: PollCounts {
                polls: connected + timeout,
                connected,
                timeout,
                ..Default::default()
            },
            queue_min: None,
            queue_avg: None,
            queue_max: None,
            latency_avg_ms: None,
            latency_max_ms: None,
        }
    }

    #[test]
    fn buckets_in_one_state_make_one_run_and_a_gap_ends_it() {
        let history = ProjectHistory {
            project_id: 1,
            resolution: Resolution::Minute,
            from: String::new(),
            to: String::new(),
            buckets: vec![
                bucket("2026-12-02T10:00:00Z", 2, 0),
                bucket("2026-12-02T10:01:00Z", 2, 0),
                bucket("2026-12-02T10:02:00Z", 1, 1),
                // 10:03 missing: no data
                bucket("2026-12-02T10:04:00Z", 1, 1),
            ],
        };
        let timed: Vec<_> = history
            .buckets
            .iter()
            .map(|b| (bucket_time(b).unwrap(), b.clone()))
            .collect();
        let runs: Vec<_> = runs(&timed, Duration::minutes(1))
            .into_iter()
            .map(|(s, e, h)| (hm(s), hm(e), h))
            .collect();
        assert_eq!(
            runs,
            [
                ("10:00".into(), "10:02".into(), Health::Connected),
                ("10:02".into(), "10:03".into(), Health::Timeout),
                ("10:04".into(), "10:05".into(), Health::Timeout),
            ]
        );
    }

    #[test]
    fn a_day_of_minutes_is_thinned_to_what_a_chart_can_show() {
        let start = DateTime::from_timestamp(0, 0).unwrap();
        let points: Vec<_> = (0..1440)
            .map(|m| (start + Duration::minutes(m), m as f64))
            .collect();
        let thinned = thin(points, MAX_POINTS);
        assert!(thinned.len() <= MAX_POINTS, "{}", thinned.len());
        assert_eq!(thinned[0], (start, 2.0), "the mean of minutes 0 to 4");
        let few = vec![(start, 1.0)];
        assert_eq!(thin(few.clone(), MAX_POINTS), few);
    }

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(duration(30), "under a minute");
        assert_eq!(duration(40 * 60), "40 min");
        assert_eq!(duration(3 * 3600), "3 h");
        assert_eq!(duration(3 * 3600 + 5 * 60), "3 h 5 min");
        assert_eq!(duration(2 * 86_400 + 4 * 3600), "2 d 4 h");
    }
}
