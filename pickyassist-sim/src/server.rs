//! Serving the simulator over TCP, with the one thing `axum::serve` cannot do: close a
//! connection without answering.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;
use url::Url;

use crate::sim::Simulator;

/// Response extension by which a handler asks for the connection to be closed instead of
/// answered. The service below turns it into an error, on which hyper closes the connection
/// without writing a byte, so a client sees a transport error and no HTTP status.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose by the simulator")]
struct Dropped;

/// A running simulator. Dropping it (or [`SimHandle::shutdown`]) stops the server and closes
/// every open connection, including requests held by the `timeout` fault.
#[derive(Debug)]
pub struct SimHandle {
    /// The bound address (with the real port when bound to port 0).
    pub addr: SocketAddr,
    /// `http://{addr}/app/api/v2`, the base URL for [`pickyassist::ClientConfig`].
    pub base_url: Url,
    /// `http://{addr}/_sim/`, the control API.
    pub control_url: Url,
    task: JoinHandle<()>,
}

impl SimHandle {
    /// Stops the server and waits until the listener is closed.
    pub async fn shutdown(mut self) {
        self.task.abort();
        // The task ends as cancelled; that is the expected outcome, not an error.
        let _ = (&mut self.task).await;
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` (port 0 picks a free port) and serves `sim` on a tokio task.
pub async fn spawn(sim: Simulator, addr: SocketAddr) -> io::Result<SimHandle> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let base_url = Url::parse(&format!("http://{addr}/app/api/v2")).map_err(io::Error::other)?;
    let control_url = Url::parse(&format!("http://{addr}/_sim/")).map_err(io::Error::other)?;
    let task = tokio::spawn(accept_loop(listener, sim.router()));
    Ok(SimHandle {
        addr,
        base_url,
        control_url,
        task,
    })
}

async fn accept_loop(listener: TcpListener, router: Router) {
    // Owned here so that aborting this task aborts every connection with it.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone()));
                }
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "simulator could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, router: Router) {
    // Small JSON answers: do not let Nagle hold them back (it would skew latency numbers).
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "could not set TCP_NODELAY");
    }
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let router = router.clone();
        async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if response.extensions().get::<DropConnection>().is_some() {
                Err(Dropped)
            } else {
                Ok(response)
            }
        }
    });
    if let Err(error) = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(%error, "simulator connection ended");
    }
}
