//! The advice on each card (`fleet::remediation`), driven by simulator states and a manual
//! clock: what each rule suggests, when, and that it reaches the API and the page.

use chrono::Duration;
use fleet::{
    clock::ManualClock,
    model::{Advice, Role},
    poller,
};
use pickyassist::Command;
use reqwest::Method;
use serde_json::{json, Value};

use crate::{api::client, helpers::TestApp};

struct Setup {
    app: TestApp,
    clock: ManualClock,
}

async fn setup() -> Setup {
    let (app, clock) = crate::helpers::spawn_app_at("2026-12-02T08:00:00Z").await;
    Setup { app, clock }
}

impl Setup {
    /// A minute passes and every project is polled.
    async fn minute(&self) {
        self.clock.advance(Duration::minutes(1));
        poller::poll_once(&self.app.fleet).await;
    }

    fn advice(&self, name: &str) -> Option<Advice> {
        let id = self.app.project_id(name);
        self.app
            .fleet
            .fleet_snapshot()
            .cards
            .into_iter()
            .find(|c| c.id == id)
            .and_then(|c| c.status.advice)
    }

    async fn set_queue(&self, upstream_id: u64, queue: u64) {
        self.app
            .http
            .patch(
                self.app
                    .sim_control
                    .join(&format!("projects/{upstream_id}"))
                    .expect("url"),
            )
            .json(&json!({"state": "CONNECTED", "queue": queue}))
            .send()
            .await
            .expect("patch")
            .error_for_status()
            .expect("accepted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_asks_about_the_phone_then_after_ten_minutes_suggests_restart() {
    let s = setup().await;
    s.app.sim_state(929, "TIMEOUT").await;
    s.minute().await;
    let early = s.advice("Acme Support").expect("advice");
    assert!(early.text.contains("internet"), "{early:?}");
    assert_eq!(early.command, None, "not yet a command");
    for _ in 0..10 {
        s.minute().await;
    }
    let later = s.advice("Acme Support").expect("advice");
    assert_eq!(later.command, Some(Command::Restart), "{later:?}");
    assert!(later.text.contains("10 min"), "{later:?}");
    // A connected project has nothing to be told.
    assert_eq!(s.advice("Bella Pizza Orders"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaired_suggests_restart_and_a_restart_that_did_not_help_suggests_restart_server() {
    let s = setup().await;
    let unpaired = s.advice("Sunrise Travel Desk").expect("advice");
    assert_eq!(unpaired.command, Some(Command::Restart));
    assert!(unpaired.text.contains("QR code"));

    // Green Leaf Clinic is in TIMEOUT; an operator restarts it, and it stays down.
    let operator = client(
        &s.app,
        Some(s.app.api_key_for("olga", Role::Operator).await),
    );
    let id = s.app.project_id("Green Leaf Clinic");
    let (status, body) = operator
        .call(
            Method::POST,
            &format!("/api/v1/projects/{id}/commands"),
            Some(json!({"command": "restart"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    s.app.sim_state(933, "TIMEOUT").await;
    for _ in 0..4 {
        s.minute().await;
    }
    assert_ne!(
        s.advice("Green Leaf Clinic").and_then(|a| a.command),
        Some(Command::RestartServer),
        "four minutes after is too soon"
    );
    s.minute().await;
    let advice = s.advice("Green Leaf Clinic").expect("advice");
    assert_eq!(advice.command, Some(Command::RestartServer), "{advice:?}");

    // The API carries it with the status.
    let (_, body) = operator
        .call(Method::GET, &format!("/api/v1/projects/{id}"), None)
        .await;
    let project: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        project["status"]["advice"]["command"], "restart-server",
        "{project}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_queue_while_connected_offers_clear_queue_with_a_warning() {
    let s = setup().await;
    for queue in [5, 9, 14] {
        s.set_queue(930, queue).await;
        s.minute().await;
    }
    let advice = s.advice("Bella Pizza Orders").expect("advice");
    assert_eq!(advice.command, Some(Command::DeleteMessageQueue));
    assert!(advice.text.contains("5 → 14"), "{advice:?}");
    assert!(advice
        .warning
        .expect("warning")
        .contains("customers' messages"));
    s.set_queue(930, 3).await;
    s.minute().await;
    assert_eq!(s.advice("Bella Pizza Orders"), None, "falling again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_links_the_admin_to_the_projects_page_and_the_card_shows_advice() {
    let s = setup().await;
    s.app.sim_fault(931, json!({"kind": "bad_token"})).await;
    s.minute().await;
    let advice = s.advice("City Dental Reminders").expect("advice");
    assert_eq!(advice.link.as_deref(), Some("/admin/projects"));
    assert_eq!(advice.command, None);

    let operator = s.app.signed_in("olga", Role::Operator).await;
    let html = operator.get_page("/").await.text().await.expect("html");
    assert!(
        html.contains("Restart app to show the QR code again"),
        "Sunrise's advice"
    );
    assert!(
        html.contains("Go to the Projects page"),
        "City Dental's link"
    );
    let viewer = s.app.signed_in("vera", Role::Viewer).await;
    let html = viewer.get_page("/").await.text().await.expect("html");
    assert!(
        html.contains("Restart app to show the QR code again"),
        "viewers read the advice"
    );
    assert!(
        !html.contains("card__advice-go"),
        "but get no command button"
    );
}
