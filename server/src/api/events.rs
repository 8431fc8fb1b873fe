//! `GET /api/v1/events`: status changes as Server-Sent Events. Every open browser reads the
//! same in-memory board, so viewers never add upstream calls.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use fleet::Fleet;
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};

/// Status changes as Server-Sent Events: `event: status` with `{"project_id", "status"}`, and
/// `event: resync` when the client fell behind and should reload the fleet.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    responses(
        (status = 200, description = "an event stream", content_type = "text/event-stream"),
        (status = 401, description = "not signed in", body = crate::api::ErrorBody)))]
pub async fn status_events(
    State(fleet): State<Fleet>,
    // Only for signed-in callers; who they are does not change what they see.
    _caller: crate::api::Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stopping = fleet.stopping();
    let stream = BroadcastStream::new(fleet.subscribe()).filter_map(|change| async move {
        match change {
            Ok(event) => Event::default()
                .event("status")
                .json_data(&event)
                .ok()
                .map(Ok),
            // This client fell behind; tell it to reload the whole fleet rather than guess.
            Err(BroadcastStreamRecvError::Lagged(_)) => {
                Some(Ok(Event::default().event("resync").data("{}")))
            }
        }
    });
    // Ends with the server, so a graceful shutdown does not wait on open browsers.
    let stream = stream.take_until(stopping);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
