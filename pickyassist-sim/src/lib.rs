//! A real HTTP simulator of the PickyAssist device API (`device-status` and `device-action`,
//! see `shared/pickyassist-device-api.md`), used by the dashboard's default run, by the
//! integration tests and by the benchmarks.
//!
//! It speaks the upstream wire format over real TCP, keeps a small state machine per project
//! (commands change what `device-status` reports, a queue may grow while connected), enforces
//! the documented status rate limit by dropping connections, and can inject faults — latency,
//! hangs, dropped connections, HTTP 500, non-JSON and sloppy bodies, slow drips — globally or
//! per project, switchable at run time through [`Simulator`] or the `/_sim/` control API.
//!
//! # Wire behaviour
//!
//! Both endpoints answer HTTP 200 with a JSON body, as upstream does. Rejections use upstream's
//! shape `{"status": <code>, "message": "..."}` with the codes in [`codes`]. Upstream's own
//! error-code table could not be retrieved, so only 100 ("Success") is upstream's; the others
//! are this simulator's choice. Checks run in this order: body shape (101), token (102),
//! `restart-server` downtime and then the status rate limit (both drop the connection),
//! application (104), command (103). The token is matched exactly; `application` must be 10,
//! as a number or a string. Unknown tokens are not rate limited (there is no one to count
//! them against).
//!
//! A "dropped" request (rate limit, `restart-server` downtime, the `connection_drop` fault) is
//! a TCP close without any HTTP response, which only works when served through [`spawn`]; see
//! [`Simulator::router`].
//!
//! # Control API (JSON)
//!
//! | route | effect |
//! | --- | --- |
//! | `GET /_sim/stats`, `POST /_sim/stats/reset` | request counters ([`Stats`]) |
//! | `GET /_sim/faults`, `DELETE /_sim/faults` | all faults ([`FaultsView`]) / clear them all |
//! | `PUT`, `DELETE /_sim/faults/global` | body: a [`Fault`], e.g. `{"kind":"latency","ms":2000}` |
//! | `PUT`, `DELETE /_sim/faults/projects/{project_id}` | same, for one project (404 if unknown) |
//! | `GET /_sim/projects`, `GET /_sim/projects/{project_id}` | [`ProjectView`]s (never tokens) |
//! | `POST /_sim/projects` | body: a [`NewProject`]; 201, 409 on a duplicate token or id |
//! | `PATCH /_sim/projects/{project_id}` | body: `{"state": "TIMEOUT", "queue": 12}` (queue optional): the device changes on its own |
//! | `GET`, `PUT /_sim/config` | body: `{"status_limit_per_minute": 3}` (`null`: no limit) and/or `{"server_restart_downtime_ms": 500}` |
//!
//! Bad input gets 400 (not JSON, bad path) or 422 (JSON of the wrong shape) with
//! `{"error": "..."}`; an unknown project gets 404.

mod config;
mod control;
mod fault;
mod project;
mod server;
mod sim;
mod stats;
mod upstream;

pub use config::{DemoProject, SimConfig, DEMO_FLEET, SIM_VERSION};
pub use fault::{Fault, FaultScope, FaultsView};
pub use project::{CommandRecord, ProjectView};
pub use server::{spawn, SimHandle};
pub use sim::{AddProjectError, NewProject, Simulator};
pub use stats::{RequestCounts, Stats};

/// The `status` codes the simulator answers with. Only [`codes::SUCCESS`] is documented by
/// upstream; the rejection codes are ours, in upstream's body shape.
pub mod codes {
    /// `{"status": 100, "message": "Success"}`: a `device-action` was accepted.
    pub const SUCCESS: i64 = pickyassist::SUCCESS_CODE;
    /// `"Invalid request"`: the body is not a JSON object or has no string `token`.
    pub const INVALID_REQUEST: i64 = 101;
    /// `"Invalid Token"`: no project has this token (also the `bad_token` fault).
    pub const INVALID_TOKEN: i64 = 102;
    /// `"Invalid command"`: `command` is missing or not one of the five documented names.
    pub const INVALID_COMMAND: i64 = 103;
    /// `"Invalid application"`: `application` is missing or not 10 (as a number or a string).
    pub const INVALID_APPLICATION: i64 = 104;
}
