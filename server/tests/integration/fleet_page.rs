use std::time::Duration;

use fleet::{
    auth::Actor,
    model::{Health, ProjectCard, RefreshOutcome, Role},
};
use futures::StreamExt;
use pickyassist_sim::DEMO_FLEET;

use crate::helpers::{assert_no_token_in, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_page_is_rendered_on_the_server_with_every_demo_project() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let admin = app.admin().await;
    let response = admin.get("/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    for demo in DEMO_FLEET {
        assert!(
            html.contains(demo.name),
            "{} missing from the page",
            demo.name
        );
    }
    assert!(
        html.contains("data-health=\"connected\""),
        "connected badges rendered"
    );
    assert!(
        html.contains("data-health=\"timeout\""),
        "the TIMEOUT demo project rendered"
    );
    assert!(
        html.contains("data-health=\"unpaired\""),
        "the UNPAIRED demo project rendered"
    );
    assert!(html.contains("••••"), "tokens shown masked");
    assert_no_token_in(&html, "fleet page");
}

/// A bookmarked view (`?state=…&sort=…&layout=…`) is rendered as asked by the server, before
/// any script: the right cards only, the list layout, the sort chosen, the filter pressed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_in_the_query_string_is_rendered_by_the_server() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let admin = app.admin().await;
    let html = admin
        .text("/?state=timeout&sort=queue&layout=list&q=green")
        .await;
    assert!(html.contains("class=\"grid grid--list\""), "list layout");
    // One card rendered (the page's data still names every project, for the counts).
    assert_eq!(
        html.matches("<article").count(),
        1,
        "only the matching card"
    );
    assert!(html.contains("data-health=\"timeout\""));
    assert!(
        html.contains("<option value=\"queue\" selected"),
        "the sort chosen is selected"
    );
    assert!(
        html.contains("value=\"green\""),
        "the search box holds the search"
    );
    let pressed = html
        .split("<button")
        .find(|button| button.contains("count--timeout"))
        .unwrap_or_default();
    assert!(pressed.contains("aria-pressed=\"true\""), "{pressed}");

    // Nonsense in the query is ignored: the whole fleet, in cards, by name.
    let html = admin.text("/?state=purple&sort=size&layout=3d").await;
    assert!(html.contains("class=\"grid\""));
    for demo in DEMO_FLEET {
        assert!(html.contains(demo.name), "{}", demo.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_poll_gives_each_demo_project_its_simulated_state() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    for demo in DEMO_FLEET {
        let id = app.project_id(demo.name);
        let card = app
            .fleet
            .fleet_snapshot()
            .cards
            .into_iter()
            .find(|c| c.id == id)
            .expect("card");
        assert_eq!(
            card.status.health,
            Health::from_state(&demo.state),
            "{}",
            demo.name
        );
        let device = card.status.device.expect("device data");
        assert_eq!(
            device.connected_number.as_deref(),
            demo.connected_number,
            "{}",
            demo.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_within_the_budget_calls_upstream_once_and_then_is_throttled() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let demo = &DEMO_FLEET[0];
    let id = app.project_id(demo.name);
    assert_eq!(
        app.status_calls(demo.project_id).await,
        1,
        "the start-up poll"
    );

    for _ in 0..2 {
        let outcome = app.fleet.refresh(&Actor::cli(), id).await.expect("refresh");
        assert!(
            matches!(outcome, RefreshOutcome::Refreshed { .. }),
            "{outcome:?}"
        );
    }
    assert_eq!(app.status_calls(demo.project_id).await, 3);

    match app.fleet.refresh(&Actor::cli(), id).await.expect("refresh") {
        RefreshOutcome::Throttled {
            retry_after_secs,
            status,
        } => {
            assert!((1..=61).contains(&retry_after_secs), "{retry_after_secs}");
            assert_eq!(status.health, Health::Connected);
        }
        other => panic!("expected a throttled refresh, got {other:?}"),
    }
    assert_eq!(
        app.status_calls(demo.project_id).await,
        3,
        "nothing sent over the budget"
    );
    assert_eq!(
        app.sim_stats().await.totals.dropped,
        0,
        "upstream never had to drop a call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_project_make_one_upstream_call() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let demo = &DEMO_FLEET[1];
    let id = app.project_id(demo.name);
    // Slow upstream down so the refreshes overlap.
    app.http
        .put(
            app.sim_control
                .join(&format!("faults/projects/{}", demo.project_id))
                .expect("url"),
        )
        .json(&serde_json::json!({"kind": "latency", "ms": 300}))
        .send()
        .await
        .expect("set fault")
        .error_for_status()
        .expect("fault accepted");
    let cli = Actor::cli();
    let refreshes = (0..10).map(|_| app.fleet.refresh(&cli, id));
    let outcomes = futures::future::join_all(refreshes).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(RefreshOutcome::Refreshed { .. }))),
        "{outcomes:?}"
    );
    assert_eq!(
        app.status_calls(demo.project_id).await,
        2,
        "start-up poll + one coalesced refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshing_an_unknown_project_is_an_error_and_sends_nothing() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let before = app.sim_stats().await.totals.device_status;
    let error = app
        .fleet
        .refresh(&Actor::cli(), 999_999)
        .await
        .expect_err("unknown project");
    assert_eq!(error.to_string(), "there is no project with id 999999");
    assert_eq!(app.sim_stats().await.totals.device_status, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_are_pushed_as_server_sent_events() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let demo = &DEMO_FLEET[2];
    let id = app.project_id(demo.name);
    let response = app.admin().await.get("/api/v1/events").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut body = response.bytes_stream();
    app.fleet.refresh(&Actor::cli(), id).await.expect("refresh");
    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !received.contains(&format!("\"project_id\":{id}")) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("an event within 5 s")
            .expect("stream open")
            .expect("chunk");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(received.contains("event: status"), "{received}");
    assert_no_token_in(&received, "event stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_shows_as_rejected_with_upstreams_message() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let demo = &DEMO_FLEET[3];
    let id = app.project_id(demo.name);
    app.http
        .put(
            app.sim_control
                .join(&format!("faults/projects/{}", demo.project_id))
                .expect("url"),
        )
        .json(&serde_json::json!({"kind": "bad_token"}))
        .send()
        .await
        .expect("set fault")
        .error_for_status()
        .expect("fault accepted");
    let RefreshOutcome::Refreshed { status } =
        app.fleet.refresh(&Actor::cli(), id).await.expect("refresh")
    else {
        panic!("expected a refresh");
    };
    assert_eq!(status.health, Health::Rejected);
    assert!(
        status
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("Invalid Token"),
        "{status:?}"
    );
    assert!(status.device.is_some(), "the last known values are kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_simulator_fault_shows_its_own_state_on_the_card() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.status_checks_per_minute = 1000;
        s.upstream_timeout = Duration::from_secs(1);
    })
    .await;
    app.wait_for_first_poll().await;
    // Lift the simulator's own 3-a-minute drop for this test: it checks many faults in a row.
    app.sim_unlimited_status_checks().await;
    let demo = &DEMO_FLEET[0];
    let id = app.project_id(demo.name);
    let cases = [
        (
            serde_json::json!({"kind": "latency", "ms": 200}),
            Health::Connected,
            None,
        ),
        (
            serde_json::json!({"kind": "numbers_as_strings"}),
            Health::Connected,
            None,
        ),
        (
            serde_json::json!({"kind": "timeout"}),
            Health::TimedOut,
            Some("did not answer"),
        ),
        (
            serde_json::json!({"kind": "slow_drip", "bytes_per_sec": 5}),
            Health::TimedOut,
            Some("did not answer"),
        ),
        (
            serde_json::json!({"kind": "connection_drop"}),
            Health::Unreachable,
            Some("could not be reached"),
        ),
        (
            serde_json::json!({"kind": "http500"}),
            Health::Malformed,
            Some("HTTP 500"),
        ),
        (
            serde_json::json!({"kind": "non_json"}),
            Health::Malformed,
            Some("not JSON"),
        ),
        (
            serde_json::json!({"kind": "missing_fields"}),
            Health::Malformed,
            Some("status"),
        ),
        (
            serde_json::json!({"kind": "bad_token"}),
            Health::Rejected,
            Some("Invalid Token"),
        ),
    ];
    for (fault, health, detail) in cases {
        app.sim_fault(demo.project_id, fault.clone()).await;
        let RefreshOutcome::Refreshed { status } =
            app.fleet.refresh(&Actor::cli(), id).await.expect("refresh")
        else {
            panic!("{fault}: expected a refresh");
        };
        assert_eq!(status.health, health, "{fault}: {status:?}");
        if let Some(detail) = detail {
            assert!(
                status
                    .detail
                    .as_deref()
                    .unwrap_or_default()
                    .contains(detail),
                "{fault}: {status:?}"
            );
            assert!(status.device.is_some(), "{fault}: last known values kept");
        }
    }
    // Every other project is untouched by this one's faults.
    let other = app.project_id(DEMO_FLEET[1].name);
    let RefreshOutcome::Refreshed { status } = app
        .fleet
        .refresh(&Actor::cli(), other)
        .await
        .expect("refresh")
    else {
        panic!("expected a refresh");
    };
    assert_eq!(status.health, Health::Connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_fleet_renders_its_first_cards_and_counts_them_all() {
    let app = crate::helpers::spawn_app().await;
    app.add_connected_projects(70).await;
    let total = DEMO_FLEET.len() + 70;
    let page = app
        .admin()
        .await
        .get_page("/")
        .await
        .text()
        .await
        .expect("page");
    assert_eq!(
        page.matches("data-project-id=").count(),
        24,
        "cards rendered"
    );
    assert!(
        page.contains(&format!("Showing 24 of {total} matching projects")),
        "the page says how many more there are"
    );
    assert!(page.contains(&format!("Show all {total}")));
    // The page's data has every project in brief, so the counts, the filters and the search
    // cover all of them, but only the first cards in full.
    assert!(
        page.contains("Load 069"),
        "the last project is in the page's data"
    );
    assert_eq!(
        page.matches("\\\"device\\\":").count(),
        24,
        "full statuses in the page's data: the first cards only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_beyond_the_first_ones_load_on_request_for_any_signed_in_user() {
    let app = crate::helpers::spawn_app().await;
    let added = app.add_connected_projects(3).await;
    let ids: Vec<i64> = added.iter().map(|(id, _)| *id).collect();
    for id in &ids {
        app.fleet
            .refresh(&Actor::cli(), *id)
            .await
            .expect("a first status");
    }
    let ask = |client: &crate::helpers::UserClient, ids: serde_json::Value| {
        let request = client
            .http
            .post(format!("{}/fn/fleet_cards", client.address))
            .header("origin", &client.address)
            .json(&serde_json::json!({ "ids": ids }));
        async move { request.send().await.expect("request") }
    };

    let viewer = app.signed_in("vera", Role::Viewer).await;
    let response = ask(&viewer, serde_json::json!([ids[2], 999_999, ids[0]])).await;
    assert_eq!(response.status(), 200);
    let cards: Vec<ProjectCard> = response.json().await.expect("cards");
    assert_eq!(
        cards.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![ids[2], ids[0]],
        "in the order asked, unknown ids left out"
    );
    for card in &cards {
        assert_eq!(card.status.health, Health::Connected, "{card:?}");
        assert!(card.status.device.is_some(), "full status: {card:?}");
        assert!(card.token_hint.starts_with("••••"));
    }

    let too_many: Vec<i64> = (1..=1001).collect();
    let response = ask(&viewer, serde_json::json!(too_many)).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("at most 1000"));

    let response = ask(&app.anonymous(), serde_json::json!(ids)).await;
    assert_eq!(response.status(), 401);
}
