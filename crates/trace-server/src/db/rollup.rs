//! Counts per venue per UTC hour and day, kept at ingest (migration 0018), so that hotspots and
//! peaks over whole days and hours read a few thousand counts instead of millions of passages.
//!
//! Ingest adds what each batch stored, in the batch's transaction and under the venue's lock,
//! so the counts never disagree with the passages. Retention purges the counts and the visitor
//! sets (which name subjects) of the days and hours it purges (the cutoff's own day and hour
//! keep theirs until the next purge).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use wire::{Direction, VerdictKind};

/// One stored passage, as far as the counts care.
pub(super) struct Stored {
    pub venue_id: String,
    pub at: DateTime<Utc>,
    pub direction: String,
    pub verdict: String,
    pub subject: Option<String>,
}

/// What one batch adds to its venues' counts.
#[derive(Default)]
pub(super) struct Tally {
    /// (venue, hour) → passages, admitted entries, exits.
    hours: BTreeMap<(String, DateTime<Utc>), [i64; 3]>,
    /// (venue, day) → admitted entries.
    days: BTreeMap<(String, NaiveDate), i64>,
    /// (venue, day, subject) of the admitted entries.
    visitors: BTreeSet<(String, NaiveDate, String)>,
}

/// The start of the UTC hour `at` falls in.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(at)
}

impl Tally {
    pub fn of(stored: &[Stored]) -> Tally {
        let mut tally = Tally::default();
        let (entry, exit, admit) = (
            Direction::Entry.as_str(),
            Direction::Exit.as_str(),
            VerdictKind::Admit.as_str(),
        );
        for p in stored {
            let admitted_entry = p.direction == entry && p.verdict == admit;
            let counts = tally.hours.entry((p.venue_id.clone(), hour_of(p.at))).or_default();
            counts[0] += 1;
            counts[1] += i64::from(admitted_entry);
            counts[2] += i64::from(p.direction == exit);
            if admitted_entry {
                let day = p.at.date_naive();
                *tally.days.entry((p.venue_id.clone(), day)).or_default() += 1;
                if let Some(subject) = &p.subject {
                    tally.visitors.insert((p.venue_id.clone(), day, subject.clone()));
                }
            }
        }
        tally
    }

    /// Adds the tally to the counts, inside the ingest transaction.
    pub async fn apply(self, tx: &tokio_postgres::Transaction<'_>) -> Result<(), tokio_postgres::Error> {
        if self.hours.is_empty() {
            return Ok(());
        }
        // Visitors first: only the ones new to their venue's day raise its distinct count.
        let mut new_visitors: BTreeMap<(String, NaiveDate), i64> = BTreeMap::new();
        if !self.visitors.is_empty() {
            let (venues, (days, subjects)): (Vec<_>, (Vec<_>, Vec<_>)) =
                self.visitors.into_iter().map(|(v, d, s)| (v, (d, s))).unzip();
            for row in tx
                .query(
                    "INSERT INTO venue_day_visitors (venue_id, day, subject)
                     SELECT * FROM UNNEST($1::text[], $2::date[], $3::text[])
                     ON CONFLICT DO NOTHING RETURNING venue_id, day",
                    &[&venues, &days, &subjects],
                )
                .await?
            {
                *new_visitors.entry((row.get(0), row.get(1))).or_default() += 1;
            }
        }
        let (mut venues, mut hours, mut passages, mut entries, mut exits) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ((venue, hour), [p, e, x]) in self.hours {
            venues.push(venue);
            hours.push(hour);
            passages.push(p);
            entries.push(e);
            exits.push(x);
        }
        tx.execute(
            "INSERT INTO venue_hours (venue_id, hour, passages, entries, exits)
             SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::int8[], $4::int8[], $5::int8[])
             ON CONFLICT (venue_id, hour) DO UPDATE
             SET passages = venue_hours.passages + excluded.passages,
                 entries = venue_hours.entries + excluded.entries,
                 exits = venue_hours.exits + excluded.exits",
            &[&venues, &hours, &passages, &entries, &exits],
        )
        .await?;
        if self.days.is_empty() {
            return Ok(());
        }
        let (mut venues, mut days, mut entries, mut visitors) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ((venue, day), e) in self.days {
            visitors.push(new_visitors.get(&(venue.clone(), day)).copied().unwrap_or(0));
            venues.push(venue);
            days.push(day);
            entries.push(e);
        }
        tx.execute(
            "INSERT INTO venue_days (venue_id, day, entries, visitors)
             SELECT * FROM UNNEST($1::text[], $2::date[], $3::int8[], $4::int8[])
             ON CONFLICT (venue_id, day) DO UPDATE
             SET entries = venue_days.entries + excluded.entries,
                 visitors = venue_days.visitors + excluded.visitors",
            &[&venues, &days, &entries, &visitors],
        )
        .await?;
        Ok(())
    }
}

impl super::Db {
    /// Counts everything again from the passages (migration 0018's `recount_rollups`): for passages
    /// written around ingest (`synth`), and for tests that hold the counts kept at ingest to a
    /// recount. Passages already purged are no longer counted.
    pub async fn rebuild_rollups(&self) -> Result<(), crate::error::ServerError> {
        self.pool.get().await?.execute("SELECT recount_rollups()", &[]).await?;
        Ok(())
    }
}

/// Whether `at` is the start of a UTC hour (a window the hour counts answer exactly).
pub fn on_hour(at: DateTime<Utc>) -> bool {
    hour_of(at) == at
}

/// Whether `at` is a UTC midnight (a window the day counts answer exactly).
pub fn on_day(at: DateTime<Utc>) -> bool {
    on_hour(at) && at.hour() == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn stored(venue: &str, at: DateTime<Utc>, direction: Direction, verdict: VerdictKind, subject: &str) -> Stored {
        Stored {
            venue_id: venue.into(),
            at,
            direction: direction.as_str().into(),
            verdict: verdict.as_str().into(),
            subject: Some(subject.into()),
        }
    }

    #[test]
    fn a_batch_is_counted_per_venue_hour_and_day() {
        let t = |h, m| Utc.with_ymd_and_hms(2026, 11, 3, h, m, 7).unwrap();
        let (admit, deny) = (VerdictKind::Admit, VerdictKind::Deny);
        let tally = Tally::of(&[
            stored("v1", t(9, 5), Direction::Entry, admit, "a"),
            stored("v1", t(9, 50), Direction::Entry, admit, "a"),
            stored("v1", t(9, 55), Direction::Entry, deny, "b"),
            stored("v1", t(10, 1), Direction::Exit, admit, "a"),
            stored("v2", t(9, 1), Direction::Entry, admit, "a"),
        ]);
        let nine = Utc.with_ymd_and_hms(2026, 11, 3, 9, 0, 0).unwrap();
        assert_eq!(tally.hours[&("v1".to_string(), nine)], [3, 2, 0]);
        assert_eq!(tally.hours[&("v1".to_string(), hour_of(t(10, 1)))], [1, 0, 1]);
        assert_eq!(tally.hours[&("v2".to_string(), nine)], [1, 1, 0]);
        let day = nine.date_naive();
        assert_eq!(tally.days[&("v1".to_string(), day)], 2);
        assert_eq!(tally.visitors.len(), 2, "a twice and once; b was refused");
        assert!(on_hour(nine) && !on_hour(t(9, 5)) && !on_day(nine) && on_day(nine - chrono::Duration::hours(9)));
    }
}
