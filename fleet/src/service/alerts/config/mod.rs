//! Alert configuration: channels (with "send test alert"), rules, and quiet (mutes,
//! maintenance windows, intended disconnects), a file each. Admins configure, operators mute,
//! every signed-in user reads. Each change is checked before anything is written, audited,
//! and the cache reloaded; the checks themselves live in `checks`.

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

mod channels;
mod quiet;
mod rules;

pub(super) use quiet::window_view;

/// Longest mute: beyond a month it is a removal, not a mute.
const MAX_MUTE_MINUTES: u32 = 30 * 24 * 60;
const MAX_RULE_CHANNELS: usize = 20;

fn internal(e: impl Into<anyhow::Error>, doing: &str) -> FleetError {
    FleetError::Internal(e.into().context(doing.to_owned()))
}

impl Fleet {
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
