use std::time::Duration;

use fleet::{
    auth::Actor,
    model::{AuditAction, AuditFilter, AuditOutcome, CommandResult, Health, Role},
};
use pickyassist::{Command, DeviceState};
use pickyassist_sim::DEMO_FLEET;
use serde_json::json;

use crate::helpers::{assert_no_token_in, spawn_app, spawn_app_with, TestApp, UserClient};

async fn run(
    client: &UserClient,
    project_id: i64,
    command: &str,
    confirm: Option<&str>,
) -> reqwest::Response {
    let id = project_id.to_string();
    let mut form = vec![("project_id", id.as_str()), ("command", command)];
    if let Some(confirm) = confirm {
        form.push(("confirm_name", confirm));
    }
    client.post_form("/fn/run_command", &form).await
}

async fn command_rows(app: &TestApp, project_id: i64) -> Vec<fleet::model::AuditEntry> {
    app.fleet
        .audit_page(
            &Actor::cli(),
            &AuditFilter {
                project_id: Some(project_id),
                action: Some(AuditAction::Command),
                ..Default::default()
            },
        )
        .await
        .expect("audit page")
        .entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_command_reaches_the_simulator_changes_its_state_and_leaves_one_completed_audit_row() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("otto", Role::Operator).await;
    // Bella Pizza Orders: CONNECTED, queue 4.
    let demo = &DEMO_FLEET[1];
    let id = app.project_id(demo.name);

    type Effect = fn(&pickyassist_sim::ProjectView) -> bool;
    let cases: [(&str, Option<&str>, Effect); 4] = [
        ("delete-message-queue", None, |p| p.message_queue_count == 0),
        ("restart", None, |p| p.state == DeviceState::Timeout),
        ("disconnect", Some(DEMO_FLEET[1].name), |p| {
            p.state == DeviceState::Unpaired && p.connected_number.is_none()
        }),
        ("clearlogs", Some(DEMO_FLEET[1].name), |p| {
            p.state == DeviceState::Unpaired && p.message_queue_count == 0
        }),
    ];
    for (i, (command, confirm, effect)) in cases.into_iter().enumerate() {
        let response = run(&operator, id, command, confirm).await;
        assert_eq!(response.status(), 200, "{command}");
        let body = response.text().await.expect("body");
        assert_no_token_in(&body, command);
        let result: CommandResult = serde_json::from_str(&body).expect("command result json");
        assert_eq!(result.outcome, AuditOutcome::Success, "{command}: {body}");
        assert_eq!(result.command.wire_name(), command);
        let sim = app.sim_project(demo.project_id).await;
        assert!(effect(&sim), "{command} did not have its effect: {sim:?}");
        assert_eq!(
            sim.recent_commands.last().map(|c| c.command.wire_name()),
            Some(command)
        );

        let rows = command_rows(&app, id).await;
        assert_eq!(rows.len(), i + 1, "{command}: one row per command");
        let row = &rows[0];
        assert_eq!(row.id, result.audit_id);
        assert_eq!(row.command.as_deref(), Some(command));
        assert_eq!(row.actor, "otto");
        assert_eq!(row.outcome, AuditOutcome::Success);
        assert!(
            row.completed_at.is_some() && row.upstream_latency_ms.is_some(),
            "{row:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_server_reaches_the_simulator() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("otto", Role::Operator).await;
    let demo = &DEMO_FLEET[0];
    let response = run(&operator, app.project_id(demo.name), "restart-server", None).await;
    assert_eq!(response.status(), 200);
    let sim = app.sim_project(demo.project_id).await;
    assert!(sim.server_down, "the simulated server is restarting");
    assert_eq!(
        sim.recent_commands.last().map(|c| c.command),
        Some(Command::RestartServer)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_is_confirmed_on_the_card_by_one_verification_poll() {
    let app = spawn_app_with(|s| s.verify_delay = Duration::from_millis(100)).await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("otto", Role::Operator).await;
    let demo = &DEMO_FLEET[3]; // Northwind Logistics, queue 58
    let id = app.project_id(demo.name);
    let mut events = app.fleet.subscribe();
    assert_eq!(
        run(&operator, id, "delete-message-queue", None)
            .await
            .status(),
        200
    );
    let event = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let event = events.recv().await.expect("event");
            if event.project_id == id {
                return event;
            }
        }
    })
    .await
    .expect("a verification poll within 5 s");
    assert_eq!(event.status.health, Health::Connected);
    assert_eq!(
        event.status.device.and_then(|d| d.message_queue_count),
        Some(0)
    );
    assert_eq!(
        app.status_calls(demo.project_id).await,
        2,
        "start-up poll + one verification"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_and_anonymous_callers_are_refused_and_nothing_reaches_upstream() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let id = app.project_id(DEMO_FLEET[0].name);
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let response = run(&viewer, id, "restart", None).await;
    assert_eq!(response.status(), 403);
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("may not run commands"));
    assert_eq!(
        run(&app.anonymous(), id, "restart", None).await.status(),
        401
    );
    assert_eq!(app.sim_stats().await.totals.device_action, 0);
    assert!(
        command_rows(&app, id).await.is_empty(),
        "refused calls write no command rows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_commands_are_refused_with_a_clear_message_and_nothing_is_sent() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("otto", Role::Operator).await;
    let demo = &DEMO_FLEET[0];
    let id = app.project_id(demo.name);
    let cases = [
        (id, "reboot", None, 422, "unknown command"),
        (id, "RESTART", None, 422, "unknown command"),
        (999_999, "restart", None, 404, "no project"),
        (id, "disconnect", None, 422, "type the project name"),
        (
            id,
            "clearlogs",
            Some("acme support"),
            422,
            "type the project name",
        ),
    ];
    for (project, command, confirm, status, message) in cases {
        let response = run(&operator, project, command, confirm).await;
        assert_eq!(response.status(), status, "{command} on {project}");
        let body = response.text().await.expect("body");
        assert!(body.contains(message), "{command}: {body}");
    }
    let garbage = operator
        .post_form(
            "/fn/run_command",
            &[("project_id", "not-a-number"), ("command", "restart")],
        )
        .await;
    assert!(garbage.status().is_client_error(), "{}", garbage.status());
    assert_eq!(
        app.sim_stats().await.totals.device_action,
        0,
        "nothing was sent upstream"
    );
    assert!(command_rows(&app, id).await.is_empty());
}

/// Server functions are routed outside the pages' 8 s render deadline: a command whose
/// upstream answers after 9 s (within the 15 s upstream timeout) ends in its real answer, and
/// its audit row is complete by then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_whose_upstream_answers_after_nine_seconds_gets_its_real_answer() {
    let app = spawn_app_with(|s| s.upstream_timeout = Duration::from_secs(15)).await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("otto", Role::Operator).await;
    let demo = &DEMO_FLEET[2];
    let id = app.project_id(demo.name);
    app.sim_fault(demo.project_id, json!({"kind": "latency", "ms": 9000}))
        .await;
    let started = std::time::Instant::now();
    let response = run(&operator, id, "restart", None).await;
    let waited = started.elapsed();
    assert_eq!(response.status(), 200);
    assert!(
        waited >= Duration::from_secs(9),
        "the latency fault applied ({waited:?})"
    );
    let result: CommandResult = response.json().await.expect("json");
    assert_eq!(result.outcome, AuditOutcome::Success, "{}", result.message);
    let rows = command_rows(&app, id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, AuditOutcome::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_upstream_failure_is_recorded_as_its_own_outcome() {
    let app = spawn_app_with(|s| s.upstream_timeout = Duration::from_secs(1)).await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("otto", Role::Operator).await;
    let demo = &DEMO_FLEET[2];
    let id = app.project_id(demo.name);
    let cases = [
        (
            json!({"kind": "bad_token"}),
            AuditOutcome::Rejected,
            "Invalid Token",
        ),
        (
            json!({"kind": "http500"}),
            AuditOutcome::HttpStatus,
            "HTTP 500",
        ),
        (
            json!({"kind": "non_json"}),
            AuditOutcome::Malformed,
            "not JSON",
        ),
        (
            json!({"kind": "missing_fields"}),
            AuditOutcome::Malformed,
            "status",
        ),
        (
            json!({"kind": "connection_drop"}),
            AuditOutcome::Unreachable,
            "could not be reached",
        ),
        (
            json!({"kind": "timeout"}),
            AuditOutcome::TimedOut,
            "did not answer",
        ),
    ];
    for (fault, outcome, message) in cases {
        app.sim_fault(demo.project_id, fault.clone()).await;
        let response = run(&operator, id, "restart", None).await;
        assert_eq!(
            response.status(),
            200,
            "{fault}: the command ran; upstream failed"
        );
        let result: CommandResult = response.json().await.expect("json");
        assert_eq!(result.outcome, outcome, "{fault}");
        assert!(
            result.message.contains(message),
            "{fault}: {}",
            result.message
        );
        let row = &command_rows(&app, id).await[0];
        assert_eq!((row.id, row.outcome), (result.audit_id, outcome), "{fault}");
        assert!(
            row.detail.as_deref().unwrap_or_default().contains(message),
            "{fault}: {row:?}"
        );
    }
    let sim = app.sim_project(demo.project_id).await;
    assert_eq!(
        sim.state,
        DeviceState::Connected,
        "no faulted command changed the state"
    );

    // A slow drip reaches upstream, which runs the command; only its answer is too slow. The
    // row says so, and the card's verification check will show what really happened.
    app.sim_fault(
        demo.project_id,
        json!({"kind": "slow_drip", "bytes_per_sec": 5}),
    )
    .await;
    let result: CommandResult = run(&operator, id, "restart", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(result.outcome, AuditOutcome::TimedOut, "{result:?}");
    assert!(result.message.contains("did not answer"), "{result:?}");
    assert_eq!(
        app.sim_project(demo.project_id).await.state,
        DeviceState::Timeout,
        "the restart itself reached the device"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_for_one_project_go_upstream_one_at_a_time_in_order() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("otto", Role::Operator).await;
    let demo = &DEMO_FLEET[0];
    let id = app.project_id(demo.name);
    app.sim_fault(demo.project_id, json!({"kind": "latency", "ms": 300}))
        .await;
    // Different commands: the same one twice at once is refused (see below).
    let responses = futures::future::join_all(
        ["delete-message-queue", "restart"].map(|command| run(&operator, id, command, None)),
    )
    .await;
    assert!(
        responses.iter().all(|r| r.status() == 200),
        "{:?}",
        responses.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    let mut rows = command_rows(&app, id).await;
    rows.reverse(); // oldest first
    assert_eq!(rows.len(), 2, "two commands, two rows");
    // Each command was sent only after the one before it had its answer.
    for pair in rows.windows(2) {
        let previous_done = pair[0].completed_at.as_deref().expect("completed");
        assert!(
            pair[1].at.as_str() >= previous_done,
            "overlapping commands: {pair:?}"
        );
    }
    assert_eq!(
        app.sim_project(demo.project_id).await.recent_commands.len(),
        2
    );
}

/// A double submit runs once: the same command for the same project while one is queued or
/// on its way is refused with a 409 naming who sent the first (two tabs, two operators, a form
/// posted twice); upstream gets one. Once it has its answer, the command may be sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_command_twice_at_once_runs_once_and_the_second_names_the_first_sender() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let otto = app.signed_in("otto", Role::Operator).await;
    let olga = app.signed_in("olga", Role::Operator).await;
    let demo = &DEMO_FLEET[0];
    let id = app.project_id(demo.name);
    app.sim_fault(demo.project_id, json!({"kind": "latency", "ms": 500}))
        .await;
    let first = run(&otto, id, "delete-message-queue", None);
    // Sent once the first is on its way: its pending row is written when it holds the turn.
    let second = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while command_rows(&app, id).await.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the first never started"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        run(&olga, id, "delete-message-queue", None).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 409);
    let body = second.text().await.expect("body");
    assert!(body.contains("already on its way (sent by otto)"), "{body}");
    assert_eq!(
        app.sim_stats().await.totals.device_action,
        1,
        "upstream got one"
    );
    assert_eq!(command_rows(&app, id).await.len(), 1, "one audit row");
    assert_eq!(
        run(&olga, id, "delete-message-queue", None).await.status(),
        200,
        "after the answer it may be sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_or_sloppy_answers_that_say_success_are_a_success() {
    let app = spawn_app_with(|s| s.upstream_timeout = Duration::from_secs(2)).await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("otto", Role::Operator).await;
    let demo = &DEMO_FLEET[1];
    let id = app.project_id(demo.name);
    for fault in [
        json!({"kind": "latency", "ms": 300}),
        json!({"kind": "numbers_as_strings"}),
    ] {
        app.sim_fault(demo.project_id, fault.clone()).await;
        let result: CommandResult = run(&operator, id, "delete-message-queue", None)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(result.outcome, AuditOutcome::Success, "{fault}: {result:?}");
        let row = &command_rows(&app, id).await[0];
        assert_eq!(
            (row.id, row.outcome),
            (result.audit_id, AuditOutcome::Success)
        );
    }
}

/// A script's retry with the same `Idempotency-Key` gets the first result, the same audit
/// row, and nothing goes upstream again, whether the retry comes after the answer or while the
/// first is still running. The same key for another command is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_the_same_idempotency_key_returns_the_first_result() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let key = app.api_key_for("bot", Role::Operator).await;
    let demo = &DEMO_FLEET[1];
    let id = app.project_id(demo.name);
    app.sim_fault(demo.project_id, json!({"kind": "latency", "ms": 300}))
        .await;
    let http = reqwest::Client::new();
    let send = |command: &'static str, idempotency: &'static str| {
        http.post(format!("{}/api/v1/projects/{id}/commands", app.address))
            .bearer_auth(&key)
            .header("idempotency-key", idempotency)
            .json(&json!({"command": command}))
            .send()
    };
    // A retry while the first is on its way, and one after its answer.
    let (first, during) = tokio::join!(send("delete-message-queue", "nightly-1"), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        send("delete-message-queue", "nightly-1").await
    });
    let after = send("delete-message-queue", "nightly-1").await;
    let mut audit_ids = Vec::new();
    for response in [first, during, after] {
        let response = response.expect("answer");
        assert_eq!(response.status(), 200);
        let result: CommandResult = response.json().await.expect("json");
        audit_ids.push(result.audit_id);
    }
    assert!(audit_ids.windows(2).all(|w| w[0] == w[1]), "{audit_ids:?}");
    assert_eq!(app.sim_stats().await.totals.device_action, 1, "sent once");
    assert_eq!(command_rows(&app, id).await.len(), 1);

    let other = send("restart", "nightly-1").await.expect("answer");
    assert_eq!(other.status(), 422);
    assert!(other
        .text()
        .await
        .expect("body")
        .contains("another request"));
    let bad = send("restart", "has space").await.expect("answer");
    assert_eq!(bad.status(), 422);
    assert_eq!(
        app.sim_stats().await.totals.device_action,
        1,
        "nothing more sent"
    );
}
