//! Builds the application from [`Settings`]: database, key, upstream (real or the built-in
//! simulator), the fleet service, the background tasks and the server, and their shutdown
//! (start and stop side by side). The tasks' bodies live in `background`, the router in
//! `routes`, the simulator and demo fleet in `demo`.

use std::{
    future::IntoFuture,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use crate::session_store::Sessions;
use anyhow::Context;
use axum::Router;
use fleet::{
    clock::{Clock, SystemClock},
    crypto::TokenCipher,
    db, poller,
    service::FleetDeps,
    Fleet,
};
use leptos::prelude::*;
use pickyassist::{Client, ClientConfig};
use pickyassist_sim::SimHandle;
use tokio::net::TcpListener;
use tower_http::{
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
};
use tower_sessions::{
    cookie::SameSite, session_store::ExpiredDeletion, Expiry, SessionManagerLayer,
};
use url::Url;

use crate::config::Settings;
pub use crate::routes::router;

pub struct Application {
    listener: TcpListener,
    router: Router,
    fleet: Fleet,
    upstream: Url,
    /// The built-in simulator when no upstream URL is set; it lives as long as the app.
    simulator: Option<SimHandle>,
    database_url: String,
    /// Set on the first start with the demo simulator, printed once.
    demo_admin_password: Option<String>,
    session_store: Sessions,
}

/// Leptos settings: cargo-leptos's environment when present, our names otherwise, so the
/// binary also runs when built by plain `cargo` (tests).
pub fn leptos_options() -> anyhow::Result<LeptosOptions> {
    let mut options = get_configuration(None)
        .context("reading Leptos settings")?
        .leptos_options;
    if options.output_name.is_empty() {
        options.output_name = "picky-fleet".into();
    }
    // cargo-leptos writes the hashed asset names beside the binary it builds (see
    // `hash-files` in Cargo.toml); the binary run without cargo-leptos still finds them there.
    // A test binary has none and links the plain names.
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        if dir.join(options.hash_file.as_ref()).is_file() {
            options.hash_files = true;
        }
    }
    Ok(options)
}

impl Application {
    pub async fn build(settings: Settings, leptos_options: LeptosOptions) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, leptos_options, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], with the service reading the time from `clock` (tests move a
    /// manual clock to make hours of history in no time).
    pub async fn build_with_clock(
        settings: Settings,
        leptos_options: LeptosOptions,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let (upstream, simulator) = match &settings.upstream_url {
            Some(url) => (url.clone(), None),
            None => {
                let handle = crate::demo::start_simulator(settings.sim_addr).await?;
                (handle.base_url.clone(), Some(handle))
            }
        };
        let (fleet, database) = open_fleet_with_clock(&settings, &upstream, clock).await?;
        fleet.mark_interrupted_commands().await?;
        fleet.mark_interrupted_batches().await?;

        // Sessions use the pool of 8, not the one writer connection: on the writer, a page
        // request could wait 20 s and more for its session while that connection was taken
        // (seen as hung page loads in the integration tests). Their few writes meet the
        // command path's in SQLite's busy handler instead.
        let session_store = Sessions::new(&database.reader);
        session_store
            .migrate()
            .await
            .context("creating the session table")?;
        let mut demo_admin_password = None;
        if simulator.is_some() {
            if fleet.project_ids().is_empty() {
                crate::demo::seed_demo_fleet(&fleet).await?;
            }
            demo_admin_password = fleet
                .create_demo_admin(settings.demo_admin_password.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("creating the demo admin: {e}"))?;
        }

        let listener = TcpListener::bind(settings.addr)
            .await
            .with_context(|| format!("could not listen on {}", settings.addr))?;
        let sessions = SessionManagerLayer::new(session_store.clone())
            .with_name("picky_fleet_session")
            .with_http_only(true)
            .with_same_site(SameSite::Strict)
            // Saved on every request, so the idle expiry moves with use: otherwise only a
            // changed session is saved, and a busy user is signed out `session_idle` after
            // signing in. One small write per request.
            .with_always_save(true)
            .with_secure(settings.secure_cookies)
            .with_expiry(Expiry::OnInactivity(
                tower_sessions::cookie::time::Duration::try_from(settings.session_idle)
                    .context("session idle time out of range")?,
            ));
        // The site's wasm, JS and CSS compressed once per build, beside the server's start.
        let pkg = PathBuf::from(leptos_options.site_root.as_ref())
            .join(leptos_options.site_pkg_dir.as_ref());
        if let Err(e) = crate::assets::remove_stale(&pkg) {
            tracing::debug!(dir = %pkg.display(), error = %e, "no compressed assets to check");
        }
        // A thread of its own, not the runtime's blocking pool: a shutdown must not wait for
        // a compression (a debug build's wasm takes many seconds); a half-written copy is only
        // a temporary file, which a later start removes.
        let compressing = std::thread::Builder::new()
            .name("compress-assets".into())
            .spawn(move || match crate::assets::precompress(&pkg) {
                Ok(0) => {}
                Ok(n) => tracing::info!(files = n, dir = %pkg.display(), "assets compressed"),
                Err(e) => tracing::warn!(dir = %pkg.display(), error = %e, "could not compress the assets; they are served as they are"),
            });
        if let Err(e) = compressing {
            tracing::warn!(error = %e, "could not start compressing the assets; they are served as they are");
        }
        let router = crate::routes::with_security_headers(router(
            fleet.clone(),
            leptos_options,
            session_store.clone(),
        ))
        .layer(crate::assets::compression())
        .layer(RequestBodyLimitLayer::new(crate::routes::MAX_BODY_BYTES))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn(
                    crate::telemetry::keep_only_plain_request_ids,
                ))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(crate::telemetry::request_trace_layer())
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::middleware::from_fn_with_state(
                    fleet.clone(),
                    crate::outage::explain_database_outage,
                ))
                .layer(sessions)
                .layer(axum::middleware::from_fn_with_state(
                    settings.trusted_proxies.clone(),
                    crate::client_addr::resolve_client,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    fleet.clone(),
                    crate::auth::resolve_actor,
                )),
        );
        Ok(Self {
            listener,
            router,
            fleet,
            upstream,
            simulator,
            database_url: settings.database_url,
            demo_admin_password,
            session_store,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// The built-in simulator's API base (`None` when pointed at a real upstream).
    pub fn simulator_url(&self) -> Option<&Url> {
        self.simulator.as_ref().map(|s| &s.base_url)
    }

    pub fn print_banner(&self) {
        println!("picky-fleet is listening on http://{}", self.addr());
        println!("  database: {}", db::shown_url(&self.database_url));
        match &self.simulator {
            Some(sim) => {
                println!(
                    "  upstream: built-in PickyAssist simulator at {}",
                    sim.base_url
                );
                println!("            switch faults on with e.g.");
                println!(
                    "            curl -X PUT http://{}/_sim/faults/global -H 'content-type: application/json' -d '{{\"kind\":\"http500\"}}'",
                    sim.addr
                );
            }
            None => println!("  upstream: {}", self.upstream),
        }
        if let Some(password) = &self.demo_admin_password {
            println!();
            println!("  First start: created the demo admin. Sign in with");
            println!("      username: admin");
            println!("      password: {password}");
            println!("  This password is shown only once. Add your own users with `picky-fleet user add`.");
        }
    }

    /// The generated demo admin password, for tests (printed once by `print_banner`).
    pub fn demo_admin_password(&self) -> Option<&str> {
        self.demo_admin_password.as_deref()
    }

    /// Serves until Ctrl-C or SIGTERM, with the poller running beside the server. On the
    /// signal: stop accepting connections, end event streams, let requests in progress finish
    /// (commands included, with their audit rows), then return; at most [`SHUTDOWN_GRACE`].
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        // The poller ends when the server stops; if it ends (or panics) before that, it is
        // started again.
        let poller = tokio::spawn({
            let (fleet, stop_rx) = (self.fleet.clone(), stop_rx.clone());
            async move {
                let report = {
                    let fleet = fleet.clone();
                    move |running| fleet.report_task("poller", running)
                };
                let stopped = wait_for(stop_rx.clone());
                let run = fleet::supervise::supervise("poller", report, move || {
                    let (fleet, stop_rx) = (fleet.clone(), stop_rx.clone());
                    async move {
                        poller::run(fleet, wait_for(stop_rx.clone())).await;
                        if *stop_rx.borrow() {
                            // Stopping: not a failure. Wait for the supervisor to be dropped.
                            std::future::pending::<()>().await;
                        }
                        anyhow::bail!("the poller stopped")
                    }
                });
                tokio::select! {
                    _ = stopped => {}
                    _ = run => {}
                }
            }
        });
        let refused_sign_ins = tokio::spawn({
            let fleet = self.fleet.clone();
            async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
                loop {
                    every.tick().await;
                    if let Err(e) = fleet
                        .flush_refused_sign_ins(std::time::Instant::now())
                        .await
                    {
                        tracing::warn!(error = %e, "could not write refused sign-ins to the audit log");
                    }
                }
            }
        });
        // The audit log's upkeep: archive rows past the retention (when set), then check the
        // whole hash chain; at start and every hour.
        let audit_upkeep = tokio::spawn({
            let fleet = self.fleet.clone();
            fleet::supervise::supervise(
                "audit_upkeep",
                {
                    let fleet = fleet.clone();
                    move |running| fleet.report_task("audit_upkeep", running)
                },
                move || {
                    let fleet = fleet.clone();
                    async move {
                        loop {
                            // The check runs whatever the archive did: a broken chain is
                            // also why archiving stops. One instance of several does it: a
                            // standby looks again soon, in case it becomes the poller.
                            if !fleet.is_poller() {
                                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                                continue;
                            }
                            let archived = fleet.archive_old_audit_rows(chrono::Utc::now()).await;
                            let checked = fleet.check_audit_chain().await;
                            archived?;
                            checked?;
                            tokio::time::sleep(crate::background::AUDIT_UPKEEP_EVERY).await;
                        }
                    }
                },
            )
        });
        // Status history: what the poller recorded is written every few seconds; uptime is
        // recomputed every few minutes and old history pruned every ten.
        let history = tokio::spawn({
            let fleet = self.fleet.clone();
            fleet::supervise::supervise(
                "history",
                {
                    let fleet = fleet.clone();
                    move |running| fleet.report_task("history", running)
                },
                move || {
                    let fleet = fleet.clone();
                    async move { crate::background::history_upkeep(fleet).await }
                },
            )
        });
        // Alerts: the outbox's dispatcher sends what the poller's rounds queued, with retries.
        let alert_outbox = tokio::spawn({
            let fleet = self.fleet.clone();
            fleet::supervise::supervise(
                "alert_outbox",
                {
                    let fleet = fleet.clone();
                    move |running| fleet.report_task("alert_outbox", running)
                },
                move || {
                    let fleet = fleet.clone();
                    async move { fleet.run_alert_outbox().await }
                },
            )
        });
        let cluster = crate::background::spawn_cluster_tasks(&self.fleet);
        // Expired sessions are deleted every 10 minutes; the store's loop ends on its first
        // error, so it is restarted.
        let expired_sessions = tokio::spawn({
            let (fleet, store) = (self.fleet.clone(), self.session_store.clone());
            fleet::supervise::supervise(
                "session_cleanup",
                move |running| fleet.report_task("session_cleanup", running),
                move || {
                    let store = store.clone();
                    async move {
                        store
                            .continuously_delete_expired(std::time::Duration::from_secs(600))
                            .await
                            .map_err(|e| anyhow::anyhow!("deleting expired sessions: {e}"))
                    }
                },
            )
        });
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let fleet = self.fleet.clone();
        let server = axum::serve(self.listener, service).with_graceful_shutdown(async move {
            shutdown_signal().await;
            fleet.begin_shutdown();
            let _ = stop_tx.send(true);
        });
        let mut server = tokio::spawn(server.into_future());
        let served = tokio::select! {
            served = &mut server => served,
            _ = async {
                wait_for(stop_rx).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them");
                server.abort();
                Ok(Ok(()))
            }
        };
        served
            .context("the HTTP server task failed")?
            .context("the HTTP server failed")?;
        // Commands whose caller went away are still running in their own tasks.
        let left = self.fleet.drain_commands(SHUTDOWN_GRACE).await;
        let _ = poller.await;
        expired_sessions.abort();
        audit_upkeep.abort();
        history.abort();
        alert_outbox.abort();
        // Ending the lock's connection hands the poller's role to another instance at once.
        for task in cluster.into_iter().flatten() {
            task.abort();
        }
        if let Err(e) = self.fleet.flush_history().await {
            tracing::warn!(error = %e, "could not write the last status history");
        }
        refused_sign_ins.abort();
        let _ = self
            .fleet
            .flush_refused_sign_ins(std::time::Instant::now() + fleet::sign_in_limit::WINDOW)
            .await;
        drop(self.simulator);
        tracing::info!(unfinished_commands = left, "stopped");
        Ok(())
    }
}

/// How long a shutdown waits for requests and commands in progress.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Opens what every entry point needs: the database (migrated), the token key and the fleet
/// service talking to `upstream`. Starts nothing: no HTTP server, no poller, no simulator, no
/// demo data. The admin CLI uses it as it is; [`Application::build`] adds the rest.
pub async fn open_fleet(
    settings: &Settings,
    upstream: &Url,
) -> anyhow::Result<(Fleet, db::Database)> {
    open_fleet_with_clock(settings, upstream, Arc::new(SystemClock)).await
}

/// [`open_fleet`] with the service reading the time from `clock`.
pub async fn open_fleet_with_clock(
    settings: &Settings,
    upstream: &Url,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Fleet, db::Database)> {
    let database = db::connect(&settings.database_url).await?;
    let cipher = match (&settings.secret_key, settings.database_path()) {
        (Some(key), _) => TokenCipher::from_base64(key)?,
        (None, Some(db_path)) => TokenCipher::load_or_create_key_file(&key_file_for(&db_path))?,
        (None, None) if db::is_postgres_url(&settings.database_url) => anyhow::bail!(
            "a PostgreSQL database needs PICKY_FLEET_SECRET_KEY (the same on every instance)"
        ),
        (None, None) => anyhow::bail!("an in-memory database needs PICKY_FLEET_SECRET_KEY"),
    };
    let client = Client::new(ClientConfig {
        request_timeout: settings.upstream_timeout,
        ..ClientConfig::new(upstream.clone())
    })
    .context("building the upstream client")?;
    let fleet = Fleet::load(FleetDeps {
        db: database.clone(),
        cipher,
        client,
        poll_interval: settings.poll_interval,
        status_checks_per_minute: settings.status_checks_per_minute,
        verify_delay: settings.verify_delay,
        sign_in_per_user_per_minute: settings.sign_in_per_user_per_minute,
        sign_in_per_client_per_minute: settings.sign_in_per_client_per_minute,
        audit_retention: settings.audit_retention()?,
        history_retention: settings.history_retention,
        history_enabled: settings.history_enabled,
        clock,
        public_url: settings.public_url(),
        storm_percent: settings.alert_storm_percent,
        batch_concurrency: settings.batch_concurrency,
        batch_max: settings.batch_max,
    })
    .await?;
    Ok((fleet, database))
}

/// The key file sits next to the database: `data/picky-fleet.db` → `data/picky-fleet.key`.
fn key_file_for(db_path: &std::path::Path) -> PathBuf {
    db_path.with_extension("key")
}

async fn wait_for(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
