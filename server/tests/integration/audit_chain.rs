//! The tamper-evident audit log: every completed row is sealed into a keyed hash chain, and
//! each way of editing the database file is detected and named, by the CLI (`audit verify`),
//! the API (`GET /api/v1/audit/verify`) and the audit page. Old rows are archived to a file
//! with the seal before them, and the kept rows still verify.

use std::path::PathBuf;

use fleet::{
    auth::{Actor, Password},
    crypto::TokenCipher,
    db::{audit::StoredRow, audit_chain},
    model::{AuditAction, ChainProblemKind, ChainReport, Role, Username},
};
use server::config::Settings;
use sqlx::{Connection, SqliteConnection};

use crate::{
    cli::cli,
    helpers::{on_postgres, spawn_app, spawn_app_with, TestApp},
};

/// Rows of every kind: completed changes, a sign-in, and commands (sealed on completion).
async fn some_history(app: &TestApp) {
    for n in 0..4 {
        app.fleet
            .add_user(
                &Actor::cli(),
                Username::parse(&format!("user{n}")).expect("name"),
                Role::Viewer,
                Password::parse("long-enough-password").expect("password"),
            )
            .await
            .expect("add user");
    }
    app.wait_for_first_poll().await;
    let admin = app.admin().await;
    for command in ["restart", "delete-message-queue"] {
        let r = admin
            .http
            .post(format!("{}/api/v1/projects/1/commands", app.address))
            .header("origin", &app.address)
            .json(&serde_json::json!({"command": command}))
            .send()
            .await
            .expect("command");
        assert_eq!(r.status(), 200);
    }
}

/// A consistent copy of the app's database, with its key file beside it.
async fn copy_of(app: &TestApp, name: &str) -> (tempfile::TempDir, Settings) {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join(format!("{name}.db"));
    app.fleet.backup(&Actor::cli(), &db).await.expect("backup");
    std::fs::copy(
        app.data_dir().join("fleet.key"),
        dir.path().join(format!("{name}.key")),
    )
    .expect("key");
    let settings = Settings {
        database_url: format!("sqlite:{}", db.display()),
        ..Settings::default()
    };
    (dir, settings)
}

/// `picky-fleet audit verify` on a copy that must fail: its error message.
async fn verify_fails(settings: &Settings, what: &str) -> String {
    cli(settings, &["audit", "verify"], "")
        .await
        .expect_err(what)
        .to_string()
}

async fn tamper(settings: &Settings, sql: &str) {
    let mut conn = SqliteConnection::connect(&settings.database_url)
        .await
        .expect("open the copy");
    sqlx::raw_sql(sql).execute(&mut conn).await.expect("tamper");
    conn.close().await.expect("close");
}

/// Sealed rows' ids in chain order.
async fn sealed_ids(settings: &Settings) -> Vec<i64> {
    let mut conn = SqliteConnection::connect(&settings.database_url)
        .await
        .expect("open");
    sqlx::query_scalar("SELECT id FROM audit_log WHERE chain_seq IS NOT NULL ORDER BY chain_seq")
        .fetch_all(&mut conn)
        .await
        .expect("ids")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_edit_to_the_file_is_detected_and_names_the_row() {
    if on_postgres() {
        return; // edits a copy of the SQLite file; the live-database edits run on both engines
    }
    let app = spawn_app().await;
    some_history(&app).await;

    // Untouched, the copy verifies (exit code 0).
    let (_clean, settings) = copy_of(&app, "clean").await;
    let out = cli(&settings, &["audit", "verify"], "")
        .await
        .expect("a whole chain verifies");
    assert!(out.starts_with("Audit log verified:"), "{out}");
    let ids = sealed_ids(&settings).await;
    assert!(ids.len() >= 8, "{ids:?}");
    let (a, b, c) = (ids[2], ids[3], ids[4]);

    let cases: Vec<(&str, String, i64)> = vec![
        (
            "one field of one row edited",
            format!("UPDATE audit_log SET actor = 'mallory' WHERE id = {b}"),
            b,
        ),
        (
            "a command's outcome changed",
            "UPDATE audit_log SET outcome = 'rejected' WHERE id = \
             (SELECT MIN(id) FROM audit_log WHERE action = 'command')"
                .to_owned(),
            -1,
        ),
        ("a row deleted", format!("DELETE FROM audit_log WHERE id = {b}"), c),
        (
            "a row inserted",
            "INSERT INTO audit_log (at, actor, action, outcome, completed_at)
             VALUES ('2026-12-01T00:00:00.000Z', 'admin', 'sign_in', 'success', '2026-12-01T00:00:00.000Z')"
                .to_owned(),
            0,
        ),
        (
            "a row inserted with a made-up seal",
            "INSERT INTO audit_log (at, actor, action, outcome, completed_at, chain_seq, chain_hash)
             VALUES ('2026-12-01T00:00:00.000Z', 'admin', 'sign_in', 'success',
                     '2026-12-01T00:00:00.000Z', (SELECT MAX(chain_seq) + 1 FROM audit_log), zeroblob(32))"
                .to_owned(),
            0,
        ),
        (
            "two rows reordered",
            format!(
                "UPDATE audit_log SET id = -1 WHERE id = {a};
                 UPDATE audit_log SET id = {a} WHERE id = {b};
                 UPDATE audit_log SET id = {b} WHERE id = -1;"
            ),
            // The walk meets the first of the two (by seal) under its new id.
            b,
        ),
    ];
    for (what, sql, expected_row) in cases {
        let (_dir, settings) = copy_of(&app, "tampered").await;
        tamper(&settings, &sql).await;
        let error = verify_fails(&settings, what).await;
        assert!(error.contains("broken at row"), "{what}: {error}");
        let row = error
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or_else(|| panic!("{what}: no row in {error:?}"));
        match expected_row {
            // The inserted row: the newest id.
            0 => assert!(row > *ids.iter().max().unwrap(), "{what}: row {row}"),
            -1 => assert!(ids.contains(&row), "{what}: row {row}"),
            expected => assert_eq!(row, expected, "{what}"),
        }
    }
}

async fn verify_via_api(app: &TestApp, key: &str) -> (u16, serde_json::Value) {
    let r = app
        .http
        .get(format!("{}/api/v1/audit/verify", app.address))
        .bearer_auth(key)
        .send()
        .await
        .expect("verify");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_server_reports_the_chain_to_admins_and_on_the_audit_page() {
    let app = spawn_app().await;
    some_history(&app).await;
    let admin_key = app.api_key_for("auditor", Role::Admin).await;
    let operator_key = app.api_key_for("otto", Role::Operator).await;

    let (status, body) = verify_via_api(&app, &operator_key).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = verify_via_api(&app, &admin_key).await;
    assert_eq!(status, 200, "{body}");
    let report: ChainReport = serde_json::from_value(body).expect("report");
    assert!(report.verified, "{report:?}");
    let newest = report.verified_up_to_id.expect("rows");
    let page = app.admin().await.text("/audit").await;
    assert!(
        page.contains(&format!("Chain verified up to row {newest}")),
        "the page shows the last check"
    );

    // The newest rows deleted: the chain that is left is whole, but this server sealed more.
    run_sql(
        &app,
        "DELETE FROM audit_log WHERE chain_seq = (SELECT MAX(chain_seq) FROM audit_log)",
    )
    .await;
    let (_, body) = verify_via_api(&app, &admin_key).await;
    let report: ChainReport = serde_json::from_value(body).expect("report");
    assert!(!report.verified);
    assert_eq!(
        report.problem.as_ref().map(|p| p.kind),
        Some(ChainProblemKind::Truncated),
        "{report:?}"
    );

    // An edit in the live file.
    run_sql(
        &app,
        "UPDATE audit_log SET detail = 'nothing to see' WHERE id = (SELECT MIN(id) FROM audit_log)",
    )
    .await;
    let (_, body) = verify_via_api(&app, &admin_key).await;
    let report: ChainReport = serde_json::from_value(body).expect("report");
    let problem = report.problem.expect("a problem");
    assert_eq!(problem.kind, ChainProblemKind::Altered);
    let page = app.admin().await.text("/audit").await;
    assert!(page.contains("chain is broken"), "the page says so");
    assert!(page.contains(&problem.message), "and where");
}

/// What a hand-rolled check of an archive file needs: the chain key, from the key file (or
/// the configured key, on PostgreSQL).
fn chain_key(app: &TestApp) -> audit_chain::ChainKey {
    match &app.database.secret_key {
        Some(key) => TokenCipher::from_base64(key),
        None => TokenCipher::load_or_create_key_file(&app.data_dir().join("fleet.key")),
    }
    .expect("key")
    .audit_chain_key()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_rows_go_to_an_archive_file_and_the_rest_still_verifies() {
    let archive_dir = tempfile::tempdir().expect("dir");
    let archive: PathBuf = archive_dir.path().to_owned();
    let app = spawn_app_with(move |s| {
        s.audit_retain_days = Some(30);
        s.audit_archive_dir = Some(archive);
    })
    .await;
    some_history(&app).await;
    let before = app.fleet.check_audit_chain().await.expect("check");
    assert!(before.verified);

    // Today nothing is 30 days old.
    let now = chrono::Utc::now();
    assert!(app
        .fleet
        .archive_old_audit_rows(now)
        .await
        .expect("archive")
        .is_empty());
    // 31 days on (the clock is the job's argument; nobody waits a month).
    let steps = app
        .fleet
        .archive_old_audit_rows(now + chrono::Duration::days(31))
        .await
        .expect("archive");
    assert_eq!(steps.len(), 1, "{steps:?}");
    let step = &steps[0];
    assert_eq!(step.rows, before.rows_verified, "every sealed row went");

    // The file: a header with the seal before the rows and the last one, then the rows with
    // their seals, which recompute with the key.
    let text = std::fs::read_to_string(&step.file).expect("archive file");
    let mut lines = text.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("header")).expect("json");
    assert_eq!(header["previous_seal"]["seq"], 0);
    let key = chain_key(&app);
    let mut prev = audit_chain::Seal::GENESIS;
    let mut count = 0;
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line).expect("row json");
        let row: StoredRow = serde_json::from_value(value.clone()).expect("row");
        prev = audit_chain::seal(&key, &prev, &row);
        assert_eq!(value["chain_hash"], hex_of(&prev.hash), "row {}", row.id);
        count += 1;
    }
    assert_eq!(count, step.rows);
    assert_eq!(header["last_seal"]["hash"], hex_of(&prev.hash));

    // The database keeps the archive's own record, and the chain verifies from the anchor.
    let after = app.fleet.check_audit_chain().await.expect("check");
    assert!(after.verified, "{after:?}");
    assert_eq!(after.starts_after_seal, prev.seq);
    let records = app.audit_rows(AuditAction::AuditArchived).await;
    assert_eq!(records.len(), 1);
    assert!(
        records[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains(&step.file.display().to_string()),
        "{records:?}"
    );
    // New rows go on the same chain.
    app.api_key_for("later", Role::Viewer).await;
    let later = app.fleet.check_audit_chain().await.expect("check");
    assert!(later.verified, "{later:?}");
    assert!(later.rows_verified > after.rows_verified);
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The admin CLI is another process writing the same file while the server runs: both seal
/// onto one chain (each batch reads the head under SQLite's write lock), so nothing forks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_server_writing_at_once_keep_one_chain() {
    let app = spawn_app().await;
    let live = Settings {
        database_url: format!("sqlite:{}", app.data_dir().join("fleet.db").display()),
        ..Settings::default()
    };
    let server_side = async {
        for n in 0..6 {
            app.api_key_for(&format!("server{n}"), Role::Viewer).await;
        }
    };
    let cli_side = async {
        for n in 0..3 {
            cli(
                &live,
                &["user", "add", &format!("cli{n}"), "--role", "viewer"],
                "a long enough password\n",
            )
            .await
            .expect("the CLI adds a user beside the server");
        }
    };
    tokio::join!(server_side, cli_side);
    // And the server again after the CLI's rows: its next seal follows theirs.
    app.api_key_for("last", Role::Viewer).await;
    let report = app.fleet.check_audit_chain().await.expect("check");
    assert!(report.verified, "{report:?}");
    assert!(report.rows_verified >= 3 + 6 * 2 + 2, "{report:?}");
}

/// What a hostile reader of the chain tried: each is detected, or refused, and named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_anchors_replayed_upgrades_forged_pending_rows_and_bad_columns_are_caught() {
    if on_postgres() {
        return; // edits copies of the SQLite file, column types included
    }
    let archive_dir = tempfile::tempdir().expect("dir");
    let archive: PathBuf = archive_dir.path().to_owned();
    let app = spawn_app_with(move |s| {
        s.audit_retain_days = Some(30);
        s.audit_archive_dir = Some(archive);
    })
    .await;
    some_history(&app).await;
    let now = chrono::Utc::now();
    app.fleet
        .archive_old_audit_rows(now + chrono::Duration::days(31))
        .await
        .expect("archive");
    for n in 0..4 {
        app.api_key_for(&format!("after{n}"), Role::Viewer).await;
    }
    let ids = {
        let (_dir, settings) = copy_of(&app, "ids").await;
        sealed_ids(&settings).await
    };

    // 1. The oldest kept rows deleted and the anchor moved onto the last of them: the anchor
    //    carries a MAC of its own, so it cannot be moved without the key.
    let (_dir, settings) = copy_of(&app, "anchor").await;
    tamper(
        &settings,
        &format!(
            "UPDATE audit_chain_anchor SET seq = (SELECT chain_seq FROM audit_log WHERE id = {k}),
                                           hash = (SELECT chain_hash FROM audit_log WHERE id = {k});
             DELETE FROM audit_log WHERE chain_seq <= (SELECT seq FROM audit_chain_anchor);",
            k = ids[1]
        ),
    )
    .await;
    let error = verify_fails(&settings, "a moved anchor").await;
    assert!(error.contains("anchor"), "{error}");

    // 2. Rows added by hand with the upgrade's marker replayed: a chain that exists is never
    //    sealed again from the marker, so they stay unsealed (and the CLI seals nothing).
    let (_dir, settings) = copy_of(&app, "replay").await;
    tamper(
        &settings,
        "INSERT INTO audit_log (at, actor, action, outcome, completed_at)
         VALUES ('2026-12-01T00:00:00.000Z', 'admin', 'sign_in', 'success', '2026-12-01T00:00:00.000Z');
         INSERT INTO audit_chain_legacy (up_to_id) SELECT MAX(id) FROM audit_log;",
    )
    .await;
    let error = verify_fails(&settings, "a replayed marker").await;
    assert!(error.contains("broken at row"), "{error}");

    // 3. A column of the wrong type: reported as a changed row, not an error.
    let (_dir, settings) = copy_of(&app, "types").await;
    tamper(
        &settings,
        &format!(
            "UPDATE audit_log SET project_id = 'abc', chain_hash = NULL WHERE id = {}",
            ids[3]
        ),
    )
    .await;
    let error = verify_fails(&settings, "a bad column").await;
    assert!(error.ends_with(&format!("at row {}", ids[3])), "{error}");

    // 4. A pending command row made up by hand: reported, and never sealed as a real command
    //    when pending rows are marked interrupted at the next start.
    run_sql(
        &app,
        "INSERT INTO audit_log (at, actor, action, project_id, command, outcome)
         VALUES ('2026-12-01T00:00:00.000Z', 'admin', 'command', 1, 'disconnect', 'pending')",
    )
    .await;
    let report = app.fleet.check_audit_chain().await.expect("check");
    assert_eq!(
        report.problem.as_ref().map(|p| p.kind),
        Some(ChainProblemKind::Unsealed),
        "{report:?}"
    );
    app.fleet
        .mark_interrupted_commands()
        .await
        .expect("interrupt");
    let report = app.fleet.check_audit_chain().await.expect("check");
    assert!(
        !report.verified,
        "still reported after the restart's marking: {report:?}"
    );
}

/// The newest rows deleted under a running server, then more written: the server keeps the
/// last seal it made and goes on from it, so the gap stays in the chain for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_newest_rows_then_writing_more_leaves_a_gap_for_good() {
    let app = spawn_app().await;
    some_history(&app).await;
    run_sql(
        &app,
        "DELETE FROM audit_log WHERE chain_seq > (SELECT MAX(chain_seq) - 3 FROM audit_log)",
    )
    .await;
    for n in 0..5 {
        app.api_key_for(&format!("later{n}"), Role::Viewer).await;
    }
    let report = app.fleet.check_audit_chain().await.expect("check");
    assert_eq!(
        report.problem.as_ref().map(|p| p.kind),
        Some(ChainProblemKind::Missing),
        "{report:?}"
    );
}

/// Runs SQL on the live database behind the server's back, as someone with access to it could.
async fn run_sql(app: &TestApp, sql: &str) {
    fleet::with_pool!(app.fleet.pool(), p => sqlx::query(sql).execute(p).await.map(drop))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
