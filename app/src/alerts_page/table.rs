//! The Alerts page's table: one row per alert with its state, status (acknowledged by whom,
//! silenced why) and delivery counts, and an Acknowledge button for operators.

use fleet::model::{AlertPage, AlertStatus, AlertView, CurrentUser, Health, Role};
use leptos::{either::Either, prelude::*, server_fn::ServerFn};

use super::AcknowledgeAlert;
use crate::audit_page::readable_time;

#[component]
pub(super) fn AlertTable(page: AlertPage, user: Option<CurrentUser>) -> impl IntoView {
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
