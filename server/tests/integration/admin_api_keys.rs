//! API keys through the admin server functions: refused to non-admins, shown once, listed by
//! prefix only, revoked.

use fleet::{
    auth::Actor,
    model::{AuditAction, Role},
};
use reqwest::StatusCode;

use crate::helpers::{audited, call, spawn_app, TestApp};

/// `GET /api/v1/projects` with `key` as the bearer token; the status only.
async fn projects_with_key(app: &TestApp, key: &str) -> StatusCode {
    app.http
        .get(format!("{}/api/v1/projects", app.address))
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_server_functions_refuse_anonymous_callers_and_non_admins() {
    let app = spawn_app().await;
    let admin_id = app
        .fleet
        .user_id_by_name("admin")
        .await
        .expect("lookup")
        .expect("the demo admin");
    let existing = app
        .fleet
        .create_api_key(&Actor::cli(), admin_id, "existing")
        .await
        .expect("a key");
    let key_id = existing.id.to_string();
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("admin_api_keys", vec![]),
        (
            "create_api_key",
            vec![("username", "admin"), ("label", "sneaky")],
        ),
        ("revoke_api_key", vec![("key_id", key_id.as_str())]),
    ];

    let anonymous = app.anonymous();
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let operator = app.signed_in("otto", Role::Operator).await;
    for (endpoint, form) in &calls {
        let (status, body) = call(&anonymous, endpoint, form).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "anonymous {endpoint}: {body}"
        );
        for (who, client) in [("viewer", &viewer), ("operator", &operator)] {
            let (status, body) = call(client, endpoint, form).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} {endpoint}: {body}");
            assert!(!body.contains("pf_"), "{who} {endpoint}: {body}");
        }
    }

    let keys = app.fleet.list_api_keys(&Actor::cli()).await.expect("keys");
    assert_eq!(keys.len(), 1, "nothing created: {keys:?}");
    assert!(keys[0].revoked_at.is_none(), "nothing revoked");
    assert_eq!(projects_with_key(&app, &existing.key).await, StatusCode::OK);
    assert!(audited(&app, AuditAction::ApiKeyCreated).await.is_empty());
    assert!(audited(&app, AuditAction::ApiKeyRevoked).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_an_api_key_that_is_shown_once_and_revokes_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.signed_in("otto", Role::Operator).await;

    // Refused input creates nothing.
    for (case, form) in [
        ("unknown user", [("username", "nobody"), ("label", "job")]),
        ("empty label", [("username", "otto"), ("label", "   ")]),
        ("no user chosen", [("username", ""), ("label", "job")]),
    ] {
        let (status, body) = call(&admin, "create_api_key", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{case}: {body}");
    }
    assert!(app
        .fleet
        .list_api_keys(&Actor::cli())
        .await
        .expect("keys")
        .is_empty());

    // Create: the answer carries the key, and is not to be cached.
    let response = admin
        .post_form(
            "/fn/create_api_key",
            &[("username", "otto"), ("label", " nightly restart job ")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let created: fleet::model::CreatedApiKey = response.json().await.expect("created json");
    assert!(created.key.starts_with(&created.prefix), "{created:?}");
    assert!(created.key.len() > created.prefix.len() + 16, "{created:?}");
    assert_eq!(created.username, "otto");
    assert_eq!(created.label, "nightly restart job");

    // The key works as otto (an operator) on the REST API.
    assert_eq!(projects_with_key(&app, &created.key).await, StatusCode::OK);
    assert_eq!(
        projects_with_key(&app, &format!("{}x", created.key)).await,
        StatusCode::UNAUTHORIZED,
        "a wrong key"
    );

    // Listed with its prefix, never the key; the page shows it the same way.
    let (status, body) = call(&admin, "admin_api_keys", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secret = &created.key[created.prefix.len()..];
    assert!(!body.contains(secret), "the key came back: {body}");
    let keys: Vec<fleet::model::ApiKeyView> = serde_json::from_str(&body).expect("keys json");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].id, created.id);
    assert_eq!(keys[0].prefix, created.prefix);
    assert_eq!(keys[0].username, "otto");
    assert_eq!(keys[0].label, "nightly restart job");
    assert!(keys[0].last_used_at.is_some(), "its use was recorded");
    assert!(keys[0].revoked_at.is_none());
    let html = admin
        .get_page("/admin/users")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        html.contains("API keys")
            && html.contains("Create API key")
            && html.contains(&created.prefix)
            && html.contains("nightly restart job"),
        "the users page lists the key"
    );
    assert!(!html.contains(secret), "the page never shows the key");

    // Revoke: the key stops working at once; revoking again changes nothing.
    let id = created.id.to_string();
    let (status, body) = call(&admin, "revoke_api_key", &[("key_id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        projects_with_key(&app, &created.key).await,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = call(&admin, "revoke_api_key", &[("key_id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "revoking twice: {body}");
    let (status, body) = call(&admin, "revoke_api_key", &[("key_id", "999999")]).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown id: {body}"
    );
    let (_, body) = call(&admin, "admin_api_keys", &[]).await;
    let keys: Vec<fleet::model::ApiKeyView> = serde_json::from_str(&body).expect("keys json");
    assert!(keys[0].revoked_at.is_some(), "{keys:?}");

    for (action, count) in [
        (AuditAction::ApiKeyCreated, 1),
        (AuditAction::ApiKeyRevoked, 1),
    ] {
        let rows = audited(&app, action).await;
        assert_eq!(rows.len(), count, "{action:?}: {rows:?}");
        let detail = rows[0].detail.clone().unwrap_or_default();
        assert!(
            detail.contains("otto") && detail.contains(&created.prefix),
            "{action:?}: {detail}"
        );
        assert!(!detail.contains(secret), "{action:?}: {detail}");
    }
}
