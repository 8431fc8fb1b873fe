//! Auto-heal (`crate::autoheal` decides): each project's policy (off unless an admin turns
//! it on), each poll fed to the decision, and what it decides run as the actor `auto-heal`
//! through the same command queue, audit rows and budget as anyone's command. When its caps
//! are used up it stops, audits that, and opens an alert saying a person is needed.
//!
//! A decision is written down as sent before the command goes, so two polls arriving at
//! once cannot both send it; the caps therefore count attempts, not successes.

use std::{collections::HashMap, sync::Mutex};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use pickyassist::Command;

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    autoheal::{decide, HealAction, HealMemory},
    db::{self, audit::NewEntry},
    model::{AuditAction, AutoHealPolicy, Health, Role},
};

#[derive(Default)]
pub(super) struct AutoHealState {
    policies: Mutex<HashMap<i64, AutoHealPolicy>>,
    memories: Mutex<HashMap<i64, HealMemory>>,
}

impl AutoHealState {
    fn policies(&self) -> std::sync::MutexGuard<'_, HashMap<i64, AutoHealPolicy>> {
        self.policies.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn memories(&self) -> std::sync::MutexGuard<'_, HashMap<i64, HealMemory>> {
        self.memories.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Fleet {
    /// At start: the stored policies, and what auto-heal did in the last day (from the audit
    /// log), so a restart of the dashboard does not hand it fresh caps.
    pub(super) async fn load_auto_heal(&self) -> anyhow::Result<()> {
        let rows = db::autoheal::policies(&self.inner.db.reader)
            .await
            .context("loading auto-heal policies")?;
        // Read whole and swapped in, not merged: this runs again when another instance changes
        // a policy (see `cluster`), and a merge would keep removed policies and count past
        // restarts twice.
        {
            let mut policies = HashMap::new();
            for (project_id, json) in rows {
                match serde_json::from_str::<AutoHealPolicy>(&json) {
                    Ok(policy) => {
                        policies.insert(project_id, policy);
                    }
                    // Off rather than a dashboard that will not start.
                    Err(e) => {
                        tracing::warn!(project_id, error = %e, "a stored auto-heal policy is damaged; auto-heal is off for the project")
                    }
                }
            }
            *self.inner.auto_heal.policies() = policies;
        }
        let past = self
            .audit_page(
                &Actor::cli(),
                &crate::model::AuditFilter {
                    actor: Some(Actor::auto_heal().name),
                    since: Some(self.now() - chrono::Duration::days(1)),
                    limit: crate::model::PageSize::MAX,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("reading auto-heal's past day: {e}"))?
            .entries;
        let mut memories = self.inner.auto_heal.memories();
        // The sends are read again from the audit log (the rest, outages and others' commands,
        // is what this instance saw).
        for memory in memories.values_mut() {
            memory.forget_sends();
        }
        // Oldest first, as they happened.
        for row in past.into_iter().rev() {
            let at = DateTime::parse_from_rfc3339(&row.at).map(|t| t.with_timezone(&Utc));
            let (Some(project_id), Ok(at)) = (row.project_id, at) else {
                continue;
            };
            let memory = memories.entry(project_id).or_default();
            match row.command.as_deref().map(str::parse::<Command>) {
                Some(Ok(command)) => memory.sent(command, at),
                _ if row.action == AuditAction::AutoHealGaveUp => memory.gave_up(at),
                _ => {}
            }
        }
        Ok(())
    }

    pub fn auto_heal_policy(
        &self,
        actor: &Actor,
        project_id: i64,
    ) -> Result<AutoHealPolicy, FleetError> {
        actor.require(Role::Viewer, "see auto-heal")?;
        self.project(project_id)
            .ok_or(FleetError::ProjectNotFound(project_id))?;
        Ok(self
            .inner
            .auto_heal
            .policies()
            .get(&project_id)
            .copied()
            .unwrap_or_default())
    }

    /// Sets a project's policy (admins): what the server may send by itself.
    pub async fn set_auto_heal_policy(
        &self,
        actor: &Actor,
        project_id: i64,
        policy: AutoHealPolicy,
    ) -> Result<AutoHealPolicy, FleetError> {
        actor.require(Role::Admin, "change auto-heal")?;
        let project = self
            .project(project_id)
            .ok_or(FleetError::ProjectNotFound(project_id))?;
        if let Some(problem) = policy.problem() {
            return Err(FleetError::Invalid(problem));
        }
        let json = serde_json::to_string(&policy)
            .map_err(|e| FleetError::Internal(anyhow::Error::new(e)))?;
        db::autoheal::put(&self.inner.db.writer, project_id, &json, &actor.name)
            .await
            .map_err(|e| FleetError::Internal(anyhow::Error::new(e).context("storing a policy")))?;
        self.inner.auto_heal.policies().insert(project_id, policy);
        self.publish_change(super::cluster::Change::AutoHeal).await;
        let detail = if policy.enabled {
            format!(
                "on: restart after {} min in TIMEOUT (at most {} an hour), restart-server if \
                 that did not help within {} min (at most {} a day)",
                policy.restart_after_minutes,
                policy.restarts_per_hour,
                policy.restart_server_after_minutes,
                policy.restart_servers_per_day
            )
        } else {
            "off".to_owned()
        };
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::AutoHealChanged),
                project_id: Some(project_id),
                project_name: Some(&project.name),
                detail: Some(&detail),
                ..Default::default()
            },
        )
        .await?;
        Ok(policy)
    }

    /// One poll's result: what auto-heal does about it (sent on its way, not awaited), and
    /// the line its card shows.
    pub(super) fn auto_heal_after_poll(
        &self,
        project_id: i64,
        health: Health,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let recovered = self
            .inner
            .auto_heal
            .memories()
            .get_mut(&project_id)
            .is_some_and(|m| m.take_recovered_after_call(health));
        if recovered {
            // Back: the alert that called a person is resolved, whatever the policy is now.
            let pool = self.inner.db.writer.clone();
            tokio::spawn(async move {
                if let Err(e) = db::alerts::resolve_kind(&pool, project_id, "auto_heal", now).await
                {
                    tracing::error!(project_id, error = %e, "could not resolve auto-heal's alert");
                }
            });
        }
        let policy = self
            .inner
            .auto_heal
            .policies()
            .get(&project_id)
            .copied()
            .filter(|p| p.enabled)?;
        let quiet = self.project_quiet(project_id);
        let (action, note, since) = {
            let mut memories = self.inner.auto_heal.memories();
            let memory = memories.entry(project_id).or_default();
            memory.observe(health, now);
            let action = decide(&policy, memory, health, quiet.is_some(), now);
            match action {
                Some(HealAction::Send(command)) => memory.sent(command, now),
                Some(HealAction::GiveUp) => memory.gave_up(now),
                None => {}
            }
            (
                action,
                card_line(memory, quiet.as_ref(), now),
                memory.down_since(),
            )
        };
        if let Some(action) = action {
            let fleet = self.clone();
            tokio::spawn(async move {
                fleet
                    .act(project_id, action, health, since.unwrap_or(now))
                    .await
            });
        }
        note
    }

    async fn act(&self, project_id: i64, action: HealAction, health: Health, since: DateTime<Utc>) {
        let Some(project) = self.project(project_id) else {
            return;
        };
        match action {
            HealAction::Send(command) => {
                tracing::info!(project_id, command = %command, "auto-heal sends a command");
                if let Err(e) = self
                    .enqueue_command(&Actor::auto_heal(), project, command, None)
                    .await
                {
                    tracing::warn!(project_id, error = %e, "auto-heal's command was not sent");
                }
            }
            HealAction::GiveUp => {
                tracing::warn!(project_id, "auto-heal used up its caps; a person is needed");
                let alert = self.alert_person_needed(project_id, health, since).await;
                let detail = match &alert {
                    Ok(id) => format!(
                        "still {} after its restarts: alert {id} asks for a person",
                        health.label()
                    ),
                    Err(e) => {
                        tracing::error!(project_id, error = %format!("{e:#}"), "could not open auto-heal's alert");
                        format!("still {} after its restarts", health.label())
                    }
                };
                let audited = self
                    .audit(
                        &Actor::auto_heal(),
                        NewEntry {
                            action: Some(AuditAction::AutoHealGaveUp),
                            project_id: Some(project_id),
                            project_name: Some(&project.name),
                            detail: Some(&detail),
                            ..Default::default()
                        },
                    )
                    .await;
                if let Err(e) = audited {
                    tracing::error!(project_id, error = %e, "could not audit auto-heal giving up");
                }
            }
        }
    }

    /// Someone else's command that upstream accepted: auto-heal gives it its time.
    pub(super) fn auto_heal_saw_command(&self, project_id: i64, command: Command) {
        let now = self.now();
        if let Some(memory) = self.inner.auto_heal.memories().get_mut(&project_id) {
            memory.others_sent(command, now);
        }
    }

    /// A removed project's policy and memory go with it (the row goes by cascade).
    pub(super) fn forget_auto_heal(&self, project_id: i64) {
        self.inner.auto_heal.policies().remove(&project_id);
        self.inner.auto_heal.memories().remove(&project_id);
    }
}

/// The card's line about auto-heal, when there is something to say.
fn card_line(
    memory: &HealMemory,
    quiet: Option<&crate::model::Quiet>,
    now: DateTime<Utc>,
) -> Option<String> {
    if memory.gave_up_today(now) {
        return Some("Auto-heal stopped: its restarts did not help; a person is needed.".into());
    }
    if let Some(quiet) = quiet.filter(|_| memory.down_since().is_some()) {
        return Some(format!("Auto-heal paused: {}.", quiet.as_str()));
    }
    memory.last_sent().map(|(command, at)| {
        let what = match command {
            Command::RestartServer => "restarted the server",
            _ => "restarted the app",
        };
        format!("Auto-heal {what} at {}.", at.format("%H:%M UTC"))
    })
}
