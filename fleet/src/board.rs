//! The latest status of every project, in memory, and the stream of changes to it. Every
//! browser reads from here; only the poller and explicit refreshes write.

use std::{collections::HashMap, sync::RwLock};

use chrono::{DateTime, Utc};
use pickyassist::{ClientError, DeviceState, DeviceStatus};
use tokio::sync::broadcast;

use crate::model::{Advice, CardHistory, DeviceSnapshot, Health, StatusEvent, StatusView};

pub struct StatusBoard {
    statuses: RwLock<HashMap<i64, StatusView>>,
    changes: broadcast::Sender<StatusEvent>,
}

impl Default for StatusBoard {
    fn default() -> Self {
        // A slow browser that falls this far behind gets a "lagged" and reloads the fleet.
        let (changes, _) = broadcast::channel(1024);
        Self {
            statuses: RwLock::default(),
            changes,
        }
    }
}

impl StatusBoard {
    pub fn get(&self, project_id: i64) -> StatusView {
        self.read()
            .get(&project_id)
            .cloned()
            .unwrap_or_else(StatusView::checking)
    }

    pub fn snapshot(&self) -> HashMap<i64, StatusView> {
        self.read().clone()
    }

    /// Reads the statuses in place (under the read lock), so a caller that needs only some
    /// of them, or only their health, copies no more than that.
    pub fn with_statuses<T>(&self, read: impl FnOnce(&HashMap<i64, StatusView>) -> T) -> T {
        read(&self.read())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<StatusEvent> {
        self.changes.subscribe()
    }

    pub fn subscriber_count(&self) -> usize {
        self.changes.receiver_count()
    }

    /// Records the result of one status call and tells every subscriber.
    pub fn record(
        &self,
        project_id: i64,
        result: &Result<DeviceStatus, ClientError>,
        now: DateTime<Utc>,
        history: Option<CardHistory>,
        advice: Option<Advice>,
        auto_heal: Option<String>,
    ) -> StatusView {
        let view = {
            let mut statuses = self
                .statuses
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let previous = statuses
                .get(&project_id)
                .cloned()
                .unwrap_or_else(StatusView::checking);
            let mut view = next_status(&previous, result, now);
            if history.is_some() {
                view.history = history;
            }
            view.advice = advice;
            view.auto_heal = auto_heal;
            statuses.insert(project_id, view.clone());
            view
        };
        // No subscribers is fine: nobody is watching.
        let _ = self.changes.send(StatusEvent {
            project_id,
            status: view.clone(),
        });
        view
    }

    /// Puts a status another instance recorded (see `service::cluster`) and tells every
    /// subscriber. A status without its history strip keeps the strip the board had.
    pub fn put(&self, project_id: i64, mut view: StatusView) {
        {
            let mut statuses = self
                .statuses
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if view.history.is_none() {
                view.history = statuses.get(&project_id).and_then(|v| v.history.clone());
            }
            statuses.insert(project_id, view.clone());
        }
        let _ = self.changes.send(StatusEvent {
            project_id,
            status: view,
        });
    }

    pub fn remove(&self, project_id: i64) {
        self.statuses
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&project_id);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i64, StatusView>> {
        // A panic elsewhere must not take every page down with it.
        self.statuses
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The next card status: a success replaces everything; a failure keeps the last device data
/// (shown as "last known") and says what went wrong.
pub fn next_status(
    previous: &StatusView,
    result: &Result<DeviceStatus, ClientError>,
    now: DateTime<Utc>,
) -> StatusView {
    match result {
        Ok(status) => StatusView {
            health: Health::from_state(&status.state),
            detail: match &status.state {
                DeviceState::Unknown(raw) => Some(format!(
                    "PickyAssist reported the state {raw:?}, which its documentation does not list"
                )),
                _ => None,
            },
            device: Some(DeviceSnapshot::from(status)),
            checked_at: Some(now),
            device_at: Some(now),
            history: previous.history.clone(),
            advice: None,
            auto_heal: None,
        },
        Err(error) => StatusView {
            health: Health::from_error(error.kind()),
            detail: Some(error.to_string()),
            device: previous.device.clone(),
            checked_at: Some(now),
            device_at: previous.device_at,
            history: previous.history.clone(),
            advice: None,
            auto_heal: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected(queue: u64) -> DeviceStatus {
        DeviceStatus {
            project_id: Some("929".into()),
            state: DeviceState::Connected,
            connected_number: Some("1341881114".into()),
            version: Some("2.2119.6".into()),
            message_queue_count: Some(queue),
            time: None,
        }
    }

    #[test]
    fn a_failure_keeps_the_last_known_device_data() {
        let board = StatusBoard::default();
        let t1 = Utc::now();
        board.record(1, &Ok(connected(4)), t1, None, None, None);
        let t2 = t1 + chrono::Duration::seconds(30);
        let view = board.record(
            1,
            &Err(ClientError::Rejected {
                code: 102,
                message: "Invalid Token".into(),
            }),
            t2,
            None,
            None,
            None,
        );
        assert_eq!(view.health, Health::Rejected);
        assert!(view.detail.as_deref().unwrap().contains("Invalid Token"));
        assert_eq!(view.device.unwrap().message_queue_count, Some(4));
        assert_eq!(view.device_at, Some(t1));
        assert_eq!(view.checked_at, Some(t2));
    }

    #[test]
    fn subscribers_see_every_recorded_status() {
        let board = StatusBoard::default();
        let mut rx = board.subscribe();
        board.record(7, &Ok(connected(0)), Utc::now(), None, None, None);
        let event = rx.try_recv().unwrap();
        assert_eq!(event.project_id, 7);
        assert_eq!(event.status.health, Health::Connected);
    }

    #[test]
    fn an_unknown_state_is_shown_with_what_upstream_said() {
        let mut status = connected(0);
        status.state = DeviceState::Unknown("PAIRING".into());
        let view = next_status(&StatusView::checking(), &Ok(status), Utc::now());
        assert_eq!(view.health, Health::UnknownState);
        assert!(view.detail.unwrap().contains("PAIRING"));
    }

    #[test]
    fn an_unpolled_project_is_checking() {
        assert_eq!(StatusBoard::default().get(42).health, Health::Checking);
    }
}
