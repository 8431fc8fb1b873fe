//! PostgreSQL going away under a running dashboard, then coming back: meanwhile `/healthz`
//! answers 503, a signed-in page says "Database unavailable, retrying" (503, reloading itself),
//! and a command is refused with a clear 503, sending nothing upstream; afterwards everything
//! works again without a restart, the same session and the poller included.
//!
//! Two ways to lose it: this test's database refusing connections (every session cut), which
//! runs beside the other tests; and the whole PostgreSQL server stopped and started, which
//! would cut every other test off too, so it is `#[ignore]`d and `./x test` runs it alone,
//! after the rest, with `PICKY_FLEET_TEST_POSTGRES_CTL` (the cluster's `pg_ctl`) set.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection as _;

use crate::helpers::{on_postgres, spawn_app, TestApp, UserClient};

/// A dashboard with a signed-in operator's browser and an operator's API key.
struct Watched {
    app: TestApp,
    browser: UserClient,
    key: String,
    project: i64,
}

impl Watched {
    async fn start() -> Self {
        let app = spawn_app().await;
        app.wait_for_first_poll().await;
        let key = app.api_key_for("ops", fleet::model::Role::Operator).await;
        let browser = app.signed_in("olga", fleet::model::Role::Operator).await;
        let project = app.project_id(pickyassist_sim::DEMO_FLEET[0].name);
        Self {
            app,
            browser,
            key,
            project,
        }
    }

    async fn health(&self) -> (u16, serde_json::Value) {
        let response = reqwest::get(format!("{}/healthz", self.app.address))
            .await
            .expect("healthz");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    async fn command(&self) -> (u16, String) {
        let response = self
            .app
            .http
            .post(format!(
                "{}/api/v1/projects/{}/commands",
                self.app.address, self.project
            ))
            .bearer_auth(&self.key)
            .json(&json!({"command": "delete-message-queue"}))
            .send()
            .await
            .expect("command");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// A page as the signed-in browser gets it: status, `Retry-After`, body.
    async fn page(&self, path: &str) -> (u16, Option<String>, String) {
        let response = self
            .browser
            .http
            .get(format!("{}{path}", self.browser.address))
            .send()
            .await
            .expect("page");
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, retry, response.text().await.unwrap_or_default())
    }

    /// Everything says the database is unavailable, and nothing goes upstream.
    async fn says_unavailable(&self) {
        assert_eq!(self.health().await.0, 503);
        for path in ["/", "/audit"] {
            let (status, retry, body) = self.page(path).await;
            assert_eq!(status, 503, "{path}: {body}");
            assert!(retry.is_some(), "{path}: a Retry-After");
            assert!(body.contains("database is unavailable"), "{path}: {body}");
            assert!(body.contains("http-equiv=\"refresh\""), "{path}: {body}");
        }
        let sent_before = self.app.sim_stats().await.totals.device_action;
        let (status, body) = self.command().await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("database is unavailable"), "{body}");
        // The command path itself, past the key check that refused the request above.
        let refused = self
            .app
            .fleet
            .run_command(
                &fleet::auth::Actor::cli(),
                self.project,
                pickyassist::Command::DeleteMessageQueue,
                None,
            )
            .await
            .expect_err("no command without the database");
        let shown = format!("{refused:?}");
        assert_eq!(refused.answer().status.as_u16(), 503, "{shown}");
        assert_eq!(
            self.app.sim_stats().await.totals.device_action,
            sent_before,
            "nothing went upstream"
        );
    }

    /// Healthy again within `within`, polling again, and the same session back on its page.
    async fn has_recovered(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let (status, health) = self.health().await;
            if status == 200 && health["role"] == "poller" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not recovered {within:?} after the database came back: {status} {health}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let sent_before = self.app.sim_stats().await.totals.device_action;
        let (status, body) = self.command().await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""outcome":"success""#), "{body}");
        assert_eq!(
            self.app.sim_stats().await.totals.device_action,
            sent_before + 1
        );
        let (status, _, body) = self.page("/").await;
        assert_eq!(
            status, 200,
            "the same session, back on the fleet page: {body}"
        );
        assert!(body.contains(pickyassist_sim::DEMO_FLEET[0].name));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_database_the_dashboard_refuses_commands_and_recovers_by_itself() {
    if !on_postgres() {
        return;
    }
    let watched = Watched::start().await;
    let database = watched
        .app
        .database
        .url
        .rsplit('/')
        .next()
        .expect("name")
        .to_owned();
    let server = std::env::var("PICKY_FLEET_TEST_POSTGRES").expect("server");
    let mut admin = sqlx::PgConnection::connect(&server).await.expect("admin");
    let mut run = async |sql: String| {
        sqlx::query(&sql)
            .execute(&mut admin)
            .await
            .expect("admin SQL");
    };

    run(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false")).await;
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    ))
    .await;
    watched.says_unavailable().await;

    run(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true")).await;
    watched.has_recovered(Duration::from_secs(20)).await;
}

/// The whole PostgreSQL server stopped (fast shutdown: every connection closed) and started
/// again mid-run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "stops the whole PostgreSQL server: ./x test runs it alone, after the rest"]
async fn the_database_server_stopped_and_started_mid_run_is_survived() {
    let Ok(pg_ctl) = std::env::var("PICKY_FLEET_TEST_POSTGRES_CTL") else {
        panic!("set PICKY_FLEET_TEST_POSTGRES_CTL to the test cluster's pg_ctl command");
    };
    let watched = Watched::start().await;
    let ctl = |action: &'static str| {
        let mut words = pg_ctl.split_whitespace();
        let program = words.next().expect("a command").to_owned();
        let args: Vec<String> = words.map(str::to_owned).collect();
        let how: &[&str] = if action == "stop" {
            &["-m", "fast", "stop"]
        } else {
            &["start"]
        };
        async move {
            let status = tokio::process::Command::new(program)
                .args(args)
                .args(["-w", "-s"])
                .args(how)
                .status()
                .await
                .expect("pg_ctl");
            assert!(status.success(), "pg_ctl {action}: {status}");
        }
    };

    ctl("stop").await;
    watched.says_unavailable().await;
    ctl("start").await;
    watched.has_recovered(Duration::from_secs(30)).await;
}
