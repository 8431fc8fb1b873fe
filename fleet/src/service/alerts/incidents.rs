//! Alerts from poll rounds: each round goes through the engine; its decisions, the alerts and
//! one outbox row per message and channel, are written in one transaction, and only then does
//! the engine take them (so a failed write is decided again next round, not lost). Also:
//! acknowledging, and the alert lists.
//!
//! Long because the round's write is one transaction over every decision; the lists and
//! acknowledging are the part to move out when it next grows.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use pickyassist::ErrorKind;

use super::{super::Fleet, RoundContext};
use crate::{
    alerts::{
        ack::LINK_LIFETIME,
        engine::{Decision, Observation, OpenAlert},
        message::{AlertMessage, Facts},
    },
    db::{self, Conn},
    model::{AlertEvent, AlertKind, Health},
};

/// One status check the poller made: which project, what it showed, and the call's outcome.
#[derive(Debug, Clone, Copy)]
pub struct Checked {
    pub project_id: i64,
    pub health: Health,
    pub outcome: Result<(), ErrorKind>,
}

impl Fleet {
    /// Runs a finished round through the alert engine. Never fails the poller: an error is
    /// logged and counted, and the same decisions come again next round.
    pub async fn evaluate_alerts(&self, checked: &[Checked]) {
        if let Err(e) = self.try_evaluate_alerts(checked).await {
            metrics::counter!("picky_fleet_alert_evaluation_errors_total").increment(1);
            tracing::error!(error = %format!("{e:#}"), "alert evaluation failed");
        }
    }

    async fn try_evaluate_alerts(&self, checked: &[Checked]) -> anyhow::Result<()> {
        let now = self.now();
        self.end_intended_disconnects(checked).await?;
        let observations: Vec<Observation> = checked
            .iter()
            .map(|c| Observation {
                project_id: c.project_id,
                health: c.health,
            })
            .collect();
        let fleet_size = self.projects_read().len();
        let alerts = &self.inner.alerts;
        let decisions = {
            let config = alerts.config();
            let context = RoundContext {
                config: &config,
                now,
            };
            alerts.engine().round(
                &observations,
                &context,
                now,
                fleet_size,
                alerts.storm_percent,
                self.upstream_outage(),
            )
        };
        if decisions.is_empty() {
            return Ok(());
        }
        let names = self.project_names();
        let mut tx = self.inner.db.writer.begin().await?;
        let mut applied = Vec::new();
        // The storm first: this round's members need its id.
        let mut new_storm = None;
        for decision in &decisions {
            if let Decision::OpenStorm { affected, since } = decision {
                let id = db::alerts::insert_alert(
                    tx.conn(),
                    db::alerts::NewAlert {
                        kind: AlertKind::Storm,
                        project_id: None,
                        project_name: None,
                        state: &format!("{affected} projects"),
                        since: *since,
                        opened_at: now,
                        next_repeat_at: None,
                        storm_id: None,
                        silenced: None,
                        resolved_at: None,
                    },
                )
                .await?;
                self.enqueue(
                    tx.conn(),
                    id,
                    AlertKind::Storm,
                    None,
                    AlertEvent::Down,
                    Health::Unreachable,
                    *since,
                    now,
                    Some(*affected),
                    None,
                )
                .await?;
                new_storm = Some(id);
            }
        }
        // Alerts acknowledged through another instance since this one last read them.
        let mut acknowledged_elsewhere = Vec::new();
        for decision in decisions {
            match decision {
                Decision::Open {
                    project_id,
                    kind,
                    health,
                    since,
                    silenced,
                    storm,
                } => {
                    let storm_id = match storm {
                        Some(0) => new_storm,
                        other => other,
                    };
                    let name = names.get(&project_id).map(String::as_str);
                    let silenced = silenced.as_ref().map(|q| q.as_str());
                    let id = db::alerts::insert_alert(
                        tx.conn(),
                        db::alerts::NewAlert {
                            kind,
                            project_id: Some(project_id),
                            project_name: name,
                            state: health.as_str(),
                            since,
                            opened_at: now,
                            next_repeat_at: None,
                            storm_id,
                            silenced,
                            resolved_at: None,
                        },
                    )
                    .await?;
                    if silenced.is_none() && storm_id.is_none() {
                        self.enqueue(
                            tx.conn(),
                            id,
                            kind,
                            Some((project_id, name.unwrap_or(""))),
                            AlertEvent::Down,
                            health,
                            since,
                            now,
                            None,
                            None,
                        )
                        .await?;
                    }
                    applied.push(Applied::Opened {
                        project_id,
                        alert: OpenAlert {
                            id,
                            kind,
                            since,
                            repeats: 0,
                            next_repeat_at: None,
                            acknowledged: false,
                            storm_id,
                            silenced: silenced.map(str::to_owned),
                        },
                    });
                }
                Decision::OpenStorm { .. } => {}
                Decision::Unsilence {
                    project_id,
                    alert_id,
                } => {
                    let (kind, since, state) = self.open_facts(project_id, alert_id, checked);
                    let name = names.get(&project_id).map_or("", String::as_str);
                    let rule = self.inner.alerts.config().rule(project_id).clone();
                    let next = (rule.repeat_max > 0).then(|| {
                        now + chrono::Duration::minutes(i64::from(rule.repeat_every_minutes))
                    });
                    db::alerts::unsilence(tx.conn(), alert_id, next).await?;
                    self.enqueue(
                        tx.conn(),
                        alert_id,
                        kind,
                        Some((project_id, name)),
                        AlertEvent::Down,
                        state,
                        since,
                        now,
                        None,
                        None,
                    )
                    .await?;
                    applied.push(Applied::Unsilenced { project_id });
                }
                Decision::Repeat {
                    project_id,
                    alert_id,
                    repeat,
                } => {
                    let (kind, since, state) = self.open_facts(project_id, alert_id, checked);
                    let name = names.get(&project_id).map_or("", String::as_str);
                    let rule = self.inner.alerts.config().rule(project_id).clone();
                    let next = (repeat < rule.repeat_max).then(|| {
                        now + chrono::Duration::minutes(i64::from(rule.repeat_every_minutes))
                    });
                    if !db::alerts::set_repeats(tx.conn(), alert_id, repeat, next).await? {
                        acknowledged_elsewhere.push(alert_id);
                        continue;
                    }
                    self.enqueue(
                        tx.conn(),
                        alert_id,
                        kind,
                        Some((project_id, name)),
                        AlertEvent::Repeat,
                        state,
                        since,
                        now,
                        None,
                        Some(repeat),
                    )
                    .await?;
                    applied.push(Applied::Repeated { project_id });
                }
                Decision::Recover {
                    project_id,
                    alert_id,
                    since,
                    notify,
                } => {
                    db::alerts::resolve(tx.conn(), alert_id, now).await?;
                    if notify {
                        let (kind, _, state) = self.open_facts(project_id, alert_id, checked);
                        let state = self.opened_state(alert_id).await.unwrap_or(state);
                        let name = names.get(&project_id).map_or("", String::as_str);
                        self.enqueue(
                            tx.conn(),
                            alert_id,
                            kind,
                            Some((project_id, name)),
                            AlertEvent::Recovered,
                            state,
                            since,
                            now,
                            None,
                            None,
                        )
                        .await?;
                    }
                    applied.push(Applied::Recovered { project_id });
                }
            }
        }
        tx.commit().await.context("writing the round's alerts")?;
        for alert_id in acknowledged_elsewhere {
            self.inner.alerts.engine().acknowledged(alert_id);
        }
        self.apply(applied, new_storm, now).await?;
        self.inner.alerts.wake.notify_one();
        Ok(())
    }

    /// The engine takes what was written; a storm whose last member recovered resolves.
    async fn apply(
        &self,
        applied: Vec<Applied>,
        new_storm: Option<i64>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let alerts = &self.inner.alerts;
        let mut storms_over = Vec::new();
        {
            let config = alerts.config();
            let mut engine = alerts.engine();
            let mut members = Vec::new();
            for applied in applied {
                match applied {
                    Applied::Opened { project_id, alert } => {
                        if alert.storm_id.is_some() {
                            members.push(project_id);
                        }
                        engine.opened(project_id, alert, config.rule(project_id), now);
                    }
                    Applied::Unsilenced { project_id } => {
                        engine.unsilenced(project_id, now, config.rule(project_id))
                    }
                    Applied::Repeated { project_id } => {
                        engine.repeated(project_id, now, config.rule(project_id))
                    }
                    Applied::Recovered { project_id } => {
                        storms_over.extend(engine.recovered(project_id))
                    }
                }
            }
            match new_storm {
                Some(id) => engine.storm_opened(id, members),
                None => members.into_iter().for_each(|m| engine.joined_storm(m)),
            }
        }
        for storm_id in storms_over {
            let Some(row) = db::alerts::alert(&self.inner.db.reader, storm_id).await? else {
                continue;
            };
            let since = crate::model::parse_time(&row.since, "since").unwrap_or(now);
            let mut tx = self.inner.db.writer.begin().await?;
            db::alerts::resolve(tx.conn(), storm_id, now).await?;
            self.enqueue(
                tx.conn(),
                storm_id,
                AlertKind::Storm,
                None,
                AlertEvent::Recovered,
                Health::Unreachable,
                since,
                now,
                None,
                None,
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Auto-heal gave up on a project: an open alert (acknowledged like any other) to the
    /// project's device channels, saying a person is needed. Silenced if the project is quiet.
    pub(in crate::service) async fn alert_person_needed(
        &self,
        project_id: i64,
        health: Health,
        since: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        let now = self.now();
        let name = self
            .project_names()
            .get(&project_id)
            .cloned()
            .unwrap_or_default();
        let silenced = self.project_quiet(project_id);
        let mut tx = self.inner.db.writer.begin().await?;
        let id = db::alerts::insert_alert(
            tx.conn(),
            db::alerts::NewAlert {
                kind: AlertKind::AutoHeal,
                project_id: Some(project_id),
                project_name: Some(&name),
                state: health.as_str(),
                since,
                opened_at: now,
                next_repeat_at: None,
                storm_id: None,
                silenced: silenced.as_ref().map(|q| q.as_str()),
                resolved_at: None,
            },
        )
        .await?;
        if silenced.is_none() {
            self.enqueue(
                tx.conn(),
                id,
                AlertKind::AutoHeal,
                Some((project_id, &name)),
                AlertEvent::Down,
                health,
                since,
                now,
                None,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// What a message about an open alert needs: its kind, since, and the state now.
    fn open_facts(
        &self,
        project_id: i64,
        alert_id: i64,
        checked: &[Checked],
    ) -> (AlertKind, DateTime<Utc>, Health) {
        let engine = self.inner.alerts.engine();
        let open = engine.open_alert(project_id).filter(|a| a.id == alert_id);
        let health = checked
            .iter()
            .find(|c| c.project_id == project_id)
            .map_or(Health::UnknownState, |c| c.health);
        (
            open.map_or(AlertKind::Device, |a| a.kind),
            open.map_or_else(|| self.now(), |a| a.since),
            health,
        )
    }

    /// The state an alert opened with (a recovery says "from UNPAIRED to connected").
    async fn opened_state(&self, alert_id: i64) -> Option<Health> {
        let row = db::alerts::alert(&self.inner.db.reader, alert_id)
            .await
            .ok()??;
        Health::parse(&row.state)
    }

    /// One outbox row per channel the alert goes to.
    #[allow(clippy::too_many_arguments)]
    async fn enqueue(
        &self,
        mut conn: Conn<'_>,
        alert_id: i64,
        kind: AlertKind,
        project: Option<(i64, &str)>,
        event: AlertEvent,
        failing: Health,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        affected: Option<usize>,
        repeat: Option<u32>,
    ) -> anyhow::Result<()> {
        let alerts = &self.inner.alerts;
        let channels = {
            let config = alerts.config();
            let rule = project.map_or(&config.default_rule, |(id, _)| config.rule(id));
            config.channels_for(rule, kind)
        };
        if channels.is_empty() {
            return Ok(());
        }
        let acknowledge_token = matches!(event, AlertEvent::Down | AlertEvent::Repeat)
            .then(|| alerts.link_key.token(alert_id, now + LINK_LIFETIME));
        let message = AlertMessage::new(Facts {
            event,
            alert_id,
            kind,
            project,
            failing,
            since,
            now,
            affected,
            repeat,
            public_url: &alerts.public_url,
            acknowledge_token,
        });
        let json = serde_json::to_string(&message)?;
        for channel in channels {
            db::alerts::insert_delivery(conn.reborrow(), alert_id, channel, event, &json, now)
                .await?;
        }
        Ok(())
    }

    /// A project seen connected is no longer disconnected on purpose.
    async fn end_intended_disconnects(&self, checked: &[Checked]) -> anyhow::Result<()> {
        let reconnected: Vec<i64> = {
            let config = self.inner.alerts.config();
            checked
                .iter()
                .filter(|c| {
                    c.health == Health::Connected && config.intended.contains_key(&c.project_id)
                })
                .map(|c| c.project_id)
                .collect()
        };
        if reconnected.is_empty() {
            return Ok(());
        }
        for project_id in reconnected {
            db::alerts::clear_intended_disconnect(&self.inner.db.writer, project_id).await?;
        }
        self.reload_alert_config().await?;
        self.publish_change(crate::service::cluster::Change::AlertConfig)
            .await;
        Ok(())
    }
}

/// A decision written to the database, for the engine to take after the commit.
enum Applied {
    Opened { project_id: i64, alert: OpenAlert },
    Unsilenced { project_id: i64 },
    Repeated { project_id: i64 },
    Recovered { project_id: i64 },
}
