use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A misbehaviour to inject into both endpoints. JSON: `{"kind": "latency", "ms": 2000}`,
/// `{"kind": "timeout"}`, `{"kind": "slow_drip", "bytes_per_sec": 20}`, ...
///
/// Only [`Fault::Latency`], [`Fault::SlowDrip`] and [`Fault::NumbersAsStrings`] let a request
/// through to the simulated upstream (a command is executed, a status check counts against the
/// rate limit); every other fault answers in its place.
///
/// Unknown fields are refused for the variants with fields; serde cannot refuse them on the
/// unit variants of an internally tagged enum, so `{"kind":"timeout","ms":5}` is a timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Wait this long, then answer normally.
    Latency { ms: u64 },
    /// Never answer; the request is held until the client gives up.
    Timeout,
    /// Close the TCP connection without any HTTP response.
    ConnectionDrop,
    /// HTTP 500 with a plain-text body.
    Http500,
    /// HTTP 200 with an HTML error page.
    NonJson,
    /// Every number in the JSON body sent as a string (`"message_queue_count": "3"`,
    /// `"status": "100"`).
    NumbersAsStrings,
    /// The JSON body without its `status` field (never executes a command).
    MissingFields,
    /// The normal body, sent a chunk at a time at about this rate (0 counts as 1).
    SlowDrip { bytes_per_sec: u64 },
    /// Answer as if the token were unknown (code 102).
    BadToken,
}

impl Fault {
    /// Whether the request still reaches the simulated upstream under this fault.
    pub fn reaches_upstream(&self) -> bool {
        matches!(
            self,
            Fault::Latency { .. } | Fault::SlowDrip { .. } | Fault::NumbersAsStrings
        )
    }

    /// Refuses settings the control API should not accept.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        match self {
            Fault::SlowDrip { bytes_per_sec: 0 } => {
                Err("slow_drip needs bytes_per_sec of at least 1")
            }
            _ => Ok(()),
        }
    }
}

/// Where a fault applies. A project's own fault overrides the global one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultScope {
    Global,
    Project(u64),
}

/// Every fault in force, as `GET /_sim/faults` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsView {
    pub global: Option<Fault>,
    pub projects: BTreeMap<u64, Fault>,
}

/// The faults in force. A per-project entry may name a project that does not exist (yet):
/// the library lets tests arm a fault before adding the project.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    global: Option<Fault>,
    projects: BTreeMap<u64, Fault>,
}

impl FaultTable {
    pub(crate) fn set(&mut self, scope: FaultScope, fault: Option<Fault>) {
        match (scope, fault) {
            (FaultScope::Global, fault) => self.global = fault,
            (FaultScope::Project(id), Some(fault)) => {
                self.projects.insert(id, fault);
            }
            (FaultScope::Project(id), None) => {
                self.projects.remove(&id);
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.global = None;
        self.projects.clear();
    }

    /// The fault for a request: the project's own, else the global one. Requests that name
    /// no known project only see the global fault.
    pub(crate) fn select(&self, project: Option<u64>) -> Option<&Fault> {
        project
            .and_then(|id| self.projects.get(&id))
            .or(self.global.as_ref())
    }

    pub(crate) fn view(&self) -> FaultsView {
        FaultsView {
            global: self.global.clone(),
            projects: self.projects.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_fault_overrides_the_global_one_for_that_project_only() {
        let mut table = FaultTable::default();
        table.set(FaultScope::Global, Some(Fault::Http500));
        table.set(FaultScope::Project(929), Some(Fault::Latency { ms: 10 }));
        assert_eq!(table.select(Some(929)), Some(&Fault::Latency { ms: 10 }));
        assert_eq!(table.select(Some(930)), Some(&Fault::Http500));
        assert_eq!(table.select(None), Some(&Fault::Http500));
    }

    #[test]
    fn clearing_a_scope_leaves_the_other_in_force() {
        let mut table = FaultTable::default();
        table.set(FaultScope::Global, Some(Fault::NonJson));
        table.set(FaultScope::Project(929), Some(Fault::Timeout));
        table.set(FaultScope::Global, None);
        assert_eq!(table.select(Some(929)), Some(&Fault::Timeout));
        assert_eq!(table.select(Some(930)), None);
        table.set(FaultScope::Global, Some(Fault::NonJson));
        table.set(FaultScope::Project(929), None);
        assert_eq!(table.select(Some(929)), Some(&Fault::NonJson));
        table.clear();
        assert_eq!(table.select(Some(929)), None);
        assert_eq!(table.view(), FaultsView::default());
    }

    #[test]
    fn faults_use_the_documented_json_shape() {
        let cases = [
            (
                Fault::Latency { ms: 2000 },
                r#"{"kind":"latency","ms":2000}"#,
            ),
            (Fault::Timeout, r#"{"kind":"timeout"}"#),
            (Fault::ConnectionDrop, r#"{"kind":"connection_drop"}"#),
            (Fault::Http500, r#"{"kind":"http500"}"#),
            (Fault::NonJson, r#"{"kind":"non_json"}"#),
            (Fault::NumbersAsStrings, r#"{"kind":"numbers_as_strings"}"#),
            (Fault::MissingFields, r#"{"kind":"missing_fields"}"#),
            (
                Fault::SlowDrip { bytes_per_sec: 5 },
                r#"{"kind":"slow_drip","bytes_per_sec":5}"#,
            ),
            (Fault::BadToken, r#"{"kind":"bad_token"}"#),
        ];
        for (fault, json) in cases {
            assert_eq!(serde_json::to_string(&fault).unwrap(), json);
            assert_eq!(serde_json::from_str::<Fault>(json).unwrap(), fault);
        }
        for bad in [
            r#"{"kind":"latency"}"#,
            r#"{"kind":"nope"}"#,
            r#"{"ms":5}"#,
            r#"{"kind":"latency","ms":5,"x":1}"#,
        ] {
            assert!(serde_json::from_str::<Fault>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_latency_slow_drip_and_numbers_as_strings_reach_upstream() {
        let through: Vec<Fault> = [
            Fault::Latency { ms: 1 },
            Fault::Timeout,
            Fault::ConnectionDrop,
            Fault::Http500,
            Fault::NonJson,
            Fault::NumbersAsStrings,
            Fault::MissingFields,
            Fault::SlowDrip { bytes_per_sec: 1 },
            Fault::BadToken,
        ]
        .into_iter()
        .filter(Fault::reaches_upstream)
        .collect();
        assert_eq!(
            through,
            vec![
                Fault::Latency { ms: 1 },
                Fault::NumbersAsStrings,
                Fault::SlowDrip { bytes_per_sec: 1 }
            ]
        );
    }
}
