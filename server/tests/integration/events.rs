//! The event stream ends within seconds once its caller loses access: a revoked key, a
//! disabled user, a signed-out session. It stays open while the caller may read it.

use std::time::Duration;

use fleet::{
    auth::{Actor, Password},
    model::{Role, Username},
};

use crate::helpers::{spawn_app, TestApp};

/// Longer than the stream's recheck interval (2 s) plus the time to notice.
const LOSES_ACCESS_WITHIN: Duration = Duration::from_secs(6);

/// True when the stream's body ends within `limit`.
async fn ends_within(mut stream: reqwest::Response, limit: Duration) -> bool {
    tokio::time::timeout(limit, async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await
    .is_ok()
}

async fn user(app: &TestApp, name: &str) -> i64 {
    app.fleet
        .add_user(
            &Actor::cli(),
            Username::parse(name).expect("name"),
            Role::Viewer,
            Password::parse("long-enough-password").expect("password"),
        )
        .await
        .expect("user")
}

async fn open_with_key(app: &TestApp, key: &str) -> reqwest::Response {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/events", app.address))
        .bearer_auth(key)
        .send()
        .await
        .expect("stream");
    assert_eq!(response.status(), 200);
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_soon_after_its_api_key_is_revoked_and_not_before() {
    let app = spawn_app().await;
    let owner = user(&app, "kim").await;
    let key = app
        .fleet
        .create_api_key(&Actor::cli(), owner, "watcher")
        .await
        .expect("key");
    let mut stream = open_with_key(&app, &key.key).await;
    // Open across more than one recheck while the key is good.
    let ended_early = tokio::time::timeout(Duration::from_secs(3), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(
        ended_early.is_err(),
        "the stream stays open while its key is valid"
    );
    app.fleet
        .revoke_api_key(&Actor::cli(), key.id)
        .await
        .expect("revoke");
    assert!(
        ends_within(stream, LOSES_ACCESS_WITHIN).await,
        "revoked key"
    );
    let again = reqwest::Client::new()
        .get(format!("{}/api/v1/events", app.address))
        .bearer_auth(&key.key)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 401, "a revoked key opens no new stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_soon_after_its_user_is_disabled() {
    let app = spawn_app().await;
    let owner = user(&app, "dana").await;
    let key = app
        .fleet
        .create_api_key(&Actor::cli(), owner, "watcher")
        .await
        .expect("key");
    let stream = open_with_key(&app, &key.key).await;
    app.fleet
        .set_user_disabled(&Actor::cli(), owner, true)
        .await
        .expect("disable");
    assert!(
        ends_within(stream, LOSES_ACCESS_WITHIN).await,
        "disabled user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_stream_ends_soon_after_its_session_signs_out() {
    let app = spawn_app().await;
    let browser = app.signed_in("sol", Role::Viewer).await;
    let stream = browser
        .http
        .get(format!("{}/api/v1/events", browser.address))
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), 200);
    browser.post_form("/fn/sign_out", &[]).await;
    assert!(ends_within(stream, LOSES_ACCESS_WITHIN).await, "signed out");
}
