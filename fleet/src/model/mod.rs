//! Types sent to the browser. None of them can hold a token: the server keeps only its last
//! four characters for display.
//!
//! * `status` — [`Health`], a project's [`StatusView`] and card, the fleet page's view and
//!   overview, "refresh now" and the SSE [`StatusEvent`].
//! * `project` — [`ProjectName`], the admin page's [`ProjectAdminView`] and [`token_hint`].
//! * `user` — [`Role`], [`Username`], [`CurrentUser`], [`UserView`] and the API key views.
//! * `audit` — the audit log's actions, outcomes, rows and pages, and [`CommandResult`].
//! * `audit_chain` — what a check of the audit log's hash chain found ([`ChainReport`]).
//! * `history` — status history: roll-ups, state changes, uptime and a card's strip.
//! * `alerts` — alert channels, rules, alerts and their deliveries, mutes, maintenance.
//! * `audit_filter` — its filters: [`AuditQueryText`] as text, parsed once into
//!   [`AuditFilter`].
//!
//! Everything is re-exported here: the paths are `crate::model::X`, whatever the file.

mod alerts;
mod audit;
mod audit_chain;
mod audit_filter;
mod autoheal;
mod batch;
mod guidance;
mod history;
mod project;
mod status;
mod strip;
mod user;

pub use alerts::{
    AlertChannelChange, AlertChannelView, AlertDelivery, AlertDetail, AlertEvent, AlertKind,
    AlertPage, AlertQueryText, AlertRule, AlertRules, AlertStatus, AlertView, ChannelKind,
    CreatedAlertChannel, DeliveryAttempt, DeliveryCounts, DeliveryResult, DeliveryStatus,
    EmailSettings, MaintenanceWindow, MuteRequest, NewAlertChannel, NewMaintenanceWindow,
    ProjectAlertRule, ProjectMute, Quiet, SmtpSecurity, WindowSchedule, WEEKDAYS,
};
pub use audit::{AuditAction, AuditEntry, AuditOutcome, AuditPage, CommandResult};
pub use audit_chain::{ChainProblem, ChainProblemKind, ChainReport};
pub use audit_filter::{parse_time, stored_time, AuditFilter, AuditQueryText, PageSize};
pub use autoheal::AutoHealPolicy;
pub use batch::{
    BatchCounts, BatchFilter, BatchItem, BatchProgress, BatchRequest, BatchStatus, BatchView,
    ItemState,
};
pub use guidance::{Advice, NumberChange, NumberChangeStep};
pub use history::{
    ChangesQuery, ChangesQueryText, HistoryBucket, HistoryQueryText, HistoryRange, PollCounts,
    ProjectHistory, Resolution, Shown, StateChange, StateChangePage, Uptime,
};
pub use project::{token_hint, InvalidProjectName, ProjectAdminView, ProjectName};
pub use status::{
    DeviceSnapshot, FleetOverview, FleetView, Health, ProjectBrief, ProjectCard, RefreshOutcome,
    StatusEvent, StatusView,
};
pub use strip::{percent, CardHistory, StripSegment};
pub use user::{ApiKeyView, CreatedApiKey, CurrentUser, Role, UserView, Username};
