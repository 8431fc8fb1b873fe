//! `GET /api/v1/events`: status changes as Server-Sent Events. Every open browser reads the
//! same in-memory board, so viewers never add upstream calls.
//!
//! A stream outlives the request that opened it, so its caller is checked again every
//! [`RECHECK`]: a stream whose API key was revoked, whose user was disabled or removed, or
//! whose session was signed out or expired ends within that time.

use std::{convert::Infallible, time::Duration};

use crate::session_store::Sessions;
use axum::{
    extract::State,
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use fleet::{auth::SESSION_USER_KEY, Fleet};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};
use tower_sessions::{session::Id, Session, SessionStore};

/// How often an open stream checks that its caller may still read it.
const RECHECK: Duration = Duration::from_secs(2);

/// What let the caller in, to be checked again while the stream is open.
enum Credential {
    ApiKey(String),
    Session(Option<Id>),
}

impl Credential {
    async fn still_valid(&self, fleet: &Fleet, sessions: &Sessions) -> bool {
        match self {
            Credential::ApiKey(key) => matches!(fleet.actor_for_api_key(key).await, Ok(Some(_))),
            Credential::Session(None) => false,
            Credential::Session(Some(id)) => {
                let Ok(Some(record)) = sessions.load(id).await else {
                    return false; // signed out, expired, or unreadable
                };
                let user_id = record
                    .data
                    .get(SESSION_USER_KEY)
                    .and_then(serde_json::Value::as_i64);
                match user_id {
                    Some(user_id) => matches!(fleet.current_user(user_id).await, Ok(Some(_))),
                    None => false,
                }
            }
        }
    }
}

/// Status changes as Server-Sent Events: `event: status` with `{"project_id", "status"}`,
/// `event: batch` with a bulk command's progress (`{"batch_id", "status", "counts", "item"}`),
/// and `event: resync` when the client fell behind and should reload the fleet. The stream ends
/// within a few seconds of its caller losing access.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    responses(
        (status = 200, description = "an event stream", content_type = "text/event-stream"),
        (status = 401, description = "not signed in", body = crate::api::ErrorBody)))]
pub async fn status_events(
    State(fleet): State<Fleet>,
    State(sessions): State<Sessions>,
    // Only for signed-in callers; who they are does not change what they see.
    _caller: crate::api::Caller,
    headers: HeaderMap,
    session: Session,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // The auth middleware let this request in by its bearer key if it had one, else by its
    // session: the same is checked again below.
    let credential = match crate::auth::bearer_key(&headers) {
        Some(key) => Credential::ApiKey(key.to_owned()),
        None => Credential::Session(session.id()),
    };
    let lost_access = {
        let fleet = fleet.clone();
        async move {
            loop {
                tokio::time::sleep(RECHECK).await;
                if !credential.still_valid(&fleet, &sessions).await {
                    break;
                }
            }
        }
    };
    let stopping = fleet.stopping();
    let batches =
        BroadcastStream::new(fleet.subscribe_batches()).filter_map(|progress| async move {
            // A client that fell behind on batches reloads the batch it shows: nothing to send.
            let progress = progress.ok()?;
            Event::default()
                .event("batch")
                .json_data(&progress)
                .ok()
                .map(Ok)
        });
    let statuses = BroadcastStream::new(fleet.subscribe()).filter_map(|change| async move {
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
    let stream = futures::stream::select(statuses, batches);
    // Ends with the server, so a graceful shutdown does not wait on open browsers, and when
    // the caller may no longer read it.
    let stream = stream
        .take_until(stopping)
        .take_until(Box::pin(lost_access));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
