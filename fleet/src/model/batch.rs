//! Bulk commands as the pages and the API see them: a batch (one command for many projects)
//! and its per-project items. The rules (who may, how many, what is confirmed) live in
//! `fleet::service::batches`.

use serde::{Deserialize, Serialize};

use super::Health;

/// `POST /api/v1/batches`: one command for the projects named, or for those matching a
/// filter as the fleet page shows them now.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// `restart`, `restart-server`, `delete-message-queue`, `disconnect` or `clearlogs`.
    pub command: String,
    /// The projects, in the order to send; or leave out and give `filter`.
    #[serde(default)]
    pub project_ids: Option<Vec<i64>>,
    #[serde(default)]
    pub filter: Option<BatchFilter>,
    /// For `disconnect` and `clearlogs`: how many projects the batch has, typed by the
    /// person who asked, so nobody unpairs fifty phones by a slip.
    #[serde(default)]
    pub confirm_count: Option<u32>,
}

/// The fleet page's filter: a state and a search over names, both optional.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchFilter {
    /// A state's name as the filter chips use it (`connected`, `timeout`, `unpaired`, …).
    #[serde(default)]
    pub state: Option<String>,
    /// Part of a project's name, any case.
    #[serde(default)]
    pub search: Option<String>,
}

/// Where a batch is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Running,
    Finished,
    /// Someone cancelled it: what was not yet sent was not sent.
    Cancelled,
    /// The dashboard stopped while it ran.
    Interrupted,
}

impl BatchStatus {
    pub const ALL: [BatchStatus; 4] = [
        BatchStatus::Running,
        BatchStatus::Finished,
        BatchStatus::Cancelled,
        BatchStatus::Interrupted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Running => "running",
            BatchStatus::Finished => "finished",
            BatchStatus::Cancelled => "cancelled",
            BatchStatus::Interrupted => "interrupted",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            BatchStatus::Running => "Running",
            BatchStatus::Finished => "Finished",
            BatchStatus::Cancelled => "Cancelled",
            BatchStatus::Interrupted => "Interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Where one project of a batch is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Queued,
    Sending,
    /// Upstream said success; the follow-up check has not run yet.
    Sent,
    /// Sent, and the follow-up check ran: `checked` says what it found.
    Confirmed,
    /// Upstream refused it or could not be reached; `message` says why.
    Failed,
    /// Not sent: the batch was cancelled first.
    Cancelled,
    /// The dashboard stopped before this one had its answer.
    Interrupted,
}

impl ItemState {
    pub const ALL: [ItemState; 7] = [
        ItemState::Queued,
        ItemState::Sending,
        ItemState::Sent,
        ItemState::Confirmed,
        ItemState::Failed,
        ItemState::Cancelled,
        ItemState::Interrupted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::Sending => "sending",
            ItemState::Sent => "sent",
            ItemState::Confirmed => "confirmed",
            ItemState::Failed => "failed",
            ItemState::Cancelled => "cancelled",
            ItemState::Interrupted => "interrupted",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            ItemState::Queued => "Queued",
            ItemState::Sending => "Sending…",
            ItemState::Sent => "Sent",
            ItemState::Confirmed => "Sent, checked",
            ItemState::Failed => "Failed",
            ItemState::Cancelled => "Cancelled",
            ItemState::Interrupted => "Interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether nothing more will happen to it.
    pub const fn is_final(self) -> bool {
        !matches!(
            self,
            ItemState::Queued | ItemState::Sending | ItemState::Sent
        )
    }

    /// Upstream took the command.
    pub const fn succeeded(self) -> bool {
        matches!(self, ItemState::Sent | ItemState::Confirmed)
    }

    /// The CSS modifier, borrowed from the states of the same meaning.
    pub const fn slug(self) -> &'static str {
        match self {
            ItemState::Queued | ItemState::Cancelled => "unpaired",
            ItemState::Sending => "checking",
            ItemState::Sent | ItemState::Confirmed => "connected",
            ItemState::Failed => "unreachable",
            ItemState::Interrupted => "timeout",
        }
    }
}

/// One project of a batch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    pub project_id: i64,
    pub project_name: String,
    pub state: ItemState,
    /// Upstream's answer, or what went wrong.
    pub message: Option<String>,
    /// What the follow-up check found, once it ran.
    pub checked: Option<Health>,
    /// The command's audit row, once written.
    pub audit_id: Option<i64>,
    pub updated_at: String,
}

/// How many items are in each state.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCounts {
    pub total: u32,
    pub queued: u32,
    pub sending: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub cancelled: u32,
    pub interrupted: u32,
}

impl BatchCounts {
    pub fn of(items: &[BatchItem]) -> Self {
        let mut counts = BatchCounts::default();
        for item in items {
            counts.add(item.state);
        }
        counts
    }

    pub fn add(&mut self, state: ItemState) {
        self.total += 1;
        match state {
            ItemState::Queued => self.queued += 1,
            ItemState::Sending => self.sending += 1,
            ItemState::Sent | ItemState::Confirmed => self.succeeded += 1,
            ItemState::Failed => self.failed += 1,
            ItemState::Cancelled => self.cancelled += 1,
            ItemState::Interrupted => self.interrupted += 1,
        }
    }

    /// "18 succeeded, 2 failed" (only the non-zero parts; "nothing yet" when all are queued).
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            (self.succeeded, "succeeded"),
            (self.failed, "failed"),
            (self.sending, "sending"),
            (self.queued, "queued"),
            (self.cancelled, "cancelled"),
            (self.interrupted, "interrupted"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() {
            "nothing yet".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// A batch with its items.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchView {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "restart"))]
    pub command: pickyassist::Command,
    pub created_by: String,
    pub created_at: String,
    pub status: BatchStatus,
    pub finished_at: Option<String>,
    /// The batch whose failed projects this one retries.
    pub retry_of: Option<i64>,
    /// The batch's own audit row (written right after the batch).
    pub audit_id: Option<i64>,
    pub counts: BatchCounts,
    /// In the order they are sent (empty in lists).
    pub items: Vec<BatchItem>,
}

/// A batch's progress, as `/api/v1/events` sends it: one project's new state.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchProgress {
    pub batch_id: i64,
    pub status: BatchStatus,
    pub counts: BatchCounts,
    /// The item that changed; `None` when only the batch's status did.
    pub item: Option<BatchItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_counts_read_as_words() {
        for s in ItemState::ALL {
            assert_eq!(ItemState::parse(s.as_str()), Some(s));
        }
        for s in BatchStatus::ALL {
            assert_eq!(BatchStatus::parse(s.as_str()), Some(s));
        }
        let mut counts = BatchCounts::default();
        assert_eq!(counts.summary(), "nothing yet");
        for s in [
            ItemState::Confirmed,
            ItemState::Sent,
            ItemState::Failed,
            ItemState::Queued,
        ] {
            counts.add(s);
        }
        assert_eq!(counts.summary(), "2 succeeded, 1 failed, 1 queued");
        assert_eq!(counts.total, 4);
        assert!(ItemState::Failed.is_final() && !ItemState::Sent.is_final());
    }
}
