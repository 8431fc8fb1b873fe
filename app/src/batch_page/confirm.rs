//! `/batches/new?command=…&ids=…`: what the fleet page's bulk bar sends. The server names the
//! command, the count and the first projects; a destructive command asks for the count typed
//! (the service checks it again). Confirming starts the batch and opens its progress.

use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Names shown before "and N more".
#[cfg(feature = "ssr")]
const NAMES_SHOWN: usize = 12;

/// A batch as it would run, for the confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchPreview {
    pub command: String,
    pub label: String,
    pub explanation: String,
    pub destructive: bool,
    /// The ids, as the confirmation posts them back.
    pub ids: String,
    pub count: usize,
    pub first_names: Vec<String>,
}

#[server(prefix = "/fn", endpoint = "preview_batch")]
pub async fn preview_batch(command: String, ids: String) -> Result<BatchPreview, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let request = fleet::model::BatchRequest {
        command,
        project_ids: Some(super::parse_ids(&ids)?),
        ..Default::default()
    };
    let (command, projects) = fleet.preview_batch(&actor, &request)?;
    Ok(BatchPreview {
        command: command.wire_name().to_owned(),
        label: command.label().to_owned(),
        explanation: command.explanation().to_owned(),
        destructive: command.is_destructive(),
        ids: projects
            .iter()
            .map(|(id, _)| id.to_string())
            .collect::<Vec<_>>()
            .join(","),
        count: projects.len(),
        first_names: projects
            .into_iter()
            .take(NAMES_SHOWN)
            .map(|(_, name)| name)
            .collect(),
    })
}

/// Starts the batch and opens its progress; on a refusal, back here with why.
#[server(prefix = "/fn", endpoint = "start_batch")]
pub async fn start_batch(
    command: String,
    ids: String,
    confirm_count: Option<String>,
) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let started = match super::parse_ids(&ids) {
        Ok(project_ids) => {
            let request = fleet::model::BatchRequest {
                command: command.clone(),
                project_ids: Some(project_ids),
                filter: None,
                confirm_count: confirm_count.and_then(|c| c.trim().parse().ok()),
            };
            fleet.start_batch(&actor, request).await
        }
        Err(e) => Err(e),
    };
    match started {
        Ok(batch) => leptos_axum::redirect(&format!("/batches/{}", batch.id)),
        Err(e) => {
            use crate::audit_page::encode;
            let back = format!(
                "/batches/new?command={}&ids={}",
                encode(&command),
                encode(&ids)
            );
            crate::page::back_with_outcome(&back, Err(e));
        }
    }
    Ok(())
}

#[component]
pub fn ConfirmBatchPage() -> impl IntoView {
    let query = use_query_map();
    let preview = Resource::new(
        move || {
            query.with(|q| {
                (
                    q.get("command").unwrap_or_default(),
                    q.get("ids").unwrap_or_default(),
                )
            })
        },
        |(command, ids)| preview_batch(command, ids),
    );
    view! {
        <Title text="Bulk command · picky-fleet"/>
        <section class="batch" aria-labelledby="batch-title">
            <p class="project__back"><a href="/">"← Fleet"</a></p>
            <h1 id="batch-title">"Bulk command"</h1>
            <crate::page::OutcomeLine/>
            <Suspense fallback=|| view! { <p class="loading">"Checking the selection…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(preview) => Either::Left(view! { <Confirm preview/> }),
                        Err(error) => Either::Right(crate::page::load_error_view(error, "The bulk command", "/")),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Confirm(preview: BatchPreview) -> impl IntoView {
    let more = preview.count.saturating_sub(preview.first_names.len());
    let heading = format!(
        "{} on {} project{}?",
        preview.label,
        preview.count,
        if preview.count == 1 { "" } else { "s" }
    );
    let typed = preview.destructive.then(|| {
        view! {
            <p class="batch__warning" role="note">
                {format!("{} cannot be undone. ", preview.label)}
            </p>
            <label class="field">
                {format!("Type the number of projects ({}) to confirm", preview.count)}
                <input type="text" name="confirm_count" inputmode="numeric" autocomplete="off" required/>
            </label>
        }
    });
    view! {
        <h2 class="batch__question">{heading}</h2>
        <p class="muted">{preview.explanation.clone()}</p>
        <ul class="batch__names">
            {preview.first_names.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}
            {(more > 0).then(|| view! { <li class="muted">{format!("and {more} more")}</li> })}
        </ul>
        <p class="muted">
            "The dashboard sends them a few at a time (four, unless set otherwise), each through its \
             project's queue, and checks each project afterwards. You can leave the page: the \
             command runs on the server."
        </p>
        <form method="post" action={<StartBatch as ServerFn>::url()} class="batch__form">
            <input type="hidden" name="command" value=preview.command.clone()/>
            <input type="hidden" name="ids" value=preview.ids.clone()/>
            {typed}
            <div class="batch__buttons">
                <button type="submit" class=if preview.destructive { "btn btn--danger" } else { "btn btn--primary" }>
                    {format!("{} {} project{}", preview.label, preview.count, if preview.count == 1 { "" } else { "s" })}
                </button>
                <a class="btn" href="/">"Cancel"</a>
            </div>
        </form>
    }
}
