//! A flaky or dead upstream, load, and callers that go away: what the poller and the command
//! path do about them.

use std::time::{Duration, Instant};

use fleet::model::{CommandResult, Health, Role};
use pickyassist_sim::DEMO_FLEET;
use serde_json::json;

use crate::helpers::{spawn_app_with, TestApp};

/// Polls every second, within a budget that never gets in the way.
async fn fast_polling_app() -> TestApp {
    let app = spawn_app_with(|s| {
        s.poll_interval = Duration::from_secs(1);
        s.status_checks_per_minute = 1000;
        s.upstream_timeout = Duration::from_secs(1);
    })
    .await;
    app.wait_for_first_poll().await;
    app.sim_unlimited_status_checks().await;
    app
}

fn healths(app: &TestApp) -> Vec<Health> {
    app.fleet
        .fleet_snapshot()
        .cards
        .iter()
        .map(|c| c.status.health)
        .collect()
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Instant {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_upstream_gets_one_probe_per_interval_and_recovery_shows_at_once() {
    let app = fast_polling_app().await;
    app.sim_global_fault(Some(json!({"kind": "connection_drop"})))
        .await;
    // The cards change one by one during the round; the outage is declared once it ends.
    wait_until(
        "every card shows upstream unreachable and the outage is declared",
        Duration::from_secs(5),
        || healths(&app).iter().all(|h| *h == Health::Unreachable) && app.fleet.upstream_outage(),
    )
    .await;

    let before = app.sim_stats().await.totals.device_status;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let probes = app.sim_stats().await.totals.device_status - before;
    // Six demo projects polled every second would be 36 calls; one probe a round is ~6.
    assert!(
        (3..=8).contains(&probes),
        "{probes} status calls in 6 s of outage"
    );

    app.sim_global_fault(None).await;
    let first_back = wait_until("one card recovers", Duration::from_secs(5), || {
        healths(&app).iter().any(|h| *h != Health::Unreachable)
    })
    .await;
    // The probe that got through starts a full round at once, not an interval later.
    let all_back = wait_until("every card recovers", Duration::from_secs(5), || {
        healths(&app).iter().all(|h| *h != Health::Unreachable)
    })
    .await;
    assert!(
        all_back - first_back < Duration::from_millis(700),
        "the rest recovered {:?} after the first",
        all_back - first_back
    );
    assert!(!app.fleet.upstream_outage());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_project_backs_off_while_every_other_is_polled_each_interval() {
    let app = fast_polling_app().await;
    let failing = &DEMO_FLEET[0];
    app.sim_fault(failing.project_id, json!({"kind": "http500"}))
        .await;
    let before = app.sim_stats().await.projects;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = app.sim_stats().await.projects;
    let calls = |id: u64| {
        after.get(&id).map_or(0, |c| c.device_status)
            - before.get(&id).map_or(0, |c| c.device_status)
    };
    // Failures 1, 2, 3, 4… wait 1, 2, 4, 4 intervals: about 4 calls in 10 rounds.
    assert!(
        calls(failing.project_id) <= 5,
        "the failing project was called {} times",
        calls(failing.project_id)
    );
    for other in &DEMO_FLEET[1..] {
        assert!(
            calls(other.project_id) >= 7,
            "{} was polled only {} times",
            other.name,
            calls(other.project_id)
        );
    }
    let card = app
        .fleet
        .fleet_snapshot()
        .cards
        .into_iter()
        .find(|c| c.name == failing.name)
        .expect("card");
    assert_eq!(card.status.health, Health::Malformed, "{:?}", card.status);
    assert!(!app.fleet.upstream_outage(), "one project is not an outage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_commands_over_fifty_projects_each_run_once_or_are_refused_cleanly() {
    let app = spawn_app_with(|_| {}).await;
    app.wait_for_first_poll().await;
    let key = app.api_key_for("loadbot", Role::Operator).await;
    let projects = app.add_connected_projects(50).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let responses = futures::future::join_all((0..1000).map(|n| {
        let (id, _) = projects[n % projects.len()];
        http.post(format!("{}/api/v1/projects/{id}/commands", app.address))
            .bearer_auth(&key)
            .json(&json!({"command": "delete-message-queue"}))
            .send()
    }))
    .await;
    // Twenty of the same command per project at once: each runs, or is refused as a double
    // submit while the same one is on its way. Either way the answer is clean and every
    // command that ran has exactly one completed row.
    let (mut succeeded, mut refused) = (0, 0);
    for response in responses {
        let response = response.expect("every request is answered");
        let status = response.status();
        let body = response.text().await.expect("body");
        assert!(!body.contains("locked"), "{body}");
        match status.as_u16() {
            200 => {
                let result: CommandResult = serde_json::from_str(&body).expect("command result");
                assert_eq!(result.outcome.as_str(), "success", "{body}");
                succeeded += 1;
            }
            409 => {
                assert!(body.contains("already on its way"), "{body}");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(succeeded + refused, 1000);
    assert!(succeeded >= projects.len(), "at least one per project ran");
    let by_outcome: Vec<(String, i64)> = fleet::with_pool!(app.fleet.pool(), p => {
        sqlx::query_as(
            "SELECT outcome, COUNT(*) FROM audit_log WHERE action = 'command' GROUP BY outcome",
        )
        .fetch_all(p)
        .await
    })
    .expect("count rows");
    assert_eq!(by_outcome, vec![("success".to_owned(), succeeded as i64)]);
    assert_eq!(app.sim_stats().await.totals.device_action, succeeded as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_whose_caller_hangs_up_still_completes_its_audit_row() {
    let app = spawn_app_with(|_| {}).await;
    app.wait_for_first_poll().await;
    let key = app.api_key_for("impatient", Role::Operator).await;
    let demo = &DEMO_FLEET[1];
    let id = app.project_id(demo.name);
    app.sim_fault(demo.project_id, json!({"kind": "latency", "ms": 800}))
        .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let gave_up = impatient
        .post(format!("{}/api/v1/projects/{id}/commands", app.address))
        .bearer_auth(&key)
        .json(&json!({"command": "delete-message-queue"}))
        .send()
        .await;
    assert!(gave_up.is_err(), "the caller left before the answer");
    let deadline = Instant::now() + Duration::from_secs(10);
    let rows = loop {
        let rows = app.audit_rows(fleet::model::AuditAction::Command).await;
        let pending = rows.iter().any(|r| r.outcome.as_str() == "pending");
        if !pending || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome.as_str(), "success", "{:?}", rows[0]);
    assert_eq!(
        app.sim_project(demo.project_id).await.message_queue_count,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_added_at_the_same_time_all_appear() {
    let app = spawn_app_with(|_| {}).await;
    let key = app.api_key_for("provisioner", Role::Admin).await;
    let http = reqwest::Client::new();
    let responses = futures::future::join_all((0..20).map(|n| {
        http.post(format!("{}/api/v1/projects", app.address))
            .bearer_auth(&key)
            .json(&json!({"name": format!("Parallel {n:02}"), "token": format!("parallel-token-{n:02}-abcdefgh")}))
            .send()
    }))
    .await;
    for response in responses {
        let response = response.expect("answered");
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
    }
    let names: Vec<String> = app
        .fleet
        .fleet_snapshot()
        .cards
        .into_iter()
        .map(|c| c.name)
        .filter(|n| n.starts_with("Parallel"))
        .collect();
    assert_eq!(names.len(), 20, "{names:?}");
}
