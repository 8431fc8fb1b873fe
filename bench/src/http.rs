//! HTTP helpers: the client, JSON answers with useful errors, and open event streams.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use crate::server::Server;

/// One client for everything: keep-alive connections, no proxy (all traffic is local).
pub fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(512)
        .tcp_nodelay(true)
        .build()
        .context("building the HTTP client")
}

/// The body of a 2xx answer as JSON; otherwise an error with the status and the body.
pub async fn json<T: DeserializeOwned>(
    response: reqwest::Response,
    what: &str,
) -> anyhow::Result<T> {
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("{what}: reading the answer"))?;
    if !status.is_success() {
        bail!("{what}: HTTP {status}: {}", truncate(&body, 300));
    }
    serde_json::from_str(&body)
        .with_context(|| format!("{what}: not the JSON expected: {}", truncate(&body, 300)))
}

pub fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// Open `GET /api/v1/events` streams, each read by its own task until dropped.
pub struct EventStreams {
    tasks: JoinSet<()>,
    bytes: Arc<AtomicU64>,
    ended: Arc<AtomicUsize>,
    pub count: usize,
}

impl EventStreams {
    /// Opens `count` streams (each its own connection) and returns once all answered 200.
    pub async fn open(server: &Server, count: usize) -> anyhow::Result<Self> {
        let bytes = Arc::new(AtomicU64::new(0));
        let ended = Arc::new(AtomicUsize::new(0));
        let mut opening = JoinSet::new();
        for _ in 0..count {
            let request = server
                .http
                .get(server.url("/api/v1/events"))
                .bearer_auth(&server.key)
                // Streams stay open for the whole measurement.
                .timeout(Duration::from_secs(24 * 3600));
            opening.spawn(async move { request.send().await });
        }
        let mut tasks = JoinSet::new();
        while let Some(answer) = opening.join_next().await {
            let mut response = answer
                .context("an event stream task")?
                .context("opening an event stream")?;
            let kind = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            if !response.status().is_success() || !kind.starts_with("text/event-stream") {
                bail!(
                    "GET /api/v1/events answered {} ({kind}), not an event stream",
                    response.status()
                );
            }
            let (bytes, ended) = (bytes.clone(), ended.clone());
            tasks.spawn(async move {
                // Keep reading like a browser would; the stream ends when the task is dropped.
                while let Ok(Some(chunk)) = response.chunk().await {
                    bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
                ended.fetch_add(1, Ordering::Relaxed);
            });
        }
        Ok(Self {
            tasks,
            bytes,
            ended,
            count,
        })
    }

    /// Bytes received over all streams so far (events and keep-alives).
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// How many streams are still open (a closed one means the server hung up).
    pub fn open_now(&self) -> usize {
        self.count - self.ended.load(Ordering::Relaxed)
    }

    /// Closes every stream and waits until the server has seen them go.
    pub async fn close(mut self, server: &Server) -> anyhow::Result<()> {
        self.tasks.shutdown().await;
        // The server drops a subscriber when its write fails or the connection closes.
        for _ in 0..100 {
            if server.metric("picky_fleet_sse_clients").await? == 0.0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }
}
