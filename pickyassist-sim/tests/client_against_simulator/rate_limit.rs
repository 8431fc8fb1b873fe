//! The documented 3-a-minute status limit: requests over it are dropped, not answered.

use pickyassist::{ClientError, Command, DeviceState};
use pickyassist_sim::SimConfig;
use serde_json::json;

use crate::support::{fast_config, TestSim, ALPHA, BRAVO};

async fn limited() -> TestSim {
    TestSim::start_with(SimConfig {
        status_limit_per_minute: Some(3),
        ..fast_config()
    })
    .await
}

#[tokio::test]
async fn status_checks_over_the_limit_are_dropped_and_counted() {
    let sim = limited().await;
    for i in 0..3 {
        assert!(
            sim.status(ALPHA.0).await.is_ok(),
            "check {i} is within the limit"
        );
    }
    assert!(matches!(
        sim.status(ALPHA.0).await,
        Err(ClientError::Unreachable(_))
    ));
    assert!(matches!(
        sim.status(ALPHA.0).await,
        Err(ClientError::Unreachable(_))
    ));

    // The limit is per token, and commands are not limited.
    assert_eq!(
        sim.status(BRAVO.0).await.map(|s| s.state),
        Ok(DeviceState::Connected)
    );
    assert!(sim
        .action(ALPHA.0, Command::DeleteMessageQueue)
        .await
        .is_ok());

    let stats = sim.sim.stats();
    let alpha = stats.projects[&ALPHA.1];
    assert_eq!(
        (alpha.device_status, alpha.dropped, alpha.device_action),
        (5, 2, 1)
    );
    assert_eq!(stats.totals.dropped, 2);
    assert_eq!(stats.totals.device_status, 6);

    // Lifting the limit at run time lets the next check through.
    sim.sim.set_status_limit(None);
    assert!(sim.status(ALPHA.0).await.is_ok());
}

#[tokio::test]
async fn a_dropped_request_is_a_closed_connection_not_an_http_status() {
    let sim = limited().await;
    let body = json!({"token": ALPHA.0, "application": 10}).to_string();
    for _ in 0..3 {
        sim.post_raw("device-status", &body)
            .await
            .expect("within the limit");
    }
    let error = sim
        .post_raw("device-status", &body)
        .await
        .expect_err("dropped");
    assert!(error.status().is_none(), "{error:?}");
    assert!(error.is_request() || error.is_connect(), "{error:?}");
    assert!(!error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn the_limit_can_be_changed_through_the_control_api() {
    let sim = limited().await;
    let url = sim.control("config");
    let current: serde_json::Value = sim
        .http
        .get(&url)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        current,
        json!({"status_limit_per_minute": 3, "server_restart_downtime_ms": 300})
    );

    let response = sim
        .http
        .put(&url)
        .json(&json!({"status_limit_per_minute": 1}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert!(sim.status(ALPHA.0).await.is_ok());
    assert!(matches!(
        sim.status(ALPHA.0).await,
        Err(ClientError::Unreachable(_))
    ));

    let response = sim
        .http
        .put(&url)
        .json(&json!({"status_limit_per_minute": null}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert_eq!(sim.sim.status_limit(), None);
    for _ in 0..5 {
        assert!(sim.status(ALPHA.0).await.is_ok());
    }

    // The restart-server downtime too (tests with a manual clock need none); an empty body
    // changes nothing and says what it takes.
    let response = sim
        .http
        .put(&url)
        .json(&json!({"server_restart_downtime_ms": 0}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert_eq!(sim.sim.server_restart_downtime(), std::time::Duration::ZERO);
    let response = sim
        .http
        .put(&url)
        .json(&json!({}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 422);
    assert_eq!(sim.sim.status_limit(), None, "unchanged");
}
