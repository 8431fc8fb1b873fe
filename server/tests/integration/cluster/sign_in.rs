//! Sign-in limits on several instances (fleet's `db::sign_in_limits`): an attacker whose
//! guesses a load balancer spreads over two instances gets the limits of one, not twice them.
//!
//! PostgreSQL only, like `cluster`.

use std::time::Duration;

use crate::{
    cluster::{instance_env, the_poller},
    helpers::on_postgres,
    process::{seed, start_sim, ServerProcess},
};

/// What the sign-in form's answer says: the password was checked (and was wrong), or the
/// attempt was refused by a limit before that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    WrongPassword,
    Limited,
}

async fn guess(http: &reqwest::Client, instance: &ServerProcess, username: &str) -> Answer {
    let response = http
        .post(format!("{}/fn/sign_in", instance.address))
        .header("origin", &instance.address)
        .form(&[("username", username), ("password", "not-the-password")])
        .send()
        .await
        .expect("sign-in");
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if location.starts_with("/sign-in?retry_after=") {
        Answer::Limited
    } else {
        assert!(
            location.contains("failed"),
            "{}: {location}",
            response.status()
        );
        Answer::WrongPassword
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_spread_over_two_instances_meet_the_limits_of_one() {
    if !on_postgres() {
        return;
    }
    let sim = start_sim().await;
    let seeded = seed(&sim, 1).await;
    let mut env = instance_env(&sim, &seeded, Duration::from_secs(3600));
    env.push(("PICKY_FLEET_SIGN_IN_PER_USER_PER_MINUTE", "3".into()));
    env.push(("PICKY_FLEET_SIGN_IN_PER_CLIENT_PER_MINUTE", "8".into()));
    let instances: Vec<Option<ServerProcess>> =
        (0..2).map(|_| Some(ServerProcess::start(&env))).collect();
    the_poller(&instances, Duration::from_secs(10)).await;
    let [Some(a), Some(b)] = &instances[..] else {
        unreachable!("two instances")
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    use Answer::{Limited, WrongPassword};

    // One username, turn about. The first guess comes from a clean address and does not count
    // against the name; it marks the address on both instances, so the next three spend the
    // name's 3 a minute, B's among them. Each instance alone would have let all six through.
    let mut answers = Vec::new();
    for n in 0..6 {
        let instance = if n % 2 == 0 { a } else { b };
        answers.push(guess(&http, instance, "admin").await);
    }
    assert_eq!(
        answers,
        [
            WrongPassword,
            WrongPassword,
            WrongPassword,
            WrongPassword,
            Limited,
            Limited
        ],
        "the username's limit across instances"
    );

    // Other names from the same address: it has spent 4 of its 8 a minute (a guess refused
    // by the name's limit spends none of the address's), so four more are checked, then no
    // more, on either instance.
    let mut answers = Vec::new();
    for n in 0..6 {
        let instance = if n % 2 == 0 { b } else { a };
        answers.push(guess(&http, instance, &format!("someone-{n}")).await);
    }
    assert_eq!(
        answers,
        [
            WrongPassword,
            WrongPassword,
            WrongPassword,
            WrongPassword,
            Limited,
            Limited
        ],
        "the address's limit across instances"
    );
}
