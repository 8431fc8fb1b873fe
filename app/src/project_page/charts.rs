//! The project page's pictures: the states over the range as a band of runs, and a line
//! chart (queue, latency), both SVG with their numbers in words.

use chrono::{DateTime, Duration, Utc};
use fleet::model::{HistoryBucket, Shown};
use leptos::prelude::*;

use super::{duration, hm, hm_day, number};

/// The chart area's size in SVG units; it scales to the page's width.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;

fn x_of(at: DateTime<Utc>, from: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    let span = (now - from).num_seconds().max(1) as f64;
    ((at - from).num_seconds() as f64 / span * WIDTH).clamp(0.0, WIDTH)
}

/// Runs of buckets in the same state, as (start, end, state): a day of minutes in one state
/// is one rectangle, and a gap (no bucket) ends a run.
pub(super) fn runs(
    timed: &[(DateTime<Utc>, HistoryBucket)],
    step: Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, Shown)> {
    let mut runs: Vec<(DateTime<Utc>, DateTime<Utc>, Shown)> = Vec::new();
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
pub(super) fn StateBand(
    runs: Vec<(DateTime<Utc>, DateTime<Utc>, Shown)>,
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
pub(super) fn Chart(
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

#[cfg(test)]
mod tests {
    use super::super::bucket_time;
    use super::*;
    use fleet::model::{Health, PollCounts, ProjectHistory, Resolution};

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
                (
                    "10:00".into(),
                    "10:02".into(),
                    Shown::State(Health::Connected)
                ),
                (
                    "10:02".into(),
                    "10:03".into(),
                    Shown::State(Health::Timeout)
                ),
                (
                    "10:04".into(),
                    "10:05".into(),
                    Shown::State(Health::Timeout)
                ),
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
}
