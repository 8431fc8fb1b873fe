//! `/batches/{id}`: a bulk command's projects, each queued, sending, sent, confirmed (with
//! what the follow-up check found), failed (with upstream's message), cancelled or
//! interrupted. The batch runs on the server, so the page can be left and reopened.
//!
//! The list is a lazy island that asks for the batch again every second while it runs (a
//! few hundred bytes each time; the event stream's `batch` events are for scripts). Without
//! JavaScript the page shows the state when it was loaded, and a reload shows more.
//! Cancel and "Retry the failed" are plain forms.

use fleet::model::{BatchStatus, BatchView};
use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::{audit_page::readable_time, error::AppError};

/// A batch, and whether the viewer may cancel or retry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchPageData {
    pub batch: BatchView,
    pub can_act: bool,
}

#[server(prefix = "/fn", endpoint = "batch")]
pub async fn get_batch(id: i64) -> Result<BatchPageData, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(BatchPageData {
        batch: fleet.batch(&actor, id).await?,
        can_act: actor.role >= fleet::model::Role::Operator,
    })
}

#[server(prefix = "/fn", endpoint = "cancel_batch")]
pub async fn cancel_batch(id: i64) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = fleet
        .cancel_batch(&actor, id)
        .await
        .map(|_| "Cancelled: what was not sent yet will not be sent.".to_owned());
    crate::page::back_with_outcome(&format!("/batches/{id}"), outcome);
    Ok(())
}

#[server(prefix = "/fn", endpoint = "retry_batch")]
pub async fn retry_batch(id: i64, confirm_count: Option<String>) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let confirm_count = confirm_count.and_then(|c| c.trim().parse().ok());
    match fleet.retry_batch(&actor, id, confirm_count).await {
        Ok(retry) => leptos_axum::redirect(&format!("/batches/{}", retry.id)),
        Err(e) => crate::page::back_with_outcome(&format!("/batches/{id}"), Err(e)),
    }
    Ok(())
}

#[component]
pub fn BatchPage() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    view! {
        <Title text="Bulk command · picky-fleet"/>
        <section class="batch" aria-labelledby="batch-title">
            <p class="project__back"><a href="/">"← Fleet"</a>" · "<a href="/audit?action=batch">"All bulk commands"</a></p>
            <crate::page::OutcomeLine/>
            {match id {
                Some(id) => Either::Left(view! { <BatchLive id/> }),
                None => Either::Right(view! { <p class="alert alert--error" role="alert">"No such bulk command."</p> }),
            }}
        </section>
    }
}

/// The live list. Lazy: its code is fetched the first time such a page opens.
#[island(lazy)]
fn BatchLive(id: i64) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let data = Resource::new(move || tick.get(), move |_| get_batch(id));
    // While it runs, ask again every second (browser only).
    Effect::new(move |_| {
        let running = data
            .get()
            .and_then(Result::ok)
            .is_some_and(|d| d.batch.status == BatchStatus::Running);
        if !running {
            return;
        }
        let handle = set_timeout_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_secs(1),
        );
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    });
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading the bulk command…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => Either::Left(view! { <BatchDetails data/> }),
                    Err(error) => Either::Right(crate::page::load_error_view(error, "The bulk command", &format!("/batches/{id}"))),
                }
            })}
        </Transition>
    }
}

#[component]
fn BatchDetails(data: BatchPageData) -> impl IntoView {
    let BatchPageData { batch, can_act } = data;
    let id = batch.id;
    let running = batch.status == BatchStatus::Running;
    let title = format!("Bulk command #{id}: {}", batch.command.label());
    let retry_of = batch.retry_of.map(|of| {
        view! { " · retries the failed of " <a href=format!("/batches/{of}")>{format!("#{of}")}</a> }
    });
    let counts = batch.counts;
    let status_line = format!(
        "{}: {} of {} · {}",
        batch.status.label(),
        counts.total - counts.queued - counts.sending,
        counts.total,
        counts.summary()
    );
    let cancel = (can_act && running).then(|| {
        view! {
            <form method="post" action={<CancelBatch as ServerFn>::url()} class="inline-form">
                <input type="hidden" name="id" value=id/>
                <button type="submit" class="btn btn--danger">"Cancel what is not sent"</button>
            </form>
        }
    });
    let destructive = batch.command.is_destructive();
    let retry = (can_act && !running && counts.failed > 0).then(|| {
        let typed = destructive.then(|| view! {
            <label class="field">
                {format!("Type the number of projects to retry ({}) to confirm", counts.failed)}
                <input type="text" name="confirm_count" inputmode="numeric" autocomplete="off" required/>
            </label>
        });
        view! {
            <form method="post" action={<RetryBatch as ServerFn>::url()} class="batch__form">
                <input type="hidden" name="id" value=id/>
                {typed}
                <div class="batch__buttons">
                    <button type="submit" class="btn btn--primary">{format!("Retry the {} failed", counts.failed)}</button>
                </div>
            </form>
        }
    });
    let rows = batch
        .items
        .into_iter()
        .map(|item| {
            let checked = item.checked.map(|h| {
                view! { <span class=format!("badge badge--{}", h.slug())>{h.label()}</span> }
            });
            let audit = item.audit_id.map(|a| {
                view! { <a href=format!("/audit?project_id={}", item.project_id) title=format!("Audit row {a}")>"audit"</a> }
            });
            view! {
                <tr data-state=item.state.as_str()>
                    <td><a href=format!("/projects/{}", item.project_id)>{item.project_name}</a></td>
                    <td><span class=format!("badge badge--{}", item.state.slug())>{item.state.label()}</span></td>
                    <td>{checked}</td>
                    <td class="audit__detail">{item.message.unwrap_or_default()}</td>
                    <td>{audit}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h1 id="batch-title">{title}</h1>
        <p class="muted">
            {format!("Sent by {} at {}", batch.created_by, readable_time(&batch.created_at))}
            {retry_of}
        </p>
        <p class="batch__status" role="status" aria-live="polite" data-status=batch.status.as_str()>{status_line}</p>
        <div class="batch__buttons">{cancel}{retry}</div>
        <table class="audit__table batch__table">
            <thead><tr>
                <th scope="col">"Project"</th><th scope="col">"State"</th><th scope="col">"The check after found"</th>
                <th scope="col">"Message"</th><th scope="col"><span class="visually-hidden">"Audit"</span></th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
