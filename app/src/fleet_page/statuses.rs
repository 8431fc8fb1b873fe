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
            ids: StoredValue::new(Vec::new()),
            full: RwSignal::new(HashMap::new()),
        }
    }

    /// Starts over from the page's data: every project in brief, the first ones in full.
    pub(super) fn reset(&self, briefs: &[ProjectBrief], cards: Vec<ProjectCard>) {
        self.health.set(briefs.iter().map(|b| b.health).collect());
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
            self.health.maybe_update(|all| match all.get_mut(position) {
                Some(old) if *old != health => {
                    *old = health;
                    true
                }
                _ => false,
            });
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
