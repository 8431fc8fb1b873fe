//! Settings, from the environment with defaults that make `./x run` work out of the box.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{bail, Context};
use url::Url;

use crate::client_addr::TrustedProxies;

// Debug by hand: the key, the demo password and a database password must not reach a log line.
#[derive(Clone)]
pub struct Settings {
    /// `PICKY_FLEET_ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `PICKY_FLEET_DATABASE_URL`, default `sqlite:data/picky-fleet.db`; `postgres://…` runs
    /// on PostgreSQL (then `PICKY_FLEET_SECRET_KEY` is required, the same on every instance).
    pub database_url: String,
    /// `PICKY_FLEET_UPSTREAM_URL`: the PickyAssist API base. Unset: the built-in simulator.
    pub upstream_url: Option<Url>,
    /// `PICKY_FLEET_SECRET_KEY`: base64 of 32 bytes. Unset: a key file next to the database.
    pub secret_key: Option<String>,
    /// `PICKY_FLEET_POLL_INTERVAL_SECS`, default 30.
    pub poll_interval: Duration,
    /// `PICKY_FLEET_SIM_ADDR`: where the built-in simulator listens, default `127.0.0.1:8910`
    /// (an ephemeral port if that one is taken).
    pub sim_addr: SocketAddr,
    /// `PICKY_FLEET_STATUS_CHECKS_PER_MINUTE`: upstream's limit per token, default 3.
    pub status_checks_per_minute: u32,
    /// `PICKY_FLEET_UPSTREAM_TIMEOUT_SECS`: per-request timeout, default 10.
    pub upstream_timeout: Duration,
    /// `PICKY_FLEET_SECURE_COOKIES`: mark the session cookie `Secure` (serve over HTTPS),
    /// default false so plain `http://127.0.0.1` works.
    pub secure_cookies: bool,
    /// `PICKY_FLEET_SESSION_IDLE_MINUTES`: a session expires after this long unused, default 480.
    pub session_idle: Duration,
    /// `PICKY_FLEET_VERIFY_DELAY_MS`: pause before the status check that confirms a command,
    /// default 2000.
    pub verify_delay: Duration,
    /// `PICKY_FLEET_DEMO_ADMIN_PASSWORD`: the password of the demo admin created on the first
    /// start against the simulator (for scripted demos and browser tests); unset: generated.
    pub demo_admin_password: Option<String>,
    /// `PICKY_FLEET_SIGN_IN_PER_USER_PER_MINUTE`: sign-in attempts per username, default 10.
    pub sign_in_per_user_per_minute: u32,
    /// `PICKY_FLEET_SIGN_IN_PER_CLIENT_PER_MINUTE`: sign-in attempts per client address, default 30.
    pub sign_in_per_client_per_minute: u32,
    /// `PICKY_FLEET_TRUSTED_PROXIES`: the reverse proxies in front of the dashboard (CIDRs or
    /// addresses, comma-separated). Only requests from these have `X-Forwarded-For` read;
    /// default none.
    pub trusted_proxies: TrustedProxies,
    /// `PICKY_FLEET_AUDIT_RETAIN_DAYS`: audit rows older than this are archived to a file and
    /// deleted; default none (kept forever).
    pub audit_retain_days: Option<u32>,
    /// `PICKY_FLEET_AUDIT_ARCHIVE_DIR`: where archived audit rows go, default `audit-archive`
    /// beside the database.
    pub audit_archive_dir: Option<PathBuf>,
    /// `PICKY_FLEET_HISTORY_MINUTE_HOURS` (48), `PICKY_FLEET_HISTORY_HOUR_DAYS` (90) and
    /// `PICKY_FLEET_HISTORY_DAY_DAYS` (730): how long the minute, hour and day roll-ups of
    /// the status history are kept (state changes: as long as the day roll-ups).
    pub history_retention: fleet::service::HistoryRetention,
    /// `PICKY_FLEET_HISTORY`: `on` (default) or `off`, to keep no status history at all.
    pub history_enabled: bool,
    /// `PICKY_FLEET_PUBLIC_URL`: the dashboard's address as people reach it (behind a proxy,
    /// the proxy's), for the links in alert messages; default `http://` + the listen address.
    pub public_url: Option<Url>,
    /// `PICKY_FLEET_ALERT_STORM_PERCENT`: more than this share of projects going down in one
    /// round sends one "PickyAssist unreachable" alert instead of one per project; default 50.
    pub alert_storm_percent: u32,
    /// `PICKY_FLEET_BATCH_CONCURRENCY`: commands a bulk command sends at once; default 4.
    pub batch_concurrency: usize,
    /// `PICKY_FLEET_BATCH_MAX`: projects in one bulk command at most; default 500.
    pub batch_max: usize,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |secret: &Option<String>| secret.as_ref().map(|_| "••••");
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("database_url", &fleet::db::shown_url(&self.database_url))
            .field("upstream_url", &self.upstream_url.as_ref().map(Url::as_str))
            .field("secret_key", &redacted(&self.secret_key))
            .field("poll_interval", &self.poll_interval)
            .field("sim_addr", &self.sim_addr)
            .field("status_checks_per_minute", &self.status_checks_per_minute)
            .field("upstream_timeout", &self.upstream_timeout)
            .field("secure_cookies", &self.secure_cookies)
            .field("session_idle", &self.session_idle)
            .field("verify_delay", &self.verify_delay)
            .field("demo_admin_password", &redacted(&self.demo_admin_password))
            .field(
                "sign_in_per_user_per_minute",
                &self.sign_in_per_user_per_minute,
            )
            .field(
                "sign_in_per_client_per_minute",
                &self.sign_in_per_client_per_minute,
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("audit_retain_days", &self.audit_retain_days)
            .field("audit_archive_dir", &self.audit_archive_dir)
            .field("history_retention", &self.history_retention)
            .field("history_enabled", &self.history_enabled)
            .field("public_url", &self.public_url.as_ref().map(Url::as_str))
            .field("alert_storm_percent", &self.alert_storm_percent)
            .field("batch_concurrency", &self.batch_concurrency)
            .field("batch_max", &self.batch_max)
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: "sqlite:data/picky-fleet.db".into(),
            upstream_url: None,
            secret_key: None,
            poll_interval: Duration::from_secs(30),
            sim_addr: SocketAddr::from(([127, 0, 0, 1], 8910)),
            status_checks_per_minute: 3,
            upstream_timeout: Duration::from_secs(10),
            secure_cookies: false,
            session_idle: Duration::from_secs(8 * 3600),
            verify_delay: Duration::from_secs(2),
            demo_admin_password: None,
            sign_in_per_user_per_minute: 10,
            sign_in_per_client_per_minute: 30,
            trusted_proxies: TrustedProxies::default(),
            audit_retain_days: None,
            audit_archive_dir: None,
            history_retention: Default::default(),
            history_enabled: true,
            public_url: None,
            alert_storm_percent: fleet::service::DEFAULT_STORM_PERCENT,
            batch_concurrency: fleet::service::DEFAULT_BATCH_CONCURRENCY,
            batch_max: fleet::service::DEFAULT_BATCH_MAX,
        }
    }
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut s = Settings::default();
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if let Some(v) = get("PICKY_FLEET_ADDR") {
            s.addr = v
                .parse()
                .with_context(|| format!("PICKY_FLEET_ADDR={v:?} is not HOST:PORT"))?;
        }
        if let Some(v) = get("PICKY_FLEET_DATABASE_URL") {
            s.database_url = v;
        }
        if let Some(v) = get("PICKY_FLEET_UPSTREAM_URL") {
            let url = Url::parse(&v)
                .with_context(|| format!("PICKY_FLEET_UPSTREAM_URL={v:?} is not a URL"))?;
            if !matches!(url.scheme(), "http" | "https") {
                bail!("PICKY_FLEET_UPSTREAM_URL must be http or https");
            }
            s.upstream_url = Some(url);
        }
        s.secret_key = get("PICKY_FLEET_SECRET_KEY");
        if let Some(v) = get("PICKY_FLEET_POLL_INTERVAL_SECS") {
            let secs: u64 = v
                .parse()
                .with_context(|| format!("PICKY_FLEET_POLL_INTERVAL_SECS={v:?} is not a number"))?;
            if secs == 0 {
                bail!("PICKY_FLEET_POLL_INTERVAL_SECS must be at least 1");
            }
            s.poll_interval = Duration::from_secs(secs);
        }
        if let Some(v) = get("PICKY_FLEET_SIM_ADDR") {
            s.sim_addr = v
                .parse()
                .with_context(|| format!("PICKY_FLEET_SIM_ADDR={v:?} is not HOST:PORT"))?;
        }
        if let Some(v) = get("PICKY_FLEET_STATUS_CHECKS_PER_MINUTE") {
            s.status_checks_per_minute = v.parse().ok().filter(|n| *n >= 1).with_context(|| {
                format!("PICKY_FLEET_STATUS_CHECKS_PER_MINUTE={v:?} must be a number of at least 1")
            })?;
        }
        if let Some(v) = get("PICKY_FLEET_UPSTREAM_TIMEOUT_SECS") {
            let secs: u64 = v.parse().with_context(|| {
                format!("PICKY_FLEET_UPSTREAM_TIMEOUT_SECS={v:?} is not a number")
            })?;
            s.upstream_timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(v) = get("PICKY_FLEET_SECURE_COOKIES") {
            s.secure_cookies = match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => bail!("PICKY_FLEET_SECURE_COOKIES={v:?} must be true or false"),
            };
        }
        if let Some(v) = get("PICKY_FLEET_SESSION_IDLE_MINUTES") {
            let minutes: u64 = v.parse().ok().filter(|m| *m >= 1).with_context(|| {
                format!("PICKY_FLEET_SESSION_IDLE_MINUTES={v:?} must be a number of at least 1")
            })?;
            s.session_idle = Duration::from_secs(minutes * 60);
        }
        if let Some(v) = get("PICKY_FLEET_VERIFY_DELAY_MS") {
            let ms: u64 = v
                .parse()
                .with_context(|| format!("PICKY_FLEET_VERIFY_DELAY_MS={v:?} is not a number"))?;
            s.verify_delay = Duration::from_millis(ms);
        }
        s.demo_admin_password = get("PICKY_FLEET_DEMO_ADMIN_PASSWORD");
        for (name, field) in [
            (
                "PICKY_FLEET_SIGN_IN_PER_USER_PER_MINUTE",
                &mut s.sign_in_per_user_per_minute,
            ),
            (
                "PICKY_FLEET_SIGN_IN_PER_CLIENT_PER_MINUTE",
                &mut s.sign_in_per_client_per_minute,
            ),
        ] {
            if let Some(v) = get(name) {
                *field = v
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .with_context(|| format!("{name}={v:?} must be a number of at least 1"))?;
            }
        }
        if let Some(v) = get("PICKY_FLEET_AUDIT_RETAIN_DAYS") {
            s.audit_retain_days = Some(
                v.parse()
                    .ok()
                    .filter(|d| (1..=36_500).contains(d))
                    .with_context(|| {
                        format!("PICKY_FLEET_AUDIT_RETAIN_DAYS={v:?} must be a number of days from 1 to 36500")
                    })?,
            );
        }
        s.audit_archive_dir = get("PICKY_FLEET_AUDIT_ARCHIVE_DIR").map(PathBuf::from);
        for (name, field, unit) in [
            (
                "PICKY_FLEET_HISTORY_MINUTE_HOURS",
                &mut s.history_retention.minutes,
                chrono::Duration::hours(1),
            ),
            (
                "PICKY_FLEET_HISTORY_HOUR_DAYS",
                &mut s.history_retention.hours,
                chrono::Duration::days(1),
            ),
            (
                "PICKY_FLEET_HISTORY_DAY_DAYS",
                &mut s.history_retention.days,
                chrono::Duration::days(1),
            ),
        ] {
            if let Some(v) = get(name) {
                let n: i32 = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .with_context(|| {
                        format!("{name}={v:?} must be a whole number from 1 to 100000")
                    })?;
                *field = unit * n;
            }
        }
        if let Some(v) = get("PICKY_FLEET_HISTORY") {
            s.history_enabled = match v.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => bail!("PICKY_FLEET_HISTORY={v:?} must be on or off"),
            };
        }
        if let Some(v) = get("PICKY_FLEET_PUBLIC_URL") {
            let url = Url::parse(&v)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                .with_context(|| {
                    format!("PICKY_FLEET_PUBLIC_URL={v:?} must be an http:// or https:// address")
                })?;
            s.public_url = Some(url);
        }
        if let Some(v) = get("PICKY_FLEET_ALERT_STORM_PERCENT") {
            s.alert_storm_percent = v
                .parse()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .with_context(|| {
                    format!("PICKY_FLEET_ALERT_STORM_PERCENT={v:?} must be a whole number from 1 to 100")
                })?;
        }
        if let Some(v) = get("PICKY_FLEET_BATCH_CONCURRENCY") {
            s.batch_concurrency = v
                .parse()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .with_context(|| {
                    format!(
                        "PICKY_FLEET_BATCH_CONCURRENCY={v:?} must be a whole number from 1 to 64"
                    )
                })?;
        }
        if let Some(v) = get("PICKY_FLEET_BATCH_MAX") {
            s.batch_max = v
                .parse()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .with_context(|| {
                    format!("PICKY_FLEET_BATCH_MAX={v:?} must be a whole number from 1 to 100000")
                })?;
        }
        if let Some(v) = get("PICKY_FLEET_TRUSTED_PROXIES") {
            s.trusted_proxies = TrustedProxies::parse(&v)
                .map_err(|why| anyhow::anyhow!("PICKY_FLEET_TRUSTED_PROXIES: {why}"))?;
        }
        Ok(s)
    }

    /// The audit retention, with its archive directory (beside the database by default).
    pub fn audit_retention(&self) -> anyhow::Result<Option<fleet::service::AuditRetention>> {
        let Some(days) = self.audit_retain_days else {
            return Ok(None);
        };
        let dir = match (&self.audit_archive_dir, self.database_path()) {
            (Some(dir), _) => dir.clone(),
            (None, Some(db)) => db
                .parent()
                .map(|p| p.join("audit-archive"))
                .unwrap_or_else(|| PathBuf::from("audit-archive")),
            (None, None) => {
                bail!("PICKY_FLEET_AUDIT_RETAIN_DAYS with an in-memory database needs PICKY_FLEET_AUDIT_ARCHIVE_DIR")
            }
        };
        Ok(Some(fleet::service::AuditRetention { days, dir }))
    }

    /// The address for links in alert messages, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }

    /// The database file, for the key file beside it (`None` for in-memory databases).
    pub fn database_path(&self) -> Option<PathBuf> {
        let rest = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_output_holds_no_secret() {
        let settings = super::Settings {
            secret_key: Some("c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk=".into()),
            demo_admin_password: Some("demo-password-1234".into()),
            ..super::Settings::default()
        };
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("c2VjcmV0") && !debug.contains("demo-password"),
            "{debug}"
        );
        assert!(debug.contains("secret_key: Some(\"••••\")"), "{debug}");
    }

    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_run_against_the_simulator() {
        let s = settings(&[]).unwrap();
        assert!(s.upstream_url.is_none());
        assert_eq!(s.poll_interval, Duration::from_secs(30));
        assert_eq!(s.status_checks_per_minute, 3);
        assert_eq!(
            s.database_path(),
            Some(PathBuf::from("data/picky-fleet.db"))
        );
    }

    #[test]
    fn reads_every_variable() {
        let s = settings(&[
            ("PICKY_FLEET_ADDR", "0.0.0.0:8080"),
            (
                "PICKY_FLEET_DATABASE_URL",
                "sqlite:///var/lib/fleet.db?mode=rwc",
            ),
            (
                "PICKY_FLEET_UPSTREAM_URL",
                "https://app.pickyassist.com/api/v2",
            ),
            ("PICKY_FLEET_POLL_INTERVAL_SECS", "45"),
        ])
        .unwrap();
        assert_eq!(s.addr.port(), 8080);
        assert_eq!(s.database_path(), Some(PathBuf::from("/var/lib/fleet.db")));
        assert_eq!(
            s.upstream_url.unwrap().host_str(),
            Some("app.pickyassist.com")
        );
        assert_eq!(s.poll_interval, Duration::from_secs(45));
    }

    #[test]
    fn bad_values_are_errors_that_name_the_variable() {
        for (name, value) in [
            ("PICKY_FLEET_ADDR", "localhost"),
            ("PICKY_FLEET_UPSTREAM_URL", "ftp://example.com"),
            ("PICKY_FLEET_POLL_INTERVAL_SECS", "0"),
            ("PICKY_FLEET_STATUS_CHECKS_PER_MINUTE", "zero"),
            ("PICKY_FLEET_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
            ("PICKY_FLEET_AUDIT_RETAIN_DAYS", "0"),
        ] {
            let err = settings(&[(name, value)]).unwrap_err().to_string();
            assert!(err.contains(name), "{name}: {err}");
        }
    }
}
