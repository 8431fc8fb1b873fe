//! When a project alerts nobody: muted for a while, in a maintenance window, or disconnected
//! on purpose.

use super::*;

impl Fleet {
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
}

/// A stored window as the API shows it.
pub(in crate::service::alerts) fn window_view(
    row: &db::alerts::WindowRow,
) -> Result<MaintenanceWindow, String> {
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
