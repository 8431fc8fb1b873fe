use std::{net::SocketAddr, time::Duration};

use fleet::{
    auth::{Actor, Password},
    model::{AuditAction, AuditEntry, AuditFilter, Role, Username},
    Fleet,
};
use leptos::prelude::LeptosOptions;
use pickyassist_sim::{ProjectView, Stats, DEMO_FLEET};
use reqwest::StatusCode;
use server::{config::Settings, startup::Application};
use url::Url;

/// A running server with its own database and simulator. Dropping it stops nothing explicitly:
/// the runtime of the test ends and takes the tasks with it.
pub struct TestApp {
    pub address: String,
    /// The generated password of the demo `admin`.
    pub admin_password: String,
    pub sim_control: Url,
    pub fleet: Fleet,
    pub http: reqwest::Client,
    /// Where the test's data lives: a SQLite file in `data_dir`, or a PostgreSQL database.
    pub database: TestDatabase,
    _dir: tempfile::TempDir,
}

/// A test's own database. With `PICKY_FLEET_TEST_POSTGRES` set (`./x test` sets it to a
/// throwaway cluster's server URL) every test gets a new PostgreSQL database on that server;
/// otherwise a SQLite file in the test's directory, its key file beside it.
#[derive(Clone, Debug)]
pub struct TestDatabase {
    pub url: String,
    /// Set for PostgreSQL, which has no directory for a key file.
    pub secret_key: Option<String>,
}

/// True when the suite runs against PostgreSQL: tests of the SQLite file itself (editing it
/// behind the server's back, copying it) have nothing to test there.
pub fn on_postgres() -> bool {
    std::env::var_os("PICKY_FLEET_TEST_POSTGRES").is_some()
}

pub async fn test_database(dir: &std::path::Path) -> TestDatabase {
    let Ok(server) = std::env::var("PICKY_FLEET_TEST_POSTGRES") else {
        return TestDatabase {
            url: format!("sqlite:{}", dir.join("fleet.db").display()),
            secret_key: None,
        };
    };
    use sqlx::Connection as _;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .expect("the test PostgreSQL server answers");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("a test database is created");
    let _ = admin.close().await;
    let (base, _) = server.rsplit_once('/').expect("the URL names a database");
    let key: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
    use base64::Engine as _;
    TestDatabase {
        url: format!("{base}/{name}"),
        secret_key: Some(base64::engine::general_purpose::STANDARD.encode(key)),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose clock stands at `start` (RFC 3339) until the test moves it, with the status
/// budget and the simulator's limit out of the way, its first poll round done.
pub async fn spawn_app_at(start: &str) -> (TestApp, fleet::clock::ManualClock) {
    let start = chrono::DateTime::parse_from_rfc3339(start)
        .expect("time")
        .with_timezone(&chrono::Utc);
    let clock = fleet::clock::ManualClock::at(start);
    let app = spawn_app_with_clock(
        |s| s.status_checks_per_minute = 100_000,
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    app.sim_unlimited_status_checks().await;
    app.wait_for_first_poll().await;
    (app, clock)
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_clock(customise, std::sync::Arc::new(fleet::clock::SystemClock)).await
}

/// A server whose service reads the time from `clock` (a test's manual clock).
pub async fn spawn_app_with_clock(
    customise: impl FnOnce(&mut Settings),
    clock: std::sync::Arc<dyn fleet::clock::Clock>,
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        server::telemetry::init();
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let database = test_database(dir.path()).await;
    let mut settings = Settings {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        sim_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: database.url.clone(),
        secret_key: database.secret_key.clone(),
        // Tests drive polling themselves; the first round still runs at start.
        poll_interval: Duration::from_secs(3600),
        ..Settings::default()
    };
    customise(&mut settings);
    let options = LeptosOptions::builder()
        .output_name("picky-fleet")
        .site_root("target/site")
        .build();
    let app = Application::build_with_clock(settings, options, clock)
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let sim_base = app
        .simulator_url()
        .expect("the built-in simulator runs")
        .clone();
    let sim_control = sim_base.join("/_sim/").expect("control url");
    let fleet = app.fleet().clone();
    let admin_password = app
        .demo_admin_password()
        .expect("a fresh database gets a demo admin")
        .to_owned();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        admin_password,
        sim_control,
        fleet,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client"),
        database,
        _dir: dir,
    }
}

impl TestApp {
    /// The directory holding the database (`fleet.db`) and its key file (`fleet.key`).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub async fn sim_stats(&self) -> Stats {
        self.http
            .get(self.sim_control.join("stats").expect("url"))
            .send()
            .await
            .expect("stats request")
            .json()
            .await
            .expect("stats json")
    }

    /// The simulator's view of one project (state, queue, commands it executed).
    pub async fn sim_project(&self, upstream_project_id: u64) -> ProjectView {
        self.http
            .get(
                self.sim_control
                    .join(&format!("projects/{upstream_project_id}"))
                    .expect("url"),
            )
            .send()
            .await
            .expect("project request")
            .json()
            .await
            .expect("project json")
    }

    /// Moves a simulated device to `state` (`"TIMEOUT"`, …), as its phone would on its own.
    pub async fn sim_state(&self, upstream_project_id: u64, state: &str) {
        self.http
            .patch(
                self.sim_control
                    .join(&format!("projects/{upstream_project_id}"))
                    .expect("url"),
            )
            .json(&serde_json::json!({ "state": state }))
            .send()
            .await
            .expect("state request")
            .error_for_status()
            .expect("state accepted");
    }

    /// Switches a simulator fault on for one project (`kind` JSON as the control API takes it).
    pub async fn sim_clear_fault(&self, upstream_project_id: u64) {
        self.http
            .delete(
                self.sim_control
                    .join(&format!("faults/projects/{upstream_project_id}"))
                    .expect("url"),
            )
            .send()
            .await
            .expect("fault request")
            .error_for_status()
            .expect("fault cleared");
    }

    pub async fn sim_fault(&self, upstream_project_id: u64, fault: serde_json::Value) {
        self.http
            .put(
                self.sim_control
                    .join(&format!("faults/projects/{upstream_project_id}"))
                    .expect("url"),
            )
            .json(&fault)
            .send()
            .await
            .expect("fault request")
            .error_for_status()
            .expect("fault accepted");
    }

    /// Every audit row with `action`, newest first.
    /// (At most the 500 newest: more would be a test that floods the log, which should fail.)
    pub async fn audit_rows(
        &self,
        action: fleet::model::AuditAction,
    ) -> Vec<fleet::model::AuditEntry> {
        self.fleet
            .audit_page(
                &Actor::cli(),
                &fleet::model::AuditFilter {
                    action: Some(action),
                    limit: fleet::model::PageSize::MAX,
                    ..Default::default()
                },
            )
            .await
            .expect("audit")
            .entries
    }

    /// Status calls the simulator has seen for a demo project.
    pub async fn status_calls(&self, upstream_project_id: u64) -> u64 {
        self.sim_stats()
            .await
            .projects
            .get(&upstream_project_id)
            .map(|c| c.device_status)
            .unwrap_or(0)
    }

    /// The dashboard's id of a demo project, by name.
    pub fn project_id(&self, name: &str) -> i64 {
        self.fleet
            .fleet_snapshot()
            .cards
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no project named {name}"))
            .id
    }

    /// Lifts the simulator's own limit of 3 status checks a minute (for tests that poll fast).
    pub async fn sim_unlimited_status_checks(&self) {
        self.http
            .put(self.sim_control.join("config").expect("url"))
            .json(&serde_json::json!({"status_limit_per_minute": null}))
            .send()
            .await
            .expect("config request")
            .error_for_status()
            .expect("config accepted");
    }

    /// Switches a fault on for every project, or off again with `None`.
    pub async fn sim_global_fault(&self, fault: Option<serde_json::Value>) {
        let url = self.sim_control.join("faults/global").expect("url");
        let request = match fault {
            Some(fault) => self.http.put(url).json(&fault),
            None => self.http.delete(url),
        };
        request
            .send()
            .await
            .expect("fault request")
            .error_for_status()
            .expect("fault accepted");
    }

    /// Adds `count` CONNECTED projects to the simulator and the dashboard; returns the
    /// dashboard ids with their upstream ids.
    pub async fn add_connected_projects(&self, count: u64) -> Vec<(i64, u64)> {
        let mut ids = Vec::new();
        for n in 0..count {
            let upstream_id = 5000 + n;
            let token = format!("load-test-token-{upstream_id:06}-abcdef");
            self.http
                .post(self.sim_control.join("projects").expect("url"))
                .json(&serde_json::json!({"token": token, "project_id": upstream_id}))
                .send()
                .await
                .expect("sim project")
                .error_for_status()
                .expect("sim project accepted");
            let id = self
                .fleet
                .add_project(
                    &Actor::cli(),
                    fleet::model::ProjectName::parse(&format!("Load {n:03}")).expect("name"),
                    pickyassist::ApiToken::parse(&token).expect("token"),
                )
                .await
                .expect("project");
            ids.push((id, upstream_id));
        }
        ids
    }

    /// A user with `role` and an API key acting as them.
    pub async fn api_key_for(&self, name: &str, role: Role) -> String {
        let id = self
            .fleet
            .add_user(
                &Actor::cli(),
                Username::parse(name).expect("name"),
                role,
                Password::parse("long-enough-password").expect("pw"),
            )
            .await
            .expect("user");
        self.fleet
            .create_api_key(&Actor::cli(), id, "tests")
            .await
            .expect("key")
            .key
    }

    /// Waits until the start-up poll round has reached every demo project.
    pub async fn wait_for_first_poll(&self) {
        for _ in 0..100 {
            // The cards fill in during the round; the round is recorded once it ends.
            let view = self.fleet.fleet_snapshot();
            if view.cards.iter().all(|c| c.status.checked_at.is_some())
                && self.fleet.last_poll_round_age().is_some()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the first poll round did not finish");
    }
}

pub fn demo_tokens() -> impl Iterator<Item = &'static str> {
    DEMO_FLEET.iter().map(|d| d.token)
}

/// Fails if any 8-character run of any demo token appears in `text`.
pub fn assert_no_token_in(text: &str, context: &str) {
    for token in demo_tokens() {
        for window in token.as_bytes().windows(8) {
            let run = std::str::from_utf8(window).expect("ascii");
            assert!(
                !text.contains(run),
                "{context}: contains {run:?}, part of a demo token"
            );
        }
    }
}

/// A browser-like client with its own cookie jar.
pub struct UserClient {
    pub http: reqwest::Client,
    pub address: String,
}

impl TestApp {
    /// A client without a session.
    pub fn anonymous(&self) -> UserClient {
        UserClient {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            address: self.address.clone(),
        }
    }

    /// Creates a user with `role` (password `password-of-NAME`) and signs them in.
    pub async fn signed_in(&self, name: &str, role: Role) -> UserClient {
        let password = format!("password-of-{name}");
        self.fleet
            .add_user(
                &Actor::cli(),
                Username::parse(name).expect("username"),
                role,
                Password::parse(&password).expect("password"),
            )
            .await
            .expect("add user");
        let client = self.anonymous();
        let response = client.sign_in(name, &password).await;
        assert!(
            response.status().is_success() || response.status().is_redirection(),
            "{}",
            response.status()
        );
        client
    }

    /// The demo admin, signed in.
    pub async fn admin(&self) -> UserClient {
        let client = self.anonymous();
        client.sign_in("admin", &self.admin_password).await;
        client
    }
}

impl UserClient {
    pub async fn sign_in(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_form(
            "/fn/sign_in",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Signs in through a reverse proxy that says the client is `forwarded_for`.
    pub async fn sign_in_via_proxy(
        &self,
        username: &str,
        password: &str,
        forwarded_for: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/fn/sign_in", self.address))
            .header("origin", &self.address)
            .header("x-forwarded-for", forwarded_for)
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .expect("request")
    }

    /// Calls a server function the way a form or the hydrated app does.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.address))
            // As a browser does: the dashboard refuses state changes from other origins.
            .header("origin", &self.address)
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// A page load as a browser makes it (`Accept: text/html`, which decides how redirects look).
    /// Posts a form as a page without JavaScript does (it accepts HTML): a server function
    /// that redirects answers 302 then.
    pub async fn submit_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.address))
            .header("origin", &self.address)
            .header("accept", "text/html,application/xhtml+xml")
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    pub async fn get_page(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The body of `GET path` as text.
    pub async fn text(&self, path: &str) -> String {
        self.get(path)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request")
    }
}

/// A token in PickyAssist's format that no demo project uses; its hint is `••••beef`.
pub const NEW_TOKEN: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9beef";
pub const ROTATED_TOKEN: &str = "ffeeddccbbaa99887766554433221100c0de";

/// Calls a server function and returns its status and body.
pub async fn call(
    client: &UserClient,
    endpoint: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let response = client.post_form(&format!("/fn/{endpoint}"), form).await;
    let status = response.status();
    let body = response.text().await.expect("body");
    (status, body)
}

/// Audit rows the demo `admin` left with `action`.
pub async fn audited(app: &TestApp, action: AuditAction) -> Vec<AuditEntry> {
    app.fleet
        .audit_page(
            &Actor::cli(),
            &AuditFilter {
                action: Some(action),
                actor: Some("admin".into()),
                ..Default::default()
            },
        )
        .await
        .expect("audit page")
        .entries
}
