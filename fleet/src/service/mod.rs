//! [`Fleet`]: the service layer. Pages, server functions, the REST API and the CLI are thin
//! adapters over these methods; checks, audit and upstream calls happen here only.
//!
//! This file holds the service's state and its construction; the methods live by topic:
//! `status` (the fleet view and status checks), `lifecycle` (poller rounds, start-up and
//! shutdown), `projects`, `commands`, `accounts`, `api_keys`, `audit` and `backup`.
//! [`FleetError`] is in `error`.

use std::{
    collections::{HashMap, HashSet},
    sync::{atomic::AtomicBool, Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use pickyassist::Client;
use tokio::sync::broadcast;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

mod accounts;
mod alerts;
mod api_keys;
mod audit;
mod autoheal;
mod backup;
mod batches;
mod cluster;
mod commands;
mod error;
mod guides;
mod history;
mod idempotency;
mod lifecycle;
mod orphans;
mod project_list;
mod projects;
mod remediation;
mod status;

pub use alerts::{retry_delay, Checked, ATTEMPT_LEASE, DEFAULT_STORM_PERCENT};
pub use audit::AuditRetention;
pub use batches::{DEFAULT_BATCH_CONCURRENCY, DEFAULT_BATCH_MAX};
pub use error::{AnswerKind, ErrorAnswer, FleetError, DATABASE_UNAVAILABLE};
pub use history::{HistoryRetention, MAX_CHANGES_PER_PAGE};
pub use status::MAX_CARDS_PER_REQUEST;

pub(crate) use status::record_upstream_call;

use project_list::ProjectList;
use projects::Project;

use crate::{
    backoff::Backoff,
    board::StatusBoard,
    budget::StatusBudget,
    crypto::TokenCipher,
    db::{self, Database},
    model::StatusEvent,
};

#[derive(Clone)]
pub struct Fleet {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    /// Every audit row goes through here: sealed into the chain, grouped into one
    /// transaction under load.
    audit_writer: db::audit_writer::AuditWriter,
    /// The last check of the audit chain, for the audit page.
    chain_report: Mutex<Option<crate::model::ChainReport>>,
    /// Held by a check of the chain: one at a time (at a million rows one takes seconds).
    chain_check: tokio::sync::Mutex<()>,
    audit_retention: Option<AuditRetention>,
    cipher: TokenCipher,
    client: Client,
    poll_interval: Duration,
    board: StatusBoard,
    budget: Mutex<StatusBudget>,
    projects: RwLock<ProjectList>,
    /// Held across a reload's read and replace, so two concurrent changes cannot leave the
    /// older list in place (a project just added would vanish until the next change).
    reload: tokio::sync::Mutex<()>,
    /// One lock per project so concurrent refreshes of one project make one upstream call.
    in_flight: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    /// Per project, the queue its commands wait in: one command at a time per device.
    command_queues: Mutex<HashMap<i64, Arc<commands::CommandQueue>>>,
    /// Scripts' `Idempotency-Key`s and their commands' results.
    idempotency: idempotency::IdempotencyKeys,
    /// Commands on their way: they finish (and complete their audit row) even if the caller
    /// goes away, and shutdown waits for them.
    commands: TaskTracker,
    /// Cancelled when the server begins to shut down: event streams end, commands are refused.
    stopping: CancellationToken,
    /// Projects with a verification check already scheduled, so a burst of commands makes one.
    verifications: Mutex<HashSet<i64>>,
    backoff: Mutex<Backoff>,
    /// Set when upstream answers after an outage; the poller then runs a full round at once.
    outage_over: AtomicBool,
    sign_in_limiter: crate::sign_in_limit::SignInLimiter,
    /// Sign-in attempts the limiter refused, counted for one audit row per window.
    refused_sign_ins: crate::sign_in_limit::RefusedAttempts,
    /// When the poller last finished a round over every project.
    last_poll_round: Mutex<Option<Instant>>,
    /// The server's supervised background tasks, running (true) or being restarted.
    tasks: Mutex<std::collections::BTreeMap<&'static str, bool>>,
    /// Pause between a command's answer and the status check that confirms its effect.
    verify_delay: Duration,
    clock: Arc<dyn crate::clock::Clock>,
    /// Every poll's result, collected for the status history.
    history: crate::history::HistoryRecorder,
    history_retention: HistoryRetention,
    /// `PICKY_FLEET_HISTORY=off`: no history is recorded (cards carry no strip).
    history_enabled: bool,
    /// Each project's 7, 30 and 90-day uptime, recomputed now and then.
    uptime: Mutex<HashMap<i64, crate::model::Uptime>>,
    /// Alert rules and channels as last loaded, the alert engine, the outbox's dispatcher.
    alerts: alerts::AlertState,
    /// Bulk commands running now, and their progress's subscribers.
    batches: batches::BatchState,
    /// Each project's recent past, for the advice on its card.
    remediation: Mutex<HashMap<i64, crate::remediation::Memory>>,
    /// Auto-heal's policies and what it did.
    auto_heal: autoheal::AutoHealState,
    /// This instance's name among several on one PostgreSQL ([`cluster`]).
    instance_id: String,
    /// Whether this instance polls: always on SQLite; on PostgreSQL, while it holds the lock.
    is_poller: AtomicBool,
    /// Status notes on their way to the other instances ([`cluster`]).
    status_outbox: cluster::StatusOutbox,
}

pub struct FleetDeps {
    pub db: Database,
    pub cipher: TokenCipher,
    pub client: Client,
    pub poll_interval: Duration,
    pub status_checks_per_minute: u32,
    pub verify_delay: Duration,
    pub sign_in_per_user_per_minute: u32,
    pub sign_in_per_client_per_minute: u32,
    /// `None`: audit rows are kept forever.
    pub audit_retention: Option<AuditRetention>,
    pub history_retention: HistoryRetention,
    pub history_enabled: bool,
    pub clock: Arc<dyn crate::clock::Clock>,
    /// The dashboard's address as people reach it, for links in alert messages.
    pub public_url: String,
    /// More than this share (percent) of projects opening alerts in one round is a storm.
    pub storm_percent: u32,
    /// Commands a bulk command sends at once.
    pub batch_concurrency: usize,
    /// Projects in one bulk command at most.
    pub batch_max: usize,
}

impl Fleet {
    /// Builds the service and loads (and decrypts) every project.
    pub async fn load(deps: FleetDeps) -> anyhow::Result<Self> {
        let alert_link_key = deps.cipher.alert_link_key();
        // SQLite: one instance, the poller. PostgreSQL: whoever holds the lock (see `cluster`).
        let alone = deps.db.engine() == db::Engine::Sqlite;
        let instance_id = deps.db.instance_id.clone();
        let fleet = Fleet {
            inner: Arc::new(Inner {
                audit_writer: db::audit_writer::AuditWriter::start(
                    deps.db.writer.clone(),
                    deps.cipher.audit_chain_key(),
                ),
                chain_report: Mutex::default(),
                chain_check: tokio::sync::Mutex::default(),
                audit_retention: deps.audit_retention,
                db: deps.db,
                cipher: deps.cipher,
                client: deps.client,
                poll_interval: deps.poll_interval,
                board: StatusBoard::default(),
                budget: Mutex::new(StatusBudget::per_minute(deps.status_checks_per_minute)),
                projects: RwLock::default(),
                reload: tokio::sync::Mutex::new(()),
                in_flight: Mutex::default(),
                command_queues: Mutex::default(),
                idempotency: Default::default(),
                commands: TaskTracker::new(),
                stopping: CancellationToken::new(),
                verifications: Mutex::default(),
                backoff: Mutex::new(Backoff::new(deps.poll_interval)),
                outage_over: AtomicBool::new(false),
                last_poll_round: Mutex::default(),
                tasks: Mutex::default(),
                refused_sign_ins: Default::default(),
                sign_in_limiter: crate::sign_in_limit::SignInLimiter::new(
                    deps.sign_in_per_user_per_minute,
                    deps.sign_in_per_client_per_minute,
                ),
                verify_delay: deps.verify_delay,
                clock: deps.clock,
                history: Default::default(),
                history_retention: deps.history_retention,
                history_enabled: deps.history_enabled,
                uptime: Mutex::default(),
                alerts: alerts::AlertState::new(
                    alert_link_key,
                    &deps.public_url,
                    deps.storm_percent,
                ),
                batches: batches::BatchState::new(deps.batch_concurrency, deps.batch_max),
                remediation: Mutex::default(),
                auto_heal: Default::default(),
                instance_id,
                is_poller: AtomicBool::new(alone),
                status_outbox: Default::default(),
            }),
        };
        fleet.reload_projects().await?;
        fleet.seed_history().await?;
        fleet.load_alerts().await?;
        fleet.load_auto_heal().await?;
        Ok(fleet)
    }

    /// Browsers (and scripts) following the event stream right now.
    pub fn event_subscribers(&self) -> usize {
        self.inner.board.subscriber_count()
    }

    pub fn pool(&self) -> &crate::db::Pool {
        &self.inner.db.reader
    }

    /// Whether the database answers a trivial query within two seconds (the health check, and
    /// the outage page's reason to say so).
    pub async fn database_answers(&self) -> Result<(), String> {
        let ping = async {
            crate::with_pool!(self.pool(), p => {
                sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(p).await
            })
        };
        match tokio::time::timeout(std::time::Duration::from_secs(2), ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 2 s".into()),
        }
    }

    pub fn poll_interval(&self) -> Duration {
        self.inner.poll_interval
    }

    pub fn subscribe(&self) -> broadcast::Receiver<StatusEvent> {
        self.inner.board.subscribe()
    }

    /// Signs a page's status line (`crate::notice`): `kind` is `done` or `error`.
    pub fn sign_notice(&self, kind: &str, text: &str) -> String {
        self.inner.cipher.notice_key().sign(kind, text)
    }

    /// Whether a status line from a URL is one the dashboard signed.
    pub fn notice_is_genuine(&self, kind: &str, text: &str, signature: &str) -> bool {
        self.inner
            .cipher
            .notice_key()
            .is_genuine(kind, text, signature)
    }

    pub fn project_ids(&self) -> Vec<i64> {
        self.projects_read().iter().map(|p| p.id).collect()
    }
}
