use std::net::SocketAddr;
use std::time::Duration;

use pickyassist::{
    ActionOutcome, ApiToken, Client, ClientConfig, ClientError, Command, DeviceState, DeviceStatus,
};
use pickyassist_sim::{spawn, NewProject, ProjectView, SimConfig, SimHandle, Simulator};
use serde_json::Value;

/// CONNECTED, number 15555550001, queue 5.
pub const ALPHA: (&str, u64) = ("test-token-alpha-0001", 1);
/// CONNECTED, number 15555550002, queue 0.
pub const BRAVO: (&str, u64) = ("test-token-bravo-0002", 2);
/// UNPAIRED, no number, queue 3.
pub const UNPAIRED: (&str, u64) = ("test-token-unpaired-03", 3);
/// Valid in shape, known to no project.
pub const UNKNOWN_TOKEN: &str = "test-token-nobody-0000";

/// Short durations so the whole suite takes seconds; no rate limit unless a test sets one.
pub fn fast_config() -> SimConfig {
    SimConfig {
        status_limit_per_minute: None,
        restart_timeout: Duration::from_millis(300),
        server_restart_downtime: Duration::from_millis(300),
        queue_growth_interval: None,
        demo_fleet: false,
        ..SimConfig::default()
    }
}

pub struct TestSim {
    pub sim: Simulator,
    pub handle: SimHandle,
    pub client: Client,
    pub http: reqwest::Client,
}

impl TestSim {
    /// The three test projects on `fast_config()`.
    pub async fn start() -> Self {
        Self::start_with(fast_config()).await
    }

    pub async fn start_with(config: SimConfig) -> Self {
        let sim = Simulator::new(config);
        let projects = [
            (ALPHA, DeviceState::Connected, Some("15555550001"), 5),
            (BRAVO, DeviceState::Connected, Some("15555550002"), 0),
            (UNPAIRED, DeviceState::Unpaired, None, 3),
        ];
        for ((token, project_id), state, number, queue) in projects {
            let mut project = NewProject::new(token, project_id, state);
            project.connected_number = number.map(str::to_owned);
            project.queue = queue;
            sim.insert_project(project)
                .expect("test projects are distinct");
        }
        let handle = spawn(sim.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("the simulator binds a free port");
        let client = client(&handle, Duration::from_secs(5));
        Self {
            sim,
            handle,
            client,
            http: reqwest::Client::new(),
        }
    }

    /// A client that gives up after `timeout`.
    pub fn client_with_timeout(&self, timeout: Duration) -> Client {
        client(&self.handle, timeout)
    }

    pub async fn status(&self, token: &str) -> Result<DeviceStatus, ClientError> {
        self.client.device_status(&api_token(token)).await
    }

    pub async fn action(
        &self,
        token: &str,
        command: Command,
    ) -> Result<ActionOutcome, ClientError> {
        self.client.device_action(&api_token(token), command).await
    }

    pub fn project(&self, project_id: u64) -> ProjectView {
        self.sim.project(project_id).expect("the project exists")
    }

    /// POSTs `body` as-is to an upstream endpoint (`device-status` or `device-action`).
    pub async fn post_raw(&self, endpoint: &str, body: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{}/{endpoint}", self.handle.base_url))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
    }

    /// POSTs and reads back a JSON answer, asserting HTTP 200.
    pub async fn post_json(&self, endpoint: &str, body: &str) -> Value {
        let response = self
            .post_raw(endpoint, body)
            .await
            .expect("the simulator answers");
        assert_eq!(response.status(), 200, "{endpoint} {body}");
        response.json().await.expect("a JSON answer")
    }

    /// A control API URL, `path` relative to `/_sim/`.
    pub fn control(&self, path: &str) -> String {
        format!("{}{path}", self.handle.control_url)
    }
}

pub fn client(handle: &SimHandle, timeout: Duration) -> Client {
    let mut config = ClientConfig::new(handle.base_url.clone());
    config.request_timeout = timeout;
    config.connect_timeout = Duration::from_secs(2);
    Client::new(config).expect("the client builds")
}

pub fn api_token(raw: &str) -> ApiToken {
    ApiToken::parse(raw).expect("test tokens are valid")
}

/// Asserts the project is as the fixture left it: the faulted command did nothing.
pub fn assert_untouched(sim: &TestSim, project_id: u64) {
    let project = sim.project(project_id);
    assert_eq!(project.state, DeviceState::Connected, "{project:?}");
    assert!(project.connected_number.is_some(), "{project:?}");
    assert!(project.recent_commands.is_empty(), "{project:?}");
}
