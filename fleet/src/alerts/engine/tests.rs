use std::collections::HashMap;

use chrono::TimeZone;

use super::*;

/// Rules and quiet per project, as the service would give them.
#[derive(Default)]
struct Fixture {
    rule: AlertRule,
    quiet: HashMap<i64, Quiet>,
}

impl Context for Fixture {
    fn rule(&self, _project_id: i64) -> AlertRule {
        self.rule.clone()
    }
    fn quiet(&self, project_id: i64, _health: Health) -> Option<Quiet> {
        self.quiet.get(&project_id).cloned()
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
}

fn minutes(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}

fn obs(project_id: i64, health: Health) -> Observation {
    Observation { project_id, health }
}

/// Runs a round and plays the service's part: every `Open` gets an id (project id × 100, the
/// storm 9999) and the engine is told of every decision.
fn round(
    engine: &mut Engine,
    fixture: &Fixture,
    at: DateTime<Utc>,
    observations: &[Observation],
    fleet_size: usize,
) -> Vec<Decision> {
    let decisions = engine.round(observations, fixture, at, fleet_size, 50, false);
    let storm_opens = decisions
        .iter()
        .any(|d| matches!(d, Decision::OpenStorm { .. }));
    let mut members = Vec::new();
    for decision in &decisions {
        match decision {
            Decision::Open {
                project_id,
                kind,
                since,
                silenced,
                storm,
                ..
            } => {
                let storm_id = storm.map(|s| if s == 0 { 9999 } else { s });
                if storm_id.is_some() {
                    members.push(*project_id);
                }
                engine.opened(
                    *project_id,
                    OpenAlert {
                        id: project_id * 100,
                        kind: *kind,
                        since: *since,
                        repeats: 0,
                        next_repeat_at: None,
                        acknowledged: false,
                        storm_id,
                        silenced: silenced.as_ref().map(|q| q.as_str().to_owned()),
                    },
                    &fixture.rule,
                    at,
                );
            }
            Decision::Repeat { project_id, .. } => engine.repeated(*project_id, at, &fixture.rule),
            Decision::Unsilence { project_id, .. } => {
                engine.unsilenced(*project_id, at, &fixture.rule)
            }
            Decision::Recover { project_id, .. } => {
                engine.recovered(*project_id);
            }
            Decision::OpenStorm { .. } => {}
        }
    }
    if storm_opens {
        engine.storm_opened(9999, members);
    } else {
        for member in members {
            engine.joined_storm(member);
        }
    }
    decisions
}

#[test]
fn one_failing_poll_alerts_nobody_the_second_does() {
    let (mut engine, fixture) = (Engine::default(), Fixture::default());
    assert!(round(
        &mut engine,
        &fixture,
        minutes(0),
        &[obs(1, Health::Timeout)],
        10
    )
    .is_empty());
    assert!(round(
        &mut engine,
        &fixture,
        minutes(1),
        &[obs(1, Health::Connected)],
        10
    )
    .is_empty());
    assert!(round(
        &mut engine,
        &fixture,
        minutes(2),
        &[obs(1, Health::Timeout)],
        10
    )
    .is_empty());
    let decisions = round(
        &mut engine,
        &fixture,
        minutes(3),
        &[obs(1, Health::Unpaired)],
        10,
    );
    assert_eq!(
        decisions,
        vec![Decision::Open {
            project_id: 1,
            kind: AlertKind::Device,
            health: Health::Unpaired,
            since: minutes(2),
            silenced: None,
            storm: None,
        }]
    );
}

#[test]
fn repeats_every_m_minutes_at_most_k_times_then_recovers_after_r_good_polls() {
    let mut engine = Engine::default();
    let fixture = Fixture {
        rule: AlertRule {
            fail_after: 1,
            repeat_every_minutes: 10,
            repeat_max: 2,
            recover_after: 3,
            ..AlertRule::default()
        },
        ..Fixture::default()
    };
    let mut repeats = Vec::new();
    for m in 0..60 {
        for d in round(
            &mut engine,
            &fixture,
            minutes(m),
            &[obs(1, Health::Timeout)],
            10,
        ) {
            if let Decision::Repeat { repeat, .. } = d {
                repeats.push((m, repeat));
            }
        }
    }
    assert_eq!(
        repeats,
        vec![(10, 1), (20, 2)],
        "two reminders, ten minutes apart"
    );
    assert!(round(
        &mut engine,
        &fixture,
        minutes(60),
        &[obs(1, Health::Connected)],
        10
    )
    .is_empty());
    assert!(round(
        &mut engine,
        &fixture,
        minutes(61),
        &[obs(1, Health::Connected)],
        10
    )
    .is_empty());
    assert_eq!(
        round(
            &mut engine,
            &fixture,
            minutes(62),
            &[obs(1, Health::Connected)],
            10
        ),
        vec![Decision::Recover {
            project_id: 1,
            alert_id: 100,
            since: minutes(0),
            notify: true
        }]
    );
}

#[test]
fn a_good_poll_between_failing_ones_does_not_recover_or_reopen() {
    let mut engine = Engine::default();
    let fixture = Fixture::default();
    round(
        &mut engine,
        &fixture,
        minutes(0),
        &[obs(1, Health::Timeout)],
        10,
    );
    assert_eq!(
        round(
            &mut engine,
            &fixture,
            minutes(1),
            &[obs(1, Health::Timeout)],
            10
        )
        .len(),
        1
    );
    assert!(round(
        &mut engine,
        &fixture,
        minutes(2),
        &[obs(1, Health::Connected)],
        10
    )
    .is_empty());
    assert!(round(
        &mut engine,
        &fixture,
        minutes(3),
        &[obs(1, Health::Timeout)],
        10
    )
    .is_empty());
    assert!(round(
        &mut engine,
        &fixture,
        minutes(4),
        &[obs(1, Health::Timeout)],
        10
    )
    .is_empty());
    assert_eq!(engine.open_alert(1).map(|a| a.since), Some(minutes(0)));
}

#[test]
fn acknowledging_stops_the_reminders() {
    let mut engine = Engine::default();
    let fixture = Fixture {
        rule: AlertRule {
            fail_after: 1,
            repeat_every_minutes: 5,
            ..AlertRule::default()
        },
        ..Fixture::default()
    };
    round(
        &mut engine,
        &fixture,
        minutes(0),
        &[obs(1, Health::Timeout)],
        10,
    );
    engine.acknowledged(100);
    for m in 1..120 {
        assert!(round(
            &mut engine,
            &fixture,
            minutes(m),
            &[obs(1, Health::Timeout)],
            10
        )
        .is_empty());
    }
    let recovered = round(
        &mut engine,
        &fixture,
        minutes(120),
        &[obs(1, Health::Connected)],
        10,
    );
    assert!(recovered.is_empty(), "recovery waits for two good polls");
    assert!(matches!(
        round(
            &mut engine,
            &fixture,
            minutes(121),
            &[obs(1, Health::Connected)],
            10
        )[..],
        [Decision::Recover { notify: true, .. }]
    ));
}

#[test]
fn a_quiet_project_opens_a_silenced_alert_which_speaks_when_the_quiet_ends() {
    let mut engine = Engine::default();
    let mut fixture = Fixture::default();
    fixture.quiet.insert(
        1,
        Quiet::Muted {
            until: "later".into(),
        },
    );
    round(
        &mut engine,
        &fixture,
        minutes(0),
        &[obs(1, Health::Timeout)],
        10,
    );
    let opened = round(
        &mut engine,
        &fixture,
        minutes(1),
        &[obs(1, Health::Timeout)],
        10,
    );
    assert!(matches!(
        &opened[..],
        [Decision::Open {
            silenced: Some(_),
            ..
        }]
    ));
    assert!(round(
        &mut engine,
        &fixture,
        minutes(2),
        &[obs(1, Health::Timeout)],
        10
    )
    .is_empty());
    fixture.quiet.clear();
    assert_eq!(
        round(
            &mut engine,
            &fixture,
            minutes(3),
            &[obs(1, Health::Timeout)],
            10
        ),
        vec![Decision::Unsilence {
            project_id: 1,
            alert_id: 100
        }]
    );
}

#[test]
fn a_silenced_alert_recovers_without_a_message() {
    let mut engine = Engine::default();
    let mut fixture = Fixture::default();
    fixture.quiet.insert(1, Quiet::Maintenance);
    for m in 0..2 {
        round(
            &mut engine,
            &fixture,
            minutes(m),
            &[obs(1, Health::Unpaired)],
            10,
        );
    }
    round(
        &mut engine,
        &fixture,
        minutes(2),
        &[obs(1, Health::Connected)],
        10,
    );
    assert!(matches!(
        round(
            &mut engine,
            &fixture,
            minutes(3),
            &[obs(1, Health::Connected)],
            10
        )[..],
        [Decision::Recover { notify: false, .. }]
    ));
}

#[test]
fn dashboard_faults_are_their_own_kind_and_can_be_left_out() {
    let mut engine = Engine::default();
    let mut fixture = Fixture::default();
    for m in 0..2 {
        round(
            &mut engine,
            &fixture,
            minutes(m),
            &[obs(1, Health::Rejected)],
            10,
        );
    }
    assert_eq!(
        engine.open_alert(1).map(|a| a.kind),
        Some(AlertKind::Dashboard)
    );
    fixture.rule.on_dashboard_faults = false;
    for m in 0..5 {
        assert!(round(
            &mut engine,
            &fixture,
            minutes(m),
            &[obs(2, Health::Unreachable)],
            10
        )
        .is_empty());
    }
}

#[test]
fn many_projects_down_in_one_round_make_one_storm_which_ends_with_its_last_member() {
    let mut engine = Engine::default();
    let fixture = Fixture::default();
    let down: Vec<_> = (1..=8).map(|id| obs(id, Health::Unreachable)).collect();
    round(&mut engine, &fixture, minutes(0), &down, 10);
    let decisions = round(&mut engine, &fixture, minutes(1), &down, 10);
    assert!(decisions.contains(&Decision::OpenStorm {
        affected: 8,
        since: minutes(0)
    }));
    assert!(decisions
        .iter()
        .all(|d| !matches!(d, Decision::Open { storm: None, .. })));
    // A project failing during the storm joins it.
    round(
        &mut engine,
        &fixture,
        minutes(2),
        &[obs(9, Health::Unreachable)],
        10,
    );
    let joined = round(
        &mut engine,
        &fixture,
        minutes(3),
        &[obs(9, Health::Unreachable)],
        10,
    );
    assert!(matches!(
        joined[..],
        [Decision::Open {
            storm: Some(9999),
            ..
        }]
    ));
    // Members recover silently; the storm's own recovery is the caller's, when the last goes.
    let up: Vec<_> = (1..=9).map(|id| obs(id, Health::Connected)).collect();
    round(&mut engine, &fixture, minutes(4), &up, 10);
    let recovered = engine.round(&up, &fixture, minutes(5), 10, 50, false);
    assert_eq!(recovered.len(), 9);
    assert!(recovered
        .iter()
        .all(|d| matches!(d, Decision::Recover { notify: false, .. })));
    let last = (1..=9)
        .filter_map(|id| engine.recovered(id))
        .collect::<Vec<_>>();
    assert_eq!(last, vec![9999]);
}

#[test]
fn a_few_projects_down_together_are_not_a_storm() {
    let mut engine = Engine::default();
    let fixture = Fixture::default();
    let down: Vec<_> = (1..=5).map(|id| obs(id, Health::Timeout)).collect();
    round(&mut engine, &fixture, minutes(0), &down, 10);
    let decisions = round(&mut engine, &fixture, minutes(1), &down, 10);
    assert_eq!(decisions.len(), 5, "5 of 10 is not more than 50 %");
    assert!(decisions
        .iter()
        .all(|d| matches!(d, Decision::Open { storm: None, .. })));
}

#[test]
fn an_outage_that_outlasts_a_round_opens_a_storm_over_every_failing_project() {
    let mut engine = Engine::default();
    let fixture = Fixture::default();
    let down: Vec<_> = (1..=4).map(|id| obs(id, Health::Unreachable)).collect();
    // The round that finds upstream down: one failing poll each, nothing yet.
    assert!(engine
        .round(&down, &fixture, minutes(0), 4, 50, true)
        .is_empty());
    // In the outage only one probe goes out per round.
    let decisions = engine.round(
        &[obs(1, Health::Unreachable)],
        &fixture,
        minutes(1),
        4,
        50,
        true,
    );
    assert!(decisions.contains(&Decision::OpenStorm {
        affected: 4,
        since: minutes(0)
    }));
    let members = decisions
        .iter()
        .filter(|d| matches!(d, Decision::Open { storm: Some(0), .. }))
        .count();
    assert_eq!(members, 4);
}

#[test]
fn one_round_in_outage_mode_is_not_yet_a_storm() {
    let mut engine = Engine::default();
    let fixture = Fixture::default();
    let down: Vec<_> = (1..=4).map(|id| obs(id, Health::Unreachable)).collect();
    assert!(engine
        .round(&down, &fixture, minutes(0), 4, 50, true)
        .is_empty());
    let up: Vec<_> = (1..=4).map(|id| obs(id, Health::Connected)).collect();
    assert!(engine
        .round(&up, &fixture, minutes(1), 4, 50, false)
        .is_empty());
}
