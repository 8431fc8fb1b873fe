//! The command line's shape (clap): `picky-fleet [serve]`, `user …`, `project …`,
//! `apikey …`, `audit verify`, `backup PATH`, with the help text each shows.

use clap::{Parser, Subcommand, ValueEnum};
use fleet::model::Role;

const ENVIRONMENT_HELP: &str = "\
Environment (the same for the server and the admin commands):
  PICKY_FLEET_DATABASE_URL   SQLite database, default sqlite:data/picky-fleet.db
  PICKY_FLEET_SECRET_KEY     base64 key that encrypts project tokens; unset: the key file
                             next to the database (data/picky-fleet.key)
  PICKY_FLEET_UPSTREAM_URL   the PickyAssist API; unset: the built-in simulator
  PICKY_FLEET_ADDR           where the dashboard listens, default 127.0.0.1:3000
  RUST_LOG                   log filter, default info";

/// picky-fleet: a dashboard for a fleet of PickyAssist WhatsApp automation servers.
#[derive(Debug, Parser)]
#[command(
    name = "picky-fleet",
    version,
    after_help = ENVIRONMENT_HELP,
    long_about = "picky-fleet: a dashboard for a fleet of PickyAssist WhatsApp automation servers.\n\n\
                  Without a command it serves the dashboard. The `user`, `project` and `apikey` \
                  commands manage the same database directly (as the audited actor \"cli\") without \
                  starting the server."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard (the default when no command is given)
    Serve,
    #[command(flatten)]
    Admin(AdminCommand),
}

/// The commands that change or list the database's users, projects and API keys.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add, list, disable and enable dashboard users
    #[command(subcommand)]
    User(UserCommand),
    /// Add, list and remove projects and rotate their API tokens
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Create, list and revoke API keys for scripts (the /api/v1 REST API)
    #[command(subcommand, name = "apikey")]
    ApiKey(ApiKeyCommand),
    /// Check the audit log's hash chain
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write a consistent copy of the live database to PATH (safe while the server runs)
    Backup {
        /// Where the copy goes; must not exist yet
        path: std::path::PathBuf,
    },
    /// Copy a SQLite install (users, projects and their encrypted tokens, API keys, the audit
    /// log with its seals, history, alerts) into a new, empty PostgreSQL database
    #[command(
        name = "migrate-to-postgres",
        after_help = "Example:\n  picky-fleet migrate-to-postgres --from sqlite:data/picky-fleet.db --to postgres://fleet@db/fleet\n\nStop the dashboard first. The key stays the same: PICKY_FLEET_SECRET_KEY, or the .key file\nbeside the SQLite database (then set PICKY_FLEET_SECRET_KEY to its contents for PostgreSQL).\nEvery table is counted on both sides and the audit chain is verified on the copy."
    )]
    MigrateToPostgres {
        /// The SQLite database, e.g. sqlite:data/picky-fleet.db
        #[arg(long)]
        from: String,
        /// The PostgreSQL database, e.g. postgres://user@host/db (created tables must be empty)
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every row's seal, in order; prints the first broken row and exits 1 if any
    #[command(
        after_help = "Needs the same secret key as the server (the seals are keyed with it).\nExit code 0: the chain is whole; 1: it is broken (or could not be read)."
    )]
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; reads the password (at least 10 characters) as one line from stdin
    #[command(
        after_help = "Example:\n  read -rs PW && printf '%s\\n' \"$PW\" | picky-fleet user add alice --role operator"
    )]
    Add {
        /// Sign-in name: letters, digits, '.', '_', '-' and '@'
        name: String,
        /// What the user may do: viewer (look), operator (also run commands), admin (also manage projects and users)
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// List users with their role and status
    List,
    /// Disable a user: they cannot sign in, and their open sessions stop working
    Disable {
        /// The user's sign-in name
        name: String,
    },
    /// Enable a disabled user again
    Enable {
        /// The user's sign-in name
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Add a project; reads its PickyAssist API token as one line from stdin
    #[command(after_help = "Example:\n  picky-fleet project add \"Acme Support\" < token.txt")]
    Add {
        /// Display name (1-80 characters, unique)
        name: String,
    },
    /// List projects with their token hints (never the tokens)
    List,
    /// Replace a project's API token; reads the new token as one line from stdin
    RotateToken {
        /// The project's name
        name: String,
    },
    /// Remove a project (its audit history stays); asks for its name again on stdin
    #[command(
        after_help = "Examples:\n  picky-fleet project remove \"Acme Support\"          (type the name to confirm)\n  picky-fleet project remove \"Acme Support\" --yes    (scripts: no prompt)"
    )]
    Remove {
        /// The project's name
        name: String,
        /// Confirm without the prompt (for scripts)
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key acting as a user (with their role); prints the key, the only time it is shown
    #[command(
        after_help = "Example:\n  picky-fleet apikey create --user deploy-bot --label \"nightly restart job\" > key.txt"
    )]
    Create {
        /// The sign-in name of the enabled user the key acts as
        #[arg(long)]
        user: String,
        /// What the key is for (1-80 characters)
        #[arg(long, default_value = "created with the CLI")]
        label: String,
    },
    /// List keys: id, prefix, user, label, last use and status (never the keys)
    List,
    /// Revoke a key: it stops working at once
    Revoke {
        /// The key's id, as `apikey list` shows it
        id: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Viewer,
    Operator,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Operator => Role::Operator,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_serve() {
        let cli = Cli::try_parse_from(["picky-fleet"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["picky-fleet", "serve"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Serve)));
    }

    #[test]
    fn roles_are_checked_by_the_parser() {
        let cli =
            Cli::try_parse_from(["picky-fleet", "user", "add", "alice", "--role", "operator"])
                .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Admin(AdminCommand::User(UserCommand::Add {
                role: RoleArg::Operator,
                ..
            })))
        ));
        assert!(
            Cli::try_parse_from(["picky-fleet", "user", "add", "alice", "--role", "root"]).is_err()
        );
        assert!(Cli::try_parse_from(["picky-fleet", "user", "add", "alice"]).is_err());
    }

    #[test]
    fn api_key_commands_parse() {
        let cli =
            Cli::try_parse_from(["picky-fleet", "apikey", "create", "--user", "bot"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Admin(AdminCommand::ApiKey(ApiKeyCommand::Create { ref user, ref label })))
                if user == "bot" && label == "created with the CLI"
        ));
        let cli = Cli::try_parse_from(["picky-fleet", "apikey", "revoke", "7"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Admin(AdminCommand::ApiKey(
                ApiKeyCommand::Revoke { id: 7 }
            )))
        ));
        assert!(Cli::try_parse_from(["picky-fleet", "apikey", "revoke", "pf_x"]).is_err());
        assert!(Cli::try_parse_from(["picky-fleet", "apikey", "create"]).is_err());
    }
}
