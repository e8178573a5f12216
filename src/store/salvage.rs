//! Recovering what is readable from a damaged log (moved aside at start-up) into this one.
//! Passages keep their event ids, so the trace server takes any it already has as duplicates;
//! ones the damaged log had not synced stay unsynced here and are sent.

use std::path::Path;

use chrono::DateTime;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::record::{NewPassage, insert};
use super::{Store, StoreError};

/// What `kiosk log salvage` recovered.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SalvageReport {
    /// Passages copied into this log.
    pub recovered: usize,
    /// Of those, not yet synced (they will be sent).
    pub unsynced: usize,
    /// Already in this log (a salvage run twice).
    pub already_here: usize,
    /// Sequence numbers that could not be read from the damaged file.
    pub unreadable: usize,
}

/// One passage as read from the damaged file.
struct Salvaged {
    event_id: String,
    kiosk_id: String,
    venue_id: String,
    gate: String,
    direction: String,
    subject: Option<String>,
    scan_key: String,
    format: Option<String>,
    kind: Option<String>,
    issuer: Option<String>,
    health: Option<String>,
    verdict: String,
    reason: String,
    at_ms: i64,
    inferred: bool,
    synced: bool,
}

/// Rows whose seq is in `[from, to)`; fails as a whole if any page on the way is damaged.
fn read_range(src: &Connection, from: i64, to: i64, format: &str) -> rusqlite::Result<Vec<Salvaged>> {
    let mut stmt = src.prepare_cached(&format!(
        "SELECT event_id, kiosk_id, venue_id, gate, direction, subject, scan_key, {format}, kind, issuer, health,
                verdict, reason, at_ms, inferred, synced
         FROM passages WHERE seq >= ?1 AND seq < ?2 ORDER BY seq"
    ))?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(Salvaged {
            event_id: r.get(0)?,
            kiosk_id: r.get(1)?,
            venue_id: r.get(2)?,
            gate: r.get(3)?,
            direction: r.get(4)?,
            subject: r.get(5)?,
            scan_key: r.get(6)?,
            format: r.get(7)?,
            kind: r.get(8)?,
            issuer: r.get(9)?,
            health: r.get(10)?,
            verdict: r.get(11)?,
            reason: r.get(12)?,
            at_ms: r.get(13)?,
            inferred: r.get(14)?,
            synced: r.get(15)?,
        })
    })?;
    rows.collect()
}

/// Rows read in chunks; a chunk that fails is read row by row, so one bad page costs only
/// the passages on it.
const CHUNK: i64 = 256;

impl Store {
    /// Copies every readable passage of the damaged log at `damaged` into this log.
    pub fn salvage_from(&mut self, damaged: &Path) -> Result<SalvageReport, StoreError> {
        let corrupt = |e: rusqlite::Error| StoreError::Corrupt(format!("{}: {e}", damaged.display()));
        let src = Connection::open_with_flags(damaged, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(corrupt)?;
        let last: Option<i64> = src
            .query_row("SELECT MAX(seq) FROM passages", [], |r| r.get(0))
            .ok()
            .flatten()
            .or_else(|| {
                src.query_row("SELECT value FROM meta WHERE key = 'last_seq'", [], |r| {
                    r.get::<_, String>(0)
                })
                .ok()
                .and_then(|v| v.parse().ok())
            });
        let Some(last) = last else {
            return Err(StoreError::Corrupt(format!(
                "{}: neither the passages nor the log's head can be read",
                damaged.display()
            )));
        };
        // Logs from before pass formats had no `format` column.
        let format = if src.prepare("SELECT format FROM passages LIMIT 0").is_ok() {
            "format"
        } else {
            "NULL"
        };
        let mut report = SalvageReport::default();
        let mut rows = Vec::new();
        let mut from = 1;
        while from <= last {
            let to = (from + CHUNK).min(last + 1);
            match read_range(&src, from, to, format) {
                Ok(chunk) => rows.extend(chunk),
                Err(_) => {
                    for seq in from..to {
                        match read_range(&src, seq, seq + 1, format) {
                            Ok(one) => rows.extend(one),
                            Err(_) => report.unreadable += 1,
                        }
                    }
                }
            }
            from = to;
        }
        let settings = self.settings.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for row in &rows {
            let here = tx
                .query_row(
                    "SELECT 1 FROM passages WHERE event_id = ?1",
                    params![row.event_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if here {
                report.already_here += 1;
                continue;
            }
            let word = |what: &str, text: &str| {
                StoreError::Corrupt(format!("salvaged passage {}: bad {what} {text:?}", row.event_id))
            };
            let (seq, _) = insert(
                &tx,
                &settings,
                &NewPassage {
                    event_id: Some(&row.event_id),
                    recorded_under: Some((&row.kiosk_id, &row.venue_id, &row.gate)),
                    direction: row.direction.parse().map_err(|_| word("direction", &row.direction))?,
                    subject: row.subject.as_deref(),
                    scan_key: &row.scan_key,
                    format: row.format.as_deref(),
                    kind: row.kind.as_deref(),
                    issuer: row.issuer.as_deref(),
                    health: row.health.as_deref(),
                    verdict: row.verdict.parse().map_err(|_| word("verdict", &row.verdict))?,
                    reason: row.reason.parse().map_err(|_| word("reason", &row.reason))?,
                    at: DateTime::from_timestamp_millis(row.at_ms).unwrap_or_default(),
                    inferred: row.inferred,
                },
            )?;
            if row.synced {
                tx.execute("UPDATE passages SET synced = 1 WHERE seq = ?1", params![seq])?;
            } else {
                report.unsynced += 1;
            }
            report.recovered += 1;
        }
        tx.commit()?;
        Ok(report)
    }
}
