//! `GET /healthz`: whether this instance can do its work. 200 when the database answers, the
//! audit writer runs, the poller keeps to its schedule and every supervised task runs; 503
//! otherwise, with each part's state:
//! `{"status": "ok", "database": "ok", "audit_writer": "ok", "poller": {"state": "ok",
//! "last_round_secs_ago": 12}, "instance": "5f0c1a2b", "role": "poller",
//! "tasks": {"session_cleanup": "ok", ...}}`. With several instances on PostgreSQL, `role` says
//! which one polls ("poller") and which stand by ("standby").

use axum::{extract::State, http::StatusCode, Json};
use fleet::Fleet;
use serde_json::{json, Map, Value};

pub async fn healthz(State(fleet): State<Fleet>) -> (StatusCode, Json<Value>) {
    let database = match fleet.database_answers().await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            false
        }
    };
    let audit_writer = fleet.audit_writer_running();
    // Behind: more than two rounds (with their 10 % jitter) missed.
    let late = fleet.poll_interval().mul_f64(2.2);
    let (poller_ok, poller) = match fleet.last_poll_round_age() {
        // Another instance polls: this one's schedule is not its business.
        _ if !fleet.is_poller() => (true, json!({"state": "standby"})),
        None => (true, json!({"state": "starting"})),
        Some(age) => {
            let behind = age > late;
            (
                !behind,
                json!({
                    "state": if behind { "behind" } else { "ok" },
                    "last_round_secs_ago": age.as_secs(),
                }),
            )
        }
    };
    let mut tasks = Map::new();
    let mut tasks_ok = true;
    for (name, running) in fleet.task_health() {
        tasks_ok &= running;
        tasks.insert(
            name.to_owned(),
            Value::from(if running { "ok" } else { "restarting" }),
        );
    }
    let up = |ok: bool| if ok { "ok" } else { "down" };
    let healthy = database && audit_writer && poller_ok && tasks_ok;
    let body = json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "database": up(database),
        "audit_writer": up(audit_writer),
        "poller": poller,
        "instance": fleet.instance_id(),
        "role": if fleet.is_poller() { "poller" } else { "standby" },
        "tasks": tasks,
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
