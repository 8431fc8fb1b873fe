use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// The five `device-action` commands. Parsed from their exact wire names and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Command {
    Restart,
    RestartServer,
    DeleteMessageQueue,
    Disconnect,
    Clearlogs,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown command {0:?}; expected one of restart, restart-server, delete-message-queue, disconnect, clearlogs")]
pub struct UnknownCommand(pub String);

impl Command {
    pub const ALL: [Command; 5] = [
        Command::Restart,
        Command::RestartServer,
        Command::DeleteMessageQueue,
        Command::Disconnect,
        Command::Clearlogs,
    ];

    /// The name upstream expects in the `command` field.
    pub const fn wire_name(self) -> &'static str {
        match self {
            Command::Restart => "restart",
            Command::RestartServer => "restart-server",
            Command::DeleteMessageQueue => "delete-message-queue",
            Command::Disconnect => "disconnect",
            Command::Clearlogs => "clearlogs",
        }
    }

    /// A short label for a button.
    pub const fn label(self) -> &'static str {
        match self {
            Command::Restart => "Restart app",
            Command::RestartServer => "Restart server",
            Command::DeleteMessageQueue => "Clear queue",
            Command::Disconnect => "Disconnect",
            Command::Clearlogs => "Clear logs",
        }
    }

    /// The upstream documentation's one-line guidance on when to use the command.
    pub const fn explanation(self) -> &'static str {
        match self {
            Command::Restart => "Restarts the WhatsApp Automation App. Use it when the QR code is not showing or the connection misbehaves.",
            Command::RestartServer => "Restarts the whole automation server with its app and database. Use it only when \"Restart app\" did not help.",
            Command::DeleteMessageQueue => "Deletes every message waiting in the queue.",
            Command::Disconnect => "Disconnects the connected number. Required before connecting another number.",
            Command::Clearlogs => "Clears all data and logs stored on the server. Required before connecting another number.",
        }
    }

    /// Commands that lose data or unpair the phone; the UI asks for the project name to confirm.
    pub const fn is_destructive(self) -> bool {
        matches!(self, Command::Disconnect | Command::Clearlogs)
    }
}

impl FromStr for Command {
    type Err = UnknownCommand;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Command::ALL
            .into_iter()
            .find(|c| c.wire_name() == s)
            .ok_or_else(|| UnknownCommand(s.chars().take(64).collect()))
    }
}

impl TryFrom<String> for Command {
    type Error = UnknownCommand;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Command> for &'static str {
    fn from(c: Command) -> Self {
        c.wire_name()
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_round_trips_through_its_wire_name() {
        for c in Command::ALL {
            assert_eq!(c.wire_name().parse::<Command>(), Ok(c), "{c:?}");
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.wire_name()));
            assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), c);
        }
    }

    #[test]
    fn only_exact_wire_names_are_accepted() {
        for bad in [
            "",
            "Restart",
            "RESTART",
            " restart",
            "restart_server",
            "reboot",
            "clear-logs",
        ] {
            assert!(bad.parse::<Command>().is_err(), "{bad:?} should be refused");
        }
        assert!(serde_json::from_str::<Command>("\"reboot\"").is_err());
    }

    #[test]
    fn only_disconnect_and_clearlogs_are_destructive() {
        let destructive: Vec<_> = Command::ALL
            .into_iter()
            .filter(|c| c.is_destructive())
            .collect();
        assert_eq!(destructive, vec![Command::Disconnect, Command::Clearlogs]);
    }

    #[test]
    fn the_unknown_command_error_is_bounded_and_names_the_choices() {
        let err = "x".repeat(10_000).parse::<Command>().unwrap_err();
        let message = err.to_string();
        assert!(message.len() < 300, "{}", message.len());
        assert!(message.contains("delete-message-queue"));
    }
}
