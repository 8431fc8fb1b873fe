//! Alerts in the service: the state the poller's rounds feed, and the configuration every door
//! changes through here.
//!
//! * `config` — channels, rules, mutes and maintenance windows (admins configure, operators
//!   mute, everybody reads); each change audited.
//! * `incidents` — each poll round through the engine, the alerts and their outbox rows
//!   written in one transaction; acknowledging; the alert lists.
//! * `outbox` — the dispatcher: sends due deliveries, each in a task of its own, and retries
//!   with backoff for a day.
//!
//! The configuration is cached in memory ([`AlertConfig`]) and reloaded from the database after
//! every change, so a round reads it without a query.

use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, RwLock},
};

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::Fleet;
use crate::{
    alerts::{
        ack::LinkKey,
        engine::{self, Engine, OpenAlert},
        schedule::Schedule,
    },
    db,
    model::{parse_time, AlertKind, AlertRule, Health, Quiet},
};

mod acknowledge;
mod checks;
mod config;
mod incidents;
mod outbox;

pub use incidents::Checked;
pub use outbox::{retry_delay, ATTEMPT_LEASE};

/// A rule's or the storm guard's share, in percent: more than this many of the fleet's projects
/// opening alerts in one round is a storm.
pub const DEFAULT_STORM_PERCENT: u32 = 50;

pub(super) struct AlertState {
    engine: Mutex<Engine>,
    config: RwLock<AlertConfig>,
    http: reqwest::Client,
    link_key: LinkKey,
    /// The dashboard's address for links in messages, without a trailing slash.
    public_url: String,
    storm_percent: u32,
    /// Woken when the outbox has new rows.
    wake: tokio::sync::Notify,
    /// Deliveries being sent right now (so the dispatcher does not start one twice).
    sending: Mutex<HashSet<i64>>,
}

impl AlertState {
    pub(super) fn new(link_key: LinkKey, public_url: &str, storm_percent: u32) -> Self {
        Self {
            engine: Mutex::default(),
            config: RwLock::default(),
            http: crate::alerts::send::http_client(),
            link_key,
            public_url: public_url.trim_end_matches('/').to_owned(),
            storm_percent,
            wake: tokio::sync::Notify::new(),
            sending: Mutex::default(),
        }
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks a delivery as being sent; false if it already was.
    fn sending_insert(&self, delivery_id: i64) -> bool {
        self.sending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(delivery_id)
    }

    fn sending_remove(&self, delivery_id: i64) {
        self.sending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&delivery_id);
    }

    fn config(&self) -> std::sync::RwLockReadGuard<'_, AlertConfig> {
        self.config.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// Rules, enabled channels, mutes, windows and intended disconnects, as last loaded.
#[derive(Debug, Default)]
pub(super) struct AlertConfig {
    default_rule: AlertRule,
    project_rules: HashMap<i64, AlertRule>,
    enabled_channels: HashSet<i64>,
    mutes: HashMap<i64, DateTime<Utc>>,
    windows: Vec<(Option<i64>, Schedule)>,
    intended: HashMap<i64, String>,
}

impl AlertConfig {
    fn rule(&self, project_id: i64) -> &AlertRule {
        self.project_rules
            .get(&project_id)
            .unwrap_or(&self.default_rule)
    }

    /// Why a project alerts nobody at `now`, if it does not.
    fn quiet(&self, project_id: i64, now: DateTime<Utc>) -> Option<Quiet> {
        if let Some(by) = self.intended.get(&project_id) {
            return Some(Quiet::DisconnectedOnPurpose { by: by.clone() });
        }
        if let Some(until) = self.mutes.get(&project_id).filter(|until| **until > now) {
            return Some(Quiet::Muted {
                until: until.format("%Y-%m-%d %H:%M UTC").to_string(),
            });
        }
        self.in_maintenance(project_id, now)
            .then_some(Quiet::Maintenance)
    }

    /// Whether one of the project's (or the whole fleet's) maintenance windows covers `now`.
    fn in_maintenance(&self, project_id: i64, now: DateTime<Utc>) -> bool {
        self.windows.iter().any(|(project, schedule)| {
            project.is_none_or(|p| p == project_id) && schedule.covers(now)
        })
    }

    /// The enabled channels of a rule for an alert of this kind.
    fn channels_for(&self, rule: &AlertRule, kind: AlertKind) -> Vec<i64> {
        let listed = match kind {
            AlertKind::Device | AlertKind::AutoHeal => &rule.device_channels,
            AlertKind::Dashboard => &rule.fault_channels,
            AlertKind::Storm | AlertKind::Test => &self.default_rule.fault_channels,
        };
        listed
            .iter()
            .copied()
            .filter(|id| self.enabled_channels.contains(id))
            .collect()
    }
}

/// The engine's view of the configuration during one round.
struct RoundContext<'a> {
    config: &'a AlertConfig,
    now: DateTime<Utc>,
}

impl engine::Context for RoundContext<'_> {
    fn rule(&self, project_id: i64) -> AlertRule {
        self.config.rule(project_id).clone()
    }

    fn quiet(&self, project_id: i64, _health: Health) -> Option<Quiet> {
        self.config.quiet(project_id, self.now)
    }
}

impl Fleet {
    /// Reads the alert configuration again (after a change, and at start).
    pub(super) async fn reload_alert_config(&self) -> anyhow::Result<()> {
        let pool = &self.inner.db.reader;
        let mut config = AlertConfig::default();
        for (project_id, json) in db::alerts::rules(pool)
            .await
            .context("loading alert rules")?
        {
            let rule: AlertRule = serde_json::from_str(&json)
                .with_context(|| format!("the stored alert rule for {project_id} is damaged"))?;
            if project_id == 0 {
                config.default_rule = rule;
            } else {
                config.project_rules.insert(project_id, rule);
            }
        }
        config.enabled_channels = db::alerts::channels(pool)
            .await
            .context("loading alert channels")?
            .into_iter()
            .filter(|c| c.enabled)
            .map(|c| c.id)
            .collect();
        for mute in db::alerts::mutes(pool).await.context("loading mutes")? {
            if let Ok(until) = parse_time(&mute.until, "until") {
                config.mutes.insert(mute.project_id, until);
            }
        }
        for window in db::alerts::windows(pool).await.context("loading windows")? {
            match config::window_view(&window).and_then(|w| Schedule::parse(&w.schedule)) {
                Ok(schedule) => config.windows.push((window.project_id, schedule)),
                Err(e) => {
                    tracing::warn!(id = window.id, error = %e, "skipping a damaged maintenance window")
                }
            }
        }
        config.intended = db::alerts::intended_disconnects(pool)
            .await
            .context("loading intended disconnects")?
            .into_iter()
            .collect();
        *self
            .inner
            .alerts
            .config
            .write()
            .unwrap_or_else(|p| p.into_inner()) = config;
        Ok(())
    }

    /// At start: the configuration, and the alerts left open, back into the engine.
    pub(super) async fn load_alerts(&self) -> anyhow::Result<()> {
        self.reload_alert_config().await?;
        let open = db::alerts::open_alerts(&self.inner.db.reader)
            .await
            .context("loading open alerts")?;
        let mut engine = self.inner.alerts.engine();
        // From scratch: on a takeover (see `cluster`) what this instance remembered is stale.
        *engine = Engine::default();
        let mut storm_members: HashMap<i64, Vec<i64>> = HashMap::new();
        for row in &open {
            if let Some(storm) = row.storm_id {
                if let Some(project) = row.project_id {
                    storm_members.entry(storm).or_default().push(project);
                }
            }
        }
        for row in open {
            let since = parse_time(&row.since, "since").unwrap_or_else(|_| Utc::now());
            match (row.kind(), row.project_id) {
                (AlertKind::Storm, _) => {
                    engine.restore_storm(row.id, storm_members.remove(&row.id).unwrap_or_default())
                }
                (AlertKind::Device | AlertKind::Dashboard, Some(project_id)) => engine.restore(
                    project_id,
                    OpenAlert {
                        id: row.id,
                        kind: row.kind(),
                        since,
                        repeats: row.repeats.clamp(0, i64::from(u32::MAX)) as u32,
                        next_repeat_at: row
                            .next_repeat_at
                            .as_deref()
                            .and_then(|t| parse_time(t, "next_repeat_at").ok()),
                        acknowledged: row.acknowledged_at.is_some(),
                        storm_id: row.storm_id,
                        silenced: row.silenced.clone(),
                    },
                ),
                _ => {}
            }
        }
        Ok(())
    }

    /// Why the project alerts nobody right now (for its card).
    pub fn project_quiet(&self, project_id: i64) -> Option<Quiet> {
        self.inner.alerts.config().quiet(project_id, self.now())
    }

    /// Whether a maintenance window covers the project now: its downtime is planned.
    pub(crate) fn project_in_maintenance(&self, project_id: i64, now: DateTime<Utc>) -> bool {
        self.inner.alerts.config().in_maintenance(project_id, now)
    }
}
