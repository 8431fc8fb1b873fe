//! Every command's effect on what `device-status` reports.

use std::time::Duration;

use pickyassist::{ClientError, Command, DeviceState};
use pickyassist_sim::SimConfig;

use crate::support::{fast_config, TestSim, ALPHA, BRAVO, UNPAIRED};

#[tokio::test]
async fn restart_reports_timeout_for_a_while_then_the_previous_state() {
    let sim = TestSim::start().await;
    let outcome = sim
        .action(ALPHA.0, Command::Restart)
        .await
        .expect("restart is accepted");
    assert!(outcome.is_success());
    assert_eq!(outcome.message, "Success");

    let during = sim
        .status(ALPHA.0)
        .await
        .expect("status during the restart");
    assert_eq!(during.state, DeviceState::Timeout);
    assert_eq!(during.connected_number.as_deref(), Some("15555550001"));
    assert_eq!(
        sim.status(BRAVO.0).await.map(|s| s.state),
        Ok(DeviceState::Connected)
    );

    tokio::time::sleep(Duration::from_millis(350)).await;
    let after = sim.status(ALPHA.0).await.expect("status after the restart");
    assert_eq!(after.state, DeviceState::Connected);
    assert_eq!(after.message_queue_count, Some(5));
}

#[tokio::test]
async fn restart_server_drops_every_request_for_the_downtime_then_comes_back() {
    let sim = TestSim::start().await;
    sim.action(ALPHA.0, Command::RestartServer)
        .await
        .expect("restart-server is accepted");

    assert!(matches!(
        sim.status(ALPHA.0).await,
        Err(ClientError::Unreachable(_))
    ));
    assert!(matches!(
        sim.action(ALPHA.0, Command::DeleteMessageQueue).await,
        Err(ClientError::Unreachable(_))
    ));
    // Only this project's server restarts.
    assert_eq!(
        sim.status(BRAVO.0).await.map(|s| s.state),
        Ok(DeviceState::Connected)
    );

    tokio::time::sleep(Duration::from_millis(350)).await;
    let after = sim.status(ALPHA.0).await.expect("back after the downtime");
    assert_eq!(after.state, DeviceState::Connected);
    assert_eq!(
        after.message_queue_count,
        Some(5),
        "the dropped command did not run"
    );

    let stats = sim.sim.stats();
    assert_eq!(stats.projects[&ALPHA.1].server_down, 2);
    assert_eq!(
        stats.projects[&ALPHA.1].dropped, 0,
        "downtime is not the rate limit"
    );
}

#[tokio::test]
async fn delete_message_queue_empties_the_queue_only() {
    let sim = TestSim::start().await;
    sim.action(ALPHA.0, Command::DeleteMessageQueue)
        .await
        .expect("accepted");
    let status = sim.status(ALPHA.0).await.expect("status");
    assert_eq!(status.message_queue_count, Some(0));
    assert_eq!(status.state, DeviceState::Connected);
    assert_eq!(status.connected_number.as_deref(), Some("15555550001"));
}

#[tokio::test]
async fn disconnect_unpairs_and_clears_the_number_but_keeps_the_queue() {
    let sim = TestSim::start().await;
    sim.action(ALPHA.0, Command::Disconnect)
        .await
        .expect("accepted");
    let status = sim.status(ALPHA.0).await.expect("status");
    assert_eq!(status.state, DeviceState::Unpaired);
    assert_eq!(status.connected_number, None);
    assert_eq!(status.message_queue_count, Some(5));
}

#[tokio::test]
async fn clearlogs_resets_state_number_and_queue() {
    let sim = TestSim::start().await;
    sim.action(ALPHA.0, Command::Clearlogs)
        .await
        .expect("accepted");
    let status = sim.status(ALPHA.0).await.expect("status");
    assert_eq!(
        (
            status.state,
            status.connected_number,
            status.message_queue_count
        ),
        (DeviceState::Unpaired, None, Some(0))
    );
}

#[tokio::test]
async fn every_command_succeeds_on_an_unpaired_project() {
    let sim = TestSim::start().await;
    for command in [
        Command::Disconnect,
        Command::DeleteMessageQueue,
        Command::Clearlogs,
        Command::Restart,
    ] {
        let outcome = sim.action(UNPAIRED.0, command).await;
        assert!(
            outcome.as_ref().is_ok_and(|o| o.is_success()),
            "{command}: {outcome:?}"
        );
    }
    assert_eq!(
        sim.status(UNPAIRED.0).await.map(|s| s.state),
        Ok(DeviceState::Timeout)
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        sim.status(UNPAIRED.0).await.map(|s| s.state),
        Ok(DeviceState::Unpaired)
    );
    let logged: Vec<Command> = sim
        .project(UNPAIRED.1)
        .recent_commands
        .into_iter()
        .map(|r| r.command)
        .collect();
    assert_eq!(
        logged,
        vec![
            Command::Disconnect,
            Command::DeleteMessageQueue,
            Command::Clearlogs,
            Command::Restart
        ]
    );
}

#[tokio::test]
async fn executed_commands_are_listed_in_the_projects_log() {
    let sim = TestSim::start().await;
    sim.action(BRAVO.0, Command::DeleteMessageQueue)
        .await
        .expect("accepted");
    sim.action(BRAVO.0, Command::Disconnect)
        .await
        .expect("accepted");
    let projects: serde_json::Value = sim
        .http
        .get(sim.control("projects"))
        .send()
        .await
        .expect("the control API answers")
        .json()
        .await
        .expect("JSON");
    let bravo = projects
        .as_array()
        .and_then(|list| list.iter().find(|p| p["project_id"] == BRAVO.1))
        .expect("bravo is listed");
    let commands: Vec<&str> = bravo["recent_commands"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["command"].as_str())
        .collect();
    assert_eq!(commands, ["delete-message-queue", "disconnect"]);
    assert_eq!(bravo["state"], "UNPAIRED");
    let time = bravo["recent_commands"][0]["time"]
        .as_str()
        .expect("a time");
    assert!(time.ends_with("+05:30"), "{time}");
}

#[tokio::test]
async fn the_queue_grows_while_connected_and_only_then() {
    let sim = TestSim::start_with(SimConfig {
        queue_growth_interval: Some(Duration::from_millis(100)),
        ..fast_config()
    })
    .await;
    let before = sim
        .status(BRAVO.0)
        .await
        .expect("status")
        .message_queue_count
        .expect("a count");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let after = sim
        .status(BRAVO.0)
        .await
        .expect("status")
        .message_queue_count
        .expect("a count");
    // 4 intervals passed; allow for a slow scheduler on either side.
    assert!(
        (before + 3..=before + 6).contains(&after),
        "{before} -> {after}"
    );

    let unpaired = sim.status(UNPAIRED.0).await.expect("status");
    assert_eq!(
        unpaired.message_queue_count,
        Some(3),
        "no growth while unpaired"
    );

    sim.action(BRAVO.0, Command::DeleteMessageQueue)
        .await
        .expect("accepted");
    let emptied = sim
        .status(BRAVO.0)
        .await
        .expect("status")
        .message_queue_count;
    assert!(emptied.is_some_and(|q| q <= 1), "{emptied:?}");
}
