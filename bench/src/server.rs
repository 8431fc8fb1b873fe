//! Starting and stopping the release `picky-fleet` as a child process: a fresh database with an
//! admin and an API key made by the admin CLI, then `picky-fleet` serving it on a free port.

use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine as _;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::http;

/// The admin every bench database gets; its API key authenticates everything.
const ADMIN: &str = "bench";
/// The one place to build the release binary and the site.
const BUILD_COMMAND: &str = "cargo leptos build --release --split --project picky-fleet";

/// Fails with the command that builds what is missing.
pub fn check_build(binary: &Path, site: &Path) -> anyhow::Result<()> {
    if !binary.is_file() {
        bail!(
            "the release server {} does not exist: build it with `{BUILD_COMMAND}` \
             (or pass --server PATH)",
            binary.display()
        );
    }
    // `picky-fleet.js`, or with hashed names `picky-fleet.<hash>.js`; the same for the wasm.
    let names: Vec<String> = std::fs::read_dir(site.join("pkg"))
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    for extension in [".js", ".wasm"] {
        let built = names
            .iter()
            .any(|name| name.starts_with("picky-fleet.") && name.ends_with(extension));
        if !built {
            bail!(
                "{} holds no picky-fleet{extension}: build the site with `{BUILD_COMMAND}` \
                 (or pass --site DIR)",
                site.join("pkg").display()
            );
        }
    }
    Ok(())
}

/// Which database engine a bench database lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// What every figure shares: the binary, the site, a temporary directory for databases and
/// logs, one HTTP client, and the PostgreSQL server to make databases on, if any.
pub struct BenchEnv {
    pub binary: PathBuf,
    pub site: PathBuf,
    /// A PostgreSQL server URL (`postgres://user@host:port/db`) for the engine figures.
    pub postgres: Option<Url>,
    /// The child's working directory (the workspace root, as with `./x run`).
    root: PathBuf,
    tmp: tempfile::TempDir,
    pub http: reqwest::Client,
}

/// A database that has the schema, an admin and its API key, and its token encryption key.
pub struct Database {
    /// SQLite: the file. PostgreSQL: a name in the directory where its servers' logs go.
    pub path: PathBuf,
    pub url: String,
    pub secret_key: String,
    pub api_key: String,
}

#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    pub poll_interval_secs: u64,
    /// `PICKY_FLEET_HISTORY=off` when false.
    pub history: bool,
}

impl ServerOptions {
    pub fn polling_every(poll_interval_secs: u64) -> Self {
        Self {
            poll_interval_secs,
            history: true,
        }
    }
}

/// What most figures start from: a simulator of their own, a fresh database, and a server
/// polling that many `CONNECTED` projects.
pub struct Fleet {
    pub server: Server,
    pub projects: Vec<crate::upstream::Project>,
    pub db: Database,
    /// Dropped after the server (fields drop in order): it must answer until the server is gone.
    pub upstream: crate::upstream::Upstream,
}

impl BenchEnv {
    /// Starts a [`Fleet`]: `name` names its database directory.
    pub async fn start_fleet(
        &self,
        name: &str,
        poll_interval_secs: u64,
        projects: usize,
    ) -> anyhow::Result<Fleet> {
        self.start_fleet_with(
            name,
            ServerOptions::polling_every(poll_interval_secs),
            projects,
        )
        .await
    }

    /// [`BenchEnv::start_fleet`] with the server's options.
    pub async fn start_fleet_with(
        &self,
        name: &str,
        options: ServerOptions,
        projects: usize,
    ) -> anyhow::Result<Fleet> {
        self.start_fleet_on(Engine::Sqlite, name, options, projects)
            .await
    }

    /// [`BenchEnv::start_fleet_with`] on either engine.
    pub async fn start_fleet_on(
        &self,
        engine: Engine,
        name: &str,
        options: ServerOptions,
        projects: usize,
    ) -> anyhow::Result<Fleet> {
        let upstream = crate::upstream::Upstream::start().await?;
        let db = self.new_database_on(engine, name).await?;
        let server = self.start(&db, upstream.base_url(), options).await?;
        let projects = upstream.add_projects(&server, projects).await?;
        Ok(Fleet {
            server,
            projects,
            db,
            upstream,
        })
    }

    pub fn new(
        binary: PathBuf,
        site: PathBuf,
        root: PathBuf,
        postgres: Option<Url>,
    ) -> anyhow::Result<Self> {
        let tmp = tempfile::Builder::new()
            .prefix("fleet-bench-")
            .tempdir()
            .context("creating a temporary directory")?;
        Ok(Self {
            binary,
            site,
            postgres,
            root,
            tmp,
            http: http::client()?,
        })
    }

    /// A fresh database under `name`, prepared with the admin CLI:
    /// `picky-fleet user add bench --role admin` (password on stdin) and
    /// `picky-fleet apikey create --user bench` (prints the key).
    pub async fn new_database(&self, name: &str) -> anyhow::Result<Database> {
        self.new_database_on(Engine::Sqlite, name).await
    }

    /// [`BenchEnv::new_database`] on either engine.
    pub async fn new_database_on(&self, engine: Engine, name: &str) -> anyhow::Result<Database> {
        let db = self.empty_database(engine, name).await?;
        self.with_admin(db).await
    }

    /// A database with no schema yet (the server or the CLI migrates it when it first opens
    /// it): a file name in a new directory, or a new database on the PostgreSQL server.
    pub async fn empty_database(&self, engine: Engine, name: &str) -> anyhow::Result<Database> {
        let dir = self.tmp.path().join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let secret: [u8; 32] = rand::thread_rng().gen();
        let secret_key = base64::engine::general_purpose::STANDARD.encode(secret);
        let url = match engine {
            Engine::Sqlite => format!("sqlite:{}", dir.join("fleet.db").display()),
            Engine::Postgres => self.create_postgres_database(name).await?,
        };
        Ok(Database {
            path: dir.join("fleet.db"),
            url,
            secret_key,
            api_key: String::new(),
        })
    }

    /// `CREATE DATABASE bench_<name>_<random>` on the PostgreSQL server; its URL.
    async fn create_postgres_database(&self, name: &str) -> anyhow::Result<String> {
        use sqlx::Connection as _;
        let Some(server) = &self.postgres else {
            bail!("no PostgreSQL server: pass --postgres URL (`./x bench` starts one)");
        };
        let database = format!(
            "bench_{}_{:08x}",
            name.to_ascii_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            rand::thread_rng().gen::<u32>()
        );
        let mut admin = sqlx::PgConnection::connect(server.as_str())
            .await
            .context("connecting to the PostgreSQL server")?;
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("creating the database {database}"))?;
        admin.close().await.ok();
        let mut url = server.clone();
        url.set_path(&format!("/{database}"));
        Ok(url.to_string())
    }

    /// The bench admin and its API key, made with the admin CLI.
    async fn with_admin(&self, db: Database) -> anyhow::Result<Database> {
        let password = format!("bench-{:032x}", rand::thread_rng().gen::<u128>());
        self.admin(&db, &["user", "add", ADMIN, "--role", "admin"], &password)
            .await?;
        let key = self
            .admin(
                &db,
                &["apikey", "create", "--user", ADMIN, "--label", "bench"],
                "",
            )
            .await?;
        let api_key = key.trim().to_owned();
        if !api_key.starts_with("pf_") {
            bail!("`picky-fleet apikey create` printed {api_key:?}, not a key");
        }
        Ok(Database { api_key, ..db })
    }

    /// Runs one admin CLI command with `stdin` as its input; returns its stdout.
    pub async fn admin(&self, db: &Database, args: &[&str], stdin: &str) -> anyhow::Result<String> {
        let mut command = self.command(db, None, None);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let shown = format!("picky-fleet {}", args.join(" "));
        let input = format!("{stdin}\n");
        let output = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut child = command.spawn().context("starting the admin CLI")?;
            if let Some(mut pipe) = child.stdin.take() {
                pipe.write_all(input.as_bytes())
                    .context("writing to the admin CLI")?;
            }
            child
                .wait_with_output()
                .context("waiting for the admin CLI")
        })
        .await
        .context("the admin CLI task")??;
        if !output.status.success() {
            bail!(
                "`{shown}` failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        String::from_utf8(output.stdout).with_context(|| format!("`{shown}` printed non-UTF-8"))
    }

    /// The binary with the environment of one server: inherited `PICKY_FLEET_*` and
    /// `LEPTOS_*` settings are dropped so the developer's shell cannot change the run.
    fn command(
        &self,
        db: &Database,
        upstream: Option<&Url>,
        serve: Option<(u16, ServerOptions)>,
    ) -> Command {
        let mut command = Command::new(&self.binary);
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            if text.starts_with("PICKY_FLEET_") || text.starts_with("LEPTOS_") {
                command.env_remove(&name);
            }
        }
        command
            .current_dir(&self.root)
            .env("PICKY_FLEET_DATABASE_URL", &db.url)
            .env("PICKY_FLEET_SECRET_KEY", &db.secret_key)
            .env("RUST_LOG", "warn")
            .env("LEPTOS_SITE_ROOT", &self.site)
            .env("LEPTOS_OUTPUT_NAME", "picky-fleet");
        if let Some(upstream) = upstream {
            command.env("PICKY_FLEET_UPSTREAM_URL", upstream.as_str());
        }
        if let Some((port, options)) = serve {
            command
                .env("PICKY_FLEET_ADDR", format!("127.0.0.1:{port}"))
                .env(
                    "PICKY_FLEET_POLL_INTERVAL_SECS",
                    options.poll_interval_secs.to_string(),
                )
                // The simulator's limit is off; the dashboard's budget must not skip polls either.
                .env("PICKY_FLEET_STATUS_CHECKS_PER_MINUTE", "100000")
                .env(
                    "PICKY_FLEET_HISTORY",
                    if options.history { "on" } else { "off" },
                );
        }
        command
    }

    /// Serves `db` against `upstream` and waits until `/healthz` answers 200.
    pub async fn start(
        &self,
        db: &Database,
        upstream: &Url,
        options: ServerOptions,
    ) -> anyhow::Result<Server> {
        let port = free_port()?;
        let log = db.path.with_file_name(format!("server-{port}.log"));
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone().context("sharing the log file")?;
        let child = self
            .command(db, Some(upstream), Some((port, options)))
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let mut server = Server {
            pid: child.id(),
            child,
            base: format!("http://127.0.0.1:{port}"),
            key: db.api_key.clone(),
            http: self.http.clone(),
            log,
        };
        server.wait_ready().await?;
        Ok(server)
    }
}

/// A running `picky-fleet`. Dropping it kills the process, so an error anywhere in a figure
/// leaves no server behind.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub base: String,
    /// The admin's API key.
    pub key: String,
    pub http: reqwest::Client,
    log: PathBuf,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().context("checking the server")? {
                bail!(
                    "the server exited with {status} before it was ready{}",
                    self.log_tail()
                );
            }
            let ready = self
                .http
                .get(self.url("/healthz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the server did not answer /healthz within 60 s{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.is_empty() {
            String::new()
        } else {
            format!("\n--- server log ({}) ---\n{tail}", self.log.display())
        }
    }

    /// GET `path` with the API key; the body as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.key)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        http::json(response, &format!("GET {path}")).await
    }

    /// POST `body` to `path` with the API key; the answer as JSON.
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<T> {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        http::json(response, &format!("POST {path}")).await
    }

    /// One unlabelled series of `/metrics` (Prometheus text); 0 when not exported yet.
    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        Ok(self.metric_if_exported(name).await?.unwrap_or(0.0))
    }

    /// `None` while the series is not exported (a counter appears at its first increment).
    async fn metric_if_exported(&self, name: &str) -> anyhow::Result<Option<f64>> {
        let text = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .context("GET /metrics")?
            .error_for_status()
            .context("GET /metrics")?
            .text()
            .await
            .context("reading /metrics")?;
        parse_metric(&text, name)
    }

    /// Waits until the poller has finished `rounds` more rounds; returns the new total. Right
    /// after a round ends the poller sleeps a whole interval, so counters read now are quiet.
    pub async fn wait_rounds(&self, rounds: u64, timeout: Duration) -> anyhow::Result<u64> {
        const ROUNDS: &str = "picky_fleet_poll_rounds_total";
        let start = self.metric(ROUNDS).await? as u64;
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.metric_if_exported(ROUNDS).await?;
            let done = now.unwrap_or(0.0) as u64;
            if done >= start + rounds {
                return Ok(done);
            }
            if Instant::now() > deadline {
                if now.is_none() {
                    bail!(
                        "the server exports no {ROUNDS} in /metrics: built before that counter? \
                         Rebuild with `{BUILD_COMMAND}`"
                    );
                }
                bail!(
                    "the poller finished {} of {rounds} rounds in {timeout:?}",
                    done - start
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resident memory now (`VmRSS`) and at its peak (`VmHWM`), in KiB.
    pub fn memory_kib(&self) -> anyhow::Result<(u64, u64)> {
        let path = format!("/proc/{}/status", self.pid);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .with_context(|| format!("no {name} in {path}"))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// SIGTERM, then waits for the graceful shutdown (SIGKILL after 15 s).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -TERM {} failed", self.pid);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if self
                .child
                .try_wait()
                .context("waiting for the server")?
                .is_some()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the server did not stop within 15 s of SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Already gone after `stop`; then both calls fail harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free right now (the server binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr().context("finding a free port")?.port())
}

/// The value of an unlabelled series, e.g. `picky_fleet_poll_rounds_total 12`; `None` when
/// absent (a counter or gauge appears only after its first change).
pub fn parse_metric(text: &str, name: &str) -> anyhow::Result<Option<f64>> {
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !rest.starts_with(' ') {
            continue;
        }
        return rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .map(Some)
            .with_context(|| format!("unreadable metric line {line:?}"));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_read_by_exact_name() {
        let text = "# TYPE picky_fleet_poll_rounds_total counter\n\
                    picky_fleet_poll_rounds_total_extra 5\n\
                    picky_fleet_poll_rounds_total 12\n\
                    picky_fleet_sse_clients{x=\"y\"} 3\n";
        let read = |name| parse_metric(text, name).ok().flatten();
        assert_eq!(read("picky_fleet_poll_rounds_total"), Some(12.0));
        assert_eq!(read("picky_fleet_sse_clients"), None);
        assert_eq!(read("missing"), None);
    }
}
