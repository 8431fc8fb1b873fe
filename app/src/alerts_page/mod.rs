//! The Alerts page: open, acknowledged and resolved alerts with their deliveries and the
//! outbox's counts (`table`); the channels, with a "send test alert" button, and the
//! maintenance windows, which admins add and remove here (`channels`, `windows`).
//!
//! Rendered on the server, with plain forms: each posts to a server function that redirects
//! back here with the outcome in the query string (`crate::page::back_with_outcome`), which
//! the page shows as a status line. It works without the wasm and adds nothing to it.

use fleet::model::{
    AlertChannelView, AlertPage, AlertQueryText, AlertRules, MaintenanceWindow, Role,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

mod channels;
mod rules;
mod table;
mod windows;

use channels::Channels;
use rules::Rules;
use table::AlertTable;
use windows::Windows;

#[server(prefix = "/fn", endpoint = "alerts", input = leptos::server_fn::codec::Json)]
pub async fn get_alerts(query: AlertQueryText) -> Result<AlertPage, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(fleet.alerts_page(&actor, &query).await?)
}

/// The settings below the alerts: channels, rules, windows, and the projects' names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsData {
    pub channels: Vec<AlertChannelView>,
    pub rules: AlertRules,
    pub windows: Vec<MaintenanceWindow>,
    pub projects: Vec<(i64, String)>,
}

#[server(prefix = "/fn", endpoint = "alert_settings")]
pub async fn alert_settings() -> Result<SettingsData, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(SettingsData {
        channels: fleet.list_alert_channels(&actor).await?,
        rules: fleet.alert_rules(&actor)?,
        windows: fleet.maintenance_windows(&actor).await?,
        projects: fleet
            .list_projects(&actor)?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect(),
    })
}

/// From the page's form: acknowledges, then back to the page with what happened.
#[server(prefix = "/fn", endpoint = "acknowledge_alert")]
pub async fn acknowledge_alert(alert_id: i64) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = fleet
        .acknowledge_alert(&actor, alert_id)
        .await
        .map(|_| format!("Alert #{alert_id} acknowledged: its reminders stop."));
    crate::page::back_with_outcome("/alerts", outcome);
    Ok(())
}

const FILTERS: [(&str, &str); 4] = [
    ("", "All"),
    ("open", "Open"),
    ("acknowledged", "Acknowledged"),
    ("resolved", "Resolved"),
];

#[component]
pub fn AlertsPage() -> impl IntoView {
    let query = use_query_map();
    let status = Memo::new(move |_| query.with(|q| q.get("status").unwrap_or_default()));
    let page = Resource::new(
        move || status.get(),
        |status| {
            get_alerts(AlertQueryText {
                status: Some(status),
                ..Default::default()
            })
        },
    );
    let settings = Resource::new(|| (), |_| alert_settings());
    let user = Resource::new(|| (), |_| crate::auth::whoami());

    view! {
        <Title text="Alerts · picky-fleet"/>
        <section class="alerts" aria-labelledby="alerts-title">
            <h1 id="alerts-title">"Alerts"</h1>
            <crate::page::OutcomeLine/>
            <nav class="alerts__filters" aria-label="Show alerts">
                {FILTERS.into_iter().map(|(value, label)| {
                    let href = if value.is_empty() { "/alerts".to_owned() } else { format!("/alerts?status={value}") };
                    let current = move || (status.get() == value).then_some("page");
                    view! { <a class="btn" href=href aria-current=current>{label}</a> }
                }).collect_view()}
            </nav>
            <Transition fallback=|| view! { <p class="loading">"Loading alerts…"</p> }>
                {move || Suspend::new(async move {
                    let page = page.await;
                    let user = user.await.ok().flatten();
                    crate::page::skip_the_resource_walk().await;
                    match page {
                        Ok(page) => Either::Left(view! { <AlertTable page user/> }),
                        Err(error) => Either::Right(crate::page::load_error_view(error, "The alerts", "/alerts")),
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let settings = settings.await;
                    let is_admin = user.await.ok().flatten().is_some_and(|u| u.role == Role::Admin);
                    crate::page::skip_the_resource_walk().await;
                    settings.ok().map(|s| view! {
                        <Channels channels=s.channels.clone() is_admin/>
                        <Rules rules=s.rules channels=s.channels is_admin/>
                        <Windows windows=s.windows projects=s.projects is_admin/>
                    })
                })}
            </Transition>
        </section>
    }
}
