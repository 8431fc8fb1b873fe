//! The request counters of `/_sim/stats`.

use pickyassist::Command;
use pickyassist_sim::{Fault, FaultScope, RequestCounts};
use serde_json::json;

use crate::support::{TestSim, ALPHA, BRAVO, UNKNOWN_TOKEN};

#[tokio::test]
async fn every_request_is_counted_per_project_and_in_total() {
    let sim = TestSim::start().await;
    for _ in 0..3 {
        sim.status(ALPHA.0).await.expect("status");
    }
    sim.action(ALPHA.0, Command::DeleteMessageQueue)
        .await
        .expect("accepted");
    sim.status(BRAVO.0).await.expect("status");
    sim.sim
        .set_fault(FaultScope::Project(BRAVO.1), Some(Fault::Http500));
    let _ = sim.action(BRAVO.0, Command::Restart).await;
    let _ = sim.status(UNKNOWN_TOKEN).await;

    let stats = sim.sim.stats();
    assert_eq!(
        stats.projects[&ALPHA.1],
        RequestCounts {
            device_status: 3,
            device_action: 1,
            ..RequestCounts::default()
        }
    );
    assert_eq!(
        stats.projects[&BRAVO.1],
        RequestCounts {
            device_status: 1,
            device_action: 1,
            faulted: 1,
            ..RequestCounts::default()
        }
    );
    // The unknown token counts in the totals only.
    assert_eq!(
        stats.totals,
        RequestCounts {
            device_status: 5,
            device_action: 2,
            faulted: 1,
            ..RequestCounts::default()
        }
    );

    let over_http: serde_json::Value = sim
        .http
        .get(sim.control("stats"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(over_http["projects"]["1"]["device_status"], 3);
    assert_eq!(over_http["projects"]["1"]["dropped"], 0);
    assert_eq!(over_http["totals"]["device_action"], 2);
    assert_eq!(
        over_http,
        serde_json::to_value(&stats).expect("serializable")
    );
}

#[tokio::test]
async fn stats_reset_to_zero() {
    let sim = TestSim::start().await;
    sim.status(ALPHA.0).await.expect("status");
    let response = sim
        .http
        .post(sim.control("stats/reset"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let stats = sim.sim.stats();
    assert_eq!(stats.totals, RequestCounts::default());
    assert!(stats
        .projects
        .values()
        .all(|c| *c == RequestCounts::default()));
    assert_eq!(stats.projects.len(), 3, "projects stay listed");
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(
        body["totals"],
        json!({"device_status": 0, "device_action": 0, "dropped": 0, "server_down": 0, "faulted": 0})
    );
}
