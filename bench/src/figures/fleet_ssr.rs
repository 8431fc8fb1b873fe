//! Figure 3: the server-rendered fleet page with the big fleet ÷ a plain axum handler in this
//! process that serialises the same data (the `GET /api/v1/projects` JSON) on every request.
//! Both are loaded by the same clients in alternating one-second slices, so both see the same
//! background (the poller, the simulator, other work on the machine).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::figures::big_fleet::BigFleet;
use crate::report::{Goal, Row};
use crate::server::BenchEnv;
use crate::sizes::Sizes;

/// Concurrent clients per side: a few, on a 2-core machine.
const CLIENTS: usize = 4;

pub async fn run(env: &BenchEnv, fleet: &BigFleet, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let server = &fleet.server;
    let page_url = server.url("/");
    check_page(env, &page_url, &server.key, fleet).await?;

    let baseline = Baseline::start(fleet.snapshot.clone()).await?;
    let baseline_url = format!("http://{}/", baseline.addr);

    let slices = sizes.ssr_time.as_secs().max(2);
    let slice = sizes.ssr_time / slices as u32;
    let (mut ssr, mut plain) = (Load::default(), Load::default());
    for _ in 0..slices {
        ssr.add(load(env, &page_url, Some(&server.key), slice).await?);
        plain.add(load(env, &baseline_url, None, slice).await?);
    }
    baseline.task.abort();

    let ratio = plain.rps() / ssr.rps();
    let page_bytes = ssr.bytes / ssr.requests.max(1);
    let json_bytes = plain.bytes / plain.requests.max(1);
    let projects = fleet.projects.len().max(1) as u64;
    Ok(vec![Row::new(
        format!("fleet page SSR, {} projects: JSON handler rps ÷ SSR rps", fleet.projects.len()),
        ratio,
        format!("{ratio:.2}× slower ({:.1} ÷ {:.1} req/s)", plain.rps(), ssr.rps()),
        Goal::at_most(3.0, "≤ 3× slower"),
    )
    .note(format!(
        "`GET /` with the API key vs an axum handler serialising the same projects as JSON; \
         {CLIENTS} clients each, {slices} alternating slices of {:.1} s",
        slice.as_secs_f64()
    ))
    .note(format!(
        "the page is {} KiB ({} bytes per project), the JSON {} KiB ({} bytes per project)",
        page_bytes / 1024,
        page_bytes / projects,
        json_bytes / 1024,
        json_bytes / projects
    ))
    .details(json!({
        "projects": fleet.projects.len(),
        "clients": CLIENTS,
        "ssr": {"requests": ssr.requests, "seconds": ssr.time.as_secs_f64(), "rps": ssr.rps(), "bytes": ssr.bytes},
        "json": {"requests": plain.requests, "seconds": plain.time.as_secs_f64(), "rps": plain.rps(), "bytes": plain.bytes},
    }))])
}

/// The page must be the real fleet page for a signed-in user, not the sign-in page: the API
/// key is accepted for pages as well.
async fn check_page(env: &BenchEnv, url: &str, key: &str, fleet: &BigFleet) -> anyhow::Result<()> {
    let response = env
        .http
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .context("GET /")?;
    let status = response.status();
    let body = response.text().await.context("reading GET /")?;
    ensure!(status.is_success(), "GET / answered {status}");
    for project in [fleet.projects.first(), fleet.projects.last()]
        .into_iter()
        .flatten()
    {
        if !body.contains(&project.name) {
            bail!(
                "GET / with the API key does not show project {:?}: is the key not accepted \
                 for pages? ({})",
                project.name,
                crate::http::truncate(&body, 200)
            );
        }
    }
    Ok(())
}

/// A plain axum handler returning the fleet as JSON, serialised per request.
struct Baseline {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Baseline {
    async fn start(data: Value) -> anyhow::Result<Self> {
        let data = Arc::new(data);
        let app = Router::new().route(
            "/",
            get(move || {
                let data = data.clone();
                async move {
                    match serde_json::to_vec(&*data) {
                        Ok(body) => {
                            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
                        }
                        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the baseline server")?;
        let addr = listener.local_addr().context("the baseline's address")?;
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("the baseline server stopped: {error}");
            }
        });
        Ok(Self { addr, task })
    }
}

#[derive(Debug, Default)]
pub(crate) struct Load {
    requests: u64,
    bytes: u64,
    time: Duration,
}

impl Load {
    pub(crate) fn add(&mut self, other: Load) {
        self.requests += other.requests;
        self.bytes += other.bytes;
        self.time += other.time;
    }

    pub(crate) fn rps(&self) -> f64 {
        self.requests as f64 / self.time.as_secs_f64().max(1e-9)
    }
}

/// [`CLIENTS`] clients request `url` back to back for `time`; the time counted runs until the
/// last request started in it has finished.
pub(crate) async fn load(
    env: &BenchEnv,
    url: &str,
    key: Option<&str>,
    time: Duration,
) -> anyhow::Result<Load> {
    let started = Instant::now();
    let deadline = started + time;
    let mut clients = JoinSet::new();
    for _ in 0..CLIENTS {
        let (http, url, key) = (env.http.clone(), url.to_owned(), key.map(str::to_owned));
        clients.spawn(async move {
            let (mut requests, mut bytes) = (0u64, 0u64);
            while Instant::now() < deadline {
                let mut request = http.get(&url);
                if let Some(key) = &key {
                    request = request.bearer_auth(key);
                }
                let response = request.send().await.with_context(|| format!("GET {url}"))?;
                let status = response.status();
                let body = response
                    .bytes()
                    .await
                    .with_context(|| format!("reading {url}"))?;
                if !status.is_success() {
                    bail!("GET {url} answered {status}");
                }
                requests += 1;
                bytes += body.len() as u64;
            }
            anyhow::Ok((requests, bytes))
        });
    }
    let mut total = Load::default();
    while let Some(result) = clients.join_next().await {
        let (requests, bytes) = result.context("a load client")??;
        total.requests += requests;
        total.bytes += bytes;
    }
    total.time = started.elapsed();
    Ok(total)
}
