//! The real `picky-fleet` binary as a child process: what happens when it is killed with
//! `kill -9` mid-burst, and when SIGTERM asks it to stop. The simulator runs in the test
//! process here, so it outlives the server and can tell which commands reached it.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::{Duration, Instant},
};

use fleet::{
    auth::{Actor, Password},
    model::{ProjectName, Role, Username},
};
use pickyassist::ApiToken;
use pickyassist_sim::{SimConfig, SimHandle, Simulator};
use serde_json::json;
use server::config::Settings;

/// A running server binary; killed when dropped. Everything it prints is kept in `output`.
pub struct ServerProcess {
    child: Child,
    pub address: String,
    pub output: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts the binary from the workspace root (where `target/site` is) with `env`, and
    /// waits for its "listening on" line.
    pub fn start(env: &[(&str, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_picky-fleet"))
            .current_dir(workspace_root())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PICKY_FLEET_ADDR", "127.0.0.1:0")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        let output = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for (pipe, address_tx) in [
            (
                Box::new(stdout) as Box<dyn std::io::Read + Send>,
                Some(address_tx),
            ),
            (Box::new(stderr), None),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let (Some(tx), Some(address)) = (
                        &address_tx,
                        line.strip_prefix("picky-fleet is listening on "),
                    ) {
                        let _ = tx.send(address.trim().to_owned());
                    }
                    let mut output = output.lock().unwrap_or_else(|p| p.into_inner());
                    output.push_str(&line);
                    output.push('\n');
                }
            });
        }
        let address = match address_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the server did not start:\n{}",
                    output.lock().unwrap_or_else(|p| p.into_inner())
                );
            }
        };
        Self {
            child,
            address,
            output,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no chance to clean up.
    pub fn kill_hard(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    pub fn wait_for_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// A database with `projects` CONNECTED projects (also in `sim`) and an operator API key,
/// written before the server starts, as an admin would with the CLI.
pub struct Seeded {
    _dir: tempfile::TempDir,
    pub database: crate::helpers::TestDatabase,
    pub key: String,
    pub project_ids: Vec<i64>,
}

pub async fn seed(sim: &SimHandle, projects: u64) -> Seeded {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = crate::helpers::test_database(dir.path()).await;
    let settings = Settings {
        database_url: database.url.clone(),
        secret_key: database.secret_key.clone(),
        ..Settings::default()
    };
    let (fleet, opened) = server::startup::open_fleet(&settings, &sim.base_url)
        .await
        .expect("open the database");
    let http = reqwest::Client::new();
    let mut project_ids = Vec::new();
    for n in 0..projects {
        let token = format!("process-test-token-{n:04}-0123456789");
        http.post(sim.control_url.join("projects").expect("url"))
            .json(&json!({"token": token, "project_id": 7000 + n}))
            .send()
            .await
            .expect("sim project")
            .error_for_status()
            .expect("sim project accepted");
        project_ids.push(
            fleet
                .add_project(
                    &Actor::cli(),
                    ProjectName::parse(&format!("Device {n:02}")).expect("name"),
                    ApiToken::parse(&token).expect("token"),
                )
                .await
                .expect("project"),
        );
    }
    let user = fleet
        .add_user(
            &Actor::cli(),
            Username::parse("burst-bot").expect("name"),
            Role::Operator,
            Password::parse("long-enough-password").expect("password"),
        )
        .await
        .expect("user");
    let key = fleet
        .create_api_key(&Actor::cli(), user, "process tests")
        .await
        .expect("key")
        .key;
    opened.close().await;
    Seeded {
        _dir: dir,
        database,
        key,
        project_ids,
    }
}

pub async fn start_sim() -> SimHandle {
    let sim = Simulator::new(SimConfig {
        status_limit_per_minute: None,
        ..SimConfig::default()
    });
    pickyassist_sim::spawn(sim, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator")
}

pub fn server_env(sim: &SimHandle, seeded: &Seeded) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("PICKY_FLEET_UPSTREAM_URL", sim.base_url.to_string()),
        ("PICKY_FLEET_DATABASE_URL", seeded.database.url.clone()),
        ("PICKY_FLEET_UPSTREAM_TIMEOUT_SECS", "10".into()),
        ("RUST_LOG", "info".into()),
    ];
    if let Some(key) = &seeded.database.secret_key {
        env.push(("PICKY_FLEET_SECRET_KEY", key.clone()));
    }
    env
}

pub async fn set_latency(sim: &SimHandle, ms: u64) {
    reqwest::Client::new()
        .put(sim.control_url.join("faults/global").expect("url"))
        .json(&json!({"kind": "latency", "ms": ms}))
        .send()
        .await
        .expect("fault")
        .error_for_status()
        .expect("fault accepted");
}

/// The simulator's call counts (`/stats`).
pub async fn sim_commands(sim: &SimHandle) -> serde_json::Value {
    reqwest::get(sim.control_url.join("stats").expect("url"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats json")
}

pub async fn wait_for_sim_commands(sim: &SimHandle, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = sim_commands(sim).await;
        if stats["totals"]["device_action"].as_u64().unwrap_or(0) >= at_least {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "commands did not reach the simulator: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn fire_commands(
    address: &str,
    key: &str,
    project_ids: &[i64],
) -> tokio::task::JoinSet<Result<reqwest::Response, reqwest::Error>> {
    let http = reqwest::Client::new();
    let mut burst = tokio::task::JoinSet::new();
    for id in project_ids {
        let request = http
            .post(format!("{address}/api/v1/projects/{id}/commands"))
            .bearer_auth(key)
            .json(&json!({"command": "delete-message-queue"}));
        burst.spawn(request.send());
    }
    burst
}

pub async fn command_rows(database_url: &str) -> Vec<(i64, String, Option<i64>)> {
    let database = fleet::db::connect(database_url)
        .await
        .expect("open the database");
    let rows = fleet::with_pool!(&database.reader, p => {
        sqlx::query_as(
            "SELECT id, outcome, project_id FROM audit_log WHERE action = 'command' ORDER BY id",
        )
        .fetch_all(p)
        .await
    })
    .expect("rows");
    database.close().await;
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_burst_loses_no_command_and_restart_marks_the_pending_ones_interrupted() {
    let sim = start_sim().await;
    let seeded = seed(&sim, 12).await;
    let mut server = ServerProcess::start(&server_env(&sim, &seeded));
    set_latency(&sim, 3000).await;
    let burst = fire_commands(&server.address, &seeded.key, &seeded.project_ids);
    wait_for_sim_commands(&sim, 12).await;
    server.kill_hard();
    drop(burst);

    // Every command that reached upstream has its row; none is lost.
    let stats = sim_commands(&sim).await;
    let rows = command_rows(&seeded.database.url).await;
    assert_eq!(
        rows.len() as u64,
        stats["totals"]["device_action"].as_u64().expect("count"),
        "one row per command upstream saw: {rows:?}"
    );
    assert!(
        rows.iter().all(|(_, outcome, _)| outcome == "pending"),
        "{rows:?}"
    );

    // The restarted server marks them interrupted before it serves anyone.
    let restarted = ServerProcess::start(&server_env(&sim, &seeded));
    let rows = command_rows(&seeded.database.url).await;
    assert_eq!(rows.len(), 12, "{}", restarted.output());
    assert!(
        rows.iter().all(|(_, outcome, _)| outcome == "interrupted"),
        "{rows:?}\n{}",
        restarted.output()
    );
    assert!(
        restarted.output().contains("marked interrupted"),
        "{}",
        restarted.output()
    );
}

/// `Idempotency-Key`s are kept in the database: after a restart a retry still gets the first
/// answer, and a retry of a request cut off by `kill -9` mid-call is refused, not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_outlive_a_restart_and_a_cut_off_request_is_not_sent_again() {
    let sim = start_sim().await;
    let seeded = seed(&sim, 2).await;
    let send = |address: String, project: i64, key: &'static str| {
        let api_key = seeded.key.clone();
        async move {
            let response = reqwest::Client::new()
                .post(format!("{address}/api/v1/projects/{project}/commands"))
                .bearer_auth(api_key)
                .header("idempotency-key", key)
                .json(&json!({"command": "restart"}))
                .send()
                .await
                .expect("command");
            let status = response.status().as_u16();
            (
                status,
                response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
            )
        }
    };
    let mut server = ServerProcess::start(&server_env(&sim, &seeded));
    let (p0, p1) = (seeded.project_ids[0], seeded.project_ids[1]);
    let answered = send(server.address.clone(), p0, "answered").await;
    assert_eq!(answered.0, 200, "{}", answered.1);
    set_latency(&sim, 3000).await;
    let cut_off = tokio::spawn(send(server.address.clone(), p1, "cut-off"));
    wait_for_sim_commands(&sim, 2).await;
    server.kill_hard();
    cut_off.abort();
    set_latency(&sim, 0).await;

    let restarted = ServerProcess::start(&server_env(&sim, &seeded));
    let again = send(restarted.address.clone(), p0, "answered").await;
    assert_eq!(again.0, 200, "{}", again.1);
    assert_eq!(
        again.1["audit_id"], answered.1["audit_id"],
        "the first answer"
    );
    let retry = send(restarted.address.clone(), p1, "cut-off").await;
    assert_eq!(retry.0, 409, "{}", retry.1);
    assert!(
        retry.1["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cut off"),
        "{}",
        retry.1
    );
    // The key names its request in the database too: another project with it is refused.
    let reused = send(restarted.address.clone(), p1, "answered").await;
    assert_eq!(reused.0, 422, "{}", reused.1);
    assert_eq!(
        sim_commands(&sim).await["totals"]["device_action"],
        2,
        "nothing sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_taking_requests_but_finishes_the_commands_in_flight() {
    let sim = start_sim().await;
    let seeded = seed(&sim, 5).await;
    let mut server = ServerProcess::start(&server_env(&sim, &seeded));
    // An open event stream must not keep the server from stopping.
    let events = reqwest::Client::new()
        .get(format!("{}/api/v1/events", server.address))
        .bearer_auth(&seeded.key)
        .send()
        .await
        .expect("event stream");
    assert_eq!(events.status(), 200);
    set_latency(&sim, 1500).await;
    let mut burst = fire_commands(&server.address, &seeded.key, &seeded.project_ids);
    wait_for_sim_commands(&sim, 5).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let late = reqwest::Client::new()
        .get(format!("{}/healthz", server.address))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(late.is_err(), "a new connection after SIGTERM is refused");

    let mut answered = 0;
    while let Some(response) = burst.join_next().await {
        let response = response.expect("task").expect("each command is answered");
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["outcome"], "success", "{body}");
        answered += 1;
    }
    assert_eq!(answered, 5);
    let status = server.wait_for_exit(Duration::from_secs(15));
    assert!(status.success(), "{status:?}\n{}", server.output());
    let rows = command_rows(&seeded.database.url).await;
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter().all(|(_, outcome, _)| outcome == "success"),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_batch_leaves_every_project_completed_or_interrupted() {
    let sim = start_sim().await;
    let seeded = seed(&sim, 12).await;
    let mut server = ServerProcess::start(&server_env(&sim, &seeded));
    set_latency(&sim, 3000).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/batches", server.address))
        .bearer_auth(&seeded.key)
        .json(&json!({"command": "restart", "project_ids": seeded.project_ids}))
        .send()
        .await
        .expect("batch");
    assert_eq!(response.status(), 202);
    // Four at a time (the default): the first four reach upstream, eight wait their turn.
    wait_for_sim_commands(&sim, 4).await;
    server.kill_hard();

    let restarted = ServerProcess::start(&server_env(&sim, &seeded));
    let database = fleet::db::connect(&seeded.database.url)
        .await
        .expect("open the database");
    let pool = &database.reader;
    let status: String = fleet::with_pool!(pool, p => {
        sqlx::query_scalar("SELECT status FROM batches").fetch_one(p).await
    })
    .expect("batch");
    assert_eq!(status, "interrupted", "{}", restarted.output());
    let states: Vec<String> = fleet::with_pool!(pool, p => {
        sqlx::query_scalar("SELECT state FROM batch_items ORDER BY position")
            .fetch_all(p)
            .await
    })
    .expect("items");
    assert_eq!(states.len(), 12);
    assert!(
        states.iter().all(|s| s == "interrupted"),
        "none answered before the kill, none is left queued or sending: {states:?}"
    );
    let rows: Vec<(String, String)> = fleet::with_pool!(pool, p => {
        sqlx::query_as(
            "SELECT action, outcome FROM audit_log WHERE batch_id IS NOT NULL ORDER BY id",
        )
        .fetch_all(p)
        .await
    })
    .expect("rows");
    database.close().await;
    assert_eq!(rows[0], ("batch".to_owned(), "interrupted".to_owned()));
    let commands: Vec<_> = rows
        .iter()
        .filter(|(action, _)| action == "command")
        .collect();
    assert_eq!(commands.len(), 4, "one row per command sent: {rows:?}");
    assert!(commands.iter().all(|(_, outcome)| outcome == "interrupted"));
    assert!(restarted.output().contains("marked interrupted"));
}
