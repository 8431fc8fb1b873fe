//! The statuses the fleet page shows: every project's health, and the full status of those
//! that have one, as a few signals for the whole fleet.

use std::collections::HashMap;

use fleet::model::{Health, ProjectBrief, ProjectCard, StatusView};
use leptos::prelude::*;

/// The statuses the page shows, in one place: a handful of reactive nodes for the whole
/// fleet rather than a few per project. (Creating, tracking and dropping reactive nodes was
/// most of the time a big fleet page took to render on the server.)
#[derive(Clone, Copy)]
pub(super) struct FleetStatuses {
    /// Every project's health, by position in the page's list (name order): the counts and
    /// the state filter read this one signal.
    pub(super) health: RwSignal<Vec<Health>>,
    /// When each project's state last changed (Unix seconds), in the same order: the sort by
    /// last change and the "changed in the last hour" filter read it.
    pub(super) changed: RwSignal<Vec<Option<i64>>>,
    /// Each project's message queue as last seen, in the same order: the sort by queue reads it.
    pub(super) queue: RwSignal<Vec<Option<u64>>>,
    /// The project ids in that order (found by a scan: a live event costs microseconds, and a
    /// map would cost a thousand inserts on every render).
    ids: StoredValue<Vec<i64>>,
    /// The full status of each project that has one (its full card or a live event arrived).
    /// The map itself changes only when a project gets its first full status: a card in view
    /// then switches from "loading" to full.
    pub(super) full: RwSignal<HashMap<i64, ArcRwSignal<StatusView>>>,
}

impl FleetStatuses {
    pub(super) fn new() -> Self {
        Self {
            health: RwSignal::new(Vec::new()),
            changed: RwSignal::new(Vec::new()),
            queue: RwSignal::new(Vec::new()),
            ids: StoredValue::new(Vec::new()),
            full: RwSignal::new(HashMap::new()),
        }
    }

    /// Starts over from the page's data: every project in brief, the first ones in full.
    pub(super) fn reset(&self, briefs: &[ProjectBrief], cards: Vec<ProjectCard>) {
        self.health.set(briefs.iter().map(|b| b.health).collect());
        self.changed
            .set(briefs.iter().map(|b| b.changed_at).collect());
        self.queue.set(briefs.iter().map(|b| b.queue).collect());
        self.ids.set_value(briefs.iter().map(|b| b.id).collect());
        self.full.set(
            cards
                .into_iter()
                .map(|c| (c.id, ArcRwSignal::new(c.status)))
                .collect(),
        );
    }

    /// A new status for a project, from a live event or a full card that was asked for.
    pub(super) fn show(&self, project_id: i64, status: StatusView) {
        if let Some(position) = self
            .ids
            .with_value(|ids| ids.iter().position(|id| *id == project_id))
        {
            let health = status.health;
            let queue = status.device.as_ref().and_then(|d| d.message_queue_count);
            // Only a new figure wakes the sort: most events repeat the last one.
            self.queue.maybe_update(|all| match all.get_mut(position) {
                Some(old) if *old != queue => {
                    *old = queue;
                    true
                }
                _ => false,
            });
            let mut changed = false;
            self.health.maybe_update(|all| match all.get_mut(position) {
                Some(old) if *old != health => {
                    *old = health;
                    changed = true;
                    true
                }
                _ => false,
            });
            // The first status after "checking" is not a change the history records either.
            if changed && health != Health::Checking {
                if let Some(at) = status.checked_at {
                    self.changed.update(|all| {
                        if let Some(slot) = all.get_mut(position) {
                            *slot = Some(at.timestamp());
                        }
                    });
                }
            }
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
    pub(super) fn status_of(&self, project_id: i64) -> Option<ArcRwSignal<StatusView>> {
        self.full
            .with_untracked(|full| full.get(&project_id).cloned())
    }

    /// Tracked: whether the project has its full status yet.
    pub(super) fn is_loaded(&self, project_id: i64) -> bool {
        self.full.with(|full| full.contains_key(&project_id))
    }
}
