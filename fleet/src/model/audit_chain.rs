//! What a check of the audit log's hash chain found (see `db::audit_chain` for the chain).

use serde::{Deserialize, Serialize};

/// The result of checking the audit log's chain of seals.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// True when every sealed row checked out and no row is outside the chain.
    pub verified: bool,
    /// When the check ran (RFC 3339, UTC).
    pub checked_at: String,
    /// Sealed rows whose seal checked out, in chain order.
    pub rows_verified: u64,
    /// The newest row checked ("chain verified up to row N"); `None` for an empty log.
    pub verified_up_to_id: Option<i64>,
    /// Command rows still waiting for their answer: they are sealed when they complete.
    pub pending_rows: u64,
    /// Seals archived by the retention job: the chain starts after this one (0: nothing was).
    pub starts_after_seal: i64,
    /// The first problem found, in chain order.
    pub problem: Option<ChainProblem>,
    /// How long the check took.
    pub duration_ms: u64,
}

/// A break in the chain: which row, what kind, and a sentence for people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainProblem {
    pub kind: ChainProblemKind,
    /// The row concerned: the changed or unsealed row, or the first row after a gap.
    pub row_id: Option<i64>,
    pub message: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainProblemKind {
    /// A row's fields no longer match its seal: edited, or moved to another id or place.
    Altered,
    /// A sealed row is gone from the middle of the chain.
    Missing,
    /// A completed row that was never sealed: added outside the dashboard.
    Unsealed,
    /// The newest rows are gone: the chain ends before the last seal this server made.
    Truncated,
}
