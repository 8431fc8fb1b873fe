use std::{net::SocketAddr, time::Duration};

use fleet::{config::Settings, Fleet};
use leptos::prelude::LeptosOptions;
use pickyassist_sim::{Stats, DEMO_FLEET};
use server::startup::Application;
use url::Url;

/// A running server with its own database and simulator. Dropping it stops nothing explicitly:
/// the runtime of the test ends and takes the tasks with it.
pub struct TestApp {
    pub address: String,
    pub sim_control: Url,
    pub fleet: Fleet,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        server::telemetry::init();
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        sim_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: format!("sqlite:{}", dir.path().join("fleet.db").display()),
        // Tests drive polling themselves; the first round still runs at start.
        poll_interval: Duration::from_secs(3600),
        ..Settings::default()
    };
    customise(&mut settings);
    let options = LeptosOptions::builder()
        .output_name("picky-fleet")
        .site_root("target/site")
        .build();
    let app = Application::build(settings, options)
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let sim_base = app
        .simulator_url()
        .expect("the built-in simulator runs")
        .clone();
    let sim_control = sim_base.join("/_sim/").expect("control url");
    let fleet = app.fleet().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        sim_control,
        fleet,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client"),
        _dir: dir,
    }
}

impl TestApp {
    pub async fn get_text(&self, path: &str) -> (reqwest::StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.text().await.expect("body"))
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
            .fleet_view()
            .cards
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no project named {name}"))
            .id
    }

    /// Waits until the start-up poll round has reached every demo project.
    pub async fn wait_for_first_poll(&self) {
        for _ in 0..100 {
            let view = self.fleet.fleet_view();
            if view.cards.iter().all(|c| c.status.checked_at.is_some()) {
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
