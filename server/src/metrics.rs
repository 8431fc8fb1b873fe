//! `GET /metrics`: Prometheus text. Counters and histograms are recorded where things happen
//! (the service layer); the gauges below are read from the live state at scrape time.

use std::sync::OnceLock;

use axum::{extract::State, http::header, response::IntoResponse};
use fleet::{model::Health, Fleet};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide recorder (installed once; tests start many apps in one process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        handle
    })
}

pub async fn render(State(fleet): State<Fleet>) -> impl IntoResponse {
    let handle = handle();
    let view = fleet.fleet_snapshot();
    for health in Health::ALL {
        let count = view
            .cards
            .iter()
            .filter(|c| c.status.health == health)
            .count();
        metrics::gauge!("picky_fleet_projects", "state" => health.slug()).set(count as f64);
    }
    metrics::gauge!("picky_fleet_sse_clients").set(fleet.event_subscribers() as f64);
    if let Some(lag) = fleet.poll_lag() {
        metrics::gauge!("picky_fleet_poll_lag_seconds").set(lag.as_secs_f64());
    }
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}
