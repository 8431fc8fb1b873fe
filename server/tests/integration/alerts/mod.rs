//! Alerts end to end: simulated devices fail and recover, poll rounds are run by the test with
//! a manual clock, and messages land on a real HTTP receiver and a real SMTP server.
//!
//! Here: alerting, reminding, recovering and acknowledging. `quiet`: mutes, maintenance,
//! intended disconnects and upstream storms. `delivery`: retries and senders. `channels`:
//! e-mail through SMTP and settings that are refused.

mod channels;
mod delivery;
mod quiet;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use fleet::{
    auth::Actor,
    clock::ManualClock,
    model::{AuditAction, Role},
    poller,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    api::{client, ApiClient},
    helpers::{assert_no_token_in, spawn_app_with_clock, TestApp},
    receivers::{SmtpReceiver, WebhookReceiver},
};

const SIGNING_SECRET: &str = "test-signing-secret-0123456789";
/// Green Leaf Clinic: TIMEOUT in the demo fleet.
const GREEN_LEAF: u64 = 933;
/// Acme Support: CONNECTED in the demo fleet.
const ACME: u64 = 929;

struct Setup {
    app: TestApp,
    clock: ManualClock,
    receiver: WebhookReceiver,
    admin: ApiClient,
    channel_id: i64,
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-02T08:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

/// A server at 08:00 with a signed webhook channel for every alert, reminders every 10 min at
/// most twice.
async fn setup() -> Setup {
    let clock = ManualClock::at(start());
    let app = spawn_app_with_clock(
        |s| {
            s.status_checks_per_minute = 100_000;
            s.public_url = Some("https://fleet.example.com/".parse().expect("url"));
        },
        Arc::new(clock.clone()),
    )
    .await;
    app.sim_unlimited_status_checks().await;
    app.wait_for_first_poll().await;
    let receiver = WebhookReceiver::start().await;
    let admin = client(&app, Some(app.api_key_for("alice", Role::Admin).await));
    let (status, body) = admin
        .call(
            Method::POST,
            "/api/v1/alert-channels",
            Some(json!({"name": "On-call hook", "kind": "webhook", "url": receiver.url, "secret": SIGNING_SECRET})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: Value = serde_json::from_str(&body).expect("json");
    assert!(
        !body.contains("secret-path-abc123"),
        "the URL's path is not shown: {body}"
    );
    assert!(
        !body.contains(SIGNING_SECRET),
        "a given secret is not echoed: {body}"
    );
    let channel_id = created["channel"]["id"].as_i64().expect("id");
    let (status, body) = admin
        .call(
            Method::PUT,
            "/api/v1/alert-rules/default",
            Some(json!({"repeat_every_minutes": 10, "repeat_max": 2,
                        "device_channels": [channel_id], "fault_channels": [channel_id]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Setup {
        app,
        clock,
        receiver,
        admin,
        channel_id,
    }
}

impl Setup {
    /// One poll round, then a moment for the dispatcher.
    async fn round(&self) {
        poller::poll_once(&self.app.fleet).await;
        self.app
            .fleet
            .dispatch_due_alerts()
            .await
            .expect("dispatch");
    }

    fn project(&self, upstream_id: u64) -> i64 {
        let name = pickyassist_sim::DEMO_FLEET
            .iter()
            .find(|d| d.project_id == upstream_id)
            .expect("demo project")
            .name;
        self.app.project_id(name)
    }

    /// The newest alert of `project` as the REST API shows it, once `done` holds of it (10 s at
    /// most: deliveries are recorded by a spawned sender just after the receiver has them).
    async fn alert_when(&self, project: i64, done: impl Fn(&Value) -> bool) -> Value {
        let path = format!("/api/v1/alerts?project_id={project}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (status, body) = self.admin.call(Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let page: Value = serde_json::from_str(&body).expect("json");
            let alert = page["alerts"][0].clone();
            if done(&alert) || std::time::Instant::now() > deadline {
                return alert;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Delivered messages about `project` with `event`.
    fn messages(&self, project: i64, event: &str) -> Vec<Value> {
        self.receiver
            .delivered(|m| m["project"]["id"] == project && m["event"] == event)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_down_alerts_once_after_two_polls_reminds_twice_and_recovers() {
    let s = setup().await;
    let acme = s.project(ACME);
    s.app.sim_state(ACME, "UNPAIRED").await;
    s.round().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        s.messages(acme, "down").is_empty(),
        "one failing poll wakes nobody"
    );
    s.round().await;
    let down = s
        .receiver
        .wait_for(1, |m| m["project"]["id"] == acme && m["event"] == "down")
        .await;
    assert_eq!(down.len(), 1);
    let down = &down[0];
    assert_eq!(down["state_from"], "connected");
    assert_eq!(down["state_to"], "unpaired");
    assert_eq!(
        down["link"],
        format!("https://fleet.example.com/projects/{acme}")
    );
    assert!(down["acknowledge_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://fleet.example.com/alerts/acknowledge?token=")));
    // The signature is HMAC-SHA256 of the exact body under the channel's secret.
    let request = s
        .receiver
        .requests()
        .into_iter()
        .find(|r| r.json()["project"]["id"] == acme)
        .expect("request");
    let signature = request.headers["x-picky-fleet-signature"]
        .to_str()
        .expect("ascii");
    assert_eq!(
        signature,
        fleet::alerts::send::signature(SIGNING_SECRET, &request.body)
    );
    assert_no_token_in(&String::from_utf8_lossy(&request.body), "an alert body");

    // Reminders: every 10 minutes, at most 2.
    for _ in 0..5 {
        s.clock.advance(Duration::minutes(10));
        s.round().await;
    }
    s.receiver
        .wait_for(2, |m| m["project"]["id"] == acme && m["event"] == "repeat")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        s.messages(acme, "repeat").len(),
        2,
        "at most repeat_max reminders"
    );
    assert_eq!(s.messages(acme, "down").len(), 1, "down is said once");

    // Recovery after two good polls, with how long it was down.
    s.app.sim_state(ACME, "CONNECTED").await;
    s.clock.advance(Duration::minutes(1));
    s.round().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        s.messages(acme, "recovered").is_empty(),
        "one good poll is not recovery"
    );
    s.round().await;
    let recovered = s
        .receiver
        .wait_for(1, |m| {
            m["project"]["id"] == acme && m["event"] == "recovered"
        })
        .await;
    assert_eq!(recovered[0]["downtime_seconds"], 51 * 60);
    assert_eq!(recovered[0]["state_from"], "unpaired");
    // The receiver has the message before the sender records it; wait for the record.
    let alert = s.alert_when(acme, |a| a["sent"].as_i64() >= Some(4)).await;
    assert_eq!(alert["status"], "resolved");
    assert_eq!(alert["repeats"], 2);
    assert_eq!(alert["sent"], 4, "down, two reminders and recovered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledging_stops_the_reminders_and_is_audited_and_viewers_cannot() {
    let s = setup().await;
    let green_leaf = s.project(GREEN_LEAF);
    s.round().await; // the start-up round counted one failing poll; this is the second
    s.receiver
        .wait_for(1, |m| {
            m["project"]["id"] == green_leaf && m["event"] == "down"
        })
        .await;
    let alert_id = s.messages(green_leaf, "down")[0]["alert_id"]
        .as_i64()
        .expect("id");
    let viewer = client(&s.app, Some(s.app.api_key_for("vera", Role::Viewer).await));
    let path = format!("/api/v1/alerts/{alert_id}/acknowledge");
    let (status, _) = viewer.call(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let operator = client(
        &s.app,
        Some(s.app.api_key_for("olga", Role::Operator).await),
    );
    let (status, body) = operator.call(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let alert: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(alert["status"], "acknowledged");
    assert_eq!(alert["acknowledged_by"], "olga");
    let (status, body) = operator.call(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("already acknowledged by olga"), "{body}");
    for _ in 0..4 {
        s.clock.advance(Duration::minutes(10));
        s.round().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        s.messages(green_leaf, "repeat").is_empty(),
        "no reminders once acknowledged"
    );
    let audited = s.app.audit_rows(AuditAction::AlertAcknowledged).await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].actor, "olga");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_in_the_message_acknowledges_once_and_a_forged_one_nothing() {
    let s = setup().await;
    let green_leaf = s.project(GREEN_LEAF);
    s.round().await;
    let down = s
        .receiver
        .wait_for(1, |m| {
            m["project"]["id"] == green_leaf && m["event"] == "down"
        })
        .await;
    let url = down[0]["acknowledge_url"].as_str().expect("url");
    let token = url.split("token=").nth(1).expect("token");
    let http = reqwest::Client::new();
    // Opening the link (as a chat preview would) changes nothing.
    let page = http
        .get(format!(
            "{}/alerts/acknowledge?token={token}",
            s.app.address
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .expect("html")
        .contains("Acknowledge alert #"));
    let post = |token: String| {
        http.post(format!("{}/alerts/acknowledge", s.app.address))
            .header("origin", s.app.address.clone())
            .form(&[("token", token)])
            .send()
    };
    // Change the signature's last character (to another one: a fixed "0" would sometimes be
    // the real one).
    let last = if token.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    let answer = post(forged).await.expect("post");
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer = post(token.to_owned()).await.expect("post");
    assert_eq!(answer.status(), StatusCode::OK);
    let again = post(token.to_owned()).await.expect("post");
    assert_eq!(again.status(), StatusCode::CONFLICT, "single use");
    let audited = s.app.audit_rows(AuditAction::AlertAcknowledged).await;
    assert_eq!(audited.len(), 1);
}
