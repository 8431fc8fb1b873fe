//! Alert channels: add, change, remove, list, and "send test alert".

use super::*;

impl Fleet {
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
            now + super::super::ATTEMPT_LEASE,
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
        super::super::outbox::count_attempt(row.kind.as_str(), &result);
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
    pub(in crate::service::alerts) fn target(
        &self,
        row: &ChannelRow,
    ) -> Result<Target, FleetError> {
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
