//! Each fault, as the client sees it, on both endpoints.

use std::time::{Duration, Instant};

use pickyassist::{ClientError, Command, DeviceState, ParseError};
use pickyassist_sim::{Fault, FaultScope};
use serde_json::json;

use crate::support::{api_token, assert_untouched, TestSim, ALPHA, BRAVO};

/// Arms `fault` for ALPHA only.
async fn with_fault(fault: Fault) -> TestSim {
    let sim = TestSim::start().await;
    sim.sim.set_fault(FaultScope::Project(ALPHA.1), Some(fault));
    sim
}

#[tokio::test]
async fn latency_delays_the_answer_and_still_executes_commands() {
    let sim = with_fault(Fault::Latency { ms: 200 }).await;
    let started = Instant::now();
    let status = sim
        .status(ALPHA.0)
        .await
        .expect("a slow answer is still an answer");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status.state, DeviceState::Connected);

    let started = Instant::now();
    sim.action(ALPHA.0, Command::Disconnect)
        .await
        .expect("accepted");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(sim.project(ALPHA.1).state, DeviceState::Unpaired);
}

#[tokio::test]
async fn timeout_never_answers_so_the_client_times_out() {
    let sim = with_fault(Fault::Timeout).await;
    let client = sim.client_with_timeout(Duration::from_millis(300));
    let token = api_token(ALPHA.0);
    assert!(matches!(
        client.device_status(&token).await,
        Err(ClientError::TimedOut(_))
    ));
    assert!(matches!(
        client.device_action(&token, Command::Disconnect).await,
        Err(ClientError::TimedOut(_))
    ));
    assert_untouched(&sim, ALPHA.1);
}

#[tokio::test]
async fn connection_drop_is_a_transport_error_without_any_http_status() {
    let sim = with_fault(Fault::ConnectionDrop).await;
    assert!(matches!(
        sim.status(ALPHA.0).await,
        Err(ClientError::Unreachable(_))
    ));
    assert!(matches!(
        sim.action(ALPHA.0, Command::Disconnect).await,
        Err(ClientError::Unreachable(_))
    ));
    assert_untouched(&sim, ALPHA.1);

    let error = sim
        .post_raw(
            "device-status",
            &json!({"token": ALPHA.0, "application": 10}).to_string(),
        )
        .await
        .expect_err("no HTTP answer at all");
    assert!(error.status().is_none(), "{error:?}");
    assert!(error.is_request() || error.is_connect(), "{error:?}");
}

#[tokio::test]
async fn http500_is_an_http_status_error() {
    let sim = with_fault(Fault::Http500).await;
    assert_eq!(sim.status(ALPHA.0).await, Err(ClientError::HttpStatus(500)));
    assert_eq!(
        sim.action(ALPHA.0, Command::Disconnect).await,
        Err(ClientError::HttpStatus(500))
    );
    assert_untouched(&sim, ALPHA.1);
}

#[tokio::test]
async fn non_json_is_malformed() {
    let sim = with_fault(Fault::NonJson).await;
    assert!(matches!(
        sim.status(ALPHA.0).await,
        Err(ClientError::Malformed(ParseError::NotJson(_)))
    ));
    assert!(matches!(
        sim.action(ALPHA.0, Command::Disconnect).await,
        Err(ClientError::Malformed(ParseError::NotJson(_)))
    ));
    assert_untouched(&sim, ALPHA.1);
    let response = sim
        .post_raw(
            "device-status",
            &json!({"token": ALPHA.0, "application": 10}).to_string(),
        )
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .expect("text")
        .starts_with("<!DOCTYPE html>"));
}

#[tokio::test]
async fn numbers_as_strings_are_tolerated_and_commands_execute() {
    let sim = with_fault(Fault::NumbersAsStrings).await;
    let raw = sim
        .post_json(
            "device-status",
            &json!({"token": ALPHA.0, "application": 10}).to_string(),
        )
        .await;
    assert_eq!(raw["message_queue_count"], "5");
    let status = sim.status(ALPHA.0).await.expect("the client is tolerant");
    assert_eq!(status.message_queue_count, Some(5));

    let raw = sim
        .post_json(
            "device-action",
            &json!({"token": ALPHA.0, "command": "delete-message-queue", "application": 10})
                .to_string(),
        )
        .await;
    assert_eq!(raw, json!({"status": "100", "message": "Success"}));
    let outcome = sim
        .action(ALPHA.0, Command::Disconnect)
        .await
        .expect("accepted");
    assert!(outcome.is_success());
    let project = sim.project(ALPHA.1);
    assert_eq!(
        (project.state, project.message_queue_count),
        (DeviceState::Unpaired, 0)
    );
}

#[tokio::test]
async fn missing_fields_is_malformed_and_executes_nothing() {
    let sim = with_fault(Fault::MissingFields).await;
    assert_eq!(
        sim.status(ALPHA.0).await,
        Err(ClientError::Malformed(ParseError::MissingField("status")))
    );
    assert_eq!(
        sim.action(ALPHA.0, Command::Disconnect).await,
        Err(ClientError::Malformed(ParseError::MissingField("status")))
    );
    assert_untouched(&sim, ALPHA.1);
    let raw = sim
        .post_json(
            "device-status",
            &json!({"token": ALPHA.0, "application": 10}).to_string(),
        )
        .await;
    assert_eq!(
        raw["project_id"], "1",
        "the rest of the body is still there: {raw}"
    );
}

#[tokio::test]
async fn slow_drip_outlasts_a_short_client_timeout() {
    let sim = with_fault(Fault::SlowDrip { bytes_per_sec: 20 }).await;
    let client = sim.client_with_timeout(Duration::from_millis(300));
    assert!(matches!(
        client.device_status(&api_token(ALPHA.0)).await,
        Err(ClientError::TimedOut(_))
    ));
}

#[tokio::test]
async fn slow_drip_delivers_a_valid_body_to_a_patient_client() {
    // ~140 bytes at 1000 B/s: two 100-byte chunks, 100 ms apart.
    let sim = with_fault(Fault::SlowDrip {
        bytes_per_sec: 1000,
    })
    .await;
    let started = Instant::now();
    let status = sim.status(ALPHA.0).await.expect("the whole body arrives");
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status.message_queue_count, Some(5));
    sim.action(ALPHA.0, Command::Disconnect)
        .await
        .expect("accepted");
    assert_eq!(
        sim.project(ALPHA.1).state,
        DeviceState::Unpaired,
        "slow_drip executes commands"
    );
}

#[tokio::test]
async fn bad_token_answers_as_if_the_token_were_unknown() {
    let sim = with_fault(Fault::BadToken).await;
    let expected = ClientError::Rejected {
        code: 102,
        message: "Invalid Token".into(),
    };
    assert_eq!(sim.status(ALPHA.0).await, Err(expected.clone()));
    assert_eq!(
        sim.action(ALPHA.0, Command::Disconnect).await,
        Err(expected)
    );
    assert_untouched(&sim, ALPHA.1);
}

#[tokio::test]
async fn a_project_fault_leaves_other_projects_alone() {
    let sim = with_fault(Fault::ConnectionDrop).await;
    assert!(sim.status(ALPHA.0).await.is_err());
    assert_eq!(
        sim.status(BRAVO.0).await.map(|s| s.state),
        Ok(DeviceState::Connected)
    );
    sim.action(BRAVO.0, Command::Disconnect)
        .await
        .expect("bravo is not faulted");
}

#[tokio::test]
async fn a_project_fault_overrides_the_global_one() {
    let sim = with_fault(Fault::Latency { ms: 1 }).await;
    sim.sim.set_fault(FaultScope::Global, Some(Fault::Http500));
    assert!(sim.status(ALPHA.0).await.is_ok(), "alpha's own fault wins");
    assert_eq!(sim.status(BRAVO.0).await, Err(ClientError::HttpStatus(500)));

    sim.sim.set_fault(FaultScope::Project(ALPHA.1), None);
    assert_eq!(sim.status(ALPHA.0).await, Err(ClientError::HttpStatus(500)));
    sim.sim.clear_faults();
    assert!(sim.status(ALPHA.0).await.is_ok());
    assert!(sim.status(BRAVO.0).await.is_ok());
}

#[tokio::test]
async fn faults_switch_at_run_time_through_the_control_api() {
    let sim = TestSim::start().await;
    let put = sim
        .http
        .put(sim.control("faults/global"))
        .json(&json!({"kind": "http500"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(put.status(), 200);
    assert_eq!(sim.status(BRAVO.0).await, Err(ClientError::HttpStatus(500)));

    let put = sim
        .http
        .put(sim.control(&format!("faults/projects/{}", ALPHA.1)))
        .json(&json!({"kind": "bad_token"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(put.status(), 200);
    let view: serde_json::Value = sim
        .http
        .get(sim.control("faults"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        view,
        json!({"global": {"kind": "http500"}, "projects": {"1": {"kind": "bad_token"}}})
    );
    assert!(matches!(
        sim.status(ALPHA.0).await,
        Err(ClientError::Rejected { code: 102, .. })
    ));

    let delete = sim
        .http
        .delete(sim.control("faults/global"))
        .send()
        .await
        .expect("answers");
    assert_eq!(delete.status(), 200);
    assert!(sim.status(BRAVO.0).await.is_ok());
    let delete = sim
        .http
        .delete(sim.control("faults"))
        .send()
        .await
        .expect("answers");
    assert_eq!(delete.status(), 200);
    assert!(sim.status(ALPHA.0).await.is_ok());
}

/// The client follows no redirect: a 307 would post the token again to whatever host its
/// `Location` names. It is an HTTP status error instead, and the other host hears nothing.
#[tokio::test]
async fn a_redirect_is_an_error_and_the_token_goes_nowhere_else() {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    let elsewhere_heard = Arc::new(AtomicUsize::new(0));
    let heard = elsewhere_heard.clone();
    let elsewhere = axum::Router::new().fallback(move || {
        heard.fetch_add(1, Ordering::SeqCst);
        async { "{}" }
    });
    let other = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let other_addr = other.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(other, elsewhere).await });

    let redirecting = axum::Router::new().fallback(move || async move {
        (
            axum::http::StatusCode::TEMPORARY_REDIRECT,
            [(
                axum::http::header::LOCATION,
                format!("http://{other_addr}/steal"),
            )],
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, redirecting).await });

    let base = url::Url::parse(&format!("http://{addr}/app/api/v2/")).expect("url");
    let client = pickyassist::Client::new(pickyassist::ClientConfig::new(base)).expect("client");
    let token = pickyassist::ApiToken::parse(ALPHA.0).expect("token");
    let error = client.device_status(&token).await.expect_err("a redirect");
    assert_eq!(error.kind(), pickyassist::ErrorKind::HttpStatus, "{error}");
    let error = client
        .device_action(&token, pickyassist::Command::Restart)
        .await
        .expect_err("a redirect");
    assert_eq!(error.kind(), pickyassist::ErrorKind::HttpStatus, "{error}");
    assert_eq!(
        elsewhere_heard.load(Ordering::SeqCst),
        0,
        "nothing followed the redirect"
    );
}
