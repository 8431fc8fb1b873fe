//! Auto-heal against the simulator with a manual clock: a project in TIMEOUT is restarted,
//! then its server restarted, within the caps, as the actor `auto-heal`; past the caps a
//! person is called (an alert to a real webhook receiver); quiet projects are left alone.

use chrono::Duration;
use fleet::{
    auth::Actor,
    clock::ManualClock,
    model::{AuditAction, AuditFilter, PageSize, Role},
    poller,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    api::{client, ApiClient},
    helpers::TestApp,
    receivers::WebhookReceiver,
};

/// Green Leaf Clinic: TIMEOUT in the demo fleet.
const GREEN_LEAF: u64 = 933;

struct Setup {
    app: TestApp,
    clock: ManualClock,
    admin: ApiClient,
    receiver: WebhookReceiver,
    id: i64,
}

async fn setup() -> Setup {
    let (app, clock) = crate::helpers::spawn_app_at("2026-12-02T08:00:00Z").await;
    // restart-server drops requests for a while in real time; the manual clock does not wait.
    app.http
        .put(app.sim_control.join("config").expect("url"))
        .json(&json!({"server_restart_downtime_ms": 0}))
        .send()
        .await
        .expect("config")
        .error_for_status()
        .expect("accepted");
    let receiver = WebhookReceiver::start().await;
    let admin = client(&app, Some(app.api_key_for("alice", Role::Admin).await));
    let (status, body) = admin
        .call(
            Method::POST,
            "/api/v1/alert-channels",
            Some(
                json!({"name": "Clinic staff", "kind": "webhook", "url": receiver.url,
                        "secret": "a-signing-secret-of-some-length"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let channel: Value = serde_json::from_str(&body).expect("json");
    let channel_id = channel["channel"]["id"].as_i64().expect("id");
    let (status, body) = admin
        .call(
            Method::PUT,
            "/api/v1/alert-rules/default",
            Some(json!({"device_channels": [channel_id]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let name = pickyassist_sim::DEMO_FLEET
        .iter()
        .find(|d| d.project_id == GREEN_LEAF)
        .expect("demo")
        .name;
    let id = app.project_id(name);
    Setup {
        app,
        clock,
        admin,
        receiver,
        id,
    }
}

impl Setup {
    async fn enable(&self) {
        let (status, body) = self
            .admin
            .call(
                Method::PUT,
                &format!("/api/v1/projects/{}/auto-heal", self.id),
                Some(json!({"enabled": true})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// `minutes` minutes, polled each minute; auto-heal's commands have their moment.
    async fn minutes(&self, minutes: u32) {
        for _ in 0..minutes {
            self.clock.advance(Duration::minutes(1));
            poller::poll_once(&self.app.fleet).await;
            tokio::time::sleep(std::time::Duration::from_millis(15)).await;
        }
        self.app
            .fleet
            .dispatch_due_alerts()
            .await
            .expect("dispatch");
    }

    /// What auto-heal sent, oldest first.
    async fn healed(&self) -> Vec<String> {
        let rows = self
            .app
            .fleet
            .audit_page(
                &Actor::cli(),
                &AuditFilter {
                    actor: Some("auto-heal".into()),
                    limit: PageSize::new(100).expect("size"),
                    ..Default::default()
                },
            )
            .await
            .expect("audit")
            .entries;
        rows.into_iter()
            .rev()
            .filter_map(|r| r.command.or(Some(r.action.as_str().to_owned())))
            .collect()
    }

    /// Waits until what auto-heal sent is `expected`: its commands run in tasks of their own,
    /// so the poll that decided one returns before the command's audit row is written.
    async fn healed_eventually(&self, expected: &[&str], why: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let healed = self.healed().await;
            if healed == expected {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{why}: auto-heal sent {healed:?}, expected {expected:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Waits until auto-heal's call for a person on this project is resolved.
    async fn call_resolved(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (_, body) = self
                .admin
                .call(
                    Method::GET,
                    &format!("/api/v1/alerts?project_id={}", self.id),
                    None,
                )
                .await;
            let page: Value = serde_json::from_str(&body).expect("json");
            let call = page["alerts"]
                .as_array()
                .expect("alerts")
                .iter()
                .find(|a| a["kind"] == "auto_heal")
                .cloned()
                .expect("auto-heal's alert");
            if call["status"] == "resolved" {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the call for a person is still {call}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_heal_restarts_then_restarts_the_server_within_its_caps_then_calls_a_person() {
    let s = setup().await;
    s.enable().await;
    s.minutes(9).await;
    assert!(
        s.healed().await.is_empty(),
        "not before ten minutes in TIMEOUT"
    );
    s.minutes(2).await;
    s.healed_eventually(&["restart"], "after ten minutes").await;
    let card = s.app.fleet.fleet_snapshot();
    let line = card
        .cards
        .iter()
        .find(|c| c.id == s.id)
        .and_then(|c| c.status.auto_heal.clone())
        .expect("the card says");
    assert!(line.starts_with("Auto-heal restarted the app at"), "{line}");
    s.minutes(5).await;
    s.healed_eventually(&["restart", "restart-server"], "five minutes on")
        .await;
    s.minutes(40).await;
    assert_eq!(s.healed().await.len(), 2, "one restart an hour");
    s.minutes(140).await;
    s.healed_eventually(
        &[
            "restart",
            "restart-server",
            "restart",
            "restart-server",
            "restart",
            "auto_heal_gave_up",
        ],
        "two restart-servers a day, then a person",
    )
    .await;
    assert_eq!(
        s.app.sim_stats().await.projects[&GREEN_LEAF].device_action,
        5
    );
    let gave_up = s.app.audit_rows(AuditAction::AutoHealGaveUp).await;
    assert!(
        gave_up[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("asks for a person"),
        "{gave_up:?}"
    );
    s.app.fleet.dispatch_due_alerts().await.expect("dispatch");
    let called = s.receiver.wait_for(1, |m| m["kind"] == "auto_heal").await;
    assert!(
        called[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("a person is needed"),
        "{}",
        called[0]
    );
    assert_eq!(called[0]["project"]["id"], s.id);
    s.minutes(60).await;
    assert_eq!(s.healed().await.len(), 6, "nothing more that day");

    // Someone fixes it: the alert that called them resolves with the recovery.
    s.app.sim_state(GREEN_LEAF, "CONNECTED").await;
    s.minutes(1).await;
    s.call_resolved().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_project_is_left_alone_and_bad_policies_are_refused() {
    let s = setup().await;
    s.enable().await;
    let (status, body) = s
        .admin
        .call(
            Method::PUT,
            &format!("/api/v1/projects/{}/mute", s.id),
            Some(json!({"minutes": 60, "reason": "phone at the shop"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.minutes(30).await;
    assert!(s.healed().await.is_empty(), "muted: suspended");
    let line = s
        .app
        .fleet
        .fleet_snapshot()
        .cards
        .into_iter()
        .find(|c| c.id == s.id)
        .and_then(|c| c.status.auto_heal)
        .expect("the card says why");
    assert!(line.contains("paused: muted"), "{line}");
    s.minutes(31).await;
    s.healed_eventually(&["restart"], "the mute ended").await;
    // A maintenance window from now on suspends it again: no restart-server follows.
    let now = s.app.fleet.now();
    let (status, body) = s
        .admin
        .call(
            Method::POST,
            "/api/v1/maintenance-windows",
            Some(json!({"project_id": s.id, "schedule": {"kind": "once",
                "starts_at": (now - Duration::minutes(1)).to_rfc3339(),
                "ends_at": (now + Duration::hours(2)).to_rfc3339()}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s.minutes(30).await;
    assert_eq!(s.healed().await, ["restart"], "in maintenance: suspended");

    for (body, why) in [
        (
            json!({"enabled": true, "restarts_per_hour": 0}),
            "restarts_per_hour",
        ),
        (
            json!({"enabled": true, "restart_after_minutes": 5000}),
            "restart_after_minutes",
        ),
    ] {
        let (status, text) = s
            .admin
            .call(
                Method::PUT,
                &format!("/api/v1/projects/{}/auto-heal", s.id),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        assert!(text.contains(why), "{text}");
    }
    let operator = client(
        &s.app,
        Some(s.app.api_key_for("olga", Role::Operator).await),
    );
    let (status, _) = operator
        .call(
            Method::PUT,
            &format!("/api/v1/projects/{}/auto-heal", s.id),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    let (status, body) = operator
        .call(
            Method::GET,
            &format!("/api/v1/projects/{}/auto-heal", s.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#""enabled":true"#), "{body}");
    assert_eq!(
        s.app.audit_rows(AuditAction::AutoHealChanged).await.len(),
        1,
        "the refused ones changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_turn_auto_heal_on_from_the_project_page() {
    let s = setup().await;
    let path = format!("/projects/{}", s.id);
    let admin = s.app.admin().await;
    let html = admin.get_page(&path).await.text().await.expect("html");
    assert!(html.contains("Off: the dashboard sends no command by itself"));
    let id = s.id.to_string();
    let form = |enabled: bool, per_hour: &'static str| {
        let mut form = vec![
            ("project_id", id.clone()),
            ("form[restart_after_minutes]", "15".to_owned()),
            ("form[restarts_per_hour]", per_hour.to_owned()),
            ("form[restart_server_after_minutes]", "5".to_owned()),
            ("form[restart_servers_per_day]", "1".to_owned()),
        ];
        if enabled {
            form.push(("form[enabled]", "on".to_owned()));
        }
        form
    };
    let post = |form: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = admin.submit_form("/fn/set_auto_heal", &form).await;
            response.headers()["location"]
                .to_str()
                .expect("location")
                .to_owned()
        }
    };
    let refused = post(form(true, "0")).await;
    assert!(refused.contains("error=restarts_per_hour"), "{refused}");
    let saved = post(form(true, "2")).await;
    assert!(
        saved.starts_with(&format!("{path}?done=Auto-heal%20is%20on.&sig=")),
        "{saved}"
    );
    let policy = s
        .app
        .fleet
        .auto_heal_policy(&Actor::cli(), s.id)
        .expect("policy");
    assert!(policy.enabled && policy.restart_after_minutes == 15 && policy.restarts_per_hour == 2);
    let html = admin.get_page(&path).await.text().await.expect("html");
    assert!(
        html.contains("On: after 15 min in TIMEOUT"),
        "said in words"
    );

    let operator = s.app.signed_in("olga", Role::Operator).await;
    let html = operator.get_page(&path).await.text().await.expect("html");
    assert!(!html.contains("Change auto-heal"), "admins only");
    let off = operator
        .submit_form(
            "/fn/set_auto_heal",
            &[
                ("project_id", &id),
                ("form[restart_after_minutes]", "1"),
                ("form[restarts_per_hour]", "1"),
                ("form[restart_server_after_minutes]", "1"),
                ("form[restart_servers_per_day]", "1"),
            ],
        )
        .await;
    assert!(off.headers()["location"]
        .to_str()
        .expect("loc")
        .contains("error="));
    assert!(
        s.app
            .fleet
            .auto_heal_policy(&Actor::cli(), s.id)
            .expect("p")
            .enabled,
        "unchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_disconnected_on_purpose_is_left_alone_even_in_timeout() {
    let s = setup().await;
    s.enable().await;
    let operator = client(
        &s.app,
        Some(s.app.api_key_for("olga", Role::Operator).await),
    );
    let name = s
        .app
        .fleet
        .fleet_snapshot()
        .cards
        .into_iter()
        .find(|c| c.id == s.id)
        .expect("card")
        .name;
    let (status, body) = operator
        .call(
            Method::POST,
            &format!("/api/v1/projects/{}/commands", s.id),
            Some(json!({"command": "disconnect", "confirm_name": name})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The phone then drops off the network: TIMEOUT, but the project is meant to be off.
    s.app.sim_state(GREEN_LEAF, "TIMEOUT").await;
    s.minutes(30).await;
    assert!(
        s.healed().await.is_empty(),
        "disconnected on purpose: suspended"
    );
    let line = s
        .app
        .fleet
        .fleet_snapshot()
        .cards
        .into_iter()
        .find(|c| c.id == s.id)
        .and_then(|c| c.status.auto_heal)
        .expect("the card says why");
    assert!(line.contains("paused: disconnected on purpose"), "{line}");
}
