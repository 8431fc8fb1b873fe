//! Bulk commands through the REST API against the simulator: per-project results, retry of
//! the failed, cancel, selection by filter, and bad requests that send nothing.

use std::time::Duration;

use fleet::{
    auth::Actor,
    model::{
        AuditAction, AuditFilter, AuditOutcome, BatchStatus, BatchView, ItemState, PageSize, Role,
    },
    poller,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    api::{client, ApiClient},
    helpers::{spawn_app_with, TestApp},
};

async fn start(operator: &ApiClient, body: Value) -> BatchView {
    let (status, text) = operator
        .call(Method::POST, "/api/v1/batches", Some(body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    serde_json::from_str(&text).expect("batch json")
}

/// Reads the batch until it is no longer running (at most 60 s).
async fn finished(operator: &ApiClient, id: i64) -> BatchView {
    for _ in 0..600 {
        let (status, text) = operator
            .call(Method::GET, &format!("/api/v1/batches/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let batch: BatchView = serde_json::from_str(&text).expect("batch json");
        if batch.status != BatchStatus::Running {
            return batch;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("batch {id} did not finish");
}

async fn sim_actions(app: &TestApp, upstream_id: u64) -> u64 {
    app.sim_stats()
        .await
        .projects
        .get(&upstream_id)
        .map_or(0, |c| c.device_action)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_fifty_projects_reports_each_result_and_a_retry_resends_only_the_failed() {
    // The simulator keeps upstream's limit of 3 status checks a minute per token here: the
    // follow-up checks of a batch must stay within the dashboard's budget.
    let app = spawn_app_with(|s| s.verify_delay = Duration::from_millis(50)).await;
    app.wait_for_first_poll().await;
    let operator = client(&app, Some(app.api_key_for("olga", Role::Operator).await));
    let projects = app.add_connected_projects(50).await;
    // Five of them fail: upstream answers 500 to their commands.
    let faulty: Vec<u64> = projects.iter().step_by(10).map(|(_, up)| *up).collect();
    for upstream_id in &faulty {
        app.sim_fault(*upstream_id, json!({"kind": "http500"}))
            .await;
    }
    let ids: Vec<i64> = projects.iter().map(|(id, _)| *id).collect();
    let started = start(&operator, json!({"command": "restart", "project_ids": ids})).await;
    assert_eq!(started.counts.total, 50);
    let batch = finished(&operator, started.id).await;
    assert_eq!(batch.status, BatchStatus::Finished);
    assert_eq!(
        (batch.counts.succeeded, batch.counts.failed),
        (45, 5),
        "{:?}",
        batch.counts
    );
    let order: Vec<i64> = batch.items.iter().map(|i| i.project_id).collect();
    assert_eq!(order, ids, "items keep the order given");
    for (item, (_, upstream_id)) in batch.items.iter().zip(&projects) {
        assert!(item.audit_id.is_some(), "{item:?}");
        if faulty.contains(upstream_id) {
            assert_eq!(item.state, ItemState::Failed, "{item:?}");
            assert!(
                item.message.as_deref().unwrap_or_default().contains("500"),
                "{item:?}"
            );
        } else {
            assert!(item.state.succeeded(), "{item:?}");
        }
        assert_eq!(
            sim_actions(&app, *upstream_id).await,
            1,
            "one command per project"
        );
    }
    assert!(
        batch
            .items
            .iter()
            .any(|i| i.state == ItemState::Confirmed && i.checked.is_some()),
        "the follow-up checks confirm: {:?}",
        batch.items
    );

    // Audit: one row per project and one for the batch, all carrying its id. The batch's own
    // row is completed just after the batch's end is written.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let rows = loop {
        let rows = app
            .fleet
            .audit_page(
                &Actor::cli(),
                &AuditFilter {
                    limit: PageSize::new(500).expect("size"),
                    ..Default::default()
                },
            )
            .await
            .expect("audit")
            .entries;
        let completed = rows.iter().any(|r| {
            r.batch_id == Some(batch.id)
                && r.action == AuditAction::Batch
                && r.outcome != AuditOutcome::Pending
        });
        if completed || std::time::Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let of_batch: Vec<_> = rows
        .iter()
        .filter(|r| r.batch_id == Some(batch.id))
        .collect();
    assert_eq!(of_batch.len(), 51);
    let own = of_batch
        .iter()
        .find(|r| r.action == AuditAction::Batch)
        .expect("the batch's row");
    assert_eq!(own.outcome, AuditOutcome::Partial);
    assert!(
        own.detail
            .as_deref()
            .unwrap_or_default()
            .contains("45 succeeded, 5 failed"),
        "{own:?}"
    );
    assert_eq!(Some(own.id), batch.audit_id);
    let chain = app.fleet.check_audit_chain().await.expect("chain");
    assert!(
        chain.verified,
        "the batch id is sealed with each row: {chain:?}"
    );

    // Retry: a new batch of only the five, which now go through.
    for upstream_id in &faulty {
        app.sim_clear_fault(*upstream_id).await;
    }
    let (status, text) = operator
        .call(
            Method::POST,
            &format!("/api/v1/batches/{}/retry", batch.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let retry: BatchView = serde_json::from_str(&text).expect("json");
    assert_eq!(retry.retry_of, Some(batch.id));
    assert_eq!(retry.counts.total, 5);
    let retry = finished(&operator, retry.id).await;
    assert_eq!(retry.counts.succeeded, 5, "{:?}", retry.items);
    for (_, upstream_id) in &projects {
        let expected = if faulty.contains(upstream_id) { 2 } else { 1 };
        assert_eq!(sim_actions(&app, *upstream_id).await, expected);
    }
    let stats = app.sim_stats().await;
    assert_eq!(
        stats.totals.dropped, 0,
        "no status check over upstream's limit"
    );
    let (status, text) = operator
        .call(
            Method::POST,
            &format!("/api/v1/batches/{}/retry", retry.id),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing failed: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_batches_are_refused_with_why_and_send_nothing() {
    let app = spawn_app_with(|s| s.batch_max = 4).await;
    app.wait_for_first_poll().await;
    let operator = client(&app, Some(app.api_key_for("olga", Role::Operator).await));
    let viewer = client(&app, Some(app.api_key_for("vera", Role::Viewer).await));
    let ids = app.fleet.project_ids();
    let (a, b) = (ids[0], ids[1]);
    let cases = [
        (json!({"command": "restart", "project_ids": []}), "empty"),
        (
            json!({"command": "restart", "project_ids": [a, 99999]}),
            "99999",
        ),
        (
            json!({"command": "restart", "project_ids": [a, b, a]}),
            "more than once",
        ),
        (
            json!({"command": "restart", "project_ids": ids.clone()}),
            "more than one batch",
        ),
        (
            json!({"command": "reboot", "project_ids": [a]}),
            "unknown command",
        ),
        (json!({"command": "restart"}), "choose the projects"),
        (
            json!({"command": "restart", "project_ids": [a], "filter": {"state": "timeout"}}),
            "not both",
        ),
        (
            json!({"command": "restart", "filter": {"state": "asleep"}}),
            "not a state",
        ),
        (
            json!({"command": "disconnect", "project_ids": [a, b]}),
            "type the number",
        ),
        (
            json!({"command": "clearlogs", "project_ids": [a, b], "confirm_count": 3}),
            "type the number of projects (2)",
        ),
    ];
    for (body, why) in cases {
        let (status, text) = operator
            .call(Method::POST, "/api/v1/batches", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {text}");
        assert!(text.contains(why), "{body}: {text}");
    }
    let (status, _) = viewer
        .call(
            Method::POST,
            "/api/v1/batches",
            Some(json!({"command": "restart", "project_ids": [a]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.sim_stats().await.totals.device_action,
        0,
        "nothing was sent"
    );
    let (_, text) = operator.call(Method::GET, "/api/v1/batches", None).await;
    assert_eq!(text, "[]", "nothing was started");
    let (status, _) = operator.call(Method::GET, "/api/v1/batches/7", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Typed right, the destructive one runs.
    let batch = start(
        &operator,
        json!({"command": "disconnect", "project_ids": [a, b], "confirm_count": 2}),
    )
    .await;
    assert_eq!(finished(&operator, batch.id).await.counts.succeeded, 2);

    // Retrying a destructive one that partly failed asks for the count again.
    let upstream_b = app.sim_stats().await.projects.keys().copied().find(|up| {
        pickyassist_sim::DEMO_FLEET
            .iter()
            .any(|d| d.project_id == *up && app.project_id(d.name) == b)
    });
    app.sim_fault(upstream_b.expect("b upstream"), json!({"kind": "http500"}))
        .await;
    let batch = start(
        &operator,
        json!({"command": "clearlogs", "project_ids": [a, b], "confirm_count": 2}),
    )
    .await;
    let batch = finished(&operator, batch.id).await;
    assert_eq!((batch.counts.succeeded, batch.counts.failed), (1, 1));
    let retry = format!("/api/v1/batches/{}/retry", batch.id);
    let (status, text) = operator.call(Method::POST, &retry, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(
        text.contains("type the number of projects to retry (1)"),
        "{text}"
    );
    let (status, text) = operator
        .call(Method::POST, &retry, Some(json!({"confirm_count": 1})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_what_was_not_sent_and_a_filter_picks_what_the_page_shows() {
    let app = spawn_app_with(|s| s.batch_concurrency = 1).await;
    app.wait_for_first_poll().await;
    app.sim_unlimited_status_checks().await;
    let operator = client(&app, Some(app.api_key_for("olga", Role::Operator).await));
    let projects = app.add_connected_projects(10).await;
    for (_, upstream_id) in &projects {
        app.sim_fault(*upstream_id, json!({"kind": "latency", "ms": 400}))
            .await;
    }
    let ids: Vec<i64> = projects.iter().map(|(id, _)| *id).collect();
    let batch = start(
        &operator,
        json!({"command": "delete-message-queue", "project_ids": ids}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, text) = operator
        .call(
            Method::POST,
            &format!("/api/v1/batches/{}/cancel", batch.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let batch = finished(&operator, batch.id).await;
    assert_eq!(batch.status, BatchStatus::Cancelled);
    let sent = app.sim_stats().await.totals.device_action;
    assert!((1..10).contains(&sent), "some sent, not all: {sent}");
    assert_eq!(
        u64::from(batch.counts.succeeded),
        sent,
        "{:?}",
        batch.counts
    );
    assert_eq!(batch.counts.cancelled, 10 - batch.counts.succeeded);
    assert_eq!(app.audit_rows(AuditAction::BatchCancelled).await.len(), 1);
    let (status, text) = operator
        .call(
            Method::POST,
            &format!("/api/v1/batches/{}/cancel", batch.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{text}");

    // Two demo projects in TIMEOUT: the filter takes exactly those, as the page shows them.
    for (_, upstream_id) in &projects {
        app.sim_clear_fault(*upstream_id).await;
    }
    app.sim_state(930, "TIMEOUT").await;
    app.sim_state(931, "TIMEOUT").await;
    poller::poll_once(&app.fleet).await;
    let timeouts: Vec<i64> = app
        .fleet
        .fleet_snapshot()
        .cards
        .iter()
        .filter(|c| c.status.health == fleet::model::Health::Timeout)
        .map(|c| c.id)
        .collect();
    assert!(!timeouts.is_empty());
    let batch = start(
        &operator,
        json!({"command": "restart", "filter": {"state": "timeout"}}),
    )
    .await;
    let mut chosen: Vec<i64> = batch.items.iter().map(|i| i.project_id).collect();
    chosen.sort_unstable();
    let mut expected = timeouts.clone();
    expected.sort_unstable();
    assert_eq!(chosen, expected);
    finished(&operator, batch.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_confirm_a_selection_start_it_and_show_its_progress() {
    let app = spawn_app_with(|_| {}).await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("olga", Role::Operator).await;
    let acme = app.project_id("Acme Support");
    let bella = app.project_id("Bella Pizza Orders");
    let ids = format!("{acme},{bella}");

    let html = operator
        .get_page(&format!("/batches/new?command=restart&ids={acme},{bella}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Restart app on 2 projects?"), "{html}");
    assert!(html.contains("Acme Support") && html.contains("Bella Pizza Orders"));
    let bad = operator
        .get_page("/batches/new?command=restart&ids=1,x")
        .await
        .text()
        .await
        .expect("html");
    assert!(
        bad.contains("is not a project id"),
        "the page says what is wrong"
    );

    // A destructive command without the count goes back to the confirmation, saying why.
    let refused = operator
        .submit_form(
            "/fn/start_batch",
            &[
                ("command", "disconnect"),
                ("ids", &ids),
                ("confirm_count", ""),
            ],
        )
        .await;
    let location = refused.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with("/batches/new?command=disconnect"),
        "{location}"
    );
    assert!(
        location.contains("error=Disconnect%20is%20destructive"),
        "{location}"
    );

    let started = operator
        .submit_form("/fn/start_batch", &[("command", "restart"), ("ids", &ids)])
        .await;
    assert_eq!(started.status(), StatusCode::FOUND);
    let location = started.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let id: i64 = location
        .strip_prefix("/batches/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{location}"));
    let api = client(&app, Some(app.api_key_for("otto", Role::Operator).await));
    let batch = finished(&api, id).await;
    assert_eq!(batch.created_by, "olga");
    assert_eq!(batch.counts.succeeded, 2);
    let html = operator
        .get_page(&location)
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains(&format!("Bulk command #{id}: Restart app")),
        "{html}"
    );
    assert!(html.contains("Finished: 2 of 2"), "{html}");

    // Viewers read the progress but may not start one.
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let html = viewer.get_page(&location).await.text().await.expect("html");
    assert!(html.contains("Finished: 2 of 2") && !html.contains("Retry the"));
    let html = viewer
        .get_page(&format!("/batches/new?command=restart&ids={ids}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(!html.contains("Restart app on 2 projects?"), "{html}");
}
