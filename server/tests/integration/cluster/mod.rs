//! Several dashboard instances on one PostgreSQL database (fleet's `service::cluster`): real
//! server processes, one simulator. One of them polls; `kill -9` it and another takes over
//! within two intervals; upstream sees one status call per project per interval, however many
//! instances run; a command sent through one instance reaches the event streams of the others,
//! and the same command is not sent twice through two of them.
//!
//! PostgreSQL only (`./x test` runs the suite against a throwaway cluster too): on SQLite there
//! is one instance and nothing to share.
//!
//! Here: the poller, event streams, the status budget and project changes. `commands`: order,
//! double submits and Idempotency-Keys across instances; `batches`: bulk commands followed and
//! cancelled through any instance; `sign_in`: the sign-in limits fleet-wide.

mod batches;
mod commands;
mod sign_in;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use fleet::{auth::Actor, model::ProjectName};
use pickyassist::ApiToken;

use crate::{
    helpers::on_postgres,
    process::{
        command_rows, seed, server_env, set_latency, sim_commands, start_sim,
        wait_for_sim_commands, ServerProcess,
    },
};

// Two seconds: three debug servers and PostgreSQL share two cores with the rest of the suite.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

fn instance_env(
    sim: &pickyassist_sim::SimHandle,
    seeded: &crate::process::Seeded,
    poll_interval: Duration,
) -> Vec<(&'static str, String)> {
    let mut env = server_env(sim, seeded);
    env.push((
        "PICKY_FLEET_POLL_INTERVAL_SECS",
        poll_interval.as_secs().to_string(),
    ));
    env.push(("PICKY_FLEET_STATUS_CHECKS_PER_MINUTE", "100000".into()));
    env.push(("PICKY_FLEET_VERIFY_DELAY_MS", "100".into()));
    env
}

/// Sends delete-message-queue to `project` through `instance`, in a task of its own.
fn command_in_background(
    instance: &ServerProcess,
    project: i64,
    key: &str,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let request = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/projects/{project}/commands",
            instance.address
        ))
        .bearer_auth(key)
        .json(&json!({"command": "delete-message-queue"}));
    tokio::spawn(request.send())
}

async fn health(instance: &ServerProcess) -> Value {
    reqwest::get(format!("{}/healthz", instance.address))
        .await
        .expect("healthz")
        .json()
        .await
        .expect("healthz json")
}

/// Waits until exactly one of `instances` (`None`: killed) says it is the poller; returns
/// its index. Never two at once.
async fn the_poller(instances: &[Option<ServerProcess>], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let mut pollers = Vec::new();
        for (i, instance) in instances.iter().enumerate() {
            if let Some(instance) = instance {
                if health(instance).await["role"] == "poller" {
                    pollers.push(i);
                }
            }
        }
        assert!(pollers.len() <= 1, "two pollers at once: {pollers:?}");
        if let [one] = pollers[..] {
            return one;
        }
        assert!(
            Instant::now() < deadline,
            "no instance became the poller within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn status_calls(sim: &pickyassist_sim::SimHandle) -> u64 {
    let stats = sim_commands(sim).await;
    stats["totals"]["device_status"].as_u64().unwrap_or(0)
}

/// Status calls per project per interval over `intervals` intervals.
async fn calls_per_project_per_interval(
    sim: &pickyassist_sim::SimHandle,
    projects: usize,
    intervals: u32,
) -> f64 {
    let before = status_calls(sim).await;
    tokio::time::sleep(POLL_INTERVAL * intervals).await;
    let calls = status_calls(sim).await - before;
    calls as f64 / projects as f64 / f64::from(intervals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_polls_and_another_takes_over_within_two_intervals_of_a_kill_9() {
    if !on_postgres() {
        return;
    }
    let sim = start_sim().await;
    let seeded = seed(&sim, 6).await;
    let mut instances: Vec<Option<ServerProcess>> = (0..3)
        .map(|_| {
            Some(ServerProcess::start(&instance_env(
                &sim,
                &seeded,
                POLL_INTERVAL,
            )))
        })
        .collect();
    let first = the_poller(&instances, Duration::from_secs(10)).await;

    // Three instances, one poller: one call per project per interval (±10 % jitter), not three.
    let rate = calls_per_project_per_interval(&sim, 6, 4).await;
    assert!(
        (0.7..=1.3).contains(&rate),
        "{rate:.2} calls per project per interval"
    );

    // The poller dies without a word; another takes its place within two intervals.
    if let Some(mut poller) = instances[first].take() {
        poller.kill_hard();
    }
    let killed_at = Instant::now();
    let second = the_poller(&instances, 2 * POLL_INTERVAL).await;
    let took_over = killed_at.elapsed();
    assert_ne!(second, first);
    assert!(
        took_over <= 2 * POLL_INTERVAL,
        "took over after {took_over:?}"
    );
    let rate = calls_per_project_per_interval(&sim, 6, 4).await;
    assert!((0.7..=1.3).contains(&rate), "after the takeover: {rate:.2}");
}

/// Reads an event stream until it carries a status of `project` checked at or after `since`.
async fn status_checked_since(
    mut stream: reqwest::Response,
    project: i64,
    since: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::FixedOffset> {
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = stream.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            let checked = value["status"]["checked_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
            if value["project_id"] == project {
                if let Some(checked) = checked.filter(|c| *c >= since) {
                    return checked;
                }
            }
        }
    }
    panic!("the stream ended");
}

/// 100 event streams split over three instances; a command sent through a standby shows on
/// every one of them (its follow-up status check), the sender's own and the poller's among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_through_one_instance_reaches_a_hundred_event_streams_on_all_of_them() {
    if !on_postgres() {
        return;
    }
    let sim = start_sim().await;
    let seeded = seed(&sim, 2).await;
    // One poll round at the start, then none for an hour: the only later status is the
    // command's follow-up check.
    let hour = Duration::from_secs(3600);
    let instances: Vec<Option<ServerProcess>> = (0..3)
        .map(|_| Some(ServerProcess::start(&instance_env(&sim, &seeded, hour))))
        .collect();
    let poller = the_poller(&instances, Duration::from_secs(10)).await;
    let through = (poller + 1) % instances.len();
    let project = seeded.project_ids[0];
    tokio::time::sleep(Duration::from_secs(1)).await; // the start's round is over
    let http = reqwest::Client::new();
    let opened = (0..100).map(|n| {
        let address = &instances[n % instances.len()]
            .as_ref()
            .expect("running")
            .address;
        http.get(format!("{address}/api/v1/events"))
            .bearer_auth(&seeded.key)
            .send()
    });
    let mut watchers = Vec::new();
    for response in futures::future::join_all(opened).await {
        let response = response.expect("stream");
        assert_eq!(response.status(), 200);
        watchers.push(response);
    }
    let sender = instances[through].as_ref().expect("running");
    let sent_at = chrono::Utc::now();
    let response = http
        .post(format!(
            "{}/api/v1/projects/{project}/commands",
            sender.address
        ))
        .bearer_auth(&seeded.key)
        .json(&json!({"command": "delete-message-queue"}))
        .send()
        .await
        .expect("command");
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );

    // Its follow-up check comes 100 ms after the answer here; 3 s leaves room for a loaded
    // machine.
    let seen = futures::future::join_all(watchers.into_iter().map(|stream| {
        tokio::time::timeout(
            Duration::from_secs(3),
            status_checked_since(stream, project, sent_at),
        )
    }))
    .await;
    let missed = seen.iter().filter(|s| s.is_err()).count();
    assert_eq!(
        missed, 0,
        "{missed} of 100 streams did not see the new status within 3 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstreams_three_checks_a_minute_hold_across_instances() {
    if !on_postgres() {
        return;
    }
    let sim = start_sim().await;
    let seeded = seed(&sim, 1).await;
    let project = seeded.project_ids[0];
    // Upstream's real limit (3 a minute), one poll round at the start and then none.
    let mut instances: Vec<Option<ServerProcess>> = Vec::new();
    for _ in 0..2 {
        let mut env = instance_env(&sim, &seeded, Duration::from_secs(3600));
        env.retain(|(name, _)| *name != "PICKY_FLEET_STATUS_CHECKS_PER_MINUTE");
        instances.push(Some(ServerProcess::start(&env)));
    }
    the_poller(&instances, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await; // the start's round is over

    // Refresh five times on each instance: each alone would allow three a minute.
    let mut answers = Vec::new();
    for _ in 0..5 {
        for instance in instances.iter().flatten() {
            let response = reqwest::Client::new()
                .post(format!(
                    "{}/api/v1/projects/{project}/refresh",
                    instance.address
                ))
                .bearer_auth(&seeded.key)
                .send()
                .await
                .expect("refresh");
            assert_eq!(response.status(), 200);
            let outcome: Value = response.json().await.expect("outcome");
            answers.push(outcome["result"].as_str().unwrap_or("?").to_owned());
        }
    }
    let calls = status_calls(&sim).await;
    assert!(
        calls <= 3,
        "{calls} status checks in a minute for one token (answers {answers:?})"
    );
    assert!(
        answers.iter().filter(|a| *a == "throttled").count() >= 7,
        "refreshes past the budget send nothing: {answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_added_elsewhere_is_listed_by_every_instance() {
    if !on_postgres() {
        return;
    }
    let sim = start_sim().await;
    let seeded = seed(&sim, 1).await;
    let hour = Duration::from_secs(3600);
    let instances: Vec<Option<ServerProcess>> = (0..2)
        .map(|_| Some(ServerProcess::start(&instance_env(&sim, &seeded, hour))))
        .collect();
    the_poller(&instances, Duration::from_secs(10)).await;
    // Added by a third party on the same database (the admin CLI, say), which says so.
    let settings = server::config::Settings {
        database_url: seeded.database.url.clone(),
        secret_key: seeded.database.secret_key.clone(),
        ..Default::default()
    };
    let (cli, database) = server::startup::open_fleet(&settings, &sim.base_url)
        .await
        .expect("open");
    cli.add_project(
        &Actor::cli(),
        ProjectName::parse("Added Elsewhere").expect("name"),
        ApiToken::parse("added-elsewhere-token-0123456789").expect("token"),
    )
    .await
    .expect("added");
    database.close().await;
    for instance in instances.iter().flatten() {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let listed: Value = reqwest::Client::new()
                .get(format!("{}/api/v1/projects", instance.address))
                .bearer_auth(&seeded.key)
                .send()
                .await
                .expect("projects")
                .json()
                .await
                .expect("json");
            let names: Vec<&str> = listed
                .as_array()
                .map(|a| a.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            if names.contains(&"Added Elsewhere") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} does not list the new project: {names:?}",
                instance.address
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_starting_leaves_another_instances_commands_in_flight_alone() {
    if !on_postgres() {
        return;
    }
    let sim = start_sim().await;
    let seeded = seed(&sim, 1).await;
    let hour = Duration::from_secs(3600);
    let mut instances = vec![Some(ServerProcess::start(&instance_env(
        &sim, &seeded, hour,
    )))];
    the_poller(&instances, Duration::from_secs(10)).await;
    // A command on its way through A (upstream answers in 3 s) when B starts.
    set_latency(&sim, 3000).await;
    let a = instances[0].as_ref().expect("a");
    let command = command_in_background(a, seeded.project_ids[0], &seeded.key);
    wait_for_sim_commands(&sim, 1).await;
    instances.push(Some(ServerProcess::start(&instance_env(
        &sim, &seeded, hour,
    ))));
    let answer = command.await.expect("command task").expect("command");
    assert_eq!(answer.status(), 200);
    // A's row was not taken for one left by a crash: it completed as it happened.
    let rows = command_rows(&seeded.database.url).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "success", "{rows:?}");
    let b = instances[1].as_ref().expect("b");
    assert!(!b.output().contains("marked interrupted"), "{}", b.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_sent_in_one_statement_all_arrive_in_order() {
    if !on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let database = crate::helpers::test_database(dir.path()).await;
    let pool = sqlx::PgPool::connect(&database.url).await.expect("pool");
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .expect("listener");
    listener.listen("notes_in_order").await.expect("listen");
    // A round's worth, out of numeric order so a sort by payload could not pass for order, and
    // one payload repeated (later, and after another): PostgreSQL delivers it once.
    let mut sent: Vec<String> = (0..1500)
        .map(|n| format!("{}", (n * 7919) % 1500))
        .collect();
    sent.push(sent[0].clone());
    fleet::db::notify::notify_all(&pool, "notes_in_order", &sent)
        .await
        .expect("notify");
    let mut received = Vec::new();
    while received.len() < 1500 {
        let note = tokio::time::timeout(Duration::from_secs(10), listener.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} notes arrived", received.len()))
            .expect("note");
        received.push(note.payload().to_owned());
    }
    assert_eq!(received, sent[..1500]);
    let more = tokio::time::timeout(Duration::from_millis(300), listener.recv()).await;
    assert!(more.is_err(), "the repeat arrived too: {more:?}");
}
