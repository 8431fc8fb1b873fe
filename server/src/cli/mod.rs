//! The admin command line: `picky-fleet user …`, `picky-fleet project …`,
//! `picky-fleet apikey …`, `audit verify`, `backup` and `migrate-to-postgres`.
//!
//! Every command opens the same database and key as the server (from the same environment
//! variables), acts as the `cli` actor so each change is audited, and never talks to
//! PickyAssist. Secrets (passwords, tokens) are read from stdin, never from arguments, so they
//! stay out of shell history and `ps`.

use std::io::{BufRead, Write};

use anyhow::Context;
use fleet::{
    auth::{Actor, Password},
    model::{ProjectName, Role, Username},
    Fleet, FleetError,
};
use pickyassist::ApiToken;
use url::Url;

use crate::config::Settings;

mod args;

pub use args::{
    AdminCommand, ApiKeyCommand, AuditCommand, Cli, Command, ProjectCommand, RoleArg, UserCommand,
};

/// The binary's entry point for admin commands: settings from the environment, secrets from
/// stdin, results to stdout, a one-line error to stderr and exit code 1 on failure.
pub async fn main(command: AdminCommand) -> std::process::ExitCode {
    init_logging();
    let result = match Settings::from_env() {
        Ok(settings) => {
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            run(&settings, command, &mut stdin.lock(), &mut stdout.lock()).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("picky-fleet: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Opens the database and key named by `settings` and runs one admin command. Nothing is
/// started: no HTTP server, no poller, no simulator, no demo data.
pub async fn run(
    settings: &Settings,
    command: AdminCommand,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if let AdminCommand::MigrateToPostgres { from, to } = &command {
        return migrate_to_postgres(settings, from, to, out).await;
    }
    // Admin commands never call upstream; the client only has to exist.
    let upstream = match &settings.upstream_url {
        Some(url) => url.clone(),
        None => Url::parse("http://127.0.0.1:9/").context("the placeholder upstream URL")?,
    };
    let (fleet, database) = crate::startup::open_fleet(settings, &upstream).await?;
    let result = execute(&fleet, command, input, out).await;
    database.close().await;
    result
}

/// Copies a SQLite install into PostgreSQL (`fleet::db::copy`), then checks the copy's audit
/// chain with the install's key.
async fn migrate_to_postgres(
    settings: &Settings,
    from: &str,
    to: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if fleet::db::is_postgres_url(from) || !fleet::db::is_postgres_url(to) {
        anyhow::bail!("--from must be a sqlite: URL and --to a postgres:// URL");
    }
    let source = Settings {
        database_url: from.to_owned(),
        ..settings.clone()
    };
    // The key that sealed the audit log: the same one must open the copy.
    let cipher = match (&settings.secret_key, source.database_path()) {
        (Some(key), _) => fleet::crypto::TokenCipher::from_base64(key)?,
        (None, Some(path)) => {
            let key_file = path.with_extension("key");
            if !key_file.exists() {
                anyhow::bail!(
                    "no key file at {}: set PICKY_FLEET_SECRET_KEY to the install's key",
                    key_file.display()
                );
            }
            fleet::crypto::TokenCipher::load_or_create_key_file(&key_file)?
        }
        (None, None) => anyhow::bail!("an in-memory database has nothing to copy"),
    };
    let (from_db, to_db) = (
        fleet::db::connect(from).await?,
        fleet::db::connect(to).await?,
    );
    let (Some(sqlite), Some(postgres)) = (from_db.writer.as_sqlite(), to_db.writer.as_postgres())
    else {
        anyhow::bail!("--from must be SQLite and --to PostgreSQL");
    };
    let report = fleet::db::copy::sqlite_to_postgres(sqlite, postgres).await?;
    for (table, rows) in &report.tables {
        writeln!(out, "{table:<22} {rows:>9} rows")?;
    }
    let chain =
        fleet::db::audit_chain::verify(&to_db.reader, &cipher.audit_chain_key(), None).await?;
    from_db.close().await;
    to_db.close().await;
    writeln!(
        out,
        "Copied {} rows into {}; every table counts the same on both sides.",
        report.total(),
        fleet::db::shown_url(to)
    )?;
    if !chain.verified {
        anyhow::bail!(
            "the copy's audit chain does not verify: {}",
            chain.problem.map(|p| p.message).unwrap_or_default()
        );
    }
    writeln!(
        out,
        "The audit chain verifies on the copy ({} rows). Start the dashboard with \
         PICKY_FLEET_DATABASE_URL set to the PostgreSQL URL and the same key.",
        chain.rows_verified
    )?;
    Ok(())
}

/// Runs one admin command against an open fleet, as the `cli` actor.
pub async fn execute(
    fleet: &Fleet,
    command: AdminCommand,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let cli = Actor::cli();
    match command {
        AdminCommand::Backup { path } => {
            fleet.backup(&cli, &path).await.map_err(human)?;
            writeln!(
                out,
                "Wrote a consistent copy of the database to {}.",
                path.display()
            )?;
            writeln!(
                out,
                "The project tokens in it are encrypted: keep the key (the .key file next to the \
                 database, or PICKY_FLEET_SECRET_KEY) safe as well, but not beside the copy."
            )?;
        }
        // Handled in `run`, before any fleet is opened: it opens two databases of its own.
        AdminCommand::MigrateToPostgres { .. } => {
            anyhow::bail!("migrate-to-postgres runs on its own, not against an open fleet")
        }
        AdminCommand::Audit(AuditCommand::Verify) => {
            let report = fleet.verify_audit_chain(&cli).await.map_err(human)?;
            let up_to = report
                .verified_up_to_id
                .map_or_else(|| "no rows yet".to_owned(), |id| format!("up to row {id}"));
            let archived = if report.starts_after_seal > 0 {
                format!(
                    ", starting after archived seal {}",
                    report.starts_after_seal
                )
            } else {
                String::new()
            };
            match &report.problem {
                None => writeln!(
                    out,
                    "Audit log verified: {} sealed rows, {up_to}{archived}; {} pending ({} ms).",
                    report.rows_verified, report.pending_rows, report.duration_ms
                )?,
                Some(problem) => {
                    writeln!(
                        out,
                        "Audit log BROKEN: {}.\nVerified before it: {} rows, {up_to}{archived}.",
                        problem.message, report.rows_verified
                    )?;
                    anyhow::bail!(
                        "{}: the audit log's chain is broken{}",
                        problem.message,
                        problem
                            .row_id
                            .map(|id| format!(" at row {id}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        AdminCommand::User(UserCommand::Add { name, role }) => {
            let username = Username::parse(&name).map_err(anyhow::Error::msg)?;
            let password = read_line(input, "password")?;
            let password = Password::parse(&password).map_err(human)?;
            let role = Role::from(role);
            fleet
                .add_user(&cli, username.clone(), role, password)
                .await
                .map_err(human)?;
            writeln!(
                out,
                "Added user {} as {}.",
                username.as_str(),
                role.as_str()
            )?;
        }
        AdminCommand::User(UserCommand::List) => {
            let users = fleet.list_users(&cli).await.map_err(human)?;
            if users.is_empty() {
                writeln!(out, "No users.")?;
            }
            let width = users.iter().map(|u| u.username.len()).max().unwrap_or(0);
            for user in users {
                writeln!(
                    out,
                    "{:<width$}  {:<8}  {:<8}  created {}",
                    user.username,
                    user.role.as_str(),
                    if user.disabled { "disabled" } else { "enabled" },
                    user.created_at,
                )?;
            }
        }
        AdminCommand::User(UserCommand::Disable { name }) => {
            let id = user_id(fleet, &name).await?;
            fleet
                .set_user_disabled(&cli, id, true)
                .await
                .map_err(human)?;
            writeln!(
                out,
                "Disabled user {}; their sessions stop working now.",
                name.trim()
            )?;
        }
        AdminCommand::User(UserCommand::Enable { name }) => {
            let id = user_id(fleet, &name).await?;
            fleet
                .set_user_disabled(&cli, id, false)
                .await
                .map_err(human)?;
            writeln!(out, "Enabled user {}.", name.trim())?;
        }
        AdminCommand::Project(ProjectCommand::Add { name }) => {
            let name = ProjectName::parse(&name)?;
            let token = ApiToken::parse(&read_line(input, "API token")?)?;
            let hint = token.last4();
            fleet
                .add_project(&cli, name.clone(), token)
                .await
                .map_err(human)?;
            writeln!(out, "Added project {name} (token ••••{hint}).")?;
            writeln!(out, "{RESTART_NOTE}")?;
        }
        AdminCommand::Project(ProjectCommand::List) => {
            let projects = fleet.list_projects(&cli).map_err(human)?;
            if projects.is_empty() {
                writeln!(out, "No projects.")?;
            }
            let width = projects
                .iter()
                .map(|p| p.name.chars().count())
                .max()
                .unwrap_or(0);
            for project in projects {
                writeln!(
                    out,
                    "{:<width$}  {}  upstream id {}  created {}",
                    project.name,
                    project.token_hint,
                    project.upstream_project_id.as_deref().unwrap_or("-"),
                    project.created_at,
                )?;
            }
        }
        AdminCommand::Project(ProjectCommand::RotateToken { name }) => {
            let id = project_id(fleet, &name)?;
            let token = ApiToken::parse(&read_line(input, "API token")?)?;
            let hint = token.last4();
            fleet.rotate_token(&cli, id, token).await.map_err(human)?;
            writeln!(
                out,
                "Replaced the token of {} (now ••••{hint}).",
                name.trim()
            )?;
            writeln!(out, "{RESTART_NOTE}")?;
        }
        AdminCommand::Project(ProjectCommand::Remove { name, yes }) => {
            let id = project_id(fleet, &name)?;
            // `--yes` confirms with the name as stored; otherwise the name typed at the prompt
            // goes to the service, which checks it as it does the page's and the API's.
            let confirm = if yes {
                stored_project_name(fleet, &cli, id)?
            } else {
                eprint!("Type the project name to confirm: ");
                read_line(input, "project name")?
            };
            let removed = fleet
                .remove_project(&cli, id, &confirm)
                .await
                .map_err(human)?;
            writeln!(out, "Removed project {removed}; its audit history stays.")?;
            writeln!(out, "{RESTART_NOTE}")?;
        }
        AdminCommand::ApiKey(ApiKeyCommand::Create { user, label }) => {
            let id = user_id(fleet, &user).await?;
            let created = fleet
                .create_api_key(&cli, id, &label)
                .await
                .map_err(human)?;
            // Only the key on stdout, so `… > key.txt` or `KEY=$(…)` captures just that.
            writeln!(out, "{}", created.key)?;
            eprintln!(
                "Created API key {} (id {}) for {}, label {:?}.",
                created.prefix, created.id, created.username, created.label
            );
            eprintln!("{STORE_NOTE}");
        }
        AdminCommand::ApiKey(ApiKeyCommand::List) => {
            let keys = fleet.list_api_keys(&cli).await.map_err(human)?;
            if keys.is_empty() {
                writeln!(out, "No API keys.")?;
            }
            let id_width = keys
                .iter()
                .map(|k| k.id.to_string().len())
                .max()
                .unwrap_or(0);
            let user_width = keys.iter().map(|k| k.username.len()).max().unwrap_or(0);
            let labels: Vec<String> = keys.iter().map(|k| format!("{:?}", k.label)).collect();
            let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            for (key, label) in keys.iter().zip(labels) {
                let status = match &key.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => "active".to_owned(),
                };
                writeln!(
                    out,
                    "{:>id_width$}  {}  {:<user_width$}  {:<label_width$}  last used {:<24}  {status}",
                    key.id,
                    key.prefix,
                    key.username,
                    label,
                    key.last_used_at.as_deref().unwrap_or("never"),
                )?;
            }
        }
        AdminCommand::ApiKey(ApiKeyCommand::Revoke { id }) => {
            let key = fleet
                .list_api_keys(&cli)
                .await
                .map_err(human)?
                .into_iter()
                .find(|k| k.id == id)
                .ok_or_else(|| anyhow::anyhow!("there is no API key with id {id}"))?;
            if key.revoked_at.is_some() {
                writeln!(out, "API key {id} ({}) was revoked already.", key.prefix)?;
            } else {
                fleet.revoke_api_key(&cli, id).await.map_err(human)?;
                writeln!(
                    out,
                    "Revoked API key {id} ({}, {:?} of {}); it stops working at once.",
                    key.prefix, key.label, key.username
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The server keeps its projects in memory (tokens decrypted once), so it sees project changes
/// made here when it starts; users are read on every request and need no restart.
const RESTART_NOTE: &str = "If the dashboard is running, restart it to pick up the change.";

/// Printed with every new API key: it exists nowhere else (the database keeps only its hash).
const STORE_NOTE: &str = "Store it now: it will not be shown again.";

/// One line from stdin, without its line ending. Nothing is echoed back.
fn read_line(input: &mut dyn BufRead, what: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    let read = input
        .read_line(&mut line)
        .with_context(|| format!("could not read the {what} from stdin"))?;
    if read == 0 {
        anyhow::bail!("expected the {what} on stdin (one line), got nothing");
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn stored_project_name(fleet: &Fleet, actor: &Actor, id: i64) -> anyhow::Result<String> {
    fleet
        .list_projects(actor)
        .map_err(human)?
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| p.name)
        .ok_or_else(|| anyhow::anyhow!("there is no project with id {id}"))
}

async fn user_id(fleet: &Fleet, name: &str) -> anyhow::Result<i64> {
    fleet
        .user_id_by_name(name)
        .await
        .map_err(human)?
        .ok_or_else(|| anyhow::anyhow!("there is no user named {:?}", name.trim()))
}

fn project_id(fleet: &Fleet, name: &str) -> anyhow::Result<i64> {
    fleet
        .project_id_by_name(name)
        .ok_or_else(|| anyhow::anyhow!("there is no project named {:?}", name.trim()))
}

/// A service error as a sentence; for our own failures, with the cause chain (the person at
/// the command line is the operator and can act on it).
fn human(error: FleetError) -> anyhow::Error {
    match error {
        FleetError::Internal(cause) => cause.context("internal error"),
        other => anyhow::anyhow!("{other}"),
    }
}

/// Warnings and errors to stderr, so stdout carries only the command's output.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_from_stdin_comes_without_its_ending() {
        let mut input = "s3cret-token-value\r\nnext line\n".as_bytes();
        assert_eq!(
            read_line(&mut input, "token").unwrap(),
            "s3cret-token-value"
        );
        let mut empty = "".as_bytes();
        assert!(read_line(&mut empty, "token")
            .unwrap_err()
            .to_string()
            .contains("got nothing"));
    }
}
