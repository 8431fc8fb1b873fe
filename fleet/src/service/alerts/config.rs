//! Alert configuration: channels (with "send test alert"), rules, mutes and maintenance
//! windows. Admins configure, operators mute, every signed-in user reads. Each change is
//! checked before anything is written, audited, and the cache reloaded.
//!
//! Still long (channels, rules, mutes, windows in one file): the next split is one file per
//! topic, left for the next change to it; the checks already live in `checks`.

use chrono::{Duration, Utc};
use rand::{distributions::Alphanumeric, Rng};

use super::{
    super::{Fleet, FleetError},
    checks::{
        channel_name, channel_url, email_settings, password, short_text, signing_secret,
        url_in_brief,
    },
};
use crate::{
    alerts::{
        message::{AlertMessage, Facts},
        schedule::Schedule,
        send::{self, ChannelSecret, Target},
    },
    auth::Actor,
    db::{self, alerts::ChannelRow, audit::NewEntry},
    model::{
        stored_time, AlertChannelChange, AlertChannelView, AlertEvent, AlertKind, AlertRule,
        AlertRules, AuditAction, ChannelKind, CreatedAlertChannel, DeliveryResult, EmailSettings,
        Health, MaintenanceWindow, MuteRequest, NewAlertChannel, NewMaintenanceWindow,
        ProjectAlertRule, ProjectMute, Role, WindowSchedule, WEEKDAYS,
    },
};

/// Longest mute: beyond a month it is a removal, not a mute.
const MAX_MUTE_MINUTES: u32 = 30 * 24 * 60;
const MAX_RULE_CHANNELS: usize = 20;

fn internal(e: impl Into<anyhow::Error>, doing: &str) -> FleetError {
    FleetError::Internal(e.into().context(doing.to_owned()))
}

impl Fleet {
    // ---- channels -----------------------------------------------------------------------

    pub async fn list_alert_channels(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AlertChannelView>, FleetError> {
        actor.require(Role::Viewer, "see alert channels")?;
        let rows = db::alerts::channels(&self.inner.db.reader)
            .await
            .map_err(|e| internal(e, "listing alert channels"))?;
        Ok(rows.iter().map(channel_view).collect())
    }

    #[tracing::instrument(skip(self, actor, new), fields(actor = %actor.name))]
    pub async fn add_alert_channel(
        &self,
        actor: &Actor,
        new: NewAlertChannel,
    ) -> Result<CreatedAlertChannel, FleetError> {
        actor.require(Role::Admin, "add alert channels")?;
        let name = channel_name(&new.name)?;
        let mut shown_secret = None;
        let (settings, secret) = match new.kind {
            ChannelKind::Webhook | ChannelKind::Slack => {
                let url = channel_url(new.url.as_deref())?;
                let signing_secret = match (new.kind, new.secret) {
                    (ChannelKind::Webhook, Some(secret)) => Some(signing_secret(&secret)?),
                    (ChannelKind::Webhook, None) => {
                        let made: String = rand::rngs::OsRng
                            .sample_iter(&Alphanumeric)
                            .take(40)
                            .map(char::from)
                            .collect();
                        shown_secret = Some(made.clone());
                        Some(made)
                    }
                    _ => None,
                };
                (
                    None,
                    ChannelSecret {
                        url: Some(url),
                        signing_secret,
                        password: None,
                    },
                )
            }
            ChannelKind::Email => {
                let settings = email_settings(new.email)?;
                (
                    Some(settings),
                    ChannelSecret {
                        password: password(new.password)?,
                        ..ChannelSecret::default()
                    },
                )
            }
        };
        let (settings_json, target, sealed) = self.stored_channel(new.kind, &settings, &secret)?;
        let id = db::alerts::insert_channel(
            &self.inner.db.writer,
            db::alerts::ChannelFields {
                name: &name,
                kind: new.kind.as_str(),
                settings: &settings_json,
                target: &target,
                secret: &sealed,
                enabled: true,
            },
        )
        .await
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                FleetError::Conflict(format!("there is already a channel named {name:?}"))
            } else {
                internal(e, "adding an alert channel")
            }
        })?;
        self.audit_alert_change(
            actor,
            AuditAction::AlertChannelAdded,
            &format!("{name:?} ({}, {target})", new.kind.label()),
        )
        .await?;
        let channel = self.channel_row(id).await?;
        Ok(CreatedAlertChannel {
            channel: channel_view(&channel),
            signing_secret: shown_secret,
        })
    }

    #[tracing::instrument(skip(self, actor, change), fields(actor = %actor.name))]
    pub async fn change_alert_channel(
        &self,
        actor: &Actor,
        id: i64,
        change: AlertChannelChange,
    ) -> Result<AlertChannelView, FleetError> {
        actor.require(Role::Admin, "change alert channels")?;
        let row = self.channel_row(id).await?;
        let kind = ChannelKind::parse(&row.kind)
            .ok_or_else(|| FleetError::Internal(anyhow::anyhow!("channel {id} has a bad kind")))?;
        let name = match &change.name {
            Some(name) => channel_name(name)?,
            None => row.name.clone(),
        };
        let mut secret = self.open_secret(&row)?;
        let mut settings = stored_email_settings(&row);
        let mut changed = Vec::new();
        match kind {
            ChannelKind::Webhook | ChannelKind::Slack => {
                if change.email.is_some() || change.password.is_some() {
                    return Err(FleetError::Invalid(format!(
                        "a {} channel has no e-mail settings",
                        kind.label()
                    )));
                }
                if let Some(url) = change.url.as_deref() {
                    secret.url = Some(channel_url(Some(url))?);
                    changed.push("URL");
                }
                if let Some(new_secret) = &change.secret {
                    if kind != ChannelKind::Webhook {
                        return Err(FleetError::Invalid(
                            "only webhook channels have a signing secret".into(),
                        ));
                    }
                    secret.signing_secret = Some(signing_secret(new_secret)?);
                    changed.push("signing secret");
                }
            }
            ChannelKind::Email => {
                if change.url.is_some() || change.secret.is_some() {
                    return Err(FleetError::Invalid(
                        "an e-mail channel has no URL or signing secret".into(),
                    ));
                }
                if let Some(email) = change.email {
                    settings = Some(email_settings(Some(email))?);
                    changed.push("e-mail settings");
                }
                if change.password.is_some() {
                    secret.password = password(change.password)?;
                    changed.push("password");
                }
            }
        }
        let enabled = change.enabled.unwrap_or(row.enabled);
        if enabled != row.enabled {
            changed.push(if enabled { "enabled" } else { "disabled" });
        }
        if name != row.name {
            changed.push("name");
        }
        let (settings_json, target, sealed) = self.stored_channel(kind, &settings, &secret)?;
        db::alerts::update_channel(
            &self.inner.db.writer,
            id,
            db::alerts::ChannelFields {
                name: &name,
                kind: kind.as_str(),
                settings: &settings_json,
                target: &target,
                secret: &sealed,
                enabled,
            },
        )
        .await
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                FleetError::Conflict(format!("there is already a channel named {name:?}"))
            } else {
                internal(e, "changing an alert channel")
            }
        })?;
        let what = if changed.is_empty() {
            "nothing".to_owned()
        } else {
            changed.join(", ")
        };
        self.audit_alert_change(
            actor,
            AuditAction::AlertChannelChanged,
            &format!("{name:?}: {what}"),
        )
        .await?;
        Ok(channel_view(&self.channel_row(id).await?))
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn remove_alert_channel(&self, actor: &Actor, id: i64) -> Result<(), FleetError> {
        actor.require(Role::Admin, "remove alert channels")?;
        let row = self.channel_row(id).await?;
        db::alerts::delete_channel(&self.inner.db.writer, id)
            .await
            .map_err(|e| internal(e, "removing an alert channel"))?;
        self.audit_alert_change(
            actor,
            AuditAction::AlertChannelRemoved,
            &format!("{:?} ({})", row.name, row.target),
        )
        .await
    }

    /// Sends a test message to the channel now and says how it went. The attempt is kept like
    /// any other (an alert of kind `test`).
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn send_test_alert(
        &self,
        actor: &Actor,
        channel_id: i64,
    ) -> Result<DeliveryResult, FleetError> {
        actor.require(Role::Admin, "send test alerts")?;
        let row = self.channel_row(channel_id).await?;
        let target = self.target(&row)?;
        let now = self.now();
        let mut tx = self
            .inner
            .db
            .writer
            .begin()
            .await
            .map_err(|e| internal(e, "recording a test alert"))?;
        let alert_id = db::alerts::insert_alert(
            tx.conn(),
            db::alerts::NewAlert {
                kind: AlertKind::Test,
                project_id: None,
                project_name: None,
                state: "test",
                since: now,
                opened_at: now,
                next_repeat_at: None,
                storm_id: None,
                silenced: None,
                resolved_at: Some(now),
            },
        )
        .await
        .map_err(|e| internal(e, "recording a test alert"))?;
        let message = AlertMessage::new(Facts {
            event: AlertEvent::Test,
            alert_id,
            kind: AlertKind::Test,
            project: None,
            failing: Health::Connected,
            since: now,
            now,
            affected: None,
            repeat: None,
            public_url: &self.inner.alerts.public_url,
            acknowledge_token: None,
        });
        let json = serde_json::to_string(&message).map_err(|e| internal(e, "a test alert"))?;
        // Claimed as it is written: no dispatcher, on this instance or another, sends it too.
        let claim = db::alerts::insert_claimed_delivery(
            tx.conn(),
            alert_id,
            channel_id,
            &json,
            now,
            now + super::ATTEMPT_LEASE,
        )
        .await
        .map_err(|e| internal(e, "recording a test alert"))?;
        let delivery_id = claim.delivery_id;
        // Marked as being sent before it is visible, so the dispatcher leaves it to us.
        self.inner.alerts.sending_insert(delivery_id);
        if let Err(e) = tx.commit().await {
            self.inner.alerts.sending_remove(delivery_id);
            return Err(internal(e, "recording a test alert"));
        }
        let result = send::deliver(&self.inner.alerts.http, &target, &message, delivery_id).await;
        let recorded =
            db::alerts::record_attempt(&self.inner.db.writer, &claim, &result, self.now(), None)
                .await;
        self.inner.alerts.sending_remove(delivery_id);
        recorded.map_err(|e| internal(e, "recording a test alert"))?;
        super::outbox::count_attempt(row.kind.as_str(), &result);
        let outcome = match (&result.error, result.status) {
            (None, Some(status)) => format!("delivered ({status})"),
            (Some(error), _) => format!("failed: {error}"),
            (None, None) => "delivered".to_owned(),
        };
        self.audit_alert_change(
            actor,
            AuditAction::AlertTestSent,
            &format!("{:?}: {outcome}", row.name),
        )
        .await?;
        Ok(result)
    }

    // ---- rules --------------------------------------------------------------------------

    pub fn alert_rules(&self, actor: &Actor) -> Result<AlertRules, FleetError> {
        actor.require(Role::Viewer, "see alert rules")?;
        let config = self.inner.alerts.config();
        let names = self.project_names();
        let mut projects: Vec<_> = config
            .project_rules
            .iter()
            .map(|(id, rule)| ProjectAlertRule {
                project_id: *id,
                project_name: names.get(id).cloned().unwrap_or_default(),
                rule: rule.clone(),
            })
            .collect();
        projects.sort_by(|a, b| a.project_name.cmp(&b.project_name));
        Ok(AlertRules {
            default: config.default_rule.clone(),
            projects,
        })
    }

    /// Sets the fleet-wide default rule (`project_id` None) or a project's own.
    #[tracing::instrument(skip(self, actor, rule), fields(actor = %actor.name))]
    pub async fn set_alert_rule(
        &self,
        actor: &Actor,
        project_id: Option<i64>,
        rule: AlertRule,
    ) -> Result<AlertRule, FleetError> {
        actor.require(Role::Admin, "change alert rules")?;
        let scope = self.rule_scope(project_id)?;
        self.check_rule(&rule).await?;
        let json = serde_json::to_string(&rule).map_err(|e| internal(e, "an alert rule"))?;
        db::alerts::put_rule(&self.inner.db.writer, project_id.unwrap_or(0), &json)
            .await
            .map_err(|e| internal(e, "storing an alert rule"))?;
        let detail = format!(
            "{scope}: after {} failing polls, every {} min up to {} times, recovered after {} good",
            rule.fail_after, rule.repeat_every_minutes, rule.repeat_max, rule.recover_after
        );
        self.audit_alert_change(actor, AuditAction::AlertRuleChanged, &detail)
            .await?;
        Ok(rule)
    }

    /// Removes a project's own rule: the default applies again.
    pub async fn remove_alert_rule(
        &self,
        actor: &Actor,
        project_id: i64,
    ) -> Result<(), FleetError> {
        actor.require(Role::Admin, "change alert rules")?;
        let scope = self.rule_scope(Some(project_id))?;
        let removed = db::alerts::delete_rule(&self.inner.db.writer, project_id)
            .await
            .map_err(|e| internal(e, "removing an alert rule"))?;
        if !removed {
            return Err(FleetError::NotFound(format!(
                "{scope} has no rule of its own"
            )));
        }
        self.audit_alert_change(
            actor,
            AuditAction::AlertRuleChanged,
            &format!("{scope}: own rule removed, the default applies"),
        )
        .await
    }

    fn rule_scope(&self, project_id: Option<i64>) -> Result<String, FleetError> {
        match project_id {
            None => Ok("default rule".to_owned()),
            Some(id) => self
                .project_names()
                .get(&id)
                .map(|name| format!("rule for {name:?}"))
                .ok_or(FleetError::ProjectNotFound(id)),
        }
    }

    async fn check_rule(&self, rule: &AlertRule) -> Result<(), FleetError> {
        let within = |value: u32, range: std::ops::RangeInclusive<u32>, what: &str| {
            if range.contains(&value) {
                Ok(())
            } else {
                Err(FleetError::Invalid(format!(
                    "{what} must be {} to {}, not {value}",
                    range.start(),
                    range.end()
                )))
            }
        };
        within(
            rule.fail_after,
            1..=100,
            "fail_after (failing polls before an alert)",
        )?;
        within(
            rule.repeat_every_minutes,
            1..=10_080,
            "repeat_every_minutes",
        )?;
        within(rule.repeat_max, 0..=100, "repeat_max")?;
        within(
            rule.recover_after,
            1..=100,
            "recover_after (good polls before recovered)",
        )?;
        let channels = db::alerts::channels(&self.inner.db.reader)
            .await
            .map_err(|e| internal(e, "checking an alert rule"))?;
        for (list, what) in [
            (&rule.device_channels, "device_channels"),
            (&rule.fault_channels, "fault_channels"),
        ] {
            if list.len() > MAX_RULE_CHANNELS {
                return Err(FleetError::Invalid(format!(
                    "{what} lists at most {MAX_RULE_CHANNELS} channels"
                )));
            }
            if let Some(missing) = list
                .iter()
                .find(|id| !channels.iter().any(|c| c.id == **id))
            {
                return Err(FleetError::Invalid(format!(
                    "{what}: there is no alert channel with id {missing}"
                )));
            }
        }
        Ok(())
    }

    // ---- mutes --------------------------------------------------------------------------

    #[tracing::instrument(skip(self, actor, request), fields(actor = %actor.name))]
    pub async fn mute_project(
        &self,
        actor: &Actor,
        project_id: i64,
        request: MuteRequest,
    ) -> Result<ProjectMute, FleetError> {
        actor.require(Role::Operator, "mute projects")?;
        let name = self.project_name_of(project_id)?;
        if !(1..=MAX_MUTE_MINUTES).contains(&request.minutes) {
            return Err(FleetError::Invalid(format!(
                "mute for 1 to {MAX_MUTE_MINUTES} minutes (30 days), not {}",
                request.minutes
            )));
        }
        let reason = short_text(&request.reason, 200, "the reason")?;
        let until = self.now() + Duration::minutes(i64::from(request.minutes));
        let mute = db::alerts::MuteRow {
            project_id,
            until: stored_time(until),
            muted_by: actor.name.clone(),
            reason: reason.clone(),
        };
        db::alerts::put_mute(&self.inner.db.writer, &mute)
            .await
            .map_err(|e| internal(e, "muting a project"))?;
        let mut detail = format!("until {}", until.format("%Y-%m-%d %H:%M UTC"));
        if !reason.is_empty() {
            detail.push_str(&format!(": {reason}"));
        }
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::ProjectMuted),
                project_id: Some(project_id),
                project_name: Some(&name),
                detail: Some(&detail),
                ..Default::default()
            },
        )
        .await?;
        self.reload_after_change().await?;
        Ok(ProjectMute {
            project_id,
            until: mute.until,
            muted_by: mute.muted_by,
            reason,
        })
    }

    pub async fn unmute_project(&self, actor: &Actor, project_id: i64) -> Result<(), FleetError> {
        actor.require(Role::Operator, "unmute projects")?;
        let name = self.project_name_of(project_id)?;
        if !db::alerts::delete_mute(&self.inner.db.writer, project_id)
            .await
            .map_err(|e| internal(e, "unmuting a project"))?
        {
            return Err(FleetError::NotFound(format!("{name:?} is not muted")));
        }
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::ProjectUnmuted),
                project_id: Some(project_id),
                project_name: Some(&name),
                ..Default::default()
            },
        )
        .await?;
        self.reload_after_change().await
    }

    pub async fn project_mutes(&self, actor: &Actor) -> Result<Vec<ProjectMute>, FleetError> {
        actor.require(Role::Viewer, "see mutes")?;
        let now = stored_time(self.now());
        Ok(db::alerts::mutes(&self.inner.db.reader)
            .await
            .map_err(|e| internal(e, "listing mutes"))?
            .into_iter()
            .filter(|m| m.until > now)
            .map(|m| ProjectMute {
                project_id: m.project_id,
                until: m.until,
                muted_by: m.muted_by,
                reason: m.reason,
            })
            .collect())
    }

    // ---- maintenance windows ------------------------------------------------------------

    pub async fn maintenance_windows(
        &self,
        actor: &Actor,
    ) -> Result<Vec<MaintenanceWindow>, FleetError> {
        actor.require(Role::Viewer, "see maintenance windows")?;
        let rows = db::alerts::windows(&self.inner.db.reader)
            .await
            .map_err(|e| internal(e, "listing maintenance windows"))?;
        Ok(rows.iter().filter_map(|w| window_view(w).ok()).collect())
    }

    #[tracing::instrument(skip(self, actor, new), fields(actor = %actor.name))]
    pub async fn add_maintenance_window(
        &self,
        actor: &Actor,
        new: NewMaintenanceWindow,
    ) -> Result<MaintenanceWindow, FleetError> {
        actor.require(Role::Admin, "schedule maintenance")?;
        let scope = match new.project_id {
            Some(id) => format!("{:?}", self.project_name_of(id)?),
            None => "every project".to_owned(),
        };
        let schedule = Schedule::parse(&new.schedule).map_err(FleetError::Invalid)?;
        if schedule.is_over(self.now()) {
            return Err(FleetError::Invalid("that window is already over".into()));
        }
        let note = short_text(&new.note, 200, "the note")?;
        let mut row = db::alerts::WindowRow {
            id: 0,
            project_id: new.project_id,
            kind: String::new(),
            starts_at: None,
            ends_at: None,
            weekday: None,
            start_minute: None,
            duration_minutes: None,
            note,
            created_by: actor.name.clone(),
            created_at: stored_time(Utc::now()),
        };
        let when = match schedule {
            Schedule::Once { starts_at, ends_at } => {
                row.kind = "once".into();
                row.starts_at = Some(stored_time(starts_at));
                row.ends_at = Some(stored_time(ends_at));
                format!(
                    "{} to {}",
                    starts_at.format("%Y-%m-%d %H:%M"),
                    ends_at.format("%Y-%m-%d %H:%M UTC")
                )
            }
            Schedule::Weekly {
                start,
                duration_minutes,
            } => {
                row.kind = "weekly".into();
                row.weekday = Some(start / 1440);
                row.start_minute = Some(start % 1440);
                row.duration_minutes = Some(duration_minutes);
                format!(
                    "weekly, {} {:02}:{:02} UTC for {duration_minutes} min",
                    WEEKDAYS[(start / 1440) as usize],
                    start % 1440 / 60,
                    start % 60
                )
            }
        };
        row.id = db::alerts::insert_window(&self.inner.db.writer, &row)
            .await
            .map_err(|e| internal(e, "scheduling maintenance"))?;
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::MaintenanceScheduled),
                project_id: new.project_id,
                detail: Some(&format!("{scope}: {when}")),
                ..Default::default()
            },
        )
        .await?;
        self.reload_after_change().await?;
        window_view(&row).map_err(|e| FleetError::Internal(anyhow::anyhow!(e)))
    }

    pub async fn remove_maintenance_window(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(), FleetError> {
        actor.require(Role::Admin, "remove maintenance windows")?;
        if !db::alerts::delete_window(&self.inner.db.writer, id)
            .await
            .map_err(|e| internal(e, "removing a maintenance window"))?
        {
            return Err(FleetError::NotFound(format!(
                "there is no maintenance window with id {id}"
            )));
        }
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::MaintenanceRemoved),
                detail: Some(&format!("window {id}")),
                ..Default::default()
            },
        )
        .await?;
        self.reload_after_change().await
    }

    // ---- intended disconnects -----------------------------------------------------------

    /// An operator disconnected the project: it alerts nobody until it is connected again.
    pub(in crate::service) async fn disconnected_on_purpose(&self, actor: &Actor, project_id: i64) {
        let stored =
            db::alerts::set_intended_disconnect(&self.inner.db.writer, project_id, &actor.name)
                .await;
        if let Err(e) = stored {
            tracing::error!(project_id, error = %e, "could not record an intended disconnect");
        }
        if let Err(e) = self.reload_after_change().await {
            tracing::error!(error = %e, "could not reload the alert configuration");
        }
    }

    // ---- helpers ------------------------------------------------------------------------

    async fn audit_alert_change(
        &self,
        actor: &Actor,
        action: AuditAction,
        detail: &str,
    ) -> Result<(), FleetError> {
        self.audit(
            actor,
            NewEntry {
                action: Some(action),
                detail: Some(detail),
                ..Default::default()
            },
        )
        .await?;
        self.reload_after_change().await
    }

    async fn reload_after_change(&self) -> Result<(), FleetError> {
        self.reload_alert_config()
            .await
            .map_err(|e| internal(e, "reloading the alert configuration"))?;
        self.publish_change(crate::service::cluster::Change::AlertConfig)
            .await;
        Ok(())
    }

    async fn channel_row(&self, id: i64) -> Result<ChannelRow, FleetError> {
        db::alerts::channel(&self.inner.db.reader, id)
            .await
            .map_err(|e| internal(e, "reading an alert channel"))?
            .ok_or_else(|| FleetError::NotFound(format!("there is no alert channel with id {id}")))
    }

    fn open_secret(&self, row: &ChannelRow) -> Result<ChannelSecret, FleetError> {
        let json = self
            .inner
            .cipher
            .open_channel_secret(&row.sealed_secret())
            .map_err(FleetError::Internal)?;
        serde_json::from_str(&json).map_err(|e| internal(e, "reading a channel's secret"))
    }

    /// Everything needed to send to a stored channel.
    pub(super) fn target(&self, row: &ChannelRow) -> Result<Target, FleetError> {
        Ok(Target {
            kind: ChannelKind::parse(&row.kind).ok_or_else(|| {
                FleetError::Internal(anyhow::anyhow!("channel {} has a bad kind", row.id))
            })?,
            email: stored_email_settings(row),
            secret: self.open_secret(row)?,
        })
    }

    fn stored_channel(
        &self,
        kind: ChannelKind,
        settings: &Option<EmailSettings>,
        secret: &ChannelSecret,
    ) -> Result<(String, String, crate::crypto::SealedToken), FleetError> {
        let settings_json =
            serde_json::to_string(settings).map_err(|e| internal(e, "a channel"))?;
        let target = match (kind, settings) {
            (ChannelKind::Email, Some(email)) => {
                format!("{} via {}:{}", email.to.join(", "), email.host, email.port)
            }
            _ => secret.url.as_deref().map(url_in_brief).unwrap_or_default(),
        };
        let secret_json = serde_json::to_string(secret).map_err(|e| internal(e, "a channel"))?;
        let sealed = self
            .inner
            .cipher
            .seal_channel_secret(&secret_json)
            .map_err(FleetError::Internal)?;
        Ok((settings_json, target, sealed))
    }

    pub(super) fn project_names(&self) -> std::collections::HashMap<i64, String> {
        self.projects_read()
            .iter()
            .map(|p| (p.id, p.name.clone()))
            .collect()
    }

    fn project_name_of(&self, project_id: i64) -> Result<String, FleetError> {
        self.projects_read()
            .get(project_id)
            .map(|p| p.name.clone())
            .ok_or(FleetError::ProjectNotFound(project_id))
    }
}

fn channel_view(row: &ChannelRow) -> AlertChannelView {
    AlertChannelView {
        id: row.id,
        name: row.name.clone(),
        kind: ChannelKind::parse(&row.kind).unwrap_or(ChannelKind::Webhook),
        target: row.target.clone(),
        email: stored_email_settings(row),
        enabled: row.enabled,
        created_at: row.created_at.clone(),
    }
}

fn stored_email_settings(row: &ChannelRow) -> Option<EmailSettings> {
    serde_json::from_str::<Option<EmailSettings>>(&row.settings)
        .ok()
        .flatten()
}

/// A stored window as the API shows it.
pub(super) fn window_view(row: &db::alerts::WindowRow) -> Result<MaintenanceWindow, String> {
    let schedule = match row.kind.as_str() {
        "once" => WindowSchedule::Once {
            starts_at: row.starts_at.clone().ok_or("no start")?,
            ends_at: row.ends_at.clone().ok_or("no end")?,
        },
        "weekly" => {
            let minute = row.start_minute.ok_or("no start")?;
            WindowSchedule::Weekly {
                weekday: u8::try_from(row.weekday.ok_or("no weekday")?)
                    .map_err(|e| e.to_string())?,
                start: format!("{:02}:{:02}", minute / 60, minute % 60),
                duration_minutes: u32::try_from(row.duration_minutes.ok_or("no duration")?)
                    .map_err(|e| e.to_string())?,
            }
        }
        other => return Err(format!("unknown window kind {other:?}")),
    };
    Ok(MaintenanceWindow {
        id: row.id,
        project_id: row.project_id,
        schedule,
        note: row.note.clone(),
        created_by: row.created_by.clone(),
        created_at: row.created_at.clone(),
    })
}
