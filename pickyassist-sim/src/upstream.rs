//! The two upstream endpoints, `device-status` and `device-action`.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use pickyassist::{Command, APPLICATION_WHATSAPP_WEB};
use serde_json::{json, Value};

use crate::codes;
use crate::fault::Fault;
use crate::server::DropConnection;
use crate::sim::Simulator;

/// A real request body is under 200 bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Status,
    Action,
}

pub(crate) fn routes() -> Router<Simulator> {
    let api = Router::new()
        .route("/device-status", post(device_status))
        .route("/device-action", post(device_action))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    Router::new()
        .nest("/app/api/v2", api.clone())
        .nest("/api/v2", api)
}

// The body is taken as raw bytes, not `Json`, so that a bad body gets upstream's answer
// (HTTP 200, code 101) rather than axum's 400/415, whatever the Content-Type.
async fn device_status(State(sim): State<Simulator>, body: Bytes) -> Response {
    serve(&sim, Endpoint::Status, &body).await
}

async fn device_action(State(sim): State<Simulator>, body: Bytes) -> Response {
    serve(&sim, Endpoint::Action, &body).await
}

async fn serve(sim: &Simulator, endpoint: Endpoint, body: &[u8]) -> Response {
    let envelope = Envelope::parse(body);
    let fault = arrive(sim, endpoint, envelope.as_ref().map(|e| e.token.as_str()));
    // Under the other faults the request never reaches the simulated upstream: `commit`
    // false still computes the answer (for `missing_fields`) but changes nothing.
    let commit = fault.as_ref().is_none_or(Fault::reaches_upstream);
    match &fault {
        None | Some(Fault::NumbersAsStrings | Fault::SlowDrip { .. } | Fault::MissingFields) => {}
        Some(Fault::Latency { ms }) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        // Held until the client hangs up (hyper then drops this future) or the server stops.
        Some(Fault::Timeout) => return std::future::pending::<Response>().await,
        Some(Fault::ConnectionDrop) => return drop_connection(),
        Some(Fault::Http500) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
        Some(Fault::NonJson) => return Html(MAINTENANCE_PAGE).into_response(),
        Some(Fault::BadToken) => return Json(rejection(codes::INVALID_TOKEN)).into_response(),
    }
    let reply = match &envelope {
        None => Reply::Json(rejection(codes::INVALID_REQUEST)),
        Some(envelope) => process(sim, endpoint, envelope, commit),
    };
    match reply {
        Reply::Drop => drop_connection(),
        Reply::Json(body) => render(body, fault.as_ref()),
    }
}

/// Counts the request and picks the fault that applies to it.
fn arrive(sim: &Simulator, endpoint: Endpoint, token: Option<&str>) -> Option<Fault> {
    let mut guard = sim.lock();
    let inner = &mut *guard;
    let project = token
        .and_then(|token| inner.tokens.get(token))
        .and_then(|id| inner.projects.get_mut(id));
    let fault = inner.faults.select(project.as_ref().map(|p| p.id)).cloned();
    let faulted = fault.as_ref().is_some_and(|f| !f.reaches_upstream());
    inner.totals.arrived(endpoint, faulted);
    if let Some(project) = project {
        project.counts.arrived(endpoint, faulted);
    }
    fault
}

enum Reply {
    /// Close the connection without answering.
    Drop,
    Json(Value),
}

/// The simulated upstream itself. With `commit` false nothing changes: no command runs and
/// the rate limit is neither consulted nor consumed.
fn process(sim: &Simulator, endpoint: Endpoint, envelope: &Envelope, commit: bool) -> Reply {
    let now = Instant::now();
    let time = sim.wall_clock();
    let mut guard = sim.lock();
    let inner = &mut *guard;
    let timings = inner.timings;
    let Some(project) = inner
        .tokens
        .get(&envelope.token)
        .and_then(|id| inner.projects.get_mut(id))
    else {
        return Reply::Json(rejection(codes::INVALID_TOKEN));
    };
    project.settle(now, timings.queue_growth_interval);

    if project.is_down() {
        if commit {
            project.counts.server_down += 1;
            inner.totals.server_down += 1;
        }
        return Reply::Drop;
    }
    // Over the limit, upstream drops the request before looking at it.
    if endpoint == Endpoint::Status
        && commit
        && !project.admit_status_check(now, inner.status_limit)
    {
        project.counts.dropped += 1;
        inner.totals.dropped += 1;
        return Reply::Drop;
    }
    if !envelope.application_is_valid() {
        return Reply::Json(rejection(codes::INVALID_APPLICATION));
    }
    match endpoint {
        Endpoint::Status => Reply::Json(project.status(time).to_wire()),
        Endpoint::Action => {
            let Some(command) = envelope.command() else {
                return Reply::Json(rejection(codes::INVALID_COMMAND));
            };
            if commit {
                project.apply(command, now, &timings, time);
            }
            Reply::Json(json!({"status": codes::SUCCESS, "message": "Success"}))
        }
    }
}

/// The fields of a request body we look at.
#[derive(Debug, PartialEq)]
struct Envelope {
    token: String,
    application: Option<Value>,
    command: Option<Value>,
}

impl Envelope {
    /// `None` for anything upstream would call an invalid request: not a JSON object, or no
    /// `token` string. The token is matched exactly, as typed.
    fn parse(body: &[u8]) -> Option<Self> {
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        let Some(Value::String(token)) = object.remove("token") else {
            return None;
        };
        Some(Self {
            token,
            application: object.remove("application"),
            command: object.remove("command"),
        })
    }

    /// The docs call `application` a string and send the number, so both are accepted.
    fn application_is_valid(&self) -> bool {
        match &self.application {
            Some(Value::Number(n)) => n.as_u64() == Some(u64::from(APPLICATION_WHATSAPP_WEB)),
            Some(Value::String(s)) => s.trim() == APPLICATION_WHATSAPP_WEB.to_string(),
            _ => false,
        }
    }

    fn command(&self) -> Option<Command> {
        match &self.command {
            Some(Value::String(name)) => name.parse().ok(),
            _ => None,
        }
    }
}

/// Upstream's rejection shape: a numeric `status` and a `message`.
fn rejection(code: i64) -> Value {
    let message = match code {
        codes::INVALID_REQUEST => "Invalid request",
        codes::INVALID_TOKEN => "Invalid Token",
        codes::INVALID_COMMAND => "Invalid command",
        codes::INVALID_APPLICATION => "Invalid application",
        _ => "Error",
    };
    json!({"status": code, "message": message})
}

fn drop_connection() -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        "connection dropped (simulated); only pickyassist_sim::spawn closes it for real",
    )
        .into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

/// Applies the faults that alter a body the simulated upstream produced.
fn render(body: Value, fault: Option<&Fault>) -> Response {
    match fault {
        Some(Fault::NumbersAsStrings) => Json(numbers_as_strings(body)).into_response(),
        Some(Fault::MissingFields) => Json(without_status(body)).into_response(),
        Some(Fault::SlowDrip { bytes_per_sec }) => {
            slow_drip(body.to_string().into_bytes(), *bytes_per_sec)
        }
        _ => Json(body).into_response(),
    }
}

fn numbers_as_strings(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_strings).collect()),
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| (key, numbers_as_strings(value)))
                .collect(),
        ),
        other => other,
    }
}

fn without_status(mut value: Value) -> Value {
    if let Value::Object(object) = &mut value {
        object.remove("status");
    }
    value
}

/// The body, streamed at about `bytes_per_sec`: ten chunks a second, or single bytes spaced
/// out for rates under 10. The Content-Length is announced up front, as a slow but honest
/// server would.
fn slow_drip(body: Vec<u8>, bytes_per_sec: u64) -> Response {
    let rate = bytes_per_sec.max(1);
    let (chunk, tick) = if rate >= 10 {
        (
            usize::try_from(rate / 10).unwrap_or(usize::MAX),
            Duration::from_millis(100),
        )
    } else {
        (1, Duration::from_secs(1) / u32::try_from(rate).unwrap_or(1))
    };
    let length = body.len();
    let stream = futures::stream::unfold(
        (Bytes::from(body), 0_usize),
        move |(body, sent)| async move {
            if sent >= body.len() {
                return None;
            }
            tokio::time::sleep(tick).await;
            let end = sent.saturating_add(chunk).min(body.len());
            Some((Ok::<_, Infallible>(body.slice(sent..end)), (body, end)))
        },
    );
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// What a proxy in front of a broken upstream tends to send: HTTP 200, HTML.
const MAINTENANCE_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Site Maintenance</title></head>\
<body><h1>We&rsquo;ll be back soon!</h1><p>PickyAssist is down for maintenance.</p></body></html>\n";

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[test]
    fn envelopes_need_a_json_object_with_a_token_string() {
        for bad in [
            &b""[..],
            b"token=abc",
            b"[]",
            b"\"abc\"",
            br#"{"application":10}"#,
            br#"{"token":42}"#,
        ] {
            assert_eq!(
                Envelope::parse(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let ok = Envelope::parse(br#"{"token":"abc","application":10,"command":"restart","x":1}"#);
        assert_eq!(
            ok,
            Some(Envelope {
                token: "abc".into(),
                application: Some(json!(10)),
                command: Some(json!("restart")),
            })
        );
    }

    #[test]
    fn application_ten_is_accepted_as_a_number_or_a_string_and_nothing_else() {
        let valid = |app: Value| {
            Envelope {
                token: "t".into(),
                application: (!app.is_null()).then_some(app),
                command: None,
            }
            .application_is_valid()
        };
        assert!(valid(json!(10)));
        assert!(valid(json!("10")));
        assert!(valid(json!(" 10 ")));
        for bad in [
            json!(null),
            json!(1),
            json!(10.5),
            json!("ten"),
            json!(""),
            json!([10]),
            json!(-10),
        ] {
            assert!(!valid(bad.clone()), "{bad}");
        }
    }

    #[test]
    fn only_exact_command_names_are_commands() {
        let command = |c: Value| {
            Envelope {
                token: "t".into(),
                application: None,
                command: Some(c),
            }
            .command()
        };
        assert_eq!(
            command(json!("restart-server")),
            Some(Command::RestartServer)
        );
        assert_eq!(command(json!("Restart")), None);
        assert_eq!(command(json!(1)), None);
    }

    #[test]
    fn numbers_as_strings_turns_every_number_into_text() {
        let body =
            json!({"status": 100, "message": "Success", "nested": [1, {"n": 2.5}], "flag": true});
        assert_eq!(
            numbers_as_strings(body),
            json!({"status": "100", "message": "Success", "nested": ["1", {"n": "2.5"}], "flag": true})
        );
    }

    #[test]
    fn without_status_removes_only_the_status() {
        assert_eq!(
            without_status(json!({"status": "CONNECTED", "project_id": "929"})),
            json!({"project_id": "929"})
        );
        assert_eq!(without_status(json!([1])), json!([1]));
    }

    #[test]
    fn rejections_use_upstreams_shape() {
        assert_eq!(
            rejection(codes::INVALID_TOKEN),
            json!({"status": 102, "message": "Invalid Token"})
        );
        let parsed =
            pickyassist::StatusReply::parse(rejection(codes::INVALID_TOKEN).to_string().as_bytes());
        assert_eq!(
            parsed,
            Ok(pickyassist::StatusReply::Rejected {
                code: 102,
                message: "Invalid Token".into()
            })
        );
    }

    #[tokio::test]
    async fn slow_drip_sends_the_whole_body_in_pieces() {
        let body = br#"{"status":100,"message":"Success"}"#.to_vec();
        // 200 B/s: 20-byte chunks, one every 100 ms.
        let response = slow_drip(body.clone(), 200);
        assert_eq!(
            response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()),
            Some(body.len().to_string().as_str())
        );
        let mut stream = response.into_body().into_data_stream();
        let mut received = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => received.extend_from_slice(&chunk),
                Err(e) => panic!("{e}"),
            }
            chunks += 1;
        }
        assert_eq!(received, body);
        assert_eq!(chunks, body.len().div_ceil(20));
    }
}
