use fleet::{
    auth::{Actor, Password},
    model::{AuditAction, AuditFilter, Role, Username},
};
use pickyassist_sim::DEMO_FLEET;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_no_token_in, spawn_app, TestApp};

/// A script's view of the API: a bearer key, or none.
pub struct ApiClient {
    pub http: reqwest::Client,
    pub address: String,
    pub key: Option<String>,
}

impl ApiClient {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, String) {
        let mut request = self.http.request(method, format!("{}{path}", self.address));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        if response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
        {
            return (status, String::new()); // an open stream: the status is the answer
        }
        (status, response.text().await.expect("body"))
    }
}

pub async fn key_for(app: &TestApp, name: &str, role: Role) -> String {
    app.api_key_for(name, role).await
}

pub fn client(app: &TestApp, key: Option<String>) -> ApiClient {
    ApiClient {
        http: reqwest::Client::new(),
        address: app.address.clone(),
        key,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_each_role_as_documented() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let viewer = client(&app, Some(key_for(&app, "vera", Role::Viewer).await));
    let operator = client(&app, Some(key_for(&app, "otto", Role::Operator).await));
    let admin = client(&app, Some(key_for(&app, "ada", Role::Admin).await));
    let revoked_key = key_for(&app, "rex", Role::Admin).await;
    let revoked_id = app
        .fleet
        .list_api_keys(&Actor::cli())
        .await
        .expect("keys")
        .into_iter()
        .find(|k| k.username == "rex")
        .expect("rex")
        .id;
    app.fleet
        .revoke_api_key(&Actor::cli(), revoked_id)
        .await
        .expect("revoke");
    let revoked = client(&app, Some(revoked_key));
    let anonymous = client(&app, None);
    let id = app.project_id(DEMO_FLEET[5].name);
    let p = |suffix: &str| format!("/api/v1/projects/{id}{suffix}");
    let victim = app
        .fleet
        .add_user(
            &Actor::cli(),
            Username::parse("victor").expect("name"),
            Role::Viewer,
            Password::parse("long-enough-password").expect("pw"),
        )
        .await
        .expect("user");
    let spare_key = app
        .fleet
        .create_api_key(&Actor::cli(), victim, "spare")
        .await
        .expect("key")
        .id;

    // (method, path, body, anonymous, viewer, operator, admin); revoked keys always get 401.
    let cases: Vec<(Method, String, Option<Value>, [u16; 4])> = vec![
        (
            Method::GET,
            "/api/v1/projects".into(),
            None,
            [401, 200, 200, 200],
        ),
        (Method::GET, p(""), None, [401, 200, 200, 200]),
        (Method::POST, p("/refresh"), None, [401, 200, 200, 200]),
        (Method::GET, p("/history"), None, [401, 200, 200, 200]),
        (Method::GET, p("/changes"), None, [401, 200, 200, 200]),
        (
            Method::POST,
            p("/commands"),
            Some(json!({"command": "delete-message-queue"})),
            [401, 403, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/audit".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/audit.csv".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/audit/verify".into(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/v1/users".into(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/v1/api-keys".into(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::PATCH,
            p(""),
            Some(json!({"name": "Sunrise Travel"})),
            [401, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/v1/events".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/projects".into(),
            Some(json!({"name": "Fresh", "token": "0123456789abcdef0123456789abcdef"})),
            [401, 403, 403, 201],
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"username": "nora", "role": "viewer", "password": "long-enough-password"})),
            [401, 403, 403, 201],
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{victim}"),
            Some(json!({"role": "operator"})),
            [401, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/v1/api-keys".into(),
            Some(json!({"username": "vera", "label": "matrix"})),
            [401, 403, 403, 201],
        ),
        (
            Method::DELETE,
            format!("/api/v1/api-keys/{spare_key}"),
            None,
            [401, 403, 403, 204],
        ),
        // Last: it removes the project the cases above use.
        (
            Method::DELETE,
            p(""),
            // The PATCH above renamed it.
            Some(json!({"confirm_name": "Sunrise Travel"})),
            [401, 403, 403, 204],
        ),
    ];
    for (method, path, body, expected) in cases {
        for (who, client, want) in [
            ("anonymous", &anonymous, expected[0]),
            ("viewer", &viewer, expected[1]),
            ("operator", &operator, expected[2]),
            ("admin", &admin, expected[3]),
            ("revoked", &revoked, 401),
        ] {
            let (status, text) = client.call(method.clone(), &path, body.clone()).await;
            assert_eq!(status.as_u16(), want, "{who} {method} {path}: {text}");
            assert_no_token_in(&text, &format!("{who} {method} {path}"));
            if !status.is_success() {
                let error: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|_| panic!("{who} {method} {path}: not JSON: {text}"));
                assert!(
                    error["error"]["code"].is_string() && error["error"]["message"].is_string(),
                    "{text}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_through_the_api_returns_its_audit_row_and_outcome() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let operator = client(&app, Some(key_for(&app, "otto", Role::Operator).await));
    let demo = &DEMO_FLEET[3];
    let id = app.project_id(demo.name);
    let (status, text) = operator
        .call(
            Method::POST,
            &format!("/api/v1/projects/{id}/commands"),
            Some(json!({"command": "delete-message-queue"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let result: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(result["outcome"], "success");
    assert_eq!(result["message"], "Success");
    let audit_id = result["audit_id"].as_i64().expect("audit id");
    let rows = app
        .fleet
        .audit_page(
            &Actor::cli(),
            &AuditFilter {
                action: Some(AuditAction::Command),
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .entries;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].id, rows[0].actor.as_str()), (audit_id, "otto"));
    assert_eq!(
        app.sim_project(demo.project_id).await.message_queue_count,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_api_requests_get_clear_errors_and_send_nothing_upstream() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let admin = client(&app, Some(key_for(&app, "ada", Role::Admin).await));
    let id = app.project_id(DEMO_FLEET[0].name);
    let cmd = format!("/api/v1/projects/{id}/commands");
    let cases = [
        (
            Method::POST,
            cmd.clone(),
            Some(json!({"command": "reboot"})),
            422,
            "unknown command",
        ),
        (
            Method::POST,
            cmd.clone(),
            Some(json!({"command": "disconnect"})),
            422,
            "type the project name",
        ),
        (
            Method::POST,
            cmd.clone(),
            Some(json!({"cmd": "restart"})),
            422,
            "command",
        ),
        (
            Method::POST,
            "/api/v1/projects/999999/commands".into(),
            Some(json!({"command": "restart"})),
            404,
            "no project",
        ),
        (
            Method::POST,
            "/api/v1/projects".into(),
            Some(json!({"name": " ", "token": "2fb9da4f0544f6c57883a0122188121f29"})),
            422,
            "empty",
        ),
        (
            Method::POST,
            "/api/v1/projects".into(),
            Some(json!({"name": "New", "token": "short"})),
            422,
            "token",
        ),
        (
            Method::POST,
            "/api/v1/projects".into(),
            Some(
                json!({"name": DEMO_FLEET[1].name, "token": "2fb9da4f0544f6c57883a0122188121f29"}),
            ),
            409,
            "already exists",
        ),
        (
            // One token, one project: the status budget is per token.
            Method::POST,
            "/api/v1/projects".into(),
            Some(json!({"name": "Copy of the first", "token": DEMO_FLEET[0].token})),
            409,
            "already used by the project",
        ),
        (
            Method::PATCH,
            format!("/api/v1/projects/{id}"),
            Some(json!({})),
            422,
            "nothing to change",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"username": "x", "role": "root", "password": "long-enough-password"})),
            422,
            "role",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"username": "x", "role": "viewer", "password": "short"})),
            422,
            "at least 10",
        ),
        (
            Method::GET,
            "/api/v1/audit?limit=501".into(),
            None,
            422,
            "at most 500",
        ),
        (
            Method::GET,
            "/api/v1/audit?action=bogus".into(),
            None,
            422,
            "action",
        ),
        (
            Method::GET,
            "/api/v1/audit?since=yesterday".into(),
            None,
            422,
            "since",
        ),
        (
            Method::DELETE,
            format!("/api/v1/projects/{id}"),
            None,
            422,
            "type the project name",
        ),
        (
            Method::DELETE,
            format!("/api/v1/projects/{id}"),
            Some(json!({"confirm_name": DEMO_FLEET[0].name.to_lowercase()})),
            422,
            "type the project name",
        ),
        (
            Method::DELETE,
            format!("/api/v1/projects/{id}"),
            Some(json!({"name": DEMO_FLEET[0].name})),
            422,
            "confirm_name",
        ),
        (
            Method::POST,
            "/api/v1/projects/abc/commands".into(),
            Some(json!({"command": "restart"})),
            400,
            "whole number",
        ),
        (
            Method::DELETE,
            "/api/v1/api-keys/99999999999999999999".into(),
            None,
            400,
            "whole number",
        ),
    ];
    for (method, path, body, status, message) in cases {
        let (got, text) = admin.call(method.clone(), &path, body.clone()).await;
        assert_eq!(got.as_u16(), status, "{method} {path} {body:?}: {text}");
        let error: Value = serde_json::from_str(&text).expect("errors are JSON");
        assert!(error["error"]["code"].is_string(), "{text}");
        assert!(text.contains(message), "{method} {path}: {text}");
    }
    let no_json = admin
        .http
        .post(format!("{}{cmd}", app.address))
        .bearer_auth(admin.key.as_deref().unwrap_or_default())
        .body("command=restart")
        .send()
        .await
        .expect("request");
    assert_eq!(no_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        app.sim_stats().await.totals.device_action,
        0,
        "nothing was sent upstream"
    );
    let projects = app.fleet.fleet_snapshot().cards.len();
    assert_eq!(projects, DEMO_FLEET.len(), "nothing was added or removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_shown_once_listed_by_prefix_audited_and_revocable() {
    let app = spawn_app().await;
    let admin = client(&app, Some(key_for(&app, "ada", Role::Admin).await));
    app.fleet
        .add_user(
            &Actor::cli(),
            Username::parse("bot").expect("name"),
            Role::Operator,
            Password::parse("long-enough-password").expect("pw"),
        )
        .await
        .expect("user");
    let (status, text) = admin
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"username": "bot", "label": "nightly restarts"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let created: Value = serde_json::from_str(&text).expect("json");
    let key = created["key"].as_str().expect("key").to_owned();
    assert!(key.starts_with(created["prefix"].as_str().expect("prefix")));

    // The only time a key is shown: no cache on the way may keep the answer.
    let another = admin
        .http
        .post(format!("{}/api/v1/api-keys", admin.address))
        .bearer_auth(admin.key.as_deref().unwrap_or_default())
        .json(&json!({"username": "bot", "label": "spare"}))
        .send()
        .await
        .expect("request");
    assert_eq!(another.status(), StatusCode::CREATED);
    assert_eq!(
        another
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );

    let (_, listing) = admin.call(Method::GET, "/api/v1/api-keys", None).await;
    assert!(
        listing.contains("nightly restarts") && !listing.contains(&key),
        "{listing}"
    );

    let bot = client(&app, Some(key.clone()));
    assert_eq!(
        bot.call(Method::GET, "/api/v1/projects", None).await.0,
        StatusCode::OK
    );
    let id = created["id"].as_i64().expect("id");
    assert_eq!(
        admin
            .call(Method::DELETE, &format!("/api/v1/api-keys/{id}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        bot.call(Method::GET, "/api/v1/projects", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    let actions: Vec<AuditAction> = app
        .fleet
        .audit_page(&Actor::cli(), &AuditFilter::default())
        .await
        .expect("audit")
        .entries
        .iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == AuditAction::ApiKeyCreated)
            .count(),
        3,
        "ada's and bot's two keys"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == AuditAction::ApiKeyRevoked)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_with_a_session_cookie_from_another_origin_are_refused() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("otto", Role::Operator).await;
    let id = app.project_id(DEMO_FLEET[0].name);
    for origin in [Some("https://evil.example"), None] {
        let mut request = operator
            .http
            .post(format!("{}/api/v1/projects/{id}/commands", app.address))
            .json(&json!({"command": "restart"}));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.expect("request");
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "origin {origin:?}"
        );
    }
    let same = operator
        .http
        .post(format!("{}/api/v1/projects/{id}/commands", app.address))
        .header("origin", &app.address)
        .json(&json!({"command": "restart"}))
        .send()
        .await
        .expect("request");
    assert_eq!(same.status(), StatusCode::OK);
    assert_eq!(
        app.sim_stats().await.totals.device_action,
        1,
        "only the same-origin command was sent"
    );
}
