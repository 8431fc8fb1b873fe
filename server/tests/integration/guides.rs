//! "Connect another number" as the page walks it: disconnect, then clear logs, each with the
//! project's name typed, then the QR code; the step shown comes from the audit log.

use fleet::model::{AuditAction, Role};
use reqwest::StatusCode;

use crate::helpers::{spawn_app_with, UserClient};

async fn page(client: &UserClient, path: &str) -> String {
    let response = client.get_page(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.expect("html")
}

async fn step(client: &UserClient, id: i64, command: &str, name: Option<&str>) -> String {
    let id = id.to_string();
    let mut form = vec![("project_id", id.as_str()), ("command", command)];
    if let Some(name) = name {
        form.push(("confirm_name", name));
    }
    let response = client.submit_form("/fn/run_guide_step", &form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_another_number_goes_disconnect_then_clear_logs_then_the_qr_code() {
    let app = spawn_app_with(|s| s.status_checks_per_minute = 1000).await;
    app.wait_for_first_poll().await;
    app.sim_unlimited_status_checks().await;
    let acme = app.project_id("Acme Support");
    let path = format!("/projects/{acme}/connect-another-number");
    let operator = app.signed_in("olga", Role::Operator).await;

    let html = page(&operator, &path).await;
    assert!(html.contains("guide__step--current"), "{html}");
    let current = html
        .split("guide__step--current")
        .nth(1)
        .expect("current step");
    assert!(current.contains("1. Disconnect"), "step 1 first");
    assert!(html.contains(r#"value="disconnect""#), "its form");
    assert!(!html.contains(r#"value="clearlogs""#), "not step 2's yet");

    let out_of_order = step(&operator, acme, "clearlogs", Some("Acme Support")).await;
    assert!(
        out_of_order.contains("error=the%20next%20step%20is%20Disconnect"),
        "{out_of_order}"
    );
    let wrong = step(&operator, acme, "disconnect", Some("Acme")).await;
    assert!(
        wrong.contains("error=Disconnect%20is%20destructive"),
        "{wrong}"
    );
    assert!(
        app.audit_rows(AuditAction::Command).await.is_empty(),
        "nothing sent"
    );
    let done = step(&operator, acme, "disconnect", Some("Acme Support")).await;
    assert!(done.contains("done=Disconnect%3A%20done."), "{done}");

    let html = page(&operator, &path).await;
    let current = html
        .split("guide__step--current")
        .nth(1)
        .expect("current step");
    assert!(current.contains("2. Clear logs"), "then step 2");
    assert!(html.contains(r#"value="clearlogs""#));
    step(&operator, acme, "clearlogs", Some("Acme Support")).await;

    let html = page(&operator, &path).await;
    let current = html
        .split("guide__step--current")
        .nth(1)
        .expect("current step");
    assert!(current.contains("3. Scan the QR code"), "then the QR code");
    assert!(html.contains(r#"value="restart""#), "restart shows it");
    assert_eq!(
        app.sim_project(929).await.state,
        pickyassist::DeviceState::Unpaired
    );
    let commands: Vec<_> = app
        .audit_rows(AuditAction::Command)
        .await
        .into_iter()
        .filter_map(|r| r.command)
        .collect();
    assert_eq!(
        commands,
        ["clearlogs", "disconnect"],
        "newest first, in order"
    );

    // The new phone scans the code: once a check finds it connected, the guide starts over.
    app.sim_state(929, "CONNECTED").await;
    fleet::poller::poll_once(&app.fleet).await;
    let html = page(&operator, &path).await;
    let current = html
        .split("guide__step--current")
        .nth(1)
        .expect("current step");
    assert!(
        current.contains("1. Disconnect"),
        "a next change starts afresh"
    );
    app.sim_state(929, "UNPAIRED").await;
    fleet::poller::poll_once(&app.fleet).await;

    // Viewers follow the guide but get no forms.
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let html = page(&viewer, &path).await;
    assert!(html.contains("3. Scan the QR code") && !html.contains(r#"name="command""#));
}
