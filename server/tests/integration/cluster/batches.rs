//! Bulk commands on several instances (fleet's `service::batches`): a batch runs on the
//! instance it was started through, and every instance follows it and can cancel it. A cancel
//! through another instance stops what was not sent yet; a batch whose instance was killed is
//! settled by the poller once its heartbeat has gone silent.
//!
//! PostgreSQL only, like `cluster`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{
    cluster::{instance_env, the_poller},
    helpers::on_postgres,
    process::{seed, set_latency, sim_commands, start_sim, ServerProcess},
};

/// Two instances, `projects` devices, batches one command at a time, each command taking
/// 400 ms upstream.
async fn two_instances(
    projects: u64,
) -> (
    pickyassist_sim::SimHandle,
    crate::process::Seeded,
    Vec<Option<ServerProcess>>,
) {
    let sim = start_sim().await;
    let seeded = seed(&sim, projects).await;
    let mut env = instance_env(&sim, &seeded, Duration::from_secs(3600));
    env.push(("PICKY_FLEET_BATCH_CONCURRENCY", "1".into()));
    let instances: Vec<Option<ServerProcess>> =
        (0..2).map(|_| Some(ServerProcess::start(&env))).collect();
    the_poller(&instances, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await; // the start's round is over
    set_latency(&sim, 400).await;
    (sim, seeded, instances)
}

async fn call(
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn start_batch(instance: &ServerProcess, key: &str, project_ids: &[i64]) -> i64 {
    let (status, batch) = call(
        reqwest::Method::POST,
        format!("{}/api/v1/batches", instance.address),
        key,
        Some(json!({"command": "delete-message-queue", "project_ids": project_ids})),
    )
    .await;
    assert_eq!(status, 202, "{batch}");
    batch["id"].as_i64().expect("batch id")
}

/// Reads an event stream until it carries progress of `batch`.
async fn batch_progress(mut stream: reqwest::Response, batch: i64) -> Value {
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = stream.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if !event.lines().any(|l| l == "event: batch") {
                continue;
            }
            let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            if value["batch_id"] == batch {
                return value;
            }
        }
    }
    panic!("the stream ended");
}

/// Polls the batch through `instance` until it is no longer running (within `limit`).
async fn ended(instance: &ServerProcess, key: &str, batch: i64, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let (status, view) = call(
            reqwest::Method::GET,
            format!("{}/api/v1/batches/{batch}", instance.address),
            key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{view}");
        if view["status"] != "running" {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "batch {batch} still runs: {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn cancel(instance: &ServerProcess, key: &str, batch: i64) -> (u16, Value) {
    call(
        reqwest::Method::POST,
        format!("{}/api/v1/batches/{batch}/cancel", instance.address),
        key,
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_started_on_one_instance_is_followed_and_cancelled_through_another() {
    if !on_postgres() {
        return;
    }
    let (sim, seeded, instances) = two_instances(8).await;
    let [Some(a), Some(b)] = &instances[..] else {
        unreachable!("two instances")
    };
    let key = &seeded.key;
    let watching = reqwest::Client::new()
        .get(format!("{}/api/v1/events", b.address))
        .bearer_auth(key)
        .send()
        .await
        .expect("stream");
    assert_eq!(watching.status(), 200);

    let batch = start_batch(a, key, &seeded.project_ids).await;
    // B's browser sees the progress of a batch running on A.
    let progress = tokio::time::timeout(Duration::from_secs(5), batch_progress(watching, batch))
        .await
        .expect("B's event stream carried no progress of A's batch within 5 s");
    assert_eq!(progress["status"], "running", "{progress}");

    let (status, view) = cancel(b, key, batch).await;
    assert_eq!(status, 200, "{view}");
    let view = ended(b, key, batch, Duration::from_secs(30)).await;
    assert_eq!(view["status"], "cancelled", "{view}");
    let (succeeded, cancelled) = (
        view["counts"]["succeeded"].as_u64().unwrap_or(0),
        view["counts"]["cancelled"].as_u64().unwrap_or(0),
    );
    assert!(
        cancelled >= 1,
        "the cancel kept nothing from being sent: {view}"
    );
    assert_eq!(succeeded + cancelled, 8, "{view}");
    let sent = sim_commands(&sim).await["totals"]["device_action"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(sent, succeeded, "only what was not cancelled went upstream");

    // Once, whichever instance is asked again.
    let (status, answer) = cancel(a, key, batch).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer.to_string().contains("nothing to cancel"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_instance_was_killed_is_settled_by_the_instance_left() {
    if !on_postgres() {
        return;
    }
    let (_sim, seeded, mut instances) = two_instances(6).await;
    let key = seeded.key.clone();
    let batch = {
        let a = instances[0].as_ref().expect("running");
        start_batch(a, &key, &seeded.project_ids).await
    };
    tokio::time::sleep(Duration::from_millis(600)).await; // under way
    if let Some(mut a) = instances[0].take() {
        a.kill_hard();
    }
    let b = instances[1].as_ref().expect("running");
    // A cancel is taken (and audited) at once; the batch's heartbeat is still fresh, so it
    // is not settled yet: a live instance whose lock dropped for a moment looks the same.
    let (status, view) = cancel(b, &key, batch).await;
    assert_eq!(status, 200, "{view}");
    // Asking again is no error and no second audit row.
    let (status, _) = cancel(b, &key, batch).await;
    assert_eq!(status, 200);
    // Heartbeat silent for 8 s, the dead instance's lock gone, a watch every 4 s, and B
    // taking the poller's place if A held it (within 5 s).
    let view = ended(b, &key, batch, Duration::from_secs(40)).await;
    assert_eq!(view["status"], "interrupted", "{view}");
    assert!(
        view["counts"]["interrupted"].as_u64().unwrap_or(0) >= 1,
        "{view}"
    );
    // The batch's row is completed just after its status is written.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (audit, own) = loop {
        let (status, audit) = call(
            reqwest::Method::GET,
            format!("{}/api/v1/audit?limit=500", b.address),
            &key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{audit}");
        let own = audit["entries"]
            .as_array()
            .and_then(|rows| {
                rows.iter()
                    .find(|r| r["batch_id"] == batch && r["action"] == "batch")
            })
            .cloned()
            .unwrap_or_else(|| panic!("no audit row of the batch: {audit}"));
        if own["outcome"] != "pending" || Instant::now() > deadline {
            break (audit, own);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let rows: Vec<&Value> = audit["entries"]
        .as_array()
        .map(|rows| rows.iter().filter(|r| r["batch_id"] == batch).collect())
        .unwrap_or_default();
    assert_eq!(own["outcome"], "interrupted", "{own}");
    let cancels = rows
        .iter()
        .filter(|r| r["action"] == "batch_cancelled")
        .count();
    assert_eq!(cancels, 1, "one cancel asked, one row: {audit}");
}
