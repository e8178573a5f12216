//! Times as people type them on a command line or in a query string: a date (`2026-11-20`) or
//! an RFC 3339 time (`2026-11-20T08:00:00+08:00`), read the same way by both binaries and the
//! HTTP API so one example works everywhere.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};

/// Which end of a window a bare date stands for: `--from 2026-11-20` starts at that day's
/// midnight, `--to 2026-11-22` ends at the next one, so the 22nd is included (as a person
/// reading "from the 20th to the 22nd" expects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Start,
    End,
}

/// A time that could not be read, with what to type instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTime {
    pub text: String,
    pub zone: String,
}

impl std::fmt::Display for BadTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} is not a time: give a date like 2026-11-20 (that day in {}) or an RFC 3339 time like \
             2026-11-20T08:00:00+08:00",
            self.text, self.zone
        )
    }
}

impl std::error::Error for BadTime {}

/// Reads `text` as an RFC 3339 time, or as a date whose midnight is taken in `zone` (`Edge::End`:
/// the midnight after it). A date whose midnight does not exist in `zone` (a DST gap) starts at
/// the first instant after the gap.
pub fn parse_instant_in<Tz: TimeZone>(
    text: &str,
    edge: Edge,
    zone: &Tz,
    zone_name: &str,
) -> Result<DateTime<Utc>, BadTime> {
    let text = text.trim();
    let bad = || BadTime {
        text: text.to_string(),
        zone: zone_name.to_string(),
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())?;
    let date = match edge {
        Edge::Start => date,
        Edge::End => date.checked_add_days(Days::new(1)).ok_or_else(bad)?,
    };
    // Midnight, or the first whole hour after a gap that swallowed it.
    (0..=3)
        .filter_map(|h| date.and_hms_opt(h, 0, 0))
        .find_map(|local| zone.from_local_datetime(&local).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(bad)
}

/// [`parse_instant_in`] with dates taken in UTC (the trace server, which serves many zones).
pub fn parse_instant(text: &str, edge: Edge) -> Result<DateTime<Utc>, BadTime> {
    parse_instant_in(text, edge, &Utc, "UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_read_alike_everywhere() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            parse_instant("2026-11-20", Edge::Start).unwrap(),
            t("2026-11-20T00:00:00Z")
        );
        assert_eq!(
            parse_instant("2026-11-22", Edge::End).unwrap(),
            t("2026-11-23T00:00:00Z")
        );
        assert_eq!(
            parse_instant("2026-11-20T08:00:00+08:00", Edge::End).unwrap(),
            t("2026-11-20T00:00:00Z")
        );
        let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(
            parse_instant_in("2026-11-20", Edge::Start, &shanghai, "+08:00").unwrap(),
            t("2026-11-19T16:00:00Z")
        );
        for bad in ["2026-11-2x", "yesterday", "2026-11-20T08:00:00", ""] {
            let e = parse_instant(bad, Edge::Start).unwrap_err().to_string();
            assert!(
                e.contains("2026-11-20T08:00:00+08:00") && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
    }
}
