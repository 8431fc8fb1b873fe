use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::upstream::Endpoint;

/// Requests that reached the simulator's endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Every `device-status` request, whatever became of it (dropped ones included).
    pub device_status: u64,
    /// Every `device-action` request, whatever became of it.
    pub device_action: u64,
    /// Status checks dropped by the rate limit.
    pub dropped: u64,
    /// Requests dropped because the project's server was restarting.
    pub server_down: u64,
    /// Requests answered by a fault instead of the simulated upstream.
    pub faulted: u64,
}

impl RequestCounts {
    pub(crate) fn arrived(&mut self, endpoint: Endpoint, faulted: bool) {
        match endpoint {
            Endpoint::Status => self.device_status += 1,
            Endpoint::Action => self.device_action += 1,
        }
        if faulted {
            self.faulted += 1;
        }
    }
}

/// What `GET /_sim/stats` returns. `totals` also counts requests that named no known project
/// (unknown token, invalid body), so it can exceed the sum of `projects`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub projects: BTreeMap<u64, RequestCounts>,
    pub totals: RequestCounts,
}
