//! User administration through the admin server functions: adding, roles, disabling (which
//! ends the user's session) and the last enabled admin.

use fleet::model::{AuditAction, Role};
use reqwest::StatusCode;

use crate::helpers::{audited, call, spawn_app};

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

/// The last-admin rule holds under concurrency: twelve admins demoting (or disabling) every
/// admin at once leave one, not none. The check and the change are one statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_demotions_or_disablings_of_every_admin_leave_one() {
    const ADMINS: usize = 12;
    for disable in [false, true] {
        let app = spawn_app().await;
        let cli = fleet::auth::Actor::cli();
        let mut ids = vec![app
            .fleet
            .user_id_by_name("admin")
            .await
            .expect("lookup")
            .expect("the demo admin")];
        for n in 1..ADMINS {
            ids.push(
                app.fleet
                    .add_user(
                        &cli,
                        fleet::model::Username::parse(&format!("ada-{n}")).expect("name"),
                        Role::Admin,
                        fleet::auth::Password::parse("long-enough-password").expect("password"),
                    )
                    .await
                    .expect("another admin"),
            );
        }
        let changes: Vec<_> = ids
            .iter()
            .map(|&id| {
                let (fleet, cli) = (app.fleet.clone(), cli.clone());
                tokio::spawn(async move {
                    if disable {
                        fleet.set_user_disabled(&cli, id, true).await
                    } else {
                        fleet.set_user_role(&cli, id, Role::Viewer).await
                    }
                })
            })
            .collect();
        let mut refused = 0;
        for change in changes {
            if let Err(fleet::FleetError::Conflict(_)) = change.await.expect("task") {
                refused += 1;
            }
        }
        let enabled_admins = app
            .fleet
            .list_users(&cli)
            .await
            .expect("users")
            .into_iter()
            .filter(|u| u.role == Role::Admin && !u.disabled)
            .count();
        assert_eq!(
            (enabled_admins, refused),
            (1, 1),
            "disable={disable}: one admin is left, the last change refused"
        );
    }
}
