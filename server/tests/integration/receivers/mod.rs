//! Real receivers for alerts: an HTTP server that records every request (and answers with a
//! status the test sets, or not at all), and a real SMTP server (aiosmtpd, in Python).

use std::{
    process::Stdio,
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use tokio::io::{AsyncBufReadExt, BufReader};

/// One request the webhook receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Received>>>,
    /// What to answer; 0: never answer (a receiver that hangs).
    status: Arc<AtomicU16>,
}

pub struct WebhookReceiver {
    pub url: String,
    shared: Shared,
}

impl WebhookReceiver {
    /// Listens on a free loopback port and answers 200 until told otherwise.
    pub async fn start() -> Self {
        let shared = Shared::default();
        shared.status.store(200, Ordering::SeqCst);
        let app = Router::new()
            .route("/{*path}", post(record))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/hooks/secret-path-abc123",
            listener.local_addr().expect("addr")
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, shared }
    }

    /// Answer every request from now on with `status` (0: hang, never answer).
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// The requests answered 2xx whose JSON body matches `keep`.
    pub fn delivered(&self, keep: impl Fn(&serde_json::Value) -> bool) -> Vec<serde_json::Value> {
        self.requests()
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .map(Received::json)
            .filter(|body| keep(body))
            .collect()
    }

    /// Waits (at most 10 s) until `count` delivered requests match `keep`.
    pub async fn wait_for(
        &self,
        count: usize,
        keep: impl Fn(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        for _ in 0..200 {
            let got = self.delivered(&keep);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} deliveries; the receiver got {:#?}",
            self.requests()
                .iter()
                .map(|r| (r.status, r.json()))
                .collect::<Vec<_>>()
        );
    }
}

async fn record(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = shared.status.load(Ordering::SeqCst);
    shared.requests.lock().expect("lock").push(Received {
        headers,
        body,
        status,
    });
    if status == 0 {
        std::future::pending::<()>().await;
    }
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A real SMTP server (aiosmtpd) requiring AUTH with a user and password.
pub struct SmtpReceiver {
    pub port: u16,
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

/// The Python with aiosmtpd that `./x install` sets up (override: PICKY_FLEET_TEST_PYTHON).
fn python() -> String {
    std::env::var("PICKY_FLEET_TEST_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/picky-fleet/venv/bin/python")
    })
}

impl SmtpReceiver {
    pub async fn start(user: &str, password: &str) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/integration/receivers/smtp_receiver.py"
        );
        let mut child = tokio::process::Command::new(python())
            .arg(script)
            .arg(user)
            .arg(password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start the SMTP receiver with {} ({e}); run ./x install",
                    python()
                )
            });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP receiver starts within 20 s")
            .expect("read")
            .expect("the SMTP receiver printed READY (is aiosmtpd installed? ./x install)");
        let port = ready
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {ready:?}"));
        Self { port, child, lines }
    }

    /// The next message received (at most 15 s).
    pub async fn next_message(&mut self) -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(15), self.lines.next_line())
            .await
            .expect("a message within 15 s")
            .expect("read")
            .expect("the SMTP receiver is still running");
        serde_json::from_str(&line).expect("a JSON line")
    }
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
