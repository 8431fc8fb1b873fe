//! The admin CLI (`picky-fleet user|project|apikey …`), run in-process against a fresh
//! database: every change is audited as the `cli` actor.

use clap::Parser;
use fleet::{
    auth::Actor,
    model::{AuditAction, AuditFilter},
};
use server::{
    cli::{Cli, Command},
    config::Settings,
};

use crate::helpers::{NEW_TOKEN, ROTATED_TOKEN};

/// Runs one CLI command line against `settings`' database.
pub(crate) async fn cli(settings: &Settings, args: &[&str], stdin: &str) -> anyhow::Result<String> {
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
    // Removing asks for the name again (the service's rule, as on the page and the API).
    let error = cli(
        &settings,
        &["project", "remove", "harbor kiosk"],
        "Harbor\n",
    )
    .await
    .expect_err("the wrong name typed");
    assert!(
        error.to_string().contains("type the project name"),
        "{error}"
    );
    let error = cli(&settings, &["project", "remove", "Harbor Kiosk"], "")
        .await
        .expect_err("nothing typed");
    assert!(error.to_string().contains("project name"), "{error}");
    let out = cli(
        &settings,
        &["project", "remove", "harbor kiosk"],
        "Harbor Kiosk\n",
    )
    .await
    .expect("remove, confirmed at the prompt");
    assert!(out.contains("Removed project Harbor Kiosk"), "{out}");
    let error = cli(
        &settings,
        &["project", "remove", "Harbor Kiosk", "--yes"],
        "",
    )
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
                &AuditFilter {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_remove_with_yes_confirms_without_a_prompt_for_scripts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        database_url: format!("sqlite:{}", dir.path().join("fleet.db").display()),
        ..Settings::default()
    };
    cli(
        &settings,
        &["project", "add", "Spare Kiosk"],
        &format!("{NEW_TOKEN}\n"),
    )
    .await
    .expect("project add");
    let out = cli(
        &settings,
        &["project", "remove", "spare kiosk", "--yes"],
        "",
    )
    .await
    .expect("--yes confirms with the name as stored");
    assert!(out.contains("Removed project Spare Kiosk"), "{out}");
    let out = cli(&settings, &["project", "list"], "")
        .await
        .expect("list");
    assert!(!out.contains("Spare Kiosk"), "{out}");
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
                &AuditFilter {
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

/// A SQLite install with users, keys, commands, history and sealed audit rows, copied into a
/// new PostgreSQL database: every table counts the same, the chain verifies with the same key,
/// a dashboard opened on the copy sees the same fleet, and a second copy into it is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_to_postgres_copies_an_install_whole_and_the_copy_opens() {
    if !crate::helpers::on_postgres() {
        return; // needs a PostgreSQL server to copy into
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite_url = format!("sqlite:{}", dir.path().join("fleet.db").display());
    let app = crate::helpers::spawn_app_with({
        let sqlite_url = sqlite_url.clone();
        move |s| {
            s.database_url = sqlite_url;
            s.secret_key = None;
        }
    })
    .await;
    app.wait_for_first_poll().await;
    app.signed_in("vera", fleet::model::Role::Viewer).await;
    let key = app.api_key_for("ops", fleet::model::Role::Operator).await;
    let project = app.project_id(pickyassist_sim::DEMO_FLEET[0].name);
    let answer = app
        .http
        .post(format!(
            "{}/api/v1/projects/{project}/commands",
            app.address
        ))
        .bearer_auth(&key)
        .json(&serde_json::json!({"command": "delete-message-queue"}))
        .send()
        .await
        .expect("command");
    assert_eq!(answer.status(), 200);
    app.fleet.flush_history().await.expect("history written");

    let target = crate::helpers::test_database(dir.path()).await;
    let settings = Settings::default();
    let out = cli(
        &settings,
        &[
            "migrate-to-postgres",
            "--from",
            &sqlite_url,
            "--to",
            &target.url,
        ],
        "",
    )
    .await
    .expect("the copy");
    assert!(out.contains("every table counts the same"), "{out}");
    assert!(
        out.contains("The audit chain verifies on the copy"),
        "{out}"
    );

    // The copy, opened with the install's key (the key file's contents).
    let key_file = dir.path().join("fleet.key");
    let copy_settings = Settings {
        database_url: target.url.clone(),
        secret_key: Some(std::fs::read_to_string(&key_file).expect("key file")),
        ..Settings::default()
    };
    let upstream = app.sim_control.join("/").expect("url");
    let (copy, database) = server::startup::open_fleet(&copy_settings, &upstream)
        .await
        .expect("the copy opens");
    let names = |fleet: &fleet::Fleet| {
        let view = fleet.fleet_snapshot();
        view.cards
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&copy), names(&app.fleet));
    let everything = AuditFilter {
        limit: fleet::model::PageSize::MAX,
        ..Default::default()
    };
    let rows = |fleet: fleet::Fleet| {
        let everything = everything.clone();
        async move {
            fleet
                .audit_page(&Actor::cli(), &everything)
                .await
                .expect("audit")
                .entries
                .len()
        }
    };
    assert_eq!(rows(copy.clone()).await, rows(app.fleet.clone()).await);
    // New rows go on after the copied ids, and the chain still verifies.
    copy.add_user(
        &Actor::cli(),
        fleet::model::Username::parse("after-copy").expect("name"),
        fleet::model::Role::Viewer,
        fleet::auth::Password::parse("long-enough-password").expect("password"),
    )
    .await
    .expect("a user added to the copy");
    let report = copy.check_audit_chain().await.expect("check");
    assert!(report.verified, "{report:?}");
    database.close().await;

    let error = cli(
        &settings,
        &[
            "migrate-to-postgres",
            "--from",
            &sqlite_url,
            "--to",
            &target.url,
        ],
        "",
    )
    .await
    .expect_err("a second copy into the same database");
    assert!(error.to_string().contains("not empty"), "{error}");
}
