//! The project page's story: state changes (and how long each lasted) and the project's
//! audit rows, newest first, in one list.

use chrono::{DateTime, Utc};
use fleet::model::{AuditEntry, Health, StateChange};
use leptos::{either::Either, prelude::*};

use super::{duration, hm_day, parse};

/// One line of the timeline: a change of state or an audit row.
enum Event {
    Change(StateChange, Option<DateTime<Utc>>),
    Audit(AuditEntry),
}

#[component]
pub(super) fn Timeline(
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
                        {change.maintenance.then(|| view! {
                            <span class="badge badge--maintenance" title="Seen during a maintenance window: planned, left out of uptime">"Maintenance"</span>
                        })}
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

#[cfg(test)]
mod tests {
    use super::super::duration;

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(duration(30), "under a minute");
        assert_eq!(duration(40 * 60), "40 min");
        assert_eq!(duration(3 * 3600), "3 h");
        assert_eq!(duration(3 * 3600 + 5 * 60), "3 h 5 min");
        assert_eq!(duration(2 * 86_400 + 4 * 3600), "2 d 4 h");
    }
}
