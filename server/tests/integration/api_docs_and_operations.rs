//! The API's own description and the operations endpoints: the OpenAPI document matches the
//! routes served, `/healthz` and `/metrics`.

use std::collections::BTreeSet;

use fleet::model::Role;
use pickyassist_sim::DEMO_FLEET;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    api::{client, key_for},
    helpers::spawn_app,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_api_route_and_every_listed_route_is_served() {
    let app = spawn_app().await;
    let anonymous = client(&app, None);
    let (status, text) = anonymous
        .call(Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&text).expect("json");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let served: BTreeSet<String> = [
        "GET /api/v1/projects",
        "POST /api/v1/projects",
        "GET /api/v1/projects/{id}",
        "PATCH /api/v1/projects/{id}",
        "DELETE /api/v1/projects/{id}",
        "POST /api/v1/projects/{id}/refresh",
        "POST /api/v1/projects/{id}/commands",
        "GET /api/v1/projects/{id}/history",
        "GET /api/v1/projects/{id}/changes",
        "GET /api/v1/audit",
        "GET /api/v1/audit.csv",
        "GET /api/v1/audit/verify",
        "GET /api/v1/events",
        "GET /api/v1/users",
        "POST /api/v1/users",
        "PATCH /api/v1/users/{id}",
        "GET /api/v1/api-keys",
        "POST /api/v1/api-keys",
        "DELETE /api/v1/api-keys/{id}",
        "GET /api/v1/alert-channels",
        "POST /api/v1/alert-channels",
        "PATCH /api/v1/alert-channels/{id}",
        "DELETE /api/v1/alert-channels/{id}",
        "POST /api/v1/alert-channels/{id}/test",
        "GET /api/v1/alert-rules",
        "PUT /api/v1/alert-rules/default",
        "PUT /api/v1/alert-rules/{project_id}",
        "DELETE /api/v1/alert-rules/{project_id}",
        "GET /api/v1/projects/{id}/auto-heal",
        "PUT /api/v1/projects/{id}/auto-heal",
        "POST /api/v1/batches",
        "GET /api/v1/batches",
        "GET /api/v1/batches/{id}",
        "POST /api/v1/batches/{id}/cancel",
        "POST /api/v1/batches/{id}/retry",
        "GET /api/v1/alerts",
        "GET /api/v1/alerts/{id}",
        "POST /api/v1/alerts/{id}/acknowledge",
        "GET /api/v1/maintenance-windows",
        "POST /api/v1/maintenance-windows",
        "DELETE /api/v1/maintenance-windows/{id}",
        "PUT /api/v1/projects/{id}/mute",
        "DELETE /api/v1/projects/{id}/mute",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(documented, served);
    // The audit filters are query parameters (a generated client sends them in the URL).
    let audit_params = doc["paths"]["/api/v1/audit"]["get"]["parameters"]
        .as_array()
        .expect("audit parameters");
    assert!(audit_params.len() >= 5, "{audit_params:?}");
    assert!(
        audit_params
            .iter()
            .all(|p| p["in"] == "query" && p["required"] != true),
        "{audit_params:?}"
    );
    // Every documented operation is really routed: anonymous calls get 401, never 404 or 405.
    for operation in &documented {
        let (method, path) = operation.split_once(' ').expect("operation");
        let path = path.replace("{id}", "1").replace("{project_id}", "1");
        let (status, text) = anonymous
            .call(method.parse().expect("method"), &path, None)
            .await;
        assert!(
            status == StatusCode::UNAUTHORIZED
                || (method != "GET" && status == StatusCode::FORBIDDEN),
            "{operation}: {status} {text}"
        );
    }
    // And nothing else answers under /api/v1.
    assert_eq!(
        anonymous
            .call(Method::GET, "/api/v1/nothing-here", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_each_part_and_503_when_one_is_down() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let anonymous = client(&app, None);
    let (status, text) = anonymous.call(Method::GET, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let health: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(health["database"], "ok");
    assert_eq!(health["audit_writer"], "ok");
    assert_eq!(health["poller"]["state"], "ok", "{health}");
    assert!(health["poller"]["last_round_secs_ago"].is_u64(), "{health}");
    // A supervised task being restarted makes the instance unhealthy until it runs again.
    app.fleet.report_task("session_cleanup", false);
    let (status, text) = anonymous.call(Method::GET, "/healthz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    let health: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(health["tasks"]["session_cleanup"], "restarting");
    app.fleet.report_task("session_cleanup", true);
    let (status, _) = anonymous.call(Method::GET, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_upstream_calls_commands_projects_and_event_streams() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let operator = client(&app, Some(key_for(&app, "otto", Role::Operator).await));
    let id = app.project_id(DEMO_FLEET[2].name);
    let (status, _) = operator
        .call(
            Method::POST,
            &format!("/api/v1/projects/{id}/commands"),
            Some(json!({"command": "delete-message-queue"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let events = operator
        .http
        .get(format!("{}/api/v1/events", app.address))
        .bearer_auth(operator.key.as_deref().unwrap_or_default())
        .send()
        .await
        .expect("events");
    assert_eq!(events.status(), StatusCode::OK);

    let (status, text) = client(&app, None).call(Method::GET, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        r#"picky_fleet_commands_total{command="delete-message-queue",outcome="success"}"#,
        r#"picky_fleet_upstream_calls_total{endpoint="device-status",outcome="ok"}"#,
        r#"picky_fleet_upstream_latency_seconds_bucket{endpoint="device-action",outcome="ok""#,
        r#"picky_fleet_projects{state="connected"}"#,
        "picky_fleet_sse_clients",
        "picky_fleet_poll_lag_seconds",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    // Metrics are shared by the tests in this process, so only check what this app adds for sure.
    let sse_clients: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("picky_fleet_sse_clients "))
        .and_then(|v| v.trim().parse().ok())
        .expect("sse gauge");
    assert!(sse_clients >= 1.0, "{sse_clients}");
    drop(events);
}
