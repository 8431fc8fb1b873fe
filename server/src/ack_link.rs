//! `/alerts/acknowledge?token=…`: the link in alert messages. It needs no sign-in: the signed
//! token is the permission (see `fleet::alerts::ack`). Opening it only shows the alert and a
//! button, because chat apps fetch links for previews; the button's POST acknowledges.
//!
//! Plain HTML from here rather than a Leptos page: it is one form, shown to people who may
//! have no account, and it must work without the app's wasm.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    Form,
};
use fleet::{model::AlertView, Fleet};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct TokenParam {
    #[serde(default)]
    token: String,
}

pub async fn show(State(fleet): State<Fleet>, Query(param): Query<TokenParam>) -> Response {
    match fleet.alert_for_link(&param.token).await {
        Ok(alert) => {
            let body = match alert.status {
                fleet::model::AlertStatus::Open => format!(
                    r#"<form method="post" action="/alerts/acknowledge">
  <input type="hidden" name="token" value="{token}">
  <button class="button button--primary" type="submit">Acknowledge alert #{id}</button>
</form>
<p class="muted">Reminders for this alert stop; who acknowledged it and when is logged.</p>"#,
                    token = escape(&param.token),
                    id = alert.id
                ),
                _ => status_line(&alert),
            };
            page(StatusCode::OK, &describe(&alert), &body)
        }
        Err(e) => refused(e),
    }
}

pub async fn acknowledge(State(fleet): State<Fleet>, Form(param): Form<TokenParam>) -> Response {
    match fleet.acknowledge_alert_by_link(&param.token).await {
        Ok(alert) => page(
            StatusCode::OK,
            &describe(&alert),
            "<p role=\"status\" class=\"notice notice--success\">Acknowledged: the reminders stop. \
             You will still hear when it recovers.</p>",
        ),
        Err(e) => refused(e),
    }
}

fn refused(error: fleet::FleetError) -> Response {
    let answer = error.answer();
    page(
        answer.status,
        "Alert link",
        &format!(
            "<p role=\"alert\" class=\"notice notice--error\">{}</p>",
            escape(&answer.message)
        ),
    )
}

fn describe(alert: &AlertView) -> String {
    let what = alert
        .project_name
        .clone()
        .unwrap_or_else(|| "PickyAssist".to_owned());
    format!("Alert #{}: {what} ({})", alert.id, alert.state)
}

fn status_line(alert: &AlertView) -> String {
    let text = match (&alert.acknowledged_by, &alert.resolved_at) {
        (_, Some(at)) => format!("Resolved at {at}."),
        (Some(by), None) => format!(
            "Already acknowledged by {by} at {}.",
            alert.acknowledged_at.clone().unwrap_or_default()
        ),
        (None, None) => String::new(),
    };
    format!("<p role=\"status\" class=\"notice\">{}</p>", escape(&text))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let title = escape(title);
    // The app's stylesheet under its hashed name, as the app's own pages link it.
    static STYLESHEET: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stylesheet = STYLESHEET.get_or_init(|| match crate::startup::leptos_options() {
        Ok(options) => app::stylesheet_href(&options),
        Err(_) => "/pkg/picky-fleet.css".to_owned(),
    });
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Picky Fleet</title><link rel="stylesheet" href="{stylesheet}"></head>
<body><main class="page page--narrow"><h1>{title}</h1>{body}
<p><a href="/alerts">Open the Alerts page</a> (sign-in needed)</p></main></body></html>"#
    );
    (status, Html(html)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
