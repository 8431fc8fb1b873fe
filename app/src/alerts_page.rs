//! The Alerts page: open, acknowledged and resolved alerts with their deliveries, the outbox's
//! counts, and the channels with a "send test alert" button for admins.
//!
//! Rendered on the server, with plain forms: acknowledging and testing post to server
//! functions that redirect back here with the outcome in the query string, which the page
//! shows as a status line. It works without the wasm and adds nothing to it.

use fleet::model::{
    AlertChannelView, AlertPage, AlertQueryText, AlertStatus, AlertView, CurrentUser, Health, Role,
};
use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{audit_page::readable_time, error::AppError};

#[server(prefix = "/fn", endpoint = "alerts", input = leptos::server_fn::codec::Json)]
pub async fn get_alerts(query: AlertQueryText) -> Result<AlertPage, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(fleet.alerts_page(&actor, &query).await?)
}

#[server(prefix = "/fn", endpoint = "alert_channels")]
pub async fn alert_channels() -> Result<Vec<AlertChannelView>, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(fleet.list_alert_channels(&actor).await?)
}

/// From the page's form: acknowledges, then back to the page with what happened.
#[server(prefix = "/fn", endpoint = "acknowledge_alert")]
pub async fn acknowledge_alert(alert_id: i64) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = match fleet.acknowledge_alert(&actor, alert_id).await {
        Ok(_) => format!("done=Alert%20%23{alert_id}%20acknowledged%3A%20its%20reminders%20stop."),
        Err(e) => format!("error={}", crate::audit_page::encode(&e.answer().message)),
    };
    leptos_axum::redirect(&format!("/alerts?{outcome}"));
    Ok(())
}

/// From the channel list: sends a test alert, then back to the page with the result.
#[server(prefix = "/fn", endpoint = "test_alert_channel")]
pub async fn test_alert_channel(channel_id: i64) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = match fleet.send_test_alert(&actor, channel_id).await {
        Ok(result) if result.ok => format!(
            "done={}",
            crate::audit_page::encode(&format!("Test alert delivered ({} ms).", result.latency_ms))
        ),
        Ok(result) => format!(
            "error={}",
            crate::audit_page::encode(&format!(
                "The test alert failed: {}",
                result.error.unwrap_or_default()
            ))
        ),
        Err(e) => format!("error={}", crate::audit_page::encode(&e.answer().message)),
    };
    leptos_axum::redirect(&format!("/alerts?{outcome}"));
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
    let channels = Resource::new(|| (), |_| alert_channels());
    let user = Resource::new(|| (), |_| crate::auth::whoami());
    let done = move || query.with(|q| q.get("done"));
    let error = move || query.with(|q| q.get("error"));

    view! {
        <Title text="Alerts · picky-fleet"/>
        <section class="alerts" aria-labelledby="alerts-title">
            <h1 id="alerts-title">"Alerts"</h1>
            {move || done().map(|text| view! { <p class="alert alert--success" role="status">{text}</p> })}
            {move || error().map(|text| view! { <p class="alert alert--error" role="alert">{text}</p> })}
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
                    let channels = channels.await.unwrap_or_default();
                    let is_admin = user.await.ok().flatten().is_some_and(|u| u.role == Role::Admin);
                    view! { <Channels channels is_admin/> }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AlertTable(page: AlertPage, user: Option<CurrentUser>) -> impl IntoView {
    let can_acknowledge = user.is_some_and(|u| u.role >= Role::Operator);
    let counts = page.deliveries.clone();
    let rows = page.alerts;
    view! {
        <p class="alerts__counts" id="delivery-counts">
            "Deliveries: "
            <strong>{counts.sent}</strong>" sent · "
            <strong>{counts.pending}</strong>" pending · "
            <strong>{counts.failed}</strong>" failed"
        </p>
        {if rows.is_empty() {
            Either::Left(view! { <p class="empty">"No alerts here. Devices that go down show up as they alert."</p> })
        } else {
            Either::Right(view! {
                <table class="audit__table alerts__table">

                    <thead><tr>
                        <th scope="col">"Alert"</th><th scope="col">"Project"</th><th scope="col">"State"</th>
                        <th scope="col">"Since"</th><th scope="col">"Status"</th><th scope="col">"Messages"</th>
                    </tr></thead>
                    <tbody>
                        {rows.into_iter().map(|alert| view! { <AlertRow alert can_acknowledge/> }).collect_view()}
                    </tbody>
                </table>
            })
        }}
    }
}

#[component]
fn AlertRow(alert: AlertView, can_acknowledge: bool) -> impl IntoView {
    let health = Health::parse(&alert.state);
    let state_label = health.map_or_else(|| alert.state.clone(), |h| h.label().to_owned());
    let badge = format!(
        "badge badge--{}",
        health.map_or("unreachable", Health::slug)
    );
    let project = match (alert.project_id, alert.project_name.clone()) {
        (Some(id), Some(name)) => {
            Either::Left(view! { <a href=format!("/projects/{id}")>{name}</a> })
        }
        _ => Either::Right(match alert.kind {
            fleet::model::AlertKind::Storm => "Many projects (PickyAssist unreachable)",
            _ => "Channel test",
        }),
    };
    let status = match alert.status {
        AlertStatus::Acknowledged => format!(
            "Acknowledged by {} at {}",
            alert.acknowledged_by.clone().unwrap_or_default(),
            readable_time(alert.acknowledged_at.as_deref().unwrap_or_default())
        ),
        AlertStatus::Resolved => format!(
            "Resolved at {}",
            readable_time(alert.resolved_at.as_deref().unwrap_or_default())
        ),
        AlertStatus::Open => "Open".to_owned(),
    };
    let quiet = alert
        .silenced
        .clone()
        .map(|why| format!("Silenced: {why}"))
        .or_else(|| {
            alert
                .storm_id
                .map(|id| format!("Part of storm alert #{id}"))
        });
    let acknowledge = (can_acknowledge && alert.status == AlertStatus::Open).then(|| {
        let label = format!(
            "Acknowledge alert {} ({})",
            alert.id,
            alert.project_name.clone().unwrap_or_else(|| "storm".into())
        );
        view! {
            <form method="post" action={<AcknowledgeAlert as ServerFn>::url()} class="inline-form">
                <input type="hidden" name="alert_id" value=alert.id/>
                <button type="submit" class="btn btn--primary" aria-label=label>"Acknowledge"</button>
            </form>
        }
    });
    view! {
        <tr class=format!("alerts__row alerts__row--{}", alert.status.as_str())>
            <td>"#"{alert.id}</td>
            <td>{project}</td>
            <td><span class=badge>{state_label}</span></td>
            <td>{readable_time(&alert.since)}</td>
            <td>
                <span class="alerts__status">{status}</span>
                {quiet.map(|q| view! { <span class="muted">" · "{q}</span> })}
                {acknowledge}
            </td>
            <td>{format!("{} sent, {} pending, {} failed", alert.sent, alert.pending, alert.failed)}</td>
        </tr>
    }
}

#[component]
fn Channels(channels: Vec<AlertChannelView>, is_admin: bool) -> impl IntoView {
    view! {
        <h2 id="channels-title">"Channels"</h2>
        {if channels.is_empty() {
            Either::Left(view! {
                <p class="empty">"No channels yet: an admin adds them with the API (POST /api/v1/alert-channels); see the README."</p>
            })
        } else {
            Either::Right(view! {
                <ul class="alerts__channels" aria-labelledby="channels-title">
                    {channels.into_iter().map(|c| {
                        let test = is_admin.then(|| view! {
                            <form method="post" action={<TestAlertChannel as ServerFn>::url()} class="inline-form">
                                <input type="hidden" name="channel_id" value=c.id/>
                                <button type="submit" class="btn" aria-label=format!("Send a test alert to {}", c.name)>"Send test alert"</button>
                            </form>
                        });
                        view! {
                            <li>
                                <strong>{c.name.clone()}</strong>" · "{c.kind.label()}" · "
                                <span class="muted">{c.target.clone()}</span>
                                {(!c.enabled).then_some(" · disabled")}
                                " "{test}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })
        }}
    }
}
