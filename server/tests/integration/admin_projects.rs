//! Project administration through the admin server functions and pages, and the role checks
//! every admin server function makes (anonymous callers and non-admins are refused).

use fleet::model::{AuditAction, Role};
use pickyassist_sim::DEMO_FLEET;
use reqwest::StatusCode;

use crate::helpers::{
    assert_no_token_in, audited, call, spawn_app, TestApp, NEW_TOKEN, ROTATED_TOKEN,
};

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
