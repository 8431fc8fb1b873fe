//! What travels on the wire: shapes, codes and the answers to malformed requests.

use pickyassist::{ClientError, Command, DeviceState};
use pickyassist_sim::codes;
use serde_json::json;

use crate::support::{TestSim, ALPHA, UNKNOWN_TOKEN, UNPAIRED};

#[tokio::test]
async fn the_status_has_the_documented_shape() {
    let sim = TestSim::start().await;
    let body = sim
        .post_json(
            "device-status",
            &json!({"token": ALPHA.0, "application": 10}).to_string(),
        )
        .await;
    let object = body.as_object().expect("an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "connected_number",
            "message_queue_count",
            "project_id",
            "status",
            "time",
            "version"
        ]
    );
    assert_eq!(body["project_id"], "1");
    assert_eq!(body["status"], "CONNECTED");
    assert_eq!(body["connected_number"], "15555550001");
    assert_eq!(body["version"], "2.2119.6");
    assert_eq!(body["message_queue_count"], 5);
    let time = body["time"].as_str().expect("time is text");
    // Whole seconds in the profile's offset, like upstream's sample.
    assert_eq!(time.len(), "2021-06-01T14:05:26+05:30".len(), "{time}");
    assert!(time.ends_with("+05:30"), "{time}");

    let parsed = sim.status(ALPHA.0).await.expect("the client reads it");
    assert_eq!(parsed.project_id.as_deref(), Some("1"));
    assert!(parsed.time.is_some());
}

#[tokio::test]
async fn an_unknown_token_is_rejected_with_code_102_on_both_endpoints() {
    let sim = TestSim::start().await;
    let expected = ClientError::Rejected {
        code: 102,
        message: "Invalid Token".into(),
    };
    assert_eq!(sim.status(UNKNOWN_TOKEN).await, Err(expected.clone()));
    assert_eq!(
        sim.action(UNKNOWN_TOKEN, Command::Restart).await,
        Err(expected)
    );
}

#[tokio::test]
async fn malformed_requests_get_upstreams_rejection_shape_with_http_200() {
    let sim = TestSim::start().await;
    let cases = [
        (
            "device-status",
            "not json".to_owned(),
            codes::INVALID_REQUEST,
        ),
        (
            "device-status",
            json!({"application": 10}).to_string(),
            codes::INVALID_REQUEST,
        ),
        (
            "device-status",
            json!({"token": 7, "application": 10}).to_string(),
            codes::INVALID_REQUEST,
        ),
        ("device-action", "[]".to_owned(), codes::INVALID_REQUEST),
        (
            "device-status",
            json!({"token": ALPHA.0}).to_string(),
            codes::INVALID_APPLICATION,
        ),
        (
            "device-status",
            json!({"token": ALPHA.0, "application": 11}).to_string(),
            codes::INVALID_APPLICATION,
        ),
        (
            "device-action",
            json!({"token": ALPHA.0, "command": "restart", "application": "wa"}).to_string(),
            codes::INVALID_APPLICATION,
        ),
        (
            "device-action",
            json!({"token": ALPHA.0, "command": "reboot", "application": 10}).to_string(),
            codes::INVALID_COMMAND,
        ),
        (
            "device-action",
            json!({"token": ALPHA.0, "application": 10}).to_string(),
            codes::INVALID_COMMAND,
        ),
        (
            "device-action",
            json!({"token": UNKNOWN_TOKEN, "command": "reboot", "application": 10}).to_string(),
            codes::INVALID_TOKEN,
        ),
    ];
    for (endpoint, body, code) in cases {
        let answer = sim.post_json(endpoint, &body).await;
        assert_eq!(answer["status"], code, "{endpoint} {body}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }
    assert!(
        sim.project(ALPHA.1).recent_commands.is_empty(),
        "nothing rejected was executed"
    );
}

#[tokio::test]
async fn application_may_be_sent_as_a_string() {
    let sim = TestSim::start().await;
    let status = sim
        .post_json(
            "device-status",
            &json!({"token": UNPAIRED.0, "application": "10"}).to_string(),
        )
        .await;
    assert_eq!(status["status"], "UNPAIRED");
    assert_eq!(status["connected_number"], serde_json::Value::Null);
    let action = sim
        .post_json(
            "device-action",
            &json!({"token": UNPAIRED.0, "command": "delete-message-queue", "application": "10"})
                .to_string(),
        )
        .await;
    assert_eq!(action, json!({"status": 100, "message": "Success"}));
}

#[tokio::test]
async fn the_newer_hosts_path_serves_the_same_api() {
    let sim = TestSim::start().await;
    let answer: serde_json::Value = sim
        .http
        .post(format!("http://{}/api/v2/device-status", sim.handle.addr))
        .json(&json!({"token": ALPHA.0, "application": 10}))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(answer["status"], DeviceState::Connected.wire_name());
}
