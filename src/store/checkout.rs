//! Staff check-outs: a visitor who left without scanning, and everyone at closing time. Each
//! is an exit recorded for a visit nobody scanned out of, marked inferred like the automatic
//! check-out after `[visit] max_hours`, so tracers know its time is the staff's, not a scan's.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::record::{NewPassage, insert};
use super::{Store, StoreError, StoreSettings};
use crate::policy::VerdictKind;
use wire::{Direction, Reason};

/// Someone the gate counts as inside now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InsideVisit {
    pub subject: String,
    pub entered_at: DateTime<Utc>,
    /// The gate they came in by; `None`: this one.
    pub gate: Option<String>,
}

/// Whom the operator checks out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOut {
    /// One visitor who left without scanning out (by pseudonymous id).
    One(String),
    /// Everyone who came in by this gate (this gate closes; others may stay open).
    ThisGate,
    /// Everyone inside the venue by any gate (the venue closes).
    WholeVenue,
}

/// What a check-out did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckedOut {
    /// Exits recorded.
    pub closed: usize,
    /// Who is inside afterwards, as the gate counts it.
    pub occupancy: u32,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Visits open at the venue younger than `[visit] max_hours` (older ones are closed by the
/// automatic check-out): this gate's, then other gates'.
fn inside(tx: &rusqlite::Connection, s: &StoreSettings, now: DateTime<Utc>) -> Result<Vec<InsideVisit>, StoreError> {
    let open_since = ms(now) - s.visit_max.as_millis() as i64;
    let mut stmt = tx.prepare_cached(
        "SELECT subject, entered_ms, NULL FROM open_visits WHERE entered_ms > ?1
         UNION ALL
         SELECT subject, entered_ms, gate FROM venue_inside
          WHERE entered_ms > ?1 AND subject NOT IN (SELECT subject FROM open_visits)
         ORDER BY 2, 1",
    )?;
    let rows = stmt.query_map(params![open_since], |r| {
        Ok(InsideVisit {
            subject: r.get(0)?,
            entered_at: DateTime::from_timestamp_millis(r.get(1)?).unwrap_or_default(),
            gate: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records the exit that closes `subject`'s visit (entered at `entered`) at `now`, never
/// before the entry (a clock stepped back), copying the pass's format, kind and issuer from
/// their last passage, and forgets the visit. Shared with the automatic check-out.
pub(super) fn record_inferred_exit(
    tx: &Transaction,
    s: &StoreSettings,
    subject: &str,
    entered: DateTime<Utc>,
    now: DateTime<Utc>,
    reason: Reason,
) -> Result<(), StoreError> {
    let last: Option<(Option<String>, Option<String>, Option<String>)> = tx
        .query_row(
            "SELECT format, kind, issuer FROM passages WHERE subject = ?1 ORDER BY seq DESC LIMIT 1",
            params![subject],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (format, kind, issuer) = last.unwrap_or((None, None, None));
    insert(
        tx,
        s,
        &NewPassage {
            event_id: None,
            recorded_under: None,
            direction: Direction::Exit,
            subject: Some(subject),
            scan_key: subject,
            format: format.as_deref(),
            kind: kind.as_deref(),
            issuer: issuer.as_deref(),
            health: None,
            verdict: VerdictKind::Admit,
            reason,
            at: now.max(entered),
            inferred: true,
        },
    )?;
    // Whichever gate they came in by.
    tx.execute("DELETE FROM open_visits WHERE subject = ?1", params![subject])?;
    tx.execute("DELETE FROM venue_inside WHERE subject = ?1", params![subject])?;
    Ok(())
}

impl Store {
    /// Who the gate counts as inside now, longest there first.
    pub fn inside_now(&self, now: DateTime<Utc>) -> Result<Vec<InsideVisit>, StoreError> {
        inside(&self.conn, &self.settings, now)
    }

    /// Checks out one visitor or everyone inside, in one durable transaction: an inferred
    /// exit per visit (`staff_checkout` / `closing_checkout`) that syncs like any passage.
    /// Visits already past `[visit] max_hours` are closed as automatic check-outs first.
    pub fn check_out(&mut self, who: &CheckOut, now: DateTime<Utc>) -> Result<CheckedOut, StoreError> {
        let settings = self.settings.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        super::record::close_overdue_visits(&tx, &settings, now)?;
        let (targets, reason): (Vec<InsideVisit>, Reason) = match who {
            CheckOut::One(subject) => (
                inside(&tx, &settings, now)?
                    .into_iter()
                    .filter(|v| &v.subject == subject)
                    .collect(),
                Reason::StaffCheckout,
            ),
            CheckOut::ThisGate => (
                inside(&tx, &settings, now)?
                    .into_iter()
                    .filter(|v| v.gate.is_none())
                    .collect(),
                Reason::ClosingCheckout,
            ),
            CheckOut::WholeVenue => (inside(&tx, &settings, now)?, Reason::ClosingCheckout),
        };
        for v in &targets {
            record_inferred_exit(&tx, &settings, &v.subject, v.entered_at, now, reason)?;
        }
        let occupancy = inside(&tx, &settings, now)?.len() as u32;
        tx.commit()?;
        Ok(CheckedOut {
            closed: targets.len(),
            occupancy,
        })
    }
}
