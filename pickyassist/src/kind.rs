use serde::{Deserialize, Serialize};

/// A stable, machine-readable name for each failure, for the audit log, metrics and the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Unreachable,
    TimedOut,
    HttpStatus,
    Malformed,
    Rejected,
}

impl ErrorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::TimedOut => "timed_out",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Rejected => "rejected",
        }
    }
}
