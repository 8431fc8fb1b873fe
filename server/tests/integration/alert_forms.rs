//! The page forms for alert settings (Alerts page: channels, maintenance windows; project
//! page: mute), posted as a browser without JavaScript posts them: each goes through the
//! service, answers with a redirect back that says what happened, and bad input changes
//! nothing.

use fleet::{auth::Actor, model::AuditAction, model::Role};
use reqwest::StatusCode;

use crate::helpers::{spawn_app, UserClient};

/// Posts a form and returns where the answer sends the browser, decoded, without the
/// notice's signature (`sig=`; see the test of it below).
async fn post(client: &UserClient, endpoint: &str, form: &[(&str, &str)]) -> String {
    let location = post_raw(client, endpoint, form).await;
    let decoded = urlencoding_decode(&location);
    match decoded.rsplit_once("&sig=") {
        Some((before, _)) => before.to_owned(),
        None => decoded,
    }
}

async fn post_raw(client: &UserClient, endpoint: &str, form: &[(&str, &str)]) -> String {
    let response = client.submit_form(&format!("/fn/{endpoint}"), form).await;
    assert!(
        response.status().is_redirection(),
        "{endpoint}: {}",
        response.status()
    );
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    location
}

fn urlencoding_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                let hex = std::str::from_utf8(hex).expect("utf8");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("utf8")
}

async fn page(client: &UserClient, path: &str) -> String {
    let response = client.get_page(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.expect("html")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_schedule_and_remove_maintenance_from_the_alerts_page() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let bella = app.project_id("Bella Pizza Orders");
    let bella_id = bella.to_string();

    let backwards = post(
        &admin,
        "add_maintenance_window",
        &[
            ("form[project_id]", &bella_id),
            ("form[kind]", "once"),
            ("form[starts_at]", "2099-01-02T04:00"),
            ("form[ends_at]", "2099-01-02T02:00"),
        ],
    )
    .await;
    assert!(
        backwards.starts_with("/alerts?error=") && backwards.contains("end"),
        "{backwards}"
    );
    let weekly = post(
        &admin,
        "add_maintenance_window",
        &[
            ("form[project_id]", &bella_id),
            ("form[kind]", "weekly"),
            ("form[weekday]", "5"),
            ("form[start]", "02:00"),
            ("form[duration_minutes]", "90"),
            ("form[note]", "router firmware"),
        ],
    )
    .await;
    assert_eq!(
        weekly,
        "/alerts?done=Maintenance scheduled: every Sat 02:00 UTC for 90 min."
    );
    let windows = app
        .fleet
        .maintenance_windows(&Actor::cli())
        .await
        .expect("windows");
    assert_eq!(windows.len(), 1, "the bad one changed nothing");
    let html = page(&admin, "/alerts").await;
    assert!(html.contains("every Sat 02:00 UTC for 90 min"), "listed");
    assert!(html.contains("router firmware"));

    // Viewers see the windows but get no forms, and the server refuses them anyway.
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let html = page(&viewer, "/alerts").await;
    assert!(html.contains("every Sat 02:00 UTC for 90 min"));
    assert!(
        !html.contains("Schedule maintenance"),
        "no form for viewers"
    );
    let id = windows[0].id.to_string();
    let refused = post(&viewer, "remove_maintenance_window", &[("window_id", &id)]).await;
    assert!(refused.starts_with("/alerts?error="), "{refused}");

    let removed = post(&admin, "remove_maintenance_window", &[("window_id", &id)]).await;
    assert_eq!(removed, "/alerts?done=Maintenance window removed.");
    assert_eq!(
        app.audit_rows(AuditAction::MaintenanceScheduled)
            .await
            .len(),
        1
    );
    assert_eq!(
        app.audit_rows(AuditAction::MaintenanceRemoved).await.len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_shows_only_the_notices_the_dashboard_signed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let location = post_raw(
        &admin,
        "add_maintenance_window",
        &[
            ("form[kind]", "weekly"),
            ("form[weekday]", "1"),
            ("form[start]", "03:00"),
            ("form[duration_minutes]", "30"),
        ],
    )
    .await;
    assert!(location.contains("&sig="), "{location}");
    let html = page(&admin, &location).await;
    assert!(html.contains("Maintenance scheduled: every Tue 03:00 UTC for 30 min."));
    for forged in [
        "/alerts?done=Session%20expired%2C%20sign%20in%20at%20evil.example".to_owned(),
        location.replace("Maintenance", "Mayhem"),
        location.replace("done=", "error="),
    ] {
        let html = page(&admin, &forged).await;
        assert!(
            !html.contains("evil.example") && !html.contains("Mayhem"),
            "{forged}"
        );
        assert!(!html.contains("alert--error"), "{forged}");
        assert!(!html.contains("alert--success"), "{forged}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_add_channels_from_the_alerts_page_and_their_secrets_stay_hidden() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let secret = "a-signing-secret-nobody-sees-again";

    let no_secret = post(
        &admin,
        "add_alert_channel",
        &[
            ("form[name]", "Hook"),
            ("form[kind]", "webhook"),
            ("form[url]", "https://hooks.example.com/path-is-secret"),
        ],
    )
    .await;
    assert!(
        no_secret.contains("error=type a signing secret"),
        "{no_secret}"
    );
    let bad_url = post(
        &admin,
        "add_alert_channel",
        &[
            ("form[name]", "Hook"),
            ("form[kind]", "webhook"),
            ("form[url]", "ftp://hooks.example.com/"),
            ("form[secret]", secret),
        ],
    )
    .await;
    assert!(bad_url.starts_with("/alerts?error="), "{bad_url}");
    let added = post(
        &admin,
        "add_alert_channel",
        &[
            ("form[name]", "Hook"),
            ("form[kind]", "webhook"),
            ("form[url]", "https://hooks.example.com/path-is-secret"),
            ("form[secret]", secret),
            // The e-mail fields the form also posts, empty.
            ("form[smtp_host]", ""),
            ("form[smtp_port]", "587"),
            ("form[smtp_password]", ""),
        ],
    )
    .await;
    assert_eq!(added, "/alerts?done=Channel \"Hook\" added.");
    let email = post(
        &admin,
        "add_alert_channel",
        &[
            ("form[name]", "Support mail"),
            ("form[kind]", "email"),
            ("form[smtp_host]", "smtp.example.com"),
            ("form[smtp_port]", "587"),
            ("form[smtp_security]", "starttls"),
            ("form[smtp_username]", "fleet"),
            ("form[smtp_password]", "smtp-password-never-shown"),
            ("form[mail_from]", "Picky Fleet <alerts@example.com>"),
            ("form[mail_to]", "oncall@example.com, boss@example.com"),
        ],
    )
    .await;
    assert_eq!(email, "/alerts?done=Channel \"Support mail\" added.");

    let html = page(&admin, "/alerts").await;
    assert!(html.contains("hooks.example.com"), "the host is shown");
    for hidden in [secret, "path-is-secret", "smtp-password-never-shown"] {
        assert!(!html.contains(hidden), "{hidden} is on the page");
    }
    let channels = app
        .fleet
        .list_alert_channels(&Actor::cli())
        .await
        .expect("channels");
    assert_eq!(channels.len(), 2);
    let hook = channels.iter().find(|c| c.name == "Hook").expect("hook");
    let removed = post(
        &admin,
        "remove_alert_channel",
        &[("channel_id", &hook.id.to_string())],
    )
    .await;
    assert_eq!(removed, "/alerts?done=Channel removed.");
    assert_eq!(
        app.audit_rows(AuditAction::AlertChannelAdded).await.len(),
        2
    );

    // The default rule, from its form: unticked boxes are absent from the post.
    let mail = channels
        .iter()
        .find(|c| c.name == "Support mail")
        .expect("mail");
    let device_box = format!("form[device_{}]", mail.id);
    let rule_form = |fail_after: &'static str| {
        vec![
            ("form[fail_after]", fail_after),
            ("form[on_timeout]", "on"),
            ("form[on_dashboard_faults]", "on"),
            ("form[repeat_every_minutes]", "30"),
            ("form[repeat_max]", "3"),
            ("form[recover_after]", "2"),
        ]
    };
    let mut zero = rule_form("0");
    zero.push((&device_box, "on"));
    let refused = post(&admin, "set_default_alert_rule", &zero).await;
    assert!(refused.starts_with("/alerts?error="), "{refused}");
    assert_eq!(
        app.fleet.alert_rules(&Actor::cli()).expect("rules").default,
        fleet::model::AlertRule::default(),
        "a refused rule changes nothing"
    );
    let mut good = rule_form("3");
    good.push((&device_box, "on"));
    let saved = post(&admin, "set_default_alert_rule", &good).await;
    assert_eq!(saved, "/alerts?done=Default rule saved.");
    let rule = app.fleet.alert_rules(&Actor::cli()).expect("rules").default;
    assert_eq!(
        (
            rule.fail_after,
            rule.on_timeout,
            rule.on_unpaired,
            rule.repeat_every_minutes
        ),
        (3, true, false, 30)
    );
    assert_eq!(rule.device_channels, [mail.id]);
    assert!(rule.fault_channels.is_empty());
    let html = page(&admin, "/alerts").await;
    assert!(
        html.contains("An alert opens after 3 failing polls (Timeout) and goes to Support mail"),
        "the page says the rule in words"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_mute_and_unmute_a_project_from_its_page() {
    let app = spawn_app().await;
    let acme = app.project_id("Acme Support");
    let path = format!("/projects/{acme}");
    let operator = app.signed_in("olga", Role::Operator).await;
    let html = page(&operator, &path).await;
    assert!(html.contains("name=\"minutes\""), "operators get the form");

    let too_long = post(
        &operator,
        "mute_project",
        &[
            ("project_id", &acme.to_string()),
            ("minutes", "99999"),
            ("reason", ""),
        ],
    )
    .await;
    assert!(
        too_long.starts_with(&format!("{path}?error=mute for 1 to")),
        "{too_long}"
    );
    let muted = post(
        &operator,
        "mute_project",
        &[
            ("project_id", &acme.to_string()),
            ("minutes", "120"),
            ("reason", "phone swap"),
        ],
    )
    .await;
    assert!(
        muted.starts_with(&format!("{path}?done=Muted until")),
        "{muted}"
    );
    let html = page(&operator, &path).await;
    assert!(html.contains("Alerts muted until"), "the state says so");
    assert!(html.contains("Muted by olga: phone swap"));
    assert!(html.contains("Unmute"));

    let viewer = app.signed_in("vera", Role::Viewer).await;
    let html = page(&viewer, &path).await;
    assert!(!html.contains("name=\"minutes\""), "no form for viewers");
    let refused = post(
        &viewer,
        "unmute_project",
        &[("project_id", &acme.to_string())],
    )
    .await;
    assert!(refused.starts_with(&format!("{path}?error=")), "{refused}");

    let unmuted = post(
        &operator,
        "unmute_project",
        &[("project_id", &acme.to_string())],
    )
    .await;
    assert_eq!(
        unmuted,
        format!("{path}?done=Unmuted: this project alerts again.")
    );
    assert_eq!(app.audit_rows(AuditAction::ProjectMuted).await.len(), 1);
    assert_eq!(app.audit_rows(AuditAction::ProjectUnmuted).await.len(), 1);
}
