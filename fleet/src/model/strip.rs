//! A card's last 24 hours in brief ([`CardHistory`]: a letter an hour and the uptime over
//! them), built from [`StripSegment`]s, and how a share reads as a percentage.

use serde::{Deserialize, Serialize};

use super::{Health, PollCounts, Shown};

/// One hour of a card's 24-hour strip, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StripSegment {
    /// Hours before the current one: 23 for the oldest, 0 for the current hour.
    pub hours_ago: u8,
    pub counts: PollCounts,
}

/// A card's last 24 hours in brief: what its strip and its uptime figure show. It travels
/// with every status (live events too), so it is kept small: one letter per hour.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardHistory {
    /// One letter per hour, oldest first, the last for the current hour: `c` connected,
    /// `t` timeout, `u` unpaired, `s` unknown state, `f` checks failed on our side, `m` down
    /// during maintenance, `-` no data (the worst state any poll of that hour found).
    pub strip: String,
    /// When the strip's last hour starts (Unix seconds).
    pub strip_end: i64,
    /// Uptime over the strip's hours in tenths of a percent, rounded down; `None`: no data.
    pub uptime_permille: Option<u16>,
}

impl CardHistory {
    pub fn new(segments: &[StripSegment], strip_end: i64) -> Self {
        let mut total = PollCounts::default();
        for segment in segments {
            total.add(&segment.counts);
        }
        Self {
            strip: segments
                .iter()
                .map(|s| strip_letter(s.counts.worst()))
                .collect(),
            strip_end,
            uptime_permille: total.uptime().map(|u| (u * 1000.0).floor() as u16),
        }
    }

    /// The strip's hours, oldest first: when each starts (Unix seconds) and its state.
    pub fn hours(&self) -> impl Iterator<Item = (i64, Option<Shown>)> + '_ {
        let count = self.strip.chars().count() as i64;
        self.strip.chars().enumerate().map(move |(i, letter)| {
            (
                self.strip_end - (count - 1 - i as i64) * 3600,
                strip_health(letter),
            )
        })
    }

    pub fn uptime(&self) -> Option<f64> {
        self.uptime_permille.map(|p| f64::from(p) / 1000.0)
    }
}

fn strip_letter(shown: Option<Shown>) -> char {
    match shown {
        None => '-',
        Some(Shown::Maintenance) => 'm',
        Some(Shown::State(Health::Connected)) => 'c',
        Some(Shown::State(Health::Timeout)) => 't',
        Some(Shown::State(Health::Unpaired)) => 'u',
        Some(Shown::State(Health::UnknownState)) => 's',
        Some(Shown::State(_)) => 'f',
    }
}

fn strip_health(letter: char) -> Option<Shown> {
    match letter {
        'c' => Some(Shown::State(Health::Connected)),
        't' => Some(Shown::State(Health::Timeout)),
        'u' => Some(Shown::State(Health::Unpaired)),
        's' => Some(Shown::State(Health::UnknownState)),
        'f' => Some(Shown::State(Health::Unreachable)),
        'm' => Some(Shown::Maintenance),
        _ => None,
    }
}

/// "99.8 %", "100 %", or "–" when there is nothing to say.
pub fn percent(share: Option<f64>) -> String {
    match share {
        None => "–".to_owned(),
        Some(s) if s >= 1.0 => "100 %".to_owned(),
        // Never round 99.96 % up to a perfect-looking 100.0 %.
        Some(s) => format!("{:.1} %", (s * 1000.0).floor() / 10.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_history_is_a_letter_an_hour_with_its_start() {
        let hour = |hours_ago, connected, timeout| StripSegment {
            hours_ago,
            counts: PollCounts {
                polls: connected + timeout,
                connected,
                timeout,
                ..Default::default()
            },
        };
        let segments = [hour(2, 0, 0), hour(1, 119, 1), hour(0, 60, 0)];
        let card = CardHistory::new(&segments, 7200);
        assert_eq!(card.strip, "-tc");
        assert_eq!(card.uptime_permille, Some(994));
        let hours: Vec<_> = card.hours().collect();
        assert_eq!(
            hours,
            [
                (0, None),
                (3600, Some(Shown::State(Health::Timeout))),
                (7200, Some(Shown::State(Health::Connected)))
            ]
        );
    }

    #[test]
    fn percentages_never_round_up_to_a_perfect_score() {
        assert_eq!(percent(Some(0.9996)), "99.9 %");
        assert_eq!(percent(Some(1.0)), "100 %");
        assert_eq!(percent(Some(0.5)), "50.0 %");
        assert_eq!(percent(None), "–");
    }
}
