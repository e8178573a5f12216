//! Read side of the log: the day's passages, the day's summary, CSV export, sync backlog.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rusqlite::params;
use serde::Serialize;

use wire::{Direction, PassageRecord, Reason, VerdictKind};

use super::{Store, StoreError};

/// One passage as shown on the operator screen or exported. What is sent to the server is a
/// [`PassageRecord`] (no local sync state).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Passage {
    pub seq: i64,
    pub event_id: String,
    pub kiosk_id: String,
    pub venue_id: String,
    pub gate: String,
    pub direction: Direction,
    pub subject: Option<String>,
    /// The pass format (`vp1`); `None` for unverified codes and rows from before formats.
    pub format: Option<String>,
    pub kind: Option<String>,
    pub issuer: Option<String>,
    pub health: Option<String>,
    pub verdict: VerdictKind,
    pub reason: Reason,
    pub at: DateTime<Utc>,
    pub inferred: bool,
    pub synced: bool,
    /// This passage's link in the hash chain.
    pub hash: String,
}

impl Passage {
    /// The passage as sent to the trace server, filed under this log's identity.
    pub fn to_record(&self, log_id: &str) -> PassageRecord {
        PassageRecord {
            event_id: self.event_id.clone(),
            log_id: log_id.to_string(),
            seq: self.seq,
            kiosk_id: self.kiosk_id.clone(),
            venue_id: self.venue_id.clone(),
            gate: self.gate.clone(),
            direction: self.direction,
            subject: self.subject.clone(),
            format: self.format.clone(),
            kind: self.kind.clone(),
            issuer: self.issuer.clone(),
            health: self.health.clone(),
            verdict: self.verdict,
            reason: self.reason,
            at: self.at,
            inferred: self.inferred,
            hash: self.hash.clone(),
        }
    }
}

/// A stored word (direction, verdict, reason) read back as its enum.
fn word<T: std::str::FromStr>(r: &rusqlite::Row, i: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = r.get(i)?;
    text.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

/// The day at a glance, for `kiosk log summary` and the operator screen.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DaySummary {
    pub date: String,
    pub entries: u32,
    pub exits: u32,
    pub unique_visitors: u32,
    pub denied: u32,
    pub denied_by_reason: BTreeMap<String, u32>,
    /// Entries and exits per local hour 0..=23.
    pub hourly: Vec<(u32, u32, u32)>,
    /// The local hour with the most entries (earliest on a tie), if any entry happened.
    pub peak_hour: Option<u32>,
    pub occupancy: u32,
    pub pending_sync: u32,
}

/// One local day for the operator screen: its passages, its summary, and who is inside now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayView {
    pub passages: Vec<Passage>,
    pub summary: DaySummary,
    pub inside: Vec<super::InsideVisit>,
}

const COLUMNS: &str = "seq, event_id, kiosk_id, venue_id, gate, direction, subject, kind, issuer, health, verdict, reason, at_ms, inferred, synced, format, hash";

fn row_to_passage(r: &rusqlite::Row) -> rusqlite::Result<Passage> {
    Ok(Passage {
        seq: r.get(0)?,
        event_id: r.get(1)?,
        kiosk_id: r.get(2)?,
        venue_id: r.get(3)?,
        gate: r.get(4)?,
        direction: word(r, 5)?,
        subject: r.get(6)?,
        kind: r.get(7)?,
        issuer: r.get(8)?,
        health: r.get(9)?,
        verdict: word(r, 10)?,
        reason: word(r, 11)?,
        at: DateTime::from_timestamp_millis(r.get(12)?).unwrap_or_default(),
        inferred: r.get(13)?,
        synced: r.get(14)?,
        format: r.get(15)?,
        hash: r.get(16)?,
    })
}

/// UTC bounds of a local calendar day: from the first instant that exists on the local clock
/// that day (where DST starts at midnight, 00:00 never happens and the day begins at the end
/// of the gap) to the next day's.
pub fn day_bounds(date: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        // DST gaps are whole or half hours (Lord Howe): step in 15 minutes until the local
        // clock shows a time that exists.
        (0..=12)
            .map(|i| midnight + chrono::Duration::minutes(15 * i))
            .find_map(|local| tz.from_local_datetime(&local).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
    };
    (start(date), start(date.succ_opt().unwrap_or(date)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_that_starts_in_a_dst_gap_begins_when_the_clock_exists() {
        // Chile moves its clocks from 00:00 to 01:00 one September night: find that day.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let gap_day = (0..366)
            .map(|i| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(i))
            .find(|d| {
                tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
                    .earliest()
                    .is_none()
            })
            .expect("Santiago has a day without midnight in 2026");
        let (from, to) = day_bounds(gap_day, tz);
        assert_eq!(from.with_timezone(&tz).format("%H:%M").to_string(), "01:00");
        assert_eq!(to - from, chrono::Duration::hours(23), "the short day is 23 hours");
        let (_, prev_end) = day_bounds(gap_day.pred_opt().unwrap(), tz);
        assert_eq!(prev_end, from, "days meet without overlap or hole");
        // A half-hour zone: local midnight exactly.
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        let (from, to) = day_bounds(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(), kolkata);
        assert_eq!(from.to_rfc3339(), "2026-11-22T18:30:00+00:00");
        assert_eq!(to - from, chrono::Duration::hours(24));
    }
}

impl Store {
    /// Passages in [from, to), oldest first.
    pub fn passages_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Passage>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM passages WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY at_ms, seq"
        ))?;
        let rows = stmt.query_map(params![from.timestamp_millis(), to.timestamp_millis()], row_to_passage)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The local day's passages.
    pub fn day_passages(&self, date: NaiveDate, tz: Tz) -> Result<Vec<Passage>, StoreError> {
        let (from, to) = day_bounds(date, tz);
        self.passages_between(from, to)
    }

    /// The next passages to send to the trace server, oldest first, as sent: not yet
    /// acknowledged and not parked.
    pub fn sync_backlog(&self, limit: usize) -> Result<Vec<PassageRecord>, StoreError> {
        let log_id = self.log_id()?;
        // Recorded before pairing under other ids of the same venue: sent as the paired ids
        // (`sent_as`), while the row keeps the ids its hash covers.
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS}, as_kiosk, as_venue FROM passages LEFT JOIN sent_as USING (kiosk_id, venue_id)
             WHERE synced = 0 AND parked IS NULL ORDER BY seq LIMIT ?1"
        ))?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            let sent_as: (Option<String>, Option<String>) = (r.get(17)?, r.get(18)?);
            Ok((row_to_passage(r)?, sent_as))
        })?;
        rows.map(|row| {
            let (p, sent_as) = row?;
            let mut record = p.to_record(&log_id);
            if let (Some(kiosk), Some(venue)) = sent_as {
                (record.kiosk_id, record.venue_id) = (kiosk, venue);
            }
            Ok(record)
        })
        .collect()
    }

    /// The time of the newest passage in the log, if any.
    pub fn newest_passage_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let ms: Option<i64> = self
            .conn
            .query_row("SELECT MAX(at_ms) FROM passages", [], |r| r.get(0))?;
        Ok(ms.and_then(DateTime::from_timestamp_millis))
    }

    /// Passages waiting to be sent (parked ones are not waiting: the server refused them).
    pub fn pending_sync(&self) -> Result<u32, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM passages WHERE synced = 0 AND parked IS NULL",
            [],
            |r| r.get::<_, i64>(0),
        )? as u32)
    }

    /// Passages the server refused, with its reason, oldest first (for the operator).
    pub fn parked(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, parked FROM passages WHERE parked IS NOT NULL ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// This log's identity (see migrations/0003): empty for logs older than it.
    pub fn log_id(&self) -> Result<String, StoreError> {
        Ok(self.meta("log_id")?.unwrap_or_default())
    }

    pub fn occupancy(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM open_visits", [], |r| r.get::<_, i64>(0))? as u32)
    }

    /// Aggregates one local day in SQL (the day view must stay fast on a million-row log).
    pub fn day_summary(&self, date: NaiveDate, tz: Tz) -> Result<DaySummary, StoreError> {
        let (from, to) = day_bounds(date, tz);
        let (f, t) = (from.timestamp_millis(), to.timestamp_millis());
        let mut s = DaySummary {
            date: date.to_string(),
            ..DaySummary::default()
        };
        let (entries, exits, unique): (i64, i64, i64) = self.conn.query_row(
            "SELECT COALESCE(SUM(direction = 'entry' AND verdict = 'admit'), 0),
                    COALESCE(SUM(direction = 'exit'), 0),
                    COUNT(DISTINCT CASE WHEN direction = 'entry' AND verdict = 'admit' THEN subject END)
             FROM passages WHERE at_ms >= ?1 AND at_ms < ?2",
            params![f, t],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        s.entries = entries as u32;
        s.exits = exits as u32;
        s.unique_visitors = unique as u32;
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT reason, COUNT(*) FROM passages
                 WHERE at_ms >= ?1 AND at_ms < ?2 AND verdict IN ('deny', 'invalid') GROUP BY reason",
            )?;
            for row in stmt.query_map(params![f, t], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (reason, n) = row?;
                s.denied += n as u32;
                s.denied_by_reason.insert(reason, n as u32);
            }
        }
        // Hourly buckets by UTC hour offset from the local midnight: correct for whole-hour
        // zones; the local hour is recovered per bucket below.
        let mut hourly = [(0u32, 0u32); 24];
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT (at_ms - ?1) / 3600000 AS bucket,
                        SUM(direction = 'entry' AND verdict = 'admit'), SUM(direction = 'exit')
                 FROM passages WHERE at_ms >= ?1 AND at_ms < ?2 GROUP BY bucket",
            )?;
            for row in stmt.query_map(params![f, t], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })? {
                let (bucket, e, x) = row?;
                let instant = from + chrono::Duration::hours(bucket);
                let hour = instant.with_timezone(&tz).hour() as usize;
                hourly[hour].0 += e as u32;
                hourly[hour].1 += x as u32;
            }
        }
        s.hourly = hourly
            .iter()
            .enumerate()
            .map(|(h, (e, x))| (h as u32, *e, *x))
            .collect();
        s.peak_hour = s
            .hourly
            .iter()
            .filter(|(_, e, _)| *e > 0)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(h, _, _)| *h);
        s.occupancy = self.occupancy()?;
        s.pending_sync = self.pending_sync()?;
        Ok(s)
    }
}

/// CSV of passages with times in the venue's zone. Subjects are pseudonymous ids already.
pub fn write_csv<W: std::io::Write>(mut out: W, passages: &[Passage], tz: Tz) -> std::io::Result<()> {
    writeln!(
        out,
        "seq,event_id,local_time,direction,verdict,reason,subject,kind,health,issuer,gate,inferred,synced"
    )?;
    for p in passages {
        let fields = [
            p.seq.to_string(),
            p.event_id.clone(),
            p.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string(),
            p.direction.to_string(),
            p.verdict.to_string(),
            p.reason.to_string(),
            p.subject.clone().unwrap_or_default(),
            p.kind.clone().unwrap_or_default(),
            p.health.clone().unwrap_or_default(),
            p.issuer.clone().unwrap_or_default(),
            p.gate.clone(),
            (p.inferred as u8).to_string(),
            (p.synced as u8).to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

fn csv_field(f: &str) -> String {
    // Quote when needed; prefix formula starters so a spreadsheet never executes a cell.
    let f = if f.starts_with(['=', '+', '-', '@']) {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

/// The operator PIN's failed attempts, kept across restarts (a thief cannot reset the lockout
/// by pulling the plug).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PinLockout {
    pub failures: u32,
    pub lockouts: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Store {
    pub fn pin_lockout(&self) -> Result<PinLockout, StoreError> {
        let n = |k: &str| -> Result<u32, StoreError> { Ok(self.meta(k)?.and_then(|v| v.parse().ok()).unwrap_or(0)) };
        Ok(PinLockout {
            failures: n("pin_failures")?,
            lockouts: n("pin_lockouts")?,
            locked_until: self
                .meta("pin_locked_until_ms")?
                .and_then(|v| v.parse::<i64>().ok())
                // 0 is how "not locked" is saved: not a lock that ended in 1970.
                .filter(|ms| *ms > 0)
                .and_then(DateTime::from_timestamp_millis),
        })
    }

    pub fn save_pin_lockout(&mut self, l: &PinLockout) -> Result<(), StoreError> {
        let until = l.locked_until.map_or(0, |t| t.timestamp_millis());
        let tx = self.conn.transaction()?;
        for (key, value) in [
            ("pin_failures", l.failures as i64),
            ("pin_lockouts", l.lockouts as i64),
            ("pin_locked_until_ms", until),
        ] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
