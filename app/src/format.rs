//! Small formatting helpers shared by the pages.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago".
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..=4 => "just now".into(),
        5..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// Upstream's clock as it sent it, readable: `2021-06-01 14:05:26 +05:30`.
///
/// Written out field by field rather than with `format("%Y-…")`: chrono's strftime
/// machinery would be the only user of it in the fleet page's wasm.
pub fn upstream_time(rfc3339: &str) -> String {
    let Ok(t) = DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_owned();
    };
    let offset = t.offset().local_minus_utc();
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.unsigned_abs() / 60;
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {sign}{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        offset / 60,
        offset % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_picks_a_readable_unit() {
        let now = Utc::now();
        let cases = [
            (0, "just now"),
            (12, "12 s ago"),
            (125, "2 min ago"),
            (7300, "2 h ago"),
            (200_000, "2 d ago"),
            (-5, "just now"),
        ];
        for (secs, want) in cases {
            assert_eq!(
                ago(now - chrono::Duration::seconds(secs), now),
                want,
                "{secs}"
            );
        }
    }

    #[test]
    fn upstream_time_keeps_the_offset() {
        assert_eq!(
            upstream_time("2021-06-01T14:05:26+05:30"),
            "2021-06-01 14:05:26 +05:30"
        );
        assert_eq!(
            upstream_time("2021-12-31T23:59:59-03:30"),
            "2021-12-31 23:59:59 -03:30"
        );
        assert_eq!(
            upstream_time("2021-06-01T14:05:26Z"),
            "2021-06-01 14:05:26 +00:00"
        );
        assert_eq!(upstream_time("garbage"), "garbage");
    }
}
