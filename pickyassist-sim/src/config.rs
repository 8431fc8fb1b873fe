use std::time::Duration;

use chrono::FixedOffset;
use pickyassist::DeviceState;

/// The WhatsApp Web version every simulated project reports (the one in upstream's sample).
pub const SIM_VERSION: &str = "2.2119.6";

/// India Standard Time, the offset of upstream's sample `time`.
const IST: FixedOffset = match FixedOffset::east_opt(5 * 3600 + 30 * 60) {
    Some(offset) => offset,
    None => panic!("+05:30 is a valid UTC offset"),
};

/// How the simulator behaves. [`SimConfig::default`] mimics upstream; tests shorten the
/// durations.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Status checks per token per rolling minute; the ones over it are dropped (connection
    /// closed without an answer), as upstream drops them. `None` means unlimited.
    pub status_limit_per_minute: Option<u32>,
    /// After `restart`, the project reports `TIMEOUT` this long, then its previous state.
    pub restart_timeout: Duration,
    /// After `restart-server`, every request with the project's token has its connection
    /// dropped this long, then the project is back as it was.
    pub server_restart_downtime: Duration,
    /// While `CONNECTED`, the message queue of a project that grows (`queue_grows`: projects
    /// added through the API, and the demo's Northwind Logistics, whose queue is stuck) grows
    /// by one per interval. `None` (or zero) keeps queues still.
    pub queue_growth_interval: Option<Duration>,
    /// The offset of the `time` field, like the time zone of a PickyAssist profile.
    pub utc_offset: FixedOffset,
    /// Start with [`DEMO_FLEET`] loaded.
    pub demo_fleet: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            status_limit_per_minute: Some(3),
            restart_timeout: Duration::from_secs(5),
            server_restart_downtime: Duration::from_secs(8),
            queue_growth_interval: Some(Duration::from_secs(10)),
            utc_offset: IST,
            demo_fleet: true,
        }
    }
}

/// One project of the demo fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoProject {
    pub name: &'static str,
    /// Fake: it only opens this simulator. Unique, and shares no 8-character run with any
    /// other demo token, so a leak check on a prefix finds exactly one project.
    pub token: &'static str,
    pub project_id: u64,
    pub state: DeviceState,
    pub connected_number: Option<&'static str>,
    pub queue: u64,
    /// Whether its queue grows while connected (messages arriving faster than they go out).
    pub queue_grows: bool,
}

/// Six projects in varied states: four `CONNECTED` with different queues, one `TIMEOUT`,
/// one `UNPAIRED`. The numbers are in the 555-01xx range reserved for fiction.
pub const DEMO_FLEET: &[DemoProject] = &[
    DemoProject {
        name: "Acme Support",
        token: "11cc952bd14b5a6f818dd3905f440c961c",
        project_id: 929,
        state: DeviceState::Connected,
        connected_number: Some("15555550100"),
        queue_grows: false,
        queue: 0,
    },
    DemoProject {
        name: "Bella Pizza Orders",
        token: "a88dc3cba3942756cf034f31ae0d41714f",
        project_id: 930,
        state: DeviceState::Connected,
        connected_number: Some("15555550101"),
        queue_grows: false,
        queue: 4,
    },
    DemoProject {
        name: "City Dental Reminders",
        token: "d79a468f07b37b92096389612f6e250155",
        project_id: 931,
        state: DeviceState::Connected,
        connected_number: Some("15555550102"),
        queue_grows: false,
        queue: 17,
    },
    DemoProject {
        name: "Northwind Logistics",
        token: "7c35b846a562d84178a44290de2f4b9986",
        project_id: 932,
        state: DeviceState::Connected,
        connected_number: Some("15555550103"),
        queue_grows: true,
        queue: 58,
    },
    DemoProject {
        name: "Green Leaf Clinic",
        token: "2dbdd43b01aa9f8734117d8e04b2878d0e",
        project_id: 933,
        state: DeviceState::Timeout,
        connected_number: Some("15555550104"),
        queue_grows: false,
        queue: 9,
    },
    DemoProject {
        name: "Sunrise Travel Desk",
        token: "8bae53c366ce1187127989c7c24706ebc3",
        project_id: 934,
        state: DeviceState::Unpaired,
        connected_number: None,
        queue_grows: false,
        queue: 0,
    },
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_default_offset_is_india_standard_time() {
        assert_eq!(SimConfig::default().utc_offset.local_minus_utc(), 19_800);
    }

    #[test]
    fn demo_tokens_are_valid_unique_and_share_no_eight_character_run() {
        let mut runs: HashSet<&str> = HashSet::new();
        for project in DEMO_FLEET {
            assert_eq!(project.token.len(), 34, "{}", project.name);
            assert!(project.token.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(pickyassist::ApiToken::parse(project.token).is_ok());
            let mine: HashSet<&str> = (0..=project.token.len() - 8)
                .map(|i| &project.token[i..i + 8])
                .collect();
            assert!(
                runs.is_disjoint(&mine),
                "{} shares a run with another token",
                project.name
            );
            runs.extend(mine);
        }
    }

    #[test]
    fn the_demo_fleet_has_the_promised_mix_of_states() {
        let count = |state: DeviceState| DEMO_FLEET.iter().filter(|p| p.state == state).count();
        assert_eq!(DEMO_FLEET.len(), 6);
        assert_eq!(count(DeviceState::Connected), 4);
        assert_eq!(count(DeviceState::Timeout), 1);
        assert_eq!(count(DeviceState::Unpaired), 1);
        let ids: HashSet<u64> = DEMO_FLEET.iter().map(|p| p.project_id).collect();
        assert_eq!(ids.len(), DEMO_FLEET.len());
        let queues: HashSet<u64> = DEMO_FLEET
            .iter()
            .filter(|p| p.state == DeviceState::Connected)
            .map(|p| p.queue)
            .collect();
        assert_eq!(queues.len(), 4, "connected projects should differ in queue");
    }
}
