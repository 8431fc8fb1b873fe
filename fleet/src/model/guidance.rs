//! Guidance for support agents: the advice on a card (`fleet::remediation` decides it) and
//! where a project is in "connect another number" (`fleet::service::guides`).

use serde::{Deserialize, Serialize};

/// Where a project is in "connect another number" (`disconnect`, then `clearlogs`, then the
/// QR code scanned with the new phone).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberChange {
    pub project_id: i64,
    pub project_name: String,
    /// The step to do next.
    pub step: NumberChangeStep,
    /// When step 1 was done (in the last 24 hours).
    pub disconnected_at: Option<String>,
    /// When step 2 was done, after step 1.
    pub cleared_at: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberChangeStep {
    Disconnect,
    ClearLogs,
    /// Both done: show the QR code (restart) and scan it with the new phone.
    ScanNewNumber,
}

/// What a support agent should try next for a project: one sentence, and the command it
/// suggests (one click away on the card, never run by itself) or a page to go to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advice {
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "restart"))]
    pub command: Option<pickyassist::Command>,
    /// What the suggested command costs, when it costs something (deleted messages).
    pub warning: Option<String>,
    /// A page that helps (the Projects page, to replace a rejected token).
    pub link: Option<String>,
}
