//! The `/_sim/` control API: adding projects and refusing bad input.

use pickyassist::{ClientError, DeviceState};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{TestSim, ALPHA, BRAVO, UNPAIRED};

async fn send(sim: &TestSim, method: Method, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut request = sim.http.request(method, sim.control(path));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.expect("the control API answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn bad_control_input_gets_a_4xx_with_an_error_message() {
    let sim = TestSim::start().await;
    let cases: [(Method, &str, Option<&str>, u16); 12] = [
        (Method::PUT, "faults/global", Some("not json"), 400),
        (
            Method::PUT,
            "faults/global",
            Some(r#"{"kind":"nope"}"#),
            422,
        ),
        (
            Method::PUT,
            "faults/global",
            Some(r#"{"kind":"latency"}"#),
            422,
        ),
        (
            Method::PUT,
            "faults/global",
            Some(r#"{"kind":"slow_drip","bytes_per_sec":0}"#),
            422,
        ),
        (
            Method::PUT,
            "faults/projects/abc",
            Some(r#"{"kind":"timeout"}"#),
            400,
        ),
        (
            Method::PUT,
            "faults/projects/999999",
            Some(r#"{"kind":"timeout"}"#),
            404,
        ),
        (Method::DELETE, "faults/projects/999999", None, 404),
        (Method::GET, "projects/999999", None, 404),
        (Method::PUT, "config", Some("{}"), 422),
        (
            Method::PUT,
            "config",
            Some(r#"{"status_limit_per_minute":-1}"#),
            422,
        ),
        (Method::POST, "projects", Some(r#"{"project_id":5}"#), 422),
        (Method::GET, "no-such-thing", None, 404),
    ];
    for (method, path, body, expected) in cases {
        let (status, answer) = send(&sim, method.clone(), path, body).await;
        assert_eq!(status, expected, "{method} {path} {body:?}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {path}: {answer}"
        );
    }
    // Nothing above changed anything.
    assert_eq!(sim.sim.faults(), pickyassist_sim::FaultsView::default());
    assert_eq!(sim.sim.status_limit(), None);
}

#[tokio::test]
async fn a_project_added_over_http_answers_the_client() {
    let sim = TestSim::start().await;
    let token = "test-token-added-00042";
    let (status, view) = send(
        &sim,
        Method::POST,
        "projects",
        Some(
            &json!({"token": token, "project_id": 42, "state": "TIMEOUT", "queue": 7}).to_string(),
        ),
    )
    .await;
    assert_eq!(status, 201, "{view}");
    assert_eq!(view["project_id"], 42);
    let reported = sim.status(token).await.expect("the new project answers");
    assert_eq!(reported.state, DeviceState::Timeout);
    assert_eq!(reported.message_queue_count, Some(7));
    assert_eq!(reported.project_id.as_deref(), Some("42"));

    let duplicate_token = json!({"token": token, "project_id": 43}).to_string();
    assert_eq!(
        send(&sim, Method::POST, "projects", Some(&duplicate_token))
            .await
            .0,
        409
    );
    let duplicate_id = json!({"token": "test-token-other-000043", "project_id": 42}).to_string();
    assert_eq!(
        send(&sim, Method::POST, "projects", Some(&duplicate_id))
            .await
            .0,
        409
    );
    for bad_token in ["short", "has space in it 123456", " test-token-padded-0044"] {
        let body = json!({"token": bad_token, "project_id": 44}).to_string();
        assert_eq!(
            send(&sim, Method::POST, "projects", Some(&body)).await.0,
            422,
            "{bad_token:?}"
        );
    }
    assert!(sim.sim.project(44).is_none());
}

#[tokio::test]
async fn a_device_moved_to_another_state_reports_it_and_comes_back() {
    let sim = TestSim::start().await;
    let path = format!("projects/{}", BRAVO.1);
    let (status, body) = send(
        &sim,
        Method::PATCH,
        &path,
        Some(r#"{"state":"TIMEOUT","queue":12}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let seen = sim.status(BRAVO.0).await.expect("answers");
    assert_eq!(seen.state, DeviceState::Timeout);
    assert_eq!(seen.message_queue_count, Some(12));
    assert_eq!(seen.connected_number, None, "no number while not connected");
    let (status, _) = send(&sim, Method::PATCH, &path, Some(r#"{"state":"CONNECTED"}"#)).await;
    assert_eq!(status, 200);
    let seen = sim.status(BRAVO.0).await.expect("answers");
    assert_eq!(seen.state, DeviceState::Connected);
    assert!(seen.connected_number.is_some());
    assert_eq!(
        send(
            &sim,
            Method::PATCH,
            "projects/999999",
            Some(r#"{"state":"TIMEOUT"}"#)
        )
        .await
        .0,
        404
    );
    assert_eq!(
        send(&sim, Method::PATCH, &path, Some(r#"{"state":7}"#))
            .await
            .0,
        422
    );
}

#[tokio::test]
async fn an_unknown_state_is_reported_verbatim() {
    let sim = TestSim::start().await;
    sim.sim.add_project(
        "test-token-pairing-0050",
        50,
        DeviceState::Unknown("PAIRING".into()),
    );
    let status = sim
        .status("test-token-pairing-0050")
        .await
        .expect("answers");
    assert_eq!(status.state, DeviceState::Unknown("PAIRING".into()));
    assert_eq!(
        sim.status(BRAVO.0).await.map(|s| s.state),
        Ok(DeviceState::Connected)
    );
}

#[tokio::test]
async fn the_project_list_never_contains_a_token() {
    let sim = TestSim::start().await;
    let response = sim
        .http
        .get(sim.control("projects"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    for token in [ALPHA.0, BRAVO.0, UNPAIRED.0] {
        assert!(!text.contains(token), "{text}");
    }
    let list: Value = serde_json::from_str(&text).expect("JSON");
    let ids: Vec<u64> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["project_id"].as_u64())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[tokio::test]
async fn the_demo_fleet_is_served_by_default_and_shutdown_closes_the_port() {
    let sim = pickyassist_sim::Simulator::new(pickyassist_sim::SimConfig {
        status_limit_per_minute: None,
        ..pickyassist_sim::SimConfig::default()
    });
    let handle = pickyassist_sim::spawn(sim, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("binds");
    let client = crate::support::client(&handle, std::time::Duration::from_secs(2));
    for demo in pickyassist_sim::DEMO_FLEET {
        let status = client
            .device_status(&crate::support::api_token(demo.token))
            .await
            .expect("every demo project answers");
        assert_eq!(status.state, demo.state, "{}", demo.name);
        assert_eq!(
            status.connected_number.as_deref(),
            demo.connected_number,
            "{}",
            demo.name
        );
        assert_eq!(status.project_id, Some(demo.project_id.to_string()));
    }
    handle.shutdown().await;
    let after = client
        .device_status(&crate::support::api_token(
            pickyassist_sim::DEMO_FLEET[0].token,
        ))
        .await;
    assert!(
        matches!(after, Err(ClientError::Unreachable(_))),
        "{after:?}"
    );
}
