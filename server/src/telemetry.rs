//! Logging, set up once. `RUST_LOG` filters (default `info`); `PICKY_FLEET_LOG_FORMAT=json`
//! switches to JSON lines for log collectors.

use tracing_subscriber::{fmt, EnvFilter};

/// Info for us; quieter for sqlx, and for tower-sessions, which warns on every malformed
/// session cookie (anyone could fill the log with those).
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_sessions_core=error,tower_sessions=error";

pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json =
        std::env::var("PICKY_FLEET_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    // `try_init`: tests may call this more than once.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
