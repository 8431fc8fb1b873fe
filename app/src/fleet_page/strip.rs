//! A card's last 24 hours: a segment an hour in the colour of the worst state any check found
//! in it (the badges' colours; hollow where nobody checked), and the uptime over them. Each
//! segment names its hour and state on hover; the strip as a whole says the same in words for
//! screen readers, so keyboard users do not tab through 24 stops per card.

use fleet::model::{percent, CardHistory, Shown};
use leptos::prelude::*;

#[component]
pub(super) fn Strip(history: Signal<Option<CardHistory>>) -> impl IntoView {
    move || {
        history.get().map(|history| {
            let uptime = percent(history.uptime());
            let summary = summary(&history, &uptime);
            // The zone as of the strip's end: the viewer's, named (an offset is enough for 24 h).
            let zone = crate::prefs::zone_at(
                chrono::DateTime::from_timestamp(history.strip_end, 0).unwrap_or_default(),
            );
            let segments = history
                .hours()
                .map(|(start, state)| {
                    let slug = state.map_or("nodata", Shown::slug);
                    let label = state.map_or("no data", Shown::label);
                    let title = format!("{}: {label}", hour_range(start, &zone));
                    view! { <span class=format!("strip__seg strip__seg--{slug}") title=title></span> }
                })
                .collect_view();
            view! {
                <div class="strip">
                    <div class="strip__bar" role="img" aria-label=summary>{segments}</div>
                    <span class="strip__uptime" title="Uptime over the last 24 hours">{uptime}</span>
                </div>
            }
        })
    }
}

/// "Last 24 hours, uptime 99.8 %: 22 h Connected, 1 h Timeout, 1 h no data."
fn summary(history: &CardHistory, uptime: &str) -> String {
    let mut hours: Vec<(&'static str, u32)> = Vec::new();
    for (_, state) in history.hours() {
        let label = state.map_or("no data", Shown::label);
        match hours.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => hours.push((label, 1)),
        }
    }
    let parts: Vec<String> = hours.iter().map(|(l, n)| format!("{n} h {l}")).collect();
    format!("Last 24 hours, uptime {uptime}: {}.", parts.join(", "))
}

/// "14:00–15:00 CET", from the hour's start in Unix seconds, in the viewer's zone. By hand:
/// chrono's formatting machinery would otherwise join the fleet page's wasm for this alone.
fn hour_range(start: i64, zone: &crate::prefs::ZoneAt) -> String {
    const DAY: i64 = 24 * 60;
    let from = (start + i64::from(zone.offset_secs))
        .div_euclid(60)
        .rem_euclid(DAY);
    let to = (from + 60) % DAY;
    format!(
        "{:02}:{:02}–{:02}:{:02} {}",
        from / 60,
        from % 60,
        to / 60,
        to % 60,
        zone.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strip_reads_as_hours_per_state() {
        let history = CardHistory {
            strip: "cct-".into(),
            strip_end: 23 * 3600,
            uptime_permille: Some(666),
        };
        assert_eq!(
            summary(&history, "66.6 %"),
            "Last 24 hours, uptime 66.6 %: 2 h Connected, 1 h Timeout, 1 h no data."
        );
        let utc = crate::prefs::ZoneAt {
            offset_secs: 0,
            name: "UTC".into(),
        };
        assert_eq!(hour_range(23 * 3600, &utc), "23:00–00:00 UTC");
        assert_eq!(hour_range(-3600, &utc), "23:00–00:00 UTC");
        let india = crate::prefs::ZoneAt {
            offset_secs: 5 * 3600 + 1800,
            name: "IST".into(),
        };
        assert_eq!(hour_range(23 * 3600, &india), "04:30–05:30 IST");
    }
}
