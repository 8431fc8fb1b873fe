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

/// The database's own limit, asked directly: it refills at its rate, says how long to wait,
/// and takes many parallel attempts of one client (some after failures, some clean) without
/// a deadlock between the client's row and the username's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_limit_refills_at_its_rate_and_takes_parallel_attempts() {
    use fleet::{
        db::sign_in_limits::{take, Attempt, Quotas},
        sign_in_limit::Limited,
    };
    if !on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let database = crate::helpers::test_database(dir.path()).await;
    let db = fleet::db::connect(&database.url).await.expect("connects");
    let pool = db.writer.as_postgres().expect("PostgreSQL").clone();
    let quotas = Quotas {
        per_user: 20,
        per_client: 1_000,
    };
    let after_a_failure = Attempt {
        client: Some("c1"),
        username: "ann",
        failed_here: true,
    };
    for n in 0..20 {
        let taken = take(&pool, &after_a_failure, quotas).await.expect("asks");
        assert!(taken.is_ok(), "attempt {n} of 20 a minute: {taken:?}");
    }
    let refusal = take(&pool, &after_a_failure, quotas)
        .await
        .expect("asks")
        .expect_err("the 21st within a minute is refused");
    assert_eq!(refusal.limited, Limited::Username("ann".into()));
    assert!(
        refusal.wait > Duration::ZERO && refusal.wait <= Duration::from_secs(3),
        "one attempt comes back every 3 s: {:?}",
        refusal.wait
    );
    tokio::time::sleep(refusal.wait + Duration::from_millis(50)).await;
    let taken = take(&pool, &after_a_failure, quotas).await.expect("asks");
    assert!(taken.is_ok(), "refilled after the wait: {taken:?}");

    // A clean client's first attempt skips the username limit; its second, before the first
    // has ended, is under it (so parallel guesses get one past it, not one each).
    let clean = Attempt {
        client: Some("c2"),
        username: "ann",
        failed_here: false,
    };
    assert!(take(&pool, &clean, quotas).await.expect("asks").is_ok());
    let second = take(&pool, &clean, quotas).await.expect("asks");
    assert!(
        matches!(&second, Err(r) if r.limited == Limited::Username("ann".into())),
        "{second:?}"
    );

    // Parallel attempts of one client, mixed: each gets an answer (no deadlock error).
    let answers = futures::future::join_all((0..40).map(|n| {
        let pool = pool.clone();
        async move {
            let attempt = Attempt {
                client: Some("c3"),
                username: if n % 2 == 0 { "bob" } else { "cat" },
                failed_here: n % 3 == 0,
            };
            take(&pool, &attempt, quotas).await
        }
    }))
    .await;
    let mut answered = 0;
    for answer in answers {
        let _refused_or_not = answer.expect("every parallel attempt is answered");
        answered += 1;
    }
    assert_eq!(answered, 40);
}
