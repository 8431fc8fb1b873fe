//! The advice on each card (`crate::remediation`): every poll and every accepted command
//! updates the project's memory, and every status recorded carries the advice read from it.

use chrono::{DateTime, Utc};
use pickyassist::Command;

use super::Fleet;
use crate::{
    model::{Advice, Health},
    remediation::{advise, Memory},
};

impl Fleet {
    /// One poll's result: remembered, and what to try next.
    pub(super) fn advise_after_poll(
        &self,
        project_id: i64,
        health: Health,
        queue: Option<i64>,
        now: DateTime<Utc>,
    ) -> Option<Advice> {
        let mut memories = self.memories();
        let memory = memories.entry(project_id).or_default();
        memory.observe(health, queue, now);
        advise(memory, now)
    }

    /// A command upstream accepted.
    pub(super) fn remember_command(&self, project_id: i64, command: Command) {
        let now = self.now();
        self.memories()
            .entry(project_id)
            .or_default()
            .command_sent(command, now);
    }

    /// A removed project's memory goes with it.
    pub(super) fn forget_advice(&self, project_id: i64) {
        self.memories().remove(&project_id);
    }

    fn memories(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, Memory>> {
        self.inner
            .remediation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}
