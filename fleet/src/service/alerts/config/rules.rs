//! Alert rules: the fleet-wide default and each project's own.

use super::*;

impl Fleet {
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
}
