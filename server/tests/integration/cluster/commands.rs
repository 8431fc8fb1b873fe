//! Commands across instances: many at once, one device's in order, the same one sent once,
//! and a retry with the same Idempotency-Key answered from the first.

use super::*;

/// 1,000 commands at once, spread over two instances: 200 projects, each sent all five
/// commands (the destructive two confirmed by name). Every one runs once: 1,000 completed audit
/// rows, 1,000 calls upstream, and no answer but 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_commands_over_two_instances_leave_a_thousand_audit_rows() {
    if !on_postgres() {
        return;
    }
    let sim = start_sim().await;
    let seeded = seed(&sim, 200).await;
    // restart-server takes a device's server away for seconds; its next command would fail.
    reqwest::Client::new()
        .put(sim.control_url.join("config").expect("url"))
        .json(&json!({"server_restart_downtime_ms": 0}))
        .send()
        .await
        .expect("config")
        .error_for_status()
        .expect("accepted");
    let hour = Duration::from_secs(3600);
    let instances: Vec<Option<ServerProcess>> = (0..2)
        .map(|_| Some(ServerProcess::start(&instance_env(&sim, &seeded, hour))))
        .collect();
    the_poller(&instances, Duration::from_secs(10)).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("client");
    let commands = [
        "restart",
        "restart-server",
        "delete-message-queue",
        "clearlogs",
        "disconnect",
    ];
    let requests = (0..1000).map(|n| {
        let (project, command) = (n / commands.len(), commands[n % commands.len()]);
        let address = &instances[n % 2].as_ref().expect("running").address;
        http.post(format!(
            "{address}/api/v1/projects/{}/commands",
            seeded.project_ids[project]
        ))
        .bearer_auth(&seeded.key)
        .json(&json!({"command": command, "confirm_name": format!("Device {project:02}")}))
        .send()
    });
    let mut failures = Vec::new();
    for response in futures::future::join_all(requests).await {
        let response = response.expect("every request is answered");
        let status = response.status().as_u16();
        if status != 200 {
            failures.push((status, response.text().await.unwrap_or_default()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} refused: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let database = fleet::db::connect(&seeded.database.url)
        .await
        .expect("open");
    let rows: Vec<(String, Option<String>)> = fleet::with_pool!(&database.reader, p => {
        sqlx::query_as("SELECT outcome, detail FROM audit_log WHERE action = 'command'")
            .fetch_all(p)
            .await
    })
    .expect("rows");
    database.close().await;
    assert_eq!(rows.len(), 1000, "one audit row per command");
    let not_success: Vec<_> = rows.iter().filter(|r| r.0 != "success").collect();
    assert!(
        not_success.is_empty(),
        "{} did not succeed: {:?}",
        not_success.len(),
        &not_success[..not_success.len().min(5)]
    );
    let stats = sim_commands(&sim).await;
    assert_eq!(stats["totals"]["device_action"], 1000, "each sent once");
}

/// Three commands for one device, sent alternately through two instances while upstream takes
/// 400 ms to answer each, each once the one before is in line: upstream gets them one at a
/// time, in the order sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_for_one_device_through_two_instances_go_upstream_one_at_a_time_in_order() {
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
    tokio::time::sleep(Duration::from_secs(1)).await; // the start's round is over
    set_latency(&sim, 400).await;
    let project = seeded.project_ids[0];
    let sent = ["delete-message-queue", "restart", "restart-server"];
    let requests = sent.iter().enumerate().map(|(i, command)| {
        let address = instances[i % 2].as_ref().expect("running").address.clone();
        let key = seeded.key.clone();
        let url = seeded.database.url.clone();
        async move {
            // Each goes once the one before is in line (see `in_line`).
            in_line(&url, i as i64).await;
            let response = reqwest::Client::new()
                .post(format!("{address}/api/v1/projects/{project}/commands"))
                .bearer_auth(key)
                .json(&json!({"command": command}))
                .send()
                .await
                .expect("command");
            (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            )
        }
    });
    for (status, body) in futures::future::join_all(requests).await {
        assert_eq!(status, 200, "{body}");
    }
    // Each row is written when its command's turn comes and completed with the answer.
    let database = fleet::db::connect(&seeded.database.url)
        .await
        .expect("open");
    let rows: Vec<(String, String, Option<String>)> = fleet::with_pool!(&database.reader, p => {
        sqlx::query_as(
            "SELECT command, at, completed_at FROM audit_log WHERE action = 'command' ORDER BY at",
        )
        .fetch_all(p)
        .await
    })
    .expect("rows");
    database.close().await;
    let order: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(order, sent, "upstream's order: {rows:?}");
    for pair in rows.windows(2) {
        let previous_done = pair[0].2.as_deref().expect("completed");
        assert!(
            pair[1].1.as_str() >= previous_done,
            "overlapping commands: {pair:?}"
        );
    }
}

/// Waits until a command's pending audit row is written.
async fn pending_row(database_url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !command_rows(database_url)
        .await
        .iter()
        .any(|(_, outcome, _)| outcome == "pending")
    {
        assert!(Instant::now() < deadline, "no command became pending");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the `before` commands sent earlier to one device are in line for it: each has
/// its row (written once it holds the device's turn), or all but the last have and the last
/// waits in PostgreSQL's queue for the turn's lock, first come first served.
async fn in_line(database_url: &str, before: i64) {
    use sqlx::Connection as _;
    if before == 0 {
        return;
    }
    let mut conn = sqlx::PgConnection::connect(database_url)
        .await
        .expect("connect");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (rows, waiting): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM audit_log WHERE action = 'command'),
                    (SELECT COUNT(*) FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database
                     WHERE d.datname = current_database() AND l.locktype = 'advisory'
                       AND NOT l.granted AND l.classid::BIGINT = $1)",
        )
        .bind(0x7066_0005_i64) // fleet's db::command_turns::LOCK_NAMESPACE
        .fetch_one(&mut conn)
        .await
        .expect("rows and locks");
        if rows >= before || (rows == before - 1 && waiting > 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{rows} command rows and {waiting} waiting, expected {before} in line"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends `command` to `project` through `instance` after `delay`; the answer's status and body.
async fn command_after(
    instance: &ServerProcess,
    key: &str,
    project: i64,
    command: &str,
    delay: Duration,
) -> (u16, String) {
    tokio::time::sleep(delay).await;
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/projects/{project}/commands",
            instance.address
        ))
        .bearer_auth(key)
        .json(&json!({"command": command}))
        .send()
        .await
        .expect("command");
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

/// The double-submit rule holds across instances, whichever way the two meet: the same
/// command through a second instance while the first is on its way is refused at once; one
/// that waited for the device's turn while another instance sent the same is refused when its
/// turn comes. Refused commands leave no audit row and reach no device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_command_through_two_instances_is_sent_once() {
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
    tokio::time::sleep(Duration::from_secs(1)).await; // the start's round is over
    set_latency(&sim, 1000).await;
    let [Some(a), Some(b)] = &instances[..] else {
        unreachable!("two instances")
    };
    let (key, project) = (&seeded.key, seeded.project_ids[0]);
    let ms = Duration::from_millis;

    // B asks while A's restart is on its way (its pending row written).
    let (first, second) = tokio::join!(command_after(a, key, project, "restart", ms(0)), async {
        pending_row(&seeded.database.url).await;
        command_after(b, key, project, "restart", ms(0)).await
    },);
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(second.0, 409, "{}", second.1);
    assert!(second.1.contains("already on its way"), "{}", second.1);

    // A's restart waits behind A's own clear-queue; B's restart, asked meanwhile, takes the
    // device's turn first. When A's turn comes, the restart has been sent.
    let (clear, a_restart, b_restart) = tokio::join!(
        command_after(a, key, project, "delete-message-queue", ms(0)),
        command_after(a, key, project, "restart", ms(200)),
        command_after(b, key, project, "restart", ms(400)),
    );
    assert_eq!(clear.0, 200, "{}", clear.1);
    assert_eq!(b_restart.0, 200, "{}", b_restart.1);
    assert_eq!(a_restart.0, 409, "{}", a_restart.1);
    assert!(
        a_restart.1.contains("another dashboard instance"),
        "{}",
        a_restart.1
    );

    let rows = command_rows(&seeded.database.url).await;
    assert_eq!(rows.len(), 3, "refused commands leave no row: {rows:?}");
    let stats = sim_commands(&sim).await;
    assert_eq!(stats["totals"]["device_action"], 3, "{stats}");
}

/// A script's retry with the same `Idempotency-Key` through the other instance: while the
/// first is on its way it is told to wait (409), afterwards it gets the first answer, the same
/// audit row; upstream is sent the command once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_the_same_idempotency_key_through_another_instance_gets_the_first_answer() {
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
    set_latency(&sim, 1000).await;
    let project = seeded.project_ids[0];
    let send = |instance: usize, delay: Duration| {
        let address = instances[instance]
            .as_ref()
            .expect("running")
            .address
            .clone();
        let key = seeded.key.clone();
        async move {
            tokio::time::sleep(delay).await;
            let response = reqwest::Client::new()
                .post(format!("{address}/api/v1/projects/{project}/commands"))
                .bearer_auth(key)
                .header("idempotency-key", "nightly-restart-42")
                .json(&json!({"command": "restart"}))
                .send()
                .await
                .expect("command");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or_default())
        }
    };
    // The retry goes once the first is on its way (its pending row written after its claim).
    let (first, early_retry) = tokio::join!(send(0, Duration::ZERO), async {
        pending_row(&seeded.database.url).await;
        send(1, Duration::ZERO).await
    });
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(early_retry.0, 409, "{}", early_retry.1);
    assert!(
        early_retry.1["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("still running"),
        "{}",
        early_retry.1
    );
    let retry = send(1, Duration::ZERO).await;
    assert_eq!(retry.0, 200, "{}", retry.1);
    assert_eq!(
        retry.1["audit_id"], first.1["audit_id"],
        "the same audit row"
    );
    assert_eq!(retry.1["outcome"], "success");

    // The key names one request: another command with it is refused, by either instance.
    let other = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/projects/{project}/commands",
            instances[1].as_ref().expect("running").address
        ))
        .bearer_auth(&seeded.key)
        .header("idempotency-key", "nightly-restart-42")
        .json(&json!({"command": "restart-server"}))
        .send()
        .await
        .expect("command");
    assert_eq!(other.status(), 422);

    assert_eq!(command_rows(&seeded.database.url).await.len(), 1);
    let stats = sim_commands(&sim).await;
    assert_eq!(stats["totals"]["device_action"], 1, "{stats}");
}

/// A command on its way through an instance that is killed: the instance left completes its
/// pending row as interrupted (older than any command can take, its project's turn free),
/// without waiting for a restart that finds no other instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_cut_off_by_a_kill_9_is_marked_interrupted_by_the_instance_left() {
    if !on_postgres() {
        return;
    }
    let sim = start_sim().await;
    let seeded = seed(&sim, 1).await;
    let mut env = instance_env(&sim, &seeded, Duration::from_secs(3600));
    // A 3 s upstream timeout: no command takes longer than 5 × 3 + 5 s, and its turn ends
    // 30 s after its call at most, so its row is taken for dead after 50 s.
    env.push(("PICKY_FLEET_UPSTREAM_TIMEOUT_SECS", "3".into()));
    let mut instances: Vec<Option<ServerProcess>> =
        (0..2).map(|_| Some(ServerProcess::start(&env))).collect();
    the_poller(&instances, Duration::from_secs(10)).await;
    set_latency(&sim, 2500).await;
    let a = instances[0].as_ref().expect("a");
    let command = command_in_background(a, seeded.project_ids[0], &seeded.key);
    wait_for_sim_commands(&sim, 1).await;
    pending_row(&seeded.database.url).await;
    if let Some(mut a) = instances[0].take() {
        a.kill_hard();
    }
    assert!(command.await.expect("task").is_err(), "A died mid-call");

    // 50 s old, a look every 4 s, and B taking the poller's place if A held it. B says so in
    // its log just after the rows are written.
    let b = instances[1].as_ref().expect("b");
    let deadline = Instant::now() + Duration::from_secs(75);
    let rows = loop {
        let rows = command_rows(&seeded.database.url).await;
        if rows.iter().all(|(_, outcome, _)| outcome != "pending")
            && b.output().contains("marked interrupted")
        {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "the dead instance's command is still pending ({rows:?}) or B has not said so: {}",
            b.output()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1, "interrupted", "{rows:?}");
}
