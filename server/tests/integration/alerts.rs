//! Alerts end to end: simulated devices fail and recover, poll rounds are run by the test with
//! a manual clock, and messages land on a real HTTP receiver and a real SMTP server.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_then_recovers_gets_the_alert_once_and_every_attempt_is_kept() {
    let s = setup().await;
    let green_leaf = s.project(GREEN_LEAF);
    s.receiver.answer(500);
    s.round().await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(s.messages(green_leaf, "down").is_empty());
    s.receiver.answer(0); // now it hangs: the attempt times out, polling goes on
    s.clock.advance(Duration::seconds(31));
    let started = std::time::Instant::now();
    s.round().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "a hanging receiver never holds up a round"
    );
    tokio::time::sleep(std::time::Duration::from_secs(11)).await; // the 10 s attempt timeout
    s.receiver.answer(200);
    s.clock.advance(Duration::minutes(2));
    s.app.fleet.dispatch_due_alerts().await.expect("dispatch");
    s.receiver
        .wait_for(1, |m| {
            m["project"]["id"] == green_leaf && m["event"] == "down"
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(s.messages(green_leaf, "down").len(), 1, "delivered once");
    let alert_id = s.messages(green_leaf, "down")[0]["alert_id"]
        .as_i64()
        .expect("id");
    let (_, body) = s
        .admin
        .call(Method::GET, &format!("/api/v1/alerts/{alert_id}"), None)
        .await;
    let detail: Value = serde_json::from_str(&body).expect("json");
    let delivery = detail["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .find(|d| d["channel_id"] == s.channel_id && d["event"] == "down")
        .expect("the down delivery");
    let attempts = delivery["attempts"].as_array().expect("attempts");
    assert_eq!(delivery["status"], "sent");
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert_eq!(attempts[0]["status"], 500);
    assert!(attempts[1]["error"]
        .as_str()
        .is_some_and(|e| e.contains("no answer within 10 s")));
    assert_eq!(attempts[2]["ok"], true);
}

/// Two senders on one database (two instances, or a poller taking over from one that hangs):
/// each attempt is claimed before it is sent, so while one sender waits on a receiver that
/// does not answer, the other sees nothing due and sends nothing. Only when the claim's lease
/// lapses (its sender died, as far as anyone can tell) is the delivery sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sender_on_the_same_database_never_sends_an_alert_already_on_its_way() {
    let s = setup().await;
    let green_leaf = s.project(GREEN_LEAF);
    let settings = server::config::Settings {
        database_url: s.app.database.url.clone(),
        secret_key: s.app.database.secret_key.clone(),
        ..Default::default()
    };
    let (other, database) = server::startup::open_fleet_with_clock(
        &settings,
        &s.app.sim_control,
        Arc::new(s.clock.clone()),
    )
    .await
    .expect("a second sender");
    let downs = |s: &Setup| -> Vec<String> {
        s.receiver
            .requests()
            .iter()
            .filter(|r| r.json()["project"]["id"] == green_leaf && r.json()["event"] == "down")
            .map(|r| {
                r.headers["x-picky-fleet-delivery"]
                    .to_str()
                    .expect("ascii")
                    .to_owned()
            })
            .collect()
    };

    s.receiver.answer(0); // the first sender's attempt hangs
    poller::poll_once(&s.app.fleet).await; // the second failing poll: the alert is queued
    s.app.fleet.dispatch_due_alerts().await.expect("dispatch");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while downs(&s).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first sender sent nothing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    other.dispatch_due_alerts().await.expect("dispatch");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(downs(&s).len(), 1, "the second sender left it alone");

    // Past the lease the delivery is due again, and the other sender takes it.
    s.receiver.answer(200);
    s.clock
        .advance(fleet::service::ATTEMPT_LEASE + Duration::seconds(1));
    other.dispatch_due_alerts().await.expect("dispatch");
    s.receiver
        .wait_for(1, |m| {
            m["project"]["id"] == green_leaf && m["event"] == "down"
        })
        .await;
    let sent = downs(&s);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[0], sent[1],
        "the same delivery, for receivers that drop repeats"
    );
    database.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_retry_sends_the_alert_once_and_keeps_the_alert_open() {
    let s = setup().await;
    let green_leaf = s.project(GREEN_LEAF);
    s.receiver.answer(503);
    s.round().await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    s.receiver.answer(200);
    // A second dashboard on the same database and key, as after a restart, with a clock of
    // its own (the first one's stands still, so it retries nothing meanwhile).
    let later = ManualClock::at(start() + Duration::minutes(5));
    let mut settings = server::config::Settings {
        database_url: s.app.database.url.clone(),
        secret_key: s.app.database.secret_key.clone(),
        status_checks_per_minute: 100_000,
        ..Default::default()
    };
    settings.public_url = Some("https://fleet.example.com".parse().expect("url"));
    let upstream = s.app.sim_control.join("/").expect("url");
    let (restarted, _db) =
        server::startup::open_fleet_with_clock(&settings, &upstream, Arc::new(later.clone()))
            .await
            .expect("the restarted fleet opens");
    restarted.dispatch_due_alerts().await.expect("dispatch");
    s.receiver
        .wait_for(1, |m| {
            m["project"]["id"] == green_leaf && m["event"] == "down"
        })
        .await;
    // Its next round finds the alert already open: no second "down".
    poller::poll_once(&restarted).await;
    restarted.dispatch_due_alerts().await.expect("dispatch");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(s.messages(green_leaf, "down").len(), 1);
    let open = restarted
        .alerts_page(
            &Actor::cli(),
            &fleet::model::AlertQueryText {
                project_id: Some(green_leaf.to_string()),
                ..Default::default()
            },
        )
        .await
        .expect("alerts");
    assert_eq!(open.alerts.len(), 1, "the same alert, not a new one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_channel_sends_through_a_real_smtp_server_and_never_shows_its_password() {
    let s = setup().await;
    let mut smtp = SmtpReceiver::start("alerts@example.com", "smtp-pass-9876").await;
    let (status, body) = s
        .admin
        .call(
            Method::POST,
            "/api/v1/alert-channels",
            Some(json!({"name": "Support mail", "kind": "email", "password": "smtp-pass-9876",
                        "email": {"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                  "username": "alerts@example.com", "from": "Picky Fleet <alerts@example.com>",
                                  "to": ["support@example.com", "oncall@example.com"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(!body.contains("smtp-pass-9876"));
    let id = serde_json::from_str::<Value>(&body).expect("json")["channel"]["id"]
        .as_i64()
        .expect("id");
    let (status, body) = s
        .admin
        .call(
            Method::POST,
            &format!("/api/v1/alert-channels/{id}/test"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(result["ok"], true, "{body}");
    assert_eq!(result["status"], 250);
    let mail = smtp.next_message().await;
    assert_eq!(mail["user"], "alerts@example.com");
    assert_eq!(
        mail["to"],
        json!(["support@example.com", "oncall@example.com"])
    );
    assert!(mail["data"]
        .as_str()
        .is_some_and(|d| d.contains("Subject: [Picky Fleet] Test")));
    // A wrong password: the test says so, and the password is in no answer.
    let (status, _) = s
        .admin
        .call(
            Method::PATCH,
            &format!("/api/v1/alert-channels/{id}"),
            Some(json!({"password": "wrong-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = s
        .admin
        .call(
            Method::POST,
            &format!("/api/v1/alert-channels/{id}/test"),
            None,
        )
        .await;
    let result: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(result["ok"], false, "{body}");
    assert!(
        result["error"]
            .as_str()
            .is_some_and(|e| e.contains("SMTP 535")),
        "{body}"
    );
    let (_, listed) = s
        .admin
        .call(Method::GET, "/api/v1/alert-channels", None)
        .await;
    assert!(
        !listed.contains("smtp-pass")
            && !listed.contains("wrong-password")
            && !listed.contains("secret-path")
    );
    assert_eq!(s.app.audit_rows(AuditAction::AlertTestSent).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impossible_settings_are_refused_with_a_reason_and_change_nothing() {
    let s = setup().await;
    let cases = [
        (
            "/api/v1/alert-channels",
            Method::POST,
            json!({"name": "x", "kind": "webhook", "url": "ftp://example.com/x"}),
            "http:// or https://",
        ),
        (
            "/api/v1/alert-channels",
            Method::POST,
            json!({"name": "x", "kind": "slack", "url": "javascript:alert(1)"}),
            "http:// or https://",
        ),
        (
            "/api/v1/alert-channels",
            Method::POST,
            json!({"name": "x", "kind": "email", "email": {"host": "h", "port": 25, "from": "not an address", "to": ["a@example.com"]}}),
            "is not an e-mail address",
        ),
        (
            "/api/v1/alert-rules/default",
            Method::PUT,
            json!({"fail_after": 0}),
            "fail_after",
        ),
        (
            "/api/v1/alert-rules/default",
            Method::PUT,
            json!({"repeat_every_minutes": 0}),
            "repeat_every_minutes",
        ),
        (
            "/api/v1/alert-rules/default",
            Method::PUT,
            json!({"device_channels": [999]}),
            "no alert channel with id 999",
        ),
        (
            "/api/v1/maintenance-windows",
            Method::POST,
            json!({"schedule": {"kind": "once", "starts_at": "2026-12-03T10:00:00Z", "ends_at": "2026-12-03T09:00:00Z"}}),
            "end after it starts",
        ),
        (
            "/api/v1/maintenance-windows",
            Method::POST,
            json!({"schedule": {"kind": "weekly", "weekday": 9, "start": "10:00", "duration_minutes": 60}}),
            "weekday",
        ),
    ];
    let rules_before = s
        .admin
        .call(Method::GET, "/api/v1/alert-rules", None)
        .await
        .1;
    let audit_before = s.app.audit_rows(AuditAction::AlertRuleChanged).await.len();
    for (path, method, body, why) in cases {
        let (status, answer) = s.admin.call(method, path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert!(answer.contains(why), "{body}: {answer}");
    }
    let (_, channels) = s
        .admin
        .call(Method::GET, "/api/v1/alert-channels", None)
        .await;
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&channels)
            .expect("json")
            .len(),
        1
    );
    assert_eq!(
        s.admin
            .call(Method::GET, "/api/v1/alert-rules", None)
            .await
            .1,
        rules_before
    );
    assert_eq!(
        s.app.audit_rows(AuditAction::AlertRuleChanged).await.len(),
        audit_before
    );
    let (_, windows) = s
        .admin
        .call(Method::GET, "/api/v1/maintenance-windows", None)
        .await;
    assert_eq!(windows, "[]");
    // Operators mute but do not configure.
    let operator = client(
        &s.app,
        Some(s.app.api_key_for("olga", Role::Operator).await),
    );
    let (status, _) = operator
        .call(
            Method::POST,
            "/api/v1/alert-channels",
            Some(json!({"name": "y", "kind": "slack", "url": "https://example.com/"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
