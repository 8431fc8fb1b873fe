//! Acknowledging an alert (by an operator, or through the link in its message), and the alert
//! lists and details the pages and the API show.

use super::super::Fleet;
use crate::{
    alerts::ack::LinkError,
    auth::Actor,
    db::{self, audit::NewEntry},
    model::{AlertDetail, AlertPage, AlertQueryText, AlertStatus, AlertView, AuditAction, Role},
    FleetError,
};

fn internal(e: impl Into<anyhow::Error>, doing: &str) -> FleetError {
    FleetError::Internal(e.into().context(doing.to_owned()))
}

impl Fleet {
    /// An operator takes the alert: its reminders stop. Audited with who and when.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn acknowledge_alert(
        &self,
        actor: &Actor,
        alert_id: i64,
    ) -> Result<AlertView, FleetError> {
        actor.require(Role::Operator, "acknowledge alerts")?;
        self.acknowledge_as(actor, &actor.name, alert_id).await
    }

    /// The link in an alert message: the token names the alert; whoever holds it acts.
    pub async fn acknowledge_alert_by_link(&self, token: &str) -> Result<AlertView, FleetError> {
        let alert_id = self
            .inner
            .alerts
            .link_key
            .check(token, self.now())
            .map_err(|e| match e {
                LinkError::Invalid => FleetError::Invalid(e.to_string()),
                LinkError::Expired => FleetError::Conflict(e.to_string()),
            })?;
        let actor = Actor::link("acknowledge link in an alert message");
        self.acknowledge_as(
            &actor,
            "someone with the link from the alert message",
            alert_id,
        )
        .await
    }

    async fn acknowledge_as(
        &self,
        actor: &Actor,
        by: &str,
        alert_id: i64,
    ) -> Result<AlertView, FleetError> {
        let row = self.alert_row(alert_id).await?;
        let view = row.view();
        match view.status {
            AlertStatus::Resolved => {
                return Err(FleetError::Conflict(format!(
                    "alert {alert_id} is already resolved"
                )))
            }
            AlertStatus::Acknowledged => {
                return Err(FleetError::Conflict(format!(
                    "alert {alert_id} was already acknowledged by {}",
                    view.acknowledged_by.unwrap_or_default()
                )))
            }
            AlertStatus::Open => {}
        }
        let now = self.now();
        let done = db::alerts::acknowledge(&self.inner.db.writer, alert_id, by, now)
            .await
            .map_err(|e| internal(e, "acknowledging an alert"))?;
        if !done {
            return Err(FleetError::Conflict(format!(
                "alert {alert_id} changed meanwhile; reload"
            )));
        }
        self.inner.alerts.engine().acknowledged(alert_id);
        let detail = format!("alert {alert_id} ({})", view.state);
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::AlertAcknowledged),
                project_id: view.project_id,
                project_name: view.project_name.as_deref(),
                detail: Some(&detail),
                ..Default::default()
            },
        )
        .await?;
        Ok(self.alert_row(alert_id).await?.view())
    }

    /// Which alert a link's token is for, if it is genuine and current (the page that asks
    /// "acknowledge?" shows it).
    pub async fn alert_for_link(&self, token: &str) -> Result<AlertView, FleetError> {
        let alert_id = self
            .inner
            .alerts
            .link_key
            .check(token, self.now())
            .map_err(|e| FleetError::Invalid(e.to_string()))?;
        Ok(self.alert_row(alert_id).await?.view())
    }

    // ---- lists --------------------------------------------------------------------------

    pub async fn alerts_page(
        &self,
        actor: &Actor,
        query: &AlertQueryText,
    ) -> Result<AlertPage, FleetError> {
        actor.require(Role::Viewer, "see alerts")?;
        let status = match query
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => Some(AlertStatus::parse(s).ok_or_else(|| {
                FleetError::Invalid(format!(
                    "status must be open, acknowledged or resolved, not {s:?}"
                ))
            })?),
        };
        let project_id = match query
            .project_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| {
                FleetError::Invalid(format!("project_id must be a number, not {s:?}"))
            })?),
        };
        let limit = match query
            .limit
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => 100,
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| FleetError::Invalid(format!("limit must be 1 to 500, not {s:?}")))?,
        };
        let mut rows = db::alerts::list_alerts(
            &self.inner.db.reader,
            status,
            project_id,
            query.before,
            limit + 1,
        )
        .await
        .map_err(|e| internal(e, "listing alerts"))?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let deliveries = db::alerts::delivery_counts(&self.inner.db.reader)
            .await
            .map_err(|e| internal(e, "counting deliveries"))?;
        Ok(AlertPage {
            next_before: more.then(|| rows.last().map(|r| r.id)).flatten(),
            alerts: rows.iter().map(db::alerts::AlertRow::view).collect(),
            deliveries,
        })
    }

    pub async fn alert_detail(
        &self,
        actor: &Actor,
        alert_id: i64,
    ) -> Result<AlertDetail, FleetError> {
        actor.require(Role::Viewer, "see alerts")?;
        let alert = self.alert_row(alert_id).await?.view();
        let deliveries = db::alerts::deliveries_of(&self.inner.db.reader, alert_id)
            .await
            .map_err(|e| internal(e, "reading deliveries"))?;
        Ok(AlertDetail { alert, deliveries })
    }

    async fn alert_row(&self, alert_id: i64) -> Result<db::alerts::AlertRow, FleetError> {
        db::alerts::alert(&self.inner.db.reader, alert_id)
            .await
            .map_err(|e| internal(e, "reading an alert"))?
            .ok_or_else(|| FleetError::NotFound(format!("there is no alert with id {alert_id}")))
    }
}
