//! Quiet: muted and maintenance projects, a disconnect on purpose, and upstream down for everybody.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muted_and_maintenance_projects_alert_nobody_until_the_quiet_ends() {
    let s = setup().await;
    let acme = s.project(ACME);
    let (status, body) = s
        .admin
        .call(
            Method::PUT,
            &format!("/api/v1/projects/{acme}/mute"),
            Some(json!({"minutes": 30, "reason": "phone swap"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.app.sim_state(ACME, "TIMEOUT").await;
    for _ in 0..3 {
        s.clock.advance(Duration::minutes(5));
        s.round().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(s.messages(acme, "down").is_empty(), "muted");
    let quiet = s.app.fleet.project_quiet(acme).expect("quiet");
    assert_eq!(quiet.as_str(), "muted");
    // The mute ends while the device is still down: the alert speaks then.
    s.clock.advance(Duration::minutes(20));
    s.round().await;
    s.receiver
        .wait_for(1, |m| m["project"]["id"] == acme && m["event"] == "down")
        .await;

    // A weekly window covering now silences another project.
    let bella = s.project(930);
    let now = s.app.fleet.now();
    let weekday = chrono::Datelike::weekday(&now).num_days_from_monday();
    let (status, body) = s
        .admin
        .call(
            Method::POST,
            "/api/v1/maintenance-windows",
            Some(json!({"project_id": bella, "note": "router firmware",
                        "schedule": {"kind": "weekly", "weekday": weekday,
                                     "start": now.format("%H:00").to_string(), "duration_minutes": 120}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s.app.sim_state(930, "UNPAIRED").await;
    for _ in 0..3 {
        s.round().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(s.messages(bella, "down").is_empty(), "in maintenance");
    let (_, body) = s
        .admin
        .call(
            Method::GET,
            &format!("/api/v1/alerts?project_id={bella}"),
            None,
        )
        .await;
    let page: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        page["alerts"][0]["silenced"], "maintenance",
        "recorded, silenced"
    );
    // The history calls the downtime planned: no unpaired polls, and the change says so.
    s.app.fleet.flush_history().await.expect("flush");
    let later = (now + Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let (status, body) = s
        .admin
        .call(
            Method::GET,
            &format!("/api/v1/projects/{bella}/history?resolution=minute&to={later}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let history: Value = serde_json::from_str(&body).expect("json");
    let sum = |field: &str| -> u64 {
        history["buckets"]
            .as_array()
            .expect("buckets")
            .iter()
            .map(|b| b[field].as_u64().unwrap_or(0))
            .sum()
    };
    assert_eq!(sum("unpaired"), 0, "{history}");
    assert!(sum("maintenance") >= 3, "{history}");
    let (_, body) = s
        .admin
        .call(
            Method::GET,
            &format!("/api/v1/projects/{bella}/changes?to={later}"),
            None,
        )
        .await;
    let changes: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(changes["changes"][0]["to"], "unpaired", "{changes}");
    assert_eq!(changes["changes"][0]["maintenance"], true, "{changes}");
    assert_eq!(s.app.audit_rows(AuditAction::ProjectMuted).await.len(), 1);
    assert_eq!(
        s.app
            .audit_rows(AuditAction::MaintenanceScheduled)
            .await
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_disconnected_on_purpose_alerts_nobody_until_connected_again() {
    let s = setup().await;
    let acme = s.project(ACME);
    let operator = client(
        &s.app,
        Some(s.app.api_key_for("olga", Role::Operator).await),
    );
    let (status, body) = operator
        .call(
            Method::POST,
            &format!("/api/v1/projects/{acme}/commands"),
            Some(json!({"command": "disconnect", "confirm_name": "Acme Support"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        s.app.fleet.project_quiet(acme).map(|q| q.label()),
        Some("Disconnected on purpose by olga".to_owned())
    );
    s.app.sim_state(ACME, "UNPAIRED").await; // what a disconnect leaves
    for _ in 0..3 {
        s.round().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        s.messages(acme, "down").is_empty(),
        "the intended state alerts nobody"
    );
    s.app.sim_state(ACME, "CONNECTED").await;
    s.round().await;
    assert_eq!(
        s.app.fleet.project_quiet(acme),
        None,
        "connected again: watched again"
    );
    s.app.sim_state(ACME, "TIMEOUT").await;
    s.round().await;
    s.round().await;
    s.round().await;
    s.round().await;
    s.receiver
        .wait_for(1, |m| m["project"]["id"] == acme && m["event"] == "down")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_down_for_everybody_sends_one_storm_alert_not_one_per_project() {
    let s = setup().await;
    s.round().await; // the demo's two failing devices open their own alerts first
    s.app
        .sim_global_fault(Some(json!({"kind": "connection_drop"})))
        .await;
    s.round().await; // every project fails: the poller goes into outage mode
    s.round().await; // still down: one probe, and the storm
    let storm = s
        .receiver
        .wait_for(1, |m| m["kind"] == "storm" && m["event"] == "down")
        .await;
    assert!(storm[0]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("PickyAssist unreachable")));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let per_project = s
        .receiver
        .delivered(|m| m["kind"] == "dashboard" && m["event"] == "down");
    assert!(
        per_project.is_empty(),
        "no per-project alerts in a storm: {per_project:?}"
    );
    s.app.sim_global_fault(None).await;
    for _ in 0..3 {
        s.round().await;
    }
    s.receiver
        .wait_for(1, |m| m["kind"] == "storm" && m["event"] == "recovered")
        .await;
}
