//! The admin server functions (projects, users) and the admin CLI.

use clap::Parser;
use fleet::{
    auth::Actor,
    config::Settings,
    model::{AuditAction, AuditEntry, AuditQuery, Role},
};
use pickyassist_sim::DEMO_FLEET;
use reqwest::StatusCode;
use server::cli::{Cli, Command};

use crate::helpers::{assert_no_token_in, spawn_app, TestApp, UserClient};

/// A token in PickyAssist's format that no demo project uses; its hint is `••••beef`.
const NEW_TOKEN: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9beef";
const ROTATED_TOKEN: &str = "ffeeddccbbaa99887766554433221100c0de";

/// Calls a server function and returns its status and body.
async fn call(client: &UserClient, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = client.post_form(&format!("/api/{endpoint}"), form).await;
    let status = response.status();
    let body = response.text().await.expect("body");
    (status, body)
}

/// Audit rows the demo `admin` left with `action`.
async fn audited(app: &TestApp, action: AuditAction) -> Vec<AuditEntry> {
    app.fleet
        .audit_page(
            &Actor::cli(),
            &AuditQuery {
                action: Some(action),
                actor: Some("admin".into()),
                ..Default::default()
            },
        )
        .await
        .expect("audit page")
        .entries
}

fn card_by_name(app: &TestApp, name: &str) -> Option<fleet::model::ProjectCard> {
    app.fleet
        .fleet_snapshot()
        .cards
        .into_iter()
        .find(|c| c.name == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_server_function_refuses_anonymous_callers_and_non_admins() {
    let app = spawn_app().await;
    let project_id = app.project_id(DEMO_FLEET[0].name).to_string();
    let admin_id = app
        .fleet
        .user_id_by_name("admin")
        .await
        .expect("lookup")
        .expect("the demo admin")
        .to_string();
    let project_id = project_id.as_str();
    let admin_id = admin_id.as_str();
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("admin_projects", vec![]),
        (
            "add_project",
            vec![("name", "Sneaky"), ("token", NEW_TOKEN)],
        ),
        (
            "rename_project",
            vec![("project_id", project_id), ("name", "Sneaky")],
        ),
        (
            "rotate_token",
            vec![("project_id", project_id), ("token", NEW_TOKEN)],
        ),
        (
            "remove_project",
            vec![
                ("project_id", project_id),
                ("confirm_name", DEMO_FLEET[0].name),
            ],
        ),
        ("admin_users", vec![]),
        (
            "add_user",
            vec![
                ("username", "mallory"),
                ("role", "admin"),
                ("password", "mallory-password"),
            ],
        ),
        (
            "set_user_role",
            vec![("user_id", admin_id), ("role", "viewer")],
        ),
        (
            "set_user_disabled",
            vec![("user_id", admin_id), ("disabled", "true")],
        ),
    ];
    let before = app.fleet.fleet_snapshot().cards;

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
            assert_no_token_in(&body, endpoint);
        }
    }

    assert_eq!(
        app.fleet.fleet_snapshot().cards.len(),
        before.len(),
        "no project added or removed"
    );
    assert!(
        card_by_name(&app, DEMO_FLEET[0].name).is_some(),
        "not renamed"
    );
    assert_eq!(
        app.fleet.user_id_by_name("mallory").await.expect("lookup"),
        None,
        "no user added"
    );
    let admin = app.admin().await;
    let (status, _) = call(&admin, "admin_users", &[]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the admin is still an enabled admin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_a_project_whose_token_never_comes_back() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut bodies = Vec::new();

    // Add.
    let (status, body) = call(
        &admin,
        "add_project",
        &[("name", "  Harbor Kiosk "), ("token", NEW_TOKEN)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("••••beef"), "{body}");
    bodies.push(body);
    let card = card_by_name(&app, "Harbor Kiosk").expect("the new project is in the fleet");
    assert_eq!(card.token_hint, "••••beef");
    let id = card.id.to_string();

    let (status, body) = call(&admin, "admin_projects", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("Harbor Kiosk") && body.contains("••••beef"),
        "{body}"
    );
    bodies.push(body);

    // Refused input changes nothing.
    let count = app.fleet.fleet_snapshot().cards.len();
    for (case, form, want) in [
        (
            "empty name",
            vec![("name", "   "), ("token", ROTATED_TOKEN)],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "bad token format",
            vec![("name", "Other"), ("token", "not a token!")],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "short token",
            vec![("name", "Other"), ("token", "abc123")],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "duplicate name (case-insensitive)",
            vec![("name", "harbor kiosk"), ("token", ROTATED_TOKEN)],
            StatusCode::CONFLICT,
        ),
    ] {
        let (status, body) = call(&admin, "add_project", &form).await;
        assert_eq!(status, want, "add with {case}: {body}");
        bodies.push(body);
        assert_eq!(app.fleet.fleet_snapshot().cards.len(), count, "{case}");
    }

    // Rename: a taken name is a conflict, an empty one is invalid, a new one works.
    let (status, body) = call(
        &admin,
        "rename_project",
        &[("project_id", &id), ("name", DEMO_FLEET[0].name)],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = call(
        &admin,
        "rename_project",
        &[("project_id", &id), ("name", " ")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(card_by_name(&app, "Harbor Kiosk").is_some(), "unchanged");
    let (status, body) = call(
        &admin,
        "rename_project",
        &[("project_id", &id), ("name", "Harbor Helpdesk")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    bodies.push(body);
    assert!(card_by_name(&app, "Harbor Helpdesk").is_some());

    // Rotate: a bad token changes nothing, a good one replaces the hint.
    let (status, body) = call(
        &admin,
        "rotate_token",
        &[("project_id", &id), ("token", "short")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = call(
        &admin,
        "rotate_token",
        &[("project_id", &id), ("token", ROTATED_TOKEN)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("••••c0de"), "{body}");
    bodies.push(body);
    assert_eq!(
        card_by_name(&app, "Harbor Helpdesk")
            .expect("card")
            .token_hint,
        "••••c0de"
    );

    // Remove: the name must be typed exactly.
    for wrong in ["", "Harbor", "Harbor Kiosk"] {
        let (status, body) = call(
            &admin,
            "remove_project",
            &[("project_id", &id), ("confirm_name", wrong)],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "confirmation {wrong:?}: {body}"
        );
        assert!(card_by_name(&app, "Harbor Helpdesk").is_some(), "{wrong:?}");
    }
    let (status, body) = call(
        &admin,
        "remove_project",
        &[("project_id", &id), ("confirm_name", "Harbor Helpdesk")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    bodies.push(body);
    assert!(card_by_name(&app, "Harbor Helpdesk").is_none(), "removed");
    let (status, body) = call(
        &admin,
        "remove_project",
        &[("project_id", &id), ("confirm_name", "Harbor Helpdesk")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "removing twice: {body}");

    for body in &bodies {
        for token in [NEW_TOKEN, ROTATED_TOKEN] {
            assert!(!body.contains(token), "a token came back: {body}");
            assert!(
                !body.contains(&token[..20]),
                "part of a token came back: {body}"
            );
        }
        assert_no_token_in(body, "admin responses");
    }

    // One audit row per change, none for the refused ones.
    for action in [
        AuditAction::ProjectAdded,
        AuditAction::ProjectRenamed,
        AuditAction::ProjectTokenRotated,
        AuditAction::ProjectRemoved,
    ] {
        let rows = audited(&app, action).await;
        assert_eq!(rows.len(), 1, "{action:?}: {rows:?}");
        assert_eq!(rows[0].project_id, Some(card.id), "{action:?}");
        let detail = rows[0].detail.clone().unwrap_or_default();
        assert!(
            !detail.contains(&NEW_TOKEN[..8]) && !detail.contains(&ROTATED_TOKEN[..8]),
            "{action:?}: {detail}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_users_and_a_disabled_user_loses_their_session() {
    let app = spawn_app().await;
    let admin = app.admin().await;

    // Add, with the checks on the way in.
    for (case, form, want) in [
        (
            "short password",
            [
                ("username", "paula"),
                ("role", "operator"),
                ("password", "too-short"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "unknown role",
            [
                ("username", "paula"),
                ("role", "root"),
                ("password", "long enough password"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "bad username",
            [
                ("username", "<paula>"),
                ("role", "viewer"),
                ("password", "long enough password"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "taken username",
            [
                ("username", "ADMIN"),
                ("role", "viewer"),
                ("password", "long enough password"),
            ],
            StatusCode::CONFLICT,
        ),
    ] {
        let (status, body) = call(&admin, "add_user", &form).await;
        assert_eq!(status, want, "{case}: {body}");
        assert!(!body.contains("long enough password"), "{case}: {body}");
    }
    assert_eq!(
        app.fleet.user_id_by_name("paula").await.expect("lookup"),
        None
    );
    let (status, body) = call(
        &admin,
        "add_user",
        &[
            ("username", "paula"),
            ("role", "viewer"),
            ("password", "paulas long password"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.contains("paulas long password"), "{body}");
    let paula_id = app
        .fleet
        .user_id_by_name("paula")
        .await
        .expect("lookup")
        .expect("paula exists");
    let paula = app.anonymous();
    let response = paula.sign_in("paula", "paulas long password").await;
    assert!(
        response.status().is_success() || response.status().is_redirection(),
        "paula signs in: {}",
        response.status()
    );

    // Change the role.
    let (status, body) = call(
        &admin,
        "set_user_role",
        &[("user_id", &paula_id.to_string()), ("role", "operator")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&admin, "admin_users", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let users: Vec<fleet::model::UserView> = serde_json::from_str(&body).expect("users json");
    let listed = users
        .iter()
        .find(|u| u.id == paula_id)
        .expect("paula listed");
    assert_eq!(listed.role, Role::Operator);
    assert!(!listed.disabled);
    assert!(!body.contains("argon2"), "no password hashes: {body}");

    // Disable: her open session stops working at once; enable again.
    let (status, _) = call(&paula, "fleet", &[]).await;
    assert_eq!(status, StatusCode::OK, "paula's session works");
    let (status, body) = call(
        &admin,
        "set_user_disabled",
        &[("user_id", &paula_id.to_string()), ("disabled", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&paula, "fleet", &[]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled user's session: {body}"
    );
    let (status, body) = call(
        &admin,
        "set_user_disabled",
        &[("user_id", &paula_id.to_string()), ("disabled", "false")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for action in [
        AuditAction::UserAdded,
        AuditAction::UserRoleChanged,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
    ] {
        let rows = audited(&app, action).await;
        assert_eq!(rows.len(), 1, "{action:?}: {rows:?}");
        assert!(
            rows[0]
                .detail
                .as_deref()
                .unwrap_or_default()
                .contains("paula"),
            "{action:?}: {rows:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_enabled_admin_cannot_be_demoted_or_disabled() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let admin_id = app
        .fleet
        .user_id_by_name("admin")
        .await
        .expect("lookup")
        .expect("the demo admin")
        .to_string();
    let (status, body) = call(
        &admin,
        "set_user_role",
        &[("user_id", &admin_id), ("role", "operator")],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "demote: {body}");
    assert!(body.contains("last enabled admin"), "{body}");
    let (status, body) = call(
        &admin,
        "set_user_disabled",
        &[("user_id", &admin_id), ("disabled", "true")],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "disable: {body}");

    let (status, body) = call(&admin, "admin_users", &[]).await;
    assert_eq!(status, StatusCode::OK, "still an admin: {body}");
    assert!(audited(&app, AuditAction::UserRoleChanged).await.is_empty());
    assert!(audited(&app, AuditAction::UserDisabled).await.is_empty());

    // With a second admin, the first may step down.
    app.signed_in("ada", Role::Admin).await;
    let (status, body) = call(
        &admin,
        "set_user_role",
        &[("user_id", &admin_id), ("role", "operator")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_pages_render_on_the_server_for_admins_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let html = admin
        .get_page("/admin/projects")
        .await
        .text()
        .await
        .expect("body");
    for demo in DEMO_FLEET {
        assert!(html.contains(demo.name), "{} listed", demo.name);
    }
    assert!(html.contains("••••"), "token hints shown");
    assert!(
        html.contains(r#"type="password""#),
        "token inputs are password fields"
    );
    assert_no_token_in(&html, "projects page");
    let html = admin
        .get_page("/admin/users")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        html.contains("Add user") && html.contains("admin"),
        "users page"
    );
    assert!(!html.contains("argon2"), "no password hashes");

    let viewer = app.signed_in("vera", Role::Viewer).await;
    let html = viewer
        .get_page("/admin/users")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        html.contains("may not manage users"),
        "viewers get an explanation"
    );
    assert!(!html.contains("Add user"), "and no forms");
}

/// Runs one CLI command line against `settings`' database.
async fn cli(settings: &Settings, args: &[&str], stdin: &str) -> anyhow::Result<String> {
    let parsed = Cli::try_parse_from(std::iter::once("picky-fleet").chain(args.iter().copied()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(Command::Admin(command)) = parsed.command else {
        panic!("{args:?} is not an admin command");
    };
    let mut out = Vec::new();
    server::cli::run(settings, command, &mut stdin.as_bytes(), &mut out).await?;
    Ok(String::from_utf8(out).expect("utf-8 output"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_manages_users_and_projects_as_the_audited_cli_actor() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        database_url: format!("sqlite:{}", dir.path().join("fleet.db").display()),
        ..Settings::default()
    };

    let out = cli(
        &settings,
        &["user", "add", "alice", "--role", "operator"],
        "alices long password\n",
    )
    .await
    .expect("user add");
    assert!(out.contains("Added user alice as operator"), "{out}");
    let error = cli(
        &settings,
        &["user", "add", "bob", "--role", "viewer"],
        "short\n",
    )
    .await
    .expect_err("a short password");
    assert!(
        error.to_string().contains("at least 10 characters"),
        "{error}"
    );
    let error = cli(&settings, &["user", "add", "bob", "--role", "viewer"], "")
        .await
        .expect_err("no password");
    assert!(error.to_string().contains("stdin"), "{error}");
    let out = cli(&settings, &["user", "list"], "")
        .await
        .expect("user list");
    assert!(
        out.contains("alice") && out.contains("operator") && out.contains("enabled"),
        "{out}"
    );
    assert!(!out.contains("bob") && !out.contains("argon2"), "{out}");

    let out = cli(
        &settings,
        &["project", "add", "Harbor Kiosk"],
        &format!("{NEW_TOKEN}\n"),
    )
    .await
    .expect("project add");
    assert!(
        out.contains("••••beef") && !out.contains(NEW_TOKEN),
        "{out}"
    );
    let error = cli(&settings, &["project", "add", "Other"], "not a token\n")
        .await
        .expect_err("a bad token");
    assert!(error.to_string().contains("token"), "{error}");
    let out = cli(&settings, &["project", "list"], "")
        .await
        .expect("project list");
    assert!(
        out.contains("Harbor Kiosk") && out.contains("••••beef"),
        "{out}"
    );
    assert!(
        !out.contains(&NEW_TOKEN[..8]) && !out.contains("Other"),
        "{out}"
    );
    let out = cli(
        &settings,
        &["project", "rotate-token", "harbor kiosk"],
        &format!("{ROTATED_TOKEN}\n"),
    )
    .await
    .expect("rotate");
    assert!(
        out.contains("••••c0de") && !out.contains(ROTATED_TOKEN),
        "{out}"
    );

    cli(&settings, &["user", "disable", "alice"], "")
        .await
        .expect("disable");
    cli(&settings, &["user", "enable", "alice"], "")
        .await
        .expect("enable");
    let error = cli(&settings, &["user", "disable", "nobody"], "")
        .await
        .expect_err("an unknown user");
    assert_eq!(error.to_string(), "there is no user named \"nobody\"");
    cli(&settings, &["project", "remove", "Harbor Kiosk"], "")
        .await
        .expect("remove");
    let error = cli(&settings, &["project", "remove", "Harbor Kiosk"], "")
        .await
        .expect_err("removed already");
    assert!(error.to_string().contains("no project named"), "{error}");

    // Every change is in the audit log as "cli", and no demo data was seeded.
    let upstream = url::Url::parse("http://127.0.0.1:9/").expect("url");
    let (fleet, database) = server::startup::open_fleet(&settings, &upstream)
        .await
        .expect("reopen");
    assert!(fleet.fleet_snapshot().cards.is_empty(), "no demo fleet");
    let users = fleet.list_users(&Actor::cli()).await.expect("users");
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["alice"],
        "no demo admin either"
    );
    for action in [
        AuditAction::UserAdded,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
        AuditAction::ProjectAdded,
        AuditAction::ProjectTokenRotated,
        AuditAction::ProjectRemoved,
    ] {
        let rows = fleet
            .audit_page(
                &Actor::cli(),
                &AuditQuery {
                    action: Some(action),
                    ..Default::default()
                },
            )
            .await
            .expect("audit")
            .entries;
        assert_eq!(rows.len(), 1, "{action:?}: {rows:?}");
        assert_eq!(rows[0].actor, "cli", "{action:?}");
    }
    database.close().await;
}

// ---------- API keys ----------

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
            "/api/create_api_key",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_creates_lists_and_revokes_api_keys_as_the_audited_cli_actor() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        database_url: format!("sqlite:{}", dir.path().join("fleet.db").display()),
        ..Settings::default()
    };
    cli(
        &settings,
        &["user", "add", "deploy-bot", "--role", "operator"],
        "deploy bot password\n",
    )
    .await
    .expect("user add");

    let error = cli(&settings, &["apikey", "create", "--user", "nobody"], "")
        .await
        .expect_err("an unknown user");
    assert_eq!(error.to_string(), "there is no user named \"nobody\"");
    let key = cli(
        &settings,
        &[
            "apikey",
            "create",
            "--user",
            "deploy-bot",
            "--label",
            "nightly restart job",
        ],
        "",
    )
    .await
    .expect("apikey create");
    let key = key.trim_end().to_owned();
    assert!(
        key.starts_with("pf_") && !key.contains(char::is_whitespace),
        "only the key on stdout: {key:?}"
    );
    let default_label = cli(&settings, &["apikey", "create", "--user", "deploy-bot"], "")
        .await
        .expect("apikey create without a label");
    let prefix = &key[..11];
    let secret = &key[11..];

    let list = cli(&settings, &["apikey", "list"], "")
        .await
        .expect("apikey list");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    let line = lines
        .iter()
        .find(|l| l.contains(prefix))
        .unwrap_or_else(|| panic!("{prefix} listed: {list}"));
    assert!(
        line.contains("deploy-bot")
            && line.contains("\"nightly restart job\"")
            && line.contains("never")
            && line.ends_with("active"),
        "{line}"
    );
    assert!(list.contains("created with the CLI"), "{list}");
    assert!(
        !list.contains(secret) && !list.contains(&default_label.trim()[11..]),
        "{list}"
    );

    // Revoke by the id the list shows.
    let id = line.split_whitespace().next().expect("an id").to_owned();
    let out = cli(&settings, &["apikey", "revoke", &id], "")
        .await
        .expect("apikey revoke");
    assert!(out.contains("Revoked") && out.contains(prefix), "{out}");
    let out = cli(&settings, &["apikey", "revoke", &id], "")
        .await
        .expect("revoking twice");
    assert!(out.contains("revoked already"), "{out}");
    let error = cli(&settings, &["apikey", "revoke", "999999"], "")
        .await
        .expect_err("an unknown id");
    assert!(error.to_string().contains("no API key with id"), "{error}");
    let list = cli(&settings, &["apikey", "list"], "")
        .await
        .expect("apikey list");
    assert!(
        list.lines()
            .any(|l| l.contains(prefix) && l.contains("revoked ")),
        "{list}"
    );

    // Audited as "cli"; the revoked key no longer authenticates.
    let upstream = url::Url::parse("http://127.0.0.1:9/").expect("url");
    let (fleet, database) = server::startup::open_fleet(&settings, &upstream)
        .await
        .expect("reopen");
    assert!(
        fleet
            .actor_for_api_key(&key)
            .await
            .expect("lookup")
            .is_none(),
        "revoked"
    );
    assert!(
        fleet
            .actor_for_api_key(default_label.trim())
            .await
            .expect("lookup")
            .is_some(),
        "the other key still works"
    );
    for (action, count) in [
        (AuditAction::ApiKeyCreated, 2),
        (AuditAction::ApiKeyRevoked, 1),
    ] {
        let rows = fleet
            .audit_page(
                &Actor::cli(),
                &AuditQuery {
                    action: Some(action),
                    ..Default::default()
                },
            )
            .await
            .expect("audit")
            .entries;
        assert_eq!(rows.len(), count, "{action:?}: {rows:?}");
        for row in &rows {
            assert_eq!(row.actor, "cli", "{action:?}");
            assert!(
                !row.detail.as_deref().unwrap_or_default().contains(secret),
                "{action:?}: {row:?}"
            );
        }
    }
    database.close().await;
}
