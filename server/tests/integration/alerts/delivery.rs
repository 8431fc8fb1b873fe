//! Delivery: a receiver that fails then recovers, two senders on one database, a restart mid-retry.

use super::*;

/// The delivery of `project`'s down alert to the test's channel, once `done` holds for it.
async fn down_delivery_when(
    s: &Setup,
    project: i64,
    within: std::time::Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let alert = s.alert_when(project, |a| a["id"].is_i64()).await;
    let alert_id = alert["id"].as_i64().expect("an alert");
    let deadline = std::time::Instant::now() + within;
    loop {
        let (_, body) = s
            .admin
            .call(Method::GET, &format!("/api/v1/alerts/{alert_id}"), None)
            .await;
        let detail: Value = serde_json::from_str(&body).expect("json");
        let delivery = detail["deliveries"]
            .as_array()
            .expect("deliveries")
            .iter()
            .find(|d| d["channel_id"] == s.channel_id && d["event"] == "down")
            .cloned()
            .unwrap_or(Value::Null);
        if done(&delivery) {
            return delivery;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the down delivery is {delivery}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn attempts(delivery: &Value) -> usize {
    delivery["attempts"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_then_recovers_gets_the_alert_once_and_every_attempt_is_kept() {
    let s = setup().await;
    let green_leaf = s.project(GREEN_LEAF);
    s.receiver.answer(500);
    s.round().await;
    // Each attempt is recorded before the clock moves on: one still on its way would keep
    // the delivery from being due at the next dispatch.
    down_delivery_when(&s, green_leaf, std::time::Duration::from_secs(10), |d| {
        attempts(d) == 1
    })
    .await;
    assert!(s.messages(green_leaf, "down").is_empty());
    s.receiver.answer(0); // now it hangs: the attempt times out, polling goes on
    s.clock.advance(Duration::seconds(31));
    let started = std::time::Instant::now();
    s.round().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "a hanging receiver never holds up a round"
    );
    // The 10 s attempt timeout.
    down_delivery_when(&s, green_leaf, std::time::Duration::from_secs(30), |d| {
        attempts(d) == 2
    })
    .await;
    s.receiver.answer(200);
    s.clock.advance(Duration::minutes(2));
    s.app.fleet.dispatch_due_alerts().await.expect("dispatch");
    let delivery = down_delivery_when(&s, green_leaf, std::time::Duration::from_secs(10), |d| {
        d["status"] == "sent"
    })
    .await;
    // A second copy would come soon after; none does.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(s.messages(green_leaf, "down").len(), 1, "delivered once");
    let attempts = delivery["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert_eq!(attempts[0]["status"], 500);
    assert!(attempts[1]["error"]
        .as_str()
        .is_some_and(|e| e.contains("no answer within 10 s")));
    assert_eq!(attempts[2]["ok"], true);
}

/// Two senders on one database (two instances, or a poller taking over from one that hangs):
/// each attempt is claimed before it is sent, so while one sender waits on a receiver that
/// does not answer, the other sees nothing due and sends nothing. Only when the claim's lease
/// lapses (its sender died, as far as anyone can tell) is the delivery sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sender_on_the_same_database_never_sends_an_alert_already_on_its_way() {
    let s = setup().await;
    let green_leaf = s.project(GREEN_LEAF);
    let settings = server::config::Settings {
        database_url: s.app.database.url.clone(),
        secret_key: s.app.database.secret_key.clone(),
        ..Default::default()
    };
    let (other, database) = server::startup::open_fleet_with_clock(
        &settings,
        &s.app.sim_control,
        Arc::new(s.clock.clone()),
    )
    .await
    .expect("a second sender");
    let downs = |s: &Setup| -> Vec<String> {
        s.receiver
            .requests()
            .iter()
            .filter(|r| r.json()["project"]["id"] == green_leaf && r.json()["event"] == "down")
            .map(|r| {
                r.headers["x-picky-fleet-delivery"]
                    .to_str()
                    .expect("ascii")
                    .to_owned()
            })
            .collect()
    };

    s.receiver.answer(0); // the first sender's attempt hangs
    poller::poll_once(&s.app.fleet).await; // the second failing poll: the alert is queued
    s.app.fleet.dispatch_due_alerts().await.expect("dispatch");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while downs(&s).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first sender sent nothing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    other.dispatch_due_alerts().await.expect("dispatch");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(downs(&s).len(), 1, "the second sender left it alone");

    // Past the lease the delivery is due again, and the other sender takes it.
    s.receiver.answer(200);
    s.clock
        .advance(fleet::service::ATTEMPT_LEASE + Duration::seconds(1));
    other.dispatch_due_alerts().await.expect("dispatch");
    s.receiver
        .wait_for(1, |m| {
            m["project"]["id"] == green_leaf && m["event"] == "down"
        })
        .await;
    let sent = downs(&s);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[0], sent[1],
        "the same delivery, for receivers that drop repeats"
    );
    database.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_retry_sends_the_alert_once_and_keeps_the_alert_open() {
    let s = setup().await;
    let green_leaf = s.project(GREEN_LEAF);
    s.receiver.answer(503);
    s.round().await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    s.receiver.answer(200);
    // A second dashboard on the same database and key, as after a restart, with a clock of
    // its own (the first one's stands still, so it retries nothing meanwhile).
    let later = ManualClock::at(start() + Duration::minutes(5));
    let mut settings = server::config::Settings {
        database_url: s.app.database.url.clone(),
        secret_key: s.app.database.secret_key.clone(),
        status_checks_per_minute: 100_000,
        ..Default::default()
    };
    settings.public_url = Some("https://fleet.example.com".parse().expect("url"));
    let upstream = s.app.sim_control.join("/").expect("url");
    let (restarted, _db) =
        server::startup::open_fleet_with_clock(&settings, &upstream, Arc::new(later.clone()))
            .await
            .expect("the restarted fleet opens");
    restarted.dispatch_due_alerts().await.expect("dispatch");
    s.receiver
        .wait_for(1, |m| {
            m["project"]["id"] == green_leaf && m["event"] == "down"
        })
        .await;
    // Its next round finds the alert already open: no second "down".
    poller::poll_once(&restarted).await;
    restarted.dispatch_due_alerts().await.expect("dispatch");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(s.messages(green_leaf, "down").len(), 1);
    let open = restarted
        .alerts_page(
            &Actor::cli(),
            &fleet::model::AlertQueryText {
                project_id: Some(green_leaf.to_string()),
                ..Default::default()
            },
        )
        .await
        .expect("alerts");
    assert_eq!(open.alerts.len(), 1, "the same alert, not a new one");
}
