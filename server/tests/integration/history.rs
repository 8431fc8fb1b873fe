//! Status history with a moved clock: a simulated device goes through a few hours of states
//! (CONNECTED, TIMEOUT, a fault on our side, a stretch nobody polled), and the roll-ups, the
//! state changes, the uptime figures and the pruning are checked against that script.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use fleet::{
    auth::Actor,
    clock::ManualClock,
    model::{Health, ProjectHistory, Resolution, StateChangePage},
};
use pickyassist_sim::DEMO_FLEET;
use serde_json::Value;

use crate::helpers::TestApp;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&Utc)
}

/// A server whose clock stands at `start` until the test moves it, polling only when told.
async fn app_at(start: &str) -> (TestApp, ManualClock) {
    crate::helpers::spawn_app_at(start).await
}

/// Polls the project every 30 s of clock time over `[from, to)`.
async fn poll_every_30s(app: &TestApp, clock: &ManualClock, id: i64, from: &str, to: &str) {
    let (mut t, end) = (at(from), at(to));
    while t < end {
        clock.set(t);
        app.fleet.poll_project(id).await.expect("within the budget");
        t += Duration::seconds(30);
    }
}

async fn get_json(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    let r = app
        .http
        .get(format!("{}{path}", app.address))
        .bearer_auth(key)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// 23:00–01:00 CONNECTED (across midnight), 01:00–01:40 TIMEOUT, 01:40–02:00 HTTP 500 (our
/// side cannot tell), 02:00–03:00 CONNECTED but nobody polls 02:20–02:40.
async fn scripted_day(app: &TestApp, clock: &ManualClock, id: i64, upstream: u64) {
    poll_every_30s(
        app,
        clock,
        id,
        "2026-12-01T23:00:00Z",
        "2026-12-02T01:00:00Z",
    )
    .await;
    app.sim_state(upstream, "TIMEOUT").await;
    poll_every_30s(
        app,
        clock,
        id,
        "2026-12-02T01:00:00Z",
        "2026-12-02T01:40:00Z",
    )
    .await;
    app.sim_fault(upstream, serde_json::json!({"kind": "http500"}))
        .await;
    poll_every_30s(
        app,
        clock,
        id,
        "2026-12-02T01:40:00Z",
        "2026-12-02T02:00:00Z",
    )
    .await;
    app.sim_global_fault(None).await;
    app.http
        .delete(
            app.sim_control
                .join(&format!("faults/projects/{upstream}"))
                .expect("url"),
        )
        .send()
        .await
        .expect("clear fault");
    app.sim_state(upstream, "CONNECTED").await;
    poll_every_30s(
        app,
        clock,
        id,
        "2026-12-02T02:00:00Z",
        "2026-12-02T02:20:00Z",
    )
    .await;
    poll_every_30s(
        app,
        clock,
        id,
        "2026-12-02T02:40:00Z",
        "2026-12-02T03:00:00Z",
    )
    .await;
    clock.set(at("2026-12-02T03:00:00Z"));
    app.fleet.flush_history().await.expect("flush");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_rolls_up_every_poll_and_records_each_change() {
    let (app, clock) = app_at("2026-12-01T22:59:50Z").await;
    let demo = &DEMO_FLEET[0];
    let id = app.project_id(demo.name);
    scripted_day(&app, &clock, id, demo.project_id).await;
    let key = app.api_key_for("hilda", fleet::model::Role::Viewer).await;
    let base = format!("/api/v1/projects/{id}");

    // Changes: the first state seen at start, then each change at the poll that saw it.
    let (status, body) = get_json(
        &app,
        &key,
        &format!("{base}/changes?from=2026-12-01&to=2026-12-03"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let page: StateChangePage = serde_json::from_value(body).expect("page");
    let seen: Vec<_> = page
        .changes
        .iter()
        .rev()
        .map(|c| (c.at.as_str(), c.from, c.to))
        .collect();
    assert_eq!(
        seen,
        [
            ("2026-12-01T22:59:50.000Z", None, Health::Connected),
            (
                "2026-12-02T01:00:00.000Z",
                Some(Health::Connected),
                Health::Timeout
            ),
            (
                "2026-12-02T01:40:00.000Z",
                Some(Health::Timeout),
                Health::Malformed
            ),
            (
                "2026-12-02T02:00:00.000Z",
                Some(Health::Malformed),
                Health::Connected
            ),
        ]
    );
    assert!(
        page.changes[1]
            .message
            .as_deref()
            .unwrap_or("")
            .contains("500"),
        "a failure keeps upstream's message: {:?}",
        page.changes[1]
    );

    // Minutes: two polls each; the stretch nobody polled has no bucket at all.
    let (status, body) = get_json(
        &app,
        &key,
        &format!(
            "{base}/history?from=2026-12-02T01:00:00Z&to=2026-12-02T03:00:00Z&resolution=minute"
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let minutes: ProjectHistory = serde_json::from_value(body).expect("history");
    assert_eq!(minutes.resolution, Resolution::Minute);
    assert_eq!(minutes.buckets.len(), 120 - 20, "20 minutes of no data");
    let minute = |start: &str| minutes.buckets.iter().find(|b| b.start == start);
    assert_eq!(
        minute("2026-12-02T01:10:00.000Z")
            .expect("bucket")
            .counts
            .timeout,
        2
    );
    assert_eq!(
        minute("2026-12-02T01:50:00.000Z")
            .expect("bucket")
            .counts
            .faults,
        2
    );
    assert!(
        minute("2026-12-02T02:30:00.000Z").is_none(),
        "no data, not CONNECTED"
    );
    let connected = minute("2026-12-02T02:10:00.000Z").expect("bucket");
    assert_eq!(connected.counts.connected, 2);
    assert!(connected.latency_avg_ms.is_some() && connected.queue_avg.is_some());

    // The project page's five-minute groups sum the same minutes.
    let grouped = app
        .fleet
        .project_history_grouped(
            &Actor::cli(),
            id,
            at("2026-12-02T01:00:00Z"),
            at("2026-12-02T03:00:00Z"),
            Resolution::Minute,
            300,
        )
        .await
        .expect("grouped");
    assert_eq!(grouped.buckets.len(), 24 - 4, "four groups of no data");
    let group = grouped
        .buckets
        .iter()
        .find(|b| b.start == "2026-12-02T01:10:00.000Z")
        .expect("group");
    assert_eq!((group.counts.polls, group.counts.timeout), (10, 10));

    // Hours and days add up the same polls, across midnight.
    let (_, body) = get_json(
        &app,
        &key,
        &format!(
            "{base}/history?from=2026-12-01T22:00:00Z&to=2026-12-02T03:00:00Z&resolution=hour"
        ),
    )
    .await;
    let hours: ProjectHistory = serde_json::from_value(body).expect("history");
    let hour = |start: &str| {
        hours
            .buckets
            .iter()
            .find(|b| b.start == start)
            .map(|b| b.counts)
            .unwrap_or_default()
    };
    assert_eq!(
        hour("2026-12-01T22:00:00.000Z").polls,
        1,
        "the start-up poll at 22:59:50"
    );
    assert_eq!(hour("2026-12-01T23:00:00.000Z").connected, 120);
    let one = hour("2026-12-02T01:00:00.000Z");
    assert_eq!((one.timeout, one.faults, one.uptime()), (80, 40, Some(0.0)));
    assert_eq!(hour("2026-12-02T02:00:00.000Z").polls, 80);
    let (_, body) = get_json(
        &app,
        &key,
        &format!("{base}/history?from=2026-12-01&to=2026-12-03&resolution=day"),
    )
    .await;
    let days: ProjectHistory = serde_json::from_value(body).expect("history");
    let polls: Vec<u32> = days.buckets.iter().map(|b| b.counts.polls).collect();
    assert_eq!(polls, [121, 120 + 80 + 40 + 80]);

    // Uptime: CONNECTED over the polls that reached the device; our faults are left out.
    // 24 h: 321 connected (the start-up poll, hours 23, 00 and 02) of the 401 polls that
    // reached the device (80 in TIMEOUT); the 40 that failed on our side are left out.
    app.fleet.refresh_uptime().await.expect("uptime");
    let (_, body) = get_json(&app, &key, &base).await;
    let expected = 321.0 / 401.0;
    for window in ["24h", "7d"] {
        let figure = body["uptime"][window].as_f64().expect("a figure");
        assert!((figure - expected).abs() < 1e-9, "{window}: {figure}");
    }
    // The card's strip as of its last check (02:59:30): an hour a letter, the worst state
    // of the hour (TIMEOUT over our fault in hour 01).
    let card = app
        .fleet
        .fleet_view(&Actor::cli())
        .cards
        .into_iter()
        .find(|c| c.id == id)
        .expect("card");
    let strip = card.status.history.expect("the card carries its strip");
    assert_eq!(strip.strip.len(), 24);
    assert_eq!(
        &strip.strip[18..],
        "-ccctc",
        "hours 21 to 02: {}",
        strip.strip
    );
    assert_eq!(strip.uptime_permille, Some(800));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_history_queries_are_refused_with_what_is_allowed() {
    let (app, _clock) = app_at("2026-12-02T10:00:00Z").await;
    let key = app.api_key_for("hilda", fleet::model::Role::Viewer).await;
    let id = app.project_id(DEMO_FLEET[0].name);
    let cases = [
        (
            format!("/api/v1/projects/{id}/history?from=2026-12-02&to=2026-12-01"),
            422,
            "before",
        ),
        (
            format!("/api/v1/projects/{id}/history?resolution=week"),
            422,
            "minute, hour, day",
        ),
        (
            format!("/api/v1/projects/{id}/history?from=2026-11-01&resolution=minute"),
            422,
            "48 hours",
        ),
        (
            format!("/api/v1/projects/{id}/history?from=yesterday"),
            422,
            "date",
        ),
        (
            format!("/api/v1/projects/{id}/changes?limit=0"),
            422,
            "1 to 500",
        ),
        ("/api/v1/projects/999999/history".to_owned(), 404, ""),
        ("/api/v1/projects/999999/changes".to_owned(), 404, ""),
    ];
    for (path, expected, says) in cases {
        let (status, body) = get_json(&app, &key, &path).await;
        assert_eq!(status, expected, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{path}: {message}");
    }
    let (status, _) = get_json(
        &app,
        "pf_not_a_key",
        &format!("/api/v1/projects/{id}/history"),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_history_is_pruned_by_resolution() {
    let (app, clock) = app_at("2026-12-01T22:59:50Z").await;
    let demo = &DEMO_FLEET[0];
    let id = app.project_id(demo.name);
    scripted_day(&app, &clock, id, demo.project_id).await;
    let count = |resolution: i64| {
        let pool = app.fleet.pool().clone();
        async move {
            fleet::with_pool!(&pool, p => {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM status_rollups WHERE resolution = $1 AND project_id = $2",
                )
                .bind(resolution)
                .bind(id)
                .fetch_one(p)
                .await
            })
            .expect("count")
        }
    };
    assert_eq!(count(60).await, 1 + 120 + 100);
    // Three days on: minutes (kept 48 h) go, hours and days stay.
    let pruned = app
        .fleet
        .prune_history(at("2026-12-05T03:00:00Z"))
        .await
        .expect("prune");
    assert!(pruned >= 221, "{pruned}");
    assert_eq!(count(60).await, 0);
    assert_eq!(count(3600).await, 5);
    assert_eq!(count(86_400).await, 2);
    // A hundred days on: hours go too; days and changes stay (two years).
    app.fleet
        .prune_history(at("2027-03-15T00:00:00Z"))
        .await
        .expect("prune");
    assert_eq!(count(3600).await, 0);
    assert_eq!(count(86_400).await, 2);
    let changes = app
        .fleet
        .project_changes(
            &Actor::cli(),
            id,
            at("2026-12-01T00:00:00Z"),
            at("2026-12-03T00:00:00Z"),
            None,
            100,
        )
        .await
        .expect("changes");
    assert_eq!(changes.changes.len(), 4);
}

/// The dashboard stopped for half an hour in the middle: the history has no data for that
/// time (not CONNECTED), the restarted service knows the last state (no made-up change) and
/// its card strip still shows the hour before the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_leaves_an_honest_gap_and_continues_the_history() {
    use pickyassist_sim::{SimConfig, Simulator};
    let sim = Simulator::new(SimConfig::default());
    sim.set_status_limit(None);
    let sim = pickyassist_sim::spawn(sim, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator");
    let dir = tempfile::tempdir().expect("dir");
    let settings = server::config::Settings {
        database_url: format!("sqlite:{}", dir.path().join("fleet.db").display()),
        status_checks_per_minute: 100_000,
        ..Default::default()
    };
    let clock = ManualClock::at(at("2026-12-02T10:00:00Z"));
    let open = || {
        server::startup::open_fleet_with_clock(&settings, &sim.base_url, Arc::new(clock.clone()))
    };
    let poll = |fleet: fleet::Fleet, from: &'static str, to: &'static str| {
        let clock = clock.clone();
        async move {
            let (mut t, end) = (at(from), at(to));
            while t < end {
                clock.set(t);
                fleet.poll_project(1).await.expect("within the budget");
                t += Duration::seconds(30);
            }
            fleet.flush_history().await.expect("flush");
        }
    };
    let (first, database) = open().await.expect("open");
    let id = first
        .add_project(
            &Actor::cli(),
            fleet::model::ProjectName::parse("Acme Support").expect("name"),
            pickyassist::ApiToken::parse(DEMO_FLEET[0].token).expect("token"),
        )
        .await
        .expect("project");
    assert_eq!(id, 1);
    poll(
        first.clone(),
        "2026-12-02T10:00:00Z",
        "2026-12-02T10:10:00Z",
    )
    .await;
    drop(first);
    database.close().await;

    // Stopped 10:10–10:40, then started again.
    clock.set(at("2026-12-02T10:40:00Z"));
    let (second, _database) = open().await.expect("open again");
    assert_eq!(
        second.strip(1)[23].counts.connected,
        20,
        "the strip remembers the hour before the restart"
    );
    poll(
        second.clone(),
        "2026-12-02T10:40:00Z",
        "2026-12-02T10:50:00Z",
    )
    .await;

    let history = second
        .project_history(
            &Actor::cli(),
            1,
            at("2026-12-02T10:00:00Z"),
            at("2026-12-02T11:00:00Z"),
            Resolution::Minute,
        )
        .await
        .expect("history");
    let minutes: Vec<&str> = history.buckets.iter().map(|b| &b.start[11..16]).collect();
    assert_eq!(minutes.len(), 20, "{minutes:?}");
    assert!(!minutes.contains(&"10:25"), "no data while stopped");
    let changes = second
        .project_changes(
            &Actor::cli(),
            1,
            at("2026-12-02T00:00:00Z"),
            at("2026-12-03T00:00:00Z"),
            None,
            10,
        )
        .await
        .expect("changes");
    assert_eq!(
        changes.changes.len(),
        1,
        "one change (the first state), none made up by the restart: {:?}",
        changes.changes
    );
    assert_eq!(second.uptime(1).day, Some(1.0));
}

/// The project page tells the story: a drop, the operator's restart, the recovery, with the
/// uptime and what counts; and it is for signed-in users only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_page_reads_a_drop_a_restart_and_the_recovery_as_one_story() {
    let app = crate::helpers::spawn_app_with(|s| s.status_checks_per_minute = 100_000).await;
    app.sim_unlimited_status_checks().await;
    app.wait_for_first_poll().await;
    let demo = &DEMO_FLEET[0];
    let id = app.project_id(demo.name);
    app.sim_state(demo.project_id, "TIMEOUT").await;
    app.fleet.poll_project(id).await.expect("poll");
    let admin = app.admin().await;
    let sent = admin
        .http
        .post(format!("{}/api/v1/projects/{id}/commands", app.address))
        .header("origin", &app.address)
        .json(&serde_json::json!({"command": "restart-server"}))
        .send()
        .await
        .expect("command");
    assert_eq!(sent.status(), 200);
    app.sim_state(demo.project_id, "CONNECTED").await;
    app.fleet.poll_project(id).await.expect("poll");
    app.fleet.flush_history().await.expect("flush");

    let page = admin.text(&format!("/projects/{id}")).await;
    for expected in [
        "<h1 id=\"project-title\">Acme Support",
        "Uptime, 24 hours",
        "Uptime, 90 days",
        "TIMEOUT, UNPAIRED and unknown states count as down",
        "from Timeout, for ",
        "from Connected, for ",
        "admin sent restart-server",
        "role=\"img\"",
        "Message queue: from ",
        "failed on the dashboard's side (unknown)",
    ] {
        assert!(page.contains(expected), "the page shows {expected:?}");
    }
    // The timeline is newest first: the recovery, the command, the drop.
    let recovery = page.find("from Timeout, for ").expect("recovery");
    let command = page.find("admin sent restart-server").expect("command");
    let drop = page.find("from Connected, for ").expect("drop");
    assert!(recovery < command && command < drop, "newest first");

    let other_range = admin.text(&format!("/projects/{id}?range=90d")).await;
    assert!(other_range.contains("States over the last 90 days"));
    let missing = admin.get_page("/projects/999999").await;
    assert!(
        admin
            .text("/projects/999999")
            .await
            .contains("could not be loaded"),
        "{}",
        missing.status()
    );
    let anonymous = app.anonymous().get_page(&format!("/projects/{id}")).await;
    assert_eq!(
        anonymous
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some(format!("/sign-in?next=/projects/{id}").as_str())
    );
}
