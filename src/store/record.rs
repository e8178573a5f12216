//! Recording a scan: direction, repeat suppression, capacity, automatic check-out, purge.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::chain::{CHAIN_VERSION, GENESIS, HashedFields};
use super::venue::VenuePresence;
use super::{Store, StoreError};
use crate::gate::{self, GateInput, GateMode, Presence};
use crate::policy::{Verdict, VerdictKind};
use wire::{Direction, Reason};

/// What the store needs to know about this kiosk and venue.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub kiosk_id: String,
    pub venue_id: String,
    pub gate: String,
    pub gate_mode: GateMode,
    pub capacity: Option<u32>,
    pub repeat_window: Duration,
    pub visit_max: Duration,
    /// The kiosk syncs with a trace server, so its venue's room may be shared with other
    /// gates: with a capacity, it admits nothing on capacity until the server has given it a
    /// share (a new or reset gate must not spend places other gates hold).
    pub shares_room: bool,
}

impl StoreSettings {
    pub fn from_config(c: &crate::config::Config) -> Self {
        StoreSettings {
            kiosk_id: c.kiosk_id.clone(),
            venue_id: c.venue_id.clone(),
            gate: c.gate_name.clone(),
            gate_mode: c.gate_mode,
            capacity: c.capacity,
            repeat_window: c.repeat_window,
            visit_max: c.visit_max,
            shares_room: c.sync.is_some(),
        }
    }
}

/// One read pass to record: the policy's verdict and the text it came from.
#[derive(Debug, Clone)]
pub struct ScanInput {
    pub verdict: Verdict,
    /// The QR text; only its hash is kept, to suppress repeats of unverified codes.
    pub text: String,
    pub at: DateTime<Utc>,
}

/// What was committed. The final verdict may differ from the policy's: an entry into a full
/// venue is refused (`capacity_full`), and a valid pass at an exit always lets its holder out.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Recorded {
    /// `None` when the scan repeated a recent one and nothing new was written.
    pub seq: Option<i64>,
    pub event_id: Option<String>,
    pub direction: Direction,
    pub verdict: VerdictKind,
    pub reason: Reason,
    pub repeat: bool,
    pub occupancy: u32,
    pub capacity: Option<u32>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn event_id(at: DateTime<Utc>) -> String {
    let secs = at.timestamp().max(0) as u64;
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, at.timestamp_subsec_nanos());
    uuid::Uuid::new_v7(ts).to_string()
}

pub(super) struct NewPassage<'a> {
    /// Kept from another log (salvage); `None`: a new UUIDv7.
    pub event_id: Option<&'a str>,
    /// (kiosk, venue, gate) it was recorded under, when not this kiosk's settings (salvage).
    pub recorded_under: Option<(&'a str, &'a str, &'a str)>,
    pub direction: Direction,
    pub subject: Option<&'a str>,
    pub scan_key: &'a str,
    pub format: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub issuer: Option<&'a str>,
    pub health: Option<&'a str>,
    pub verdict: VerdictKind,
    pub reason: Reason,
    pub at: DateTime<Utc>,
    pub inferred: bool,
}

impl Store {
    /// Records one scan in one durable transaction and returns what was committed.
    pub fn record_passage(&mut self, input: &ScanInput) -> Result<Recorded, StoreError> {
        let settings = self.settings.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        close_overdue_visits(&tx, &settings, input.at)?;

        let credential = input.verdict.credential.as_ref();
        let subject = credential.map(|c| c.subject.as_str());
        let scan_key = match subject {
            Some(s) => s.to_string(),
            None => format!("text:{}", hex::encode(Sha256::digest(input.text.as_bytes()))),
        };
        let presence = VenuePresence {
            tx: &tx,
            open_since_ms: ms(input.at) - settings.visit_max.as_millis() as i64,
            capacity: settings.capacity,
            shares_room: settings.shares_room,
        };
        let inside = match subject {
            Some(s) => presence.is_inside(s)?,
            None => false,
        };

        // The same code shown again within the window is the same passage, not a new one. So
        // is a scan read just before a passage of the same holder was written with a later
        // time (staff checked them out while their exit scan was being judged): the scan is
        // that passage again, not an entry after it. Only within the window, so a clock that
        // stepped back further never locks anyone out.
        let window = settings.repeat_window.as_millis() as i64;
        let recent: Option<(String, String)> = tx
            .query_row(
                "SELECT direction, event_id FROM passages
                 WHERE scan_key = ?1 AND at_ms > ?2 AND at_ms <= ?3 ORDER BY seq DESC LIMIT 1",
                params![scan_key, ms(input.at) - window, ms(input.at) + window],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((direction, event)) = recent {
            let occupancy = presence.occupancy()?;
            let capacity = presence.capacity()?;
            tx.commit()?;
            return Ok(Recorded {
                seq: None,
                event_id: Some(event),
                direction: direction.parse().unwrap_or(Direction::Entry),
                verdict: input.verdict.kind,
                reason: input.verdict.reason,
                repeat: true,
                occupancy,
                capacity,
            });
        }

        let (spent, limit) = presence.room()?;
        let decision = gate::decide(GateInput {
            mode: settings.gate_mode,
            verified: subject.is_some(),
            inside,
            occupancy: spent,
            capacity: limit,
            verdict: input.verdict.kind,
            reason: input.verdict.reason,
        });
        // A visit never ends before it began: when the wall clock stepped back (NTP after a
        // spell running fast), an exit is recorded at its entry's time, not before it, so the
        // visit pairs up on the server and nobody's stay has a negative length.
        let at = match (subject, decision.closes_visit) {
            (Some(s), true) => {
                let entered: Option<i64> = tx
                    .query_row(
                        "SELECT entered_ms FROM open_visits WHERE subject = ?1",
                        params![s],
                        |r| r.get(0),
                    )
                    .optional()?;
                match entered.and_then(DateTime::from_timestamp_millis) {
                    Some(entered) if entered > input.at => entered,
                    _ => input.at,
                }
            }
            _ => input.at,
        };
        let (seq, event) = insert(
            &tx,
            &settings,
            &NewPassage {
                event_id: None,
                recorded_under: None,
                direction: decision.direction,
                subject,
                scan_key: &scan_key,
                format: credential.map(|c| c.format.as_str()),
                kind: credential.map(|c| c.kind().as_str()),
                issuer: credential.map(|c| c.issuer.as_str()),
                health: credential.and_then(|c| c.health()).map(|h| h.as_str()),
                verdict: decision.verdict,
                reason: decision.reason,
                at,
                inferred: false,
            },
        )?;
        if let Some(s) = subject {
            if decision.closes_visit {
                // Whichever gate they came in by.
                tx.execute("DELETE FROM open_visits WHERE subject = ?1", params![s])?;
                tx.execute("DELETE FROM venue_inside WHERE subject = ?1", params![s])?;
            } else if decision.opens_visit {
                tx.execute(
                    "INSERT INTO open_visits (subject, entered_ms, entry_seq) VALUES (?1, ?2, ?3)",
                    params![s, ms(input.at), seq],
                )?;
            }
        }
        let occupancy = presence.occupancy()?;
        let capacity = presence.capacity()?;
        tx.commit()?;
        Ok(Recorded {
            seq: Some(seq),
            event_id: Some(event),
            direction: decision.direction,
            verdict: decision.verdict,
            reason: decision.reason,
            repeat: false,
            occupancy,
            capacity,
        })
    }

    /// Closes visits open longer than `[visit] max_hours` (people forget to check out).
    /// Returns how many were closed. Also run on every recorded scan.
    pub fn close_overdue_visits(&mut self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let settings = self.settings.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n = close_overdue_visits(&tx, &settings, now)?;
        tx.commit()?;
        Ok(n)
    }

    /// Deletes synced passages older than `retention_days`; unsynced ones are kept (and
    /// counted in the result) because the trace server has not got them yet.
    pub fn purge_old(&mut self, now: DateTime<Utc>, retention_days: u32) -> Result<PurgeReport, StoreError> {
        let cutoff = ms(now - chrono::Duration::days(retention_days as i64));
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Only a prefix of the chain can go, so the rest still verifies from its anchor:
        // stop at the first passage that must stay (recent, or not yet synced).
        let first_kept: Option<i64> = tx.query_row(
            "SELECT MIN(seq) FROM passages WHERE at_ms >= ?1 OR synced = 0",
            params![cutoff],
            |r| r.get(0),
        )?;
        let limit = match first_kept {
            Some(s) => s,
            None => tx.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM passages", [], |r| r.get(0))?,
        };
        let anchor: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM passages WHERE seq < ?1 ORDER BY seq DESC LIMIT 1",
                params![limit],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let purged = tx.execute("DELETE FROM passages WHERE seq < ?1", params![limit])?;
        if let Some((seq, hash)) = anchor {
            set_meta(&tx, "purged_seq", &seq.to_string())?;
            set_meta(&tx, "purged_hash", &hash)?;
        }
        let kept_unsynced: i64 = tx.query_row(
            "SELECT COUNT(*) FROM passages WHERE at_ms < ?1 AND synced = 0",
            params![cutoff],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(PurgeReport {
            purged,
            kept_unsynced: kept_unsynced as usize,
        })
    }

    /// Takes the server's answer to a sent batch: the passages it refused are parked with its
    /// reason (out of the queue, kept for the operator); every other one is marked synced.
    pub fn acknowledge(&mut self, sent: &[String], refused: &[(String, String)]) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut park = tx.prepare_cached("UPDATE passages SET parked = ?2 WHERE event_id = ?1")?;
            for (id, reason) in refused {
                park.execute(params![id, reason])?;
            }
            let mut synced =
                tx.prepare_cached("UPDATE passages SET synced = 1 WHERE event_id = ?1 AND parked IS NULL")?;
            for id in sent {
                n += synced.execute(params![id])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Marks passages as acknowledged by the trace server.
    pub fn mark_synced(&mut self, event_ids: &[String]) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached("UPDATE passages SET synced = 1 WHERE event_id = ?1")?;
            for id in event_ids {
                n += stmt.execute(params![id])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PurgeReport {
    pub purged: usize,
    pub kept_unsynced: usize,
}

fn set_meta(tx: &Transaction, key: &str, value: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub(super) fn insert(tx: &Transaction, s: &StoreSettings, p: &NewPassage) -> Result<(i64, String), StoreError> {
    let get = |k: &str| -> Result<Option<String>, StoreError> {
        Ok(tx
            .query_row("SELECT value FROM meta WHERE key = ?1", params![k], |r| r.get(0))
            .optional()?)
    };
    let seq = get("last_seq")?.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0) + 1;
    let prev_hash = get("last_hash")?.unwrap_or_else(|| GENESIS.to_string());
    let event = p.event_id.map_or_else(|| event_id(p.at), str::to_string);
    let (kiosk_id, venue_id, gate) = p.recorded_under.unwrap_or((&s.kiosk_id, &s.venue_id, &s.gate));
    let at_ms = ms(p.at);
    let hash = HashedFields {
        version: CHAIN_VERSION,
        format: p.format,
        seq,
        event_id: &event,
        kiosk_id,
        venue_id,
        gate,
        direction: p.direction.as_str(),
        subject: p.subject,
        kind: p.kind,
        issuer: p.issuer,
        health: p.health,
        verdict: p.verdict.as_str(),
        reason: p.reason.as_str(),
        at_ms,
        inferred: p.inferred,
        prev_hash: &prev_hash,
    }
    .hash();
    tx.execute(
        "INSERT INTO passages (seq, event_id, kiosk_id, venue_id, gate, direction, subject, scan_key, kind, issuer,
                               health, verdict, reason, at_ms, inferred, prev_hash, hash, format, chain_v)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        params![
            seq,
            event,
            kiosk_id,
            venue_id,
            gate,
            p.direction.as_str(),
            p.subject,
            p.scan_key,
            p.kind,
            p.issuer,
            p.health,
            p.verdict.as_str(),
            p.reason.as_str(),
            at_ms,
            p.inferred,
            prev_hash,
            hash,
            p.format,
            CHAIN_VERSION
        ],
    )?;
    set_meta(tx, "last_seq", &seq.to_string())?;
    set_meta(tx, "last_hash", &hash)?;
    Ok((seq, event))
}

pub(super) fn close_overdue_visits(
    tx: &Transaction,
    s: &StoreSettings,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let max = chrono::Duration::milliseconds(s.visit_max.as_millis() as i64);
    let overdue: Vec<(String, i64)> = {
        let mut stmt = tx
            .prepare_cached("SELECT subject, entered_ms FROM open_visits WHERE entered_ms <= ?1 ORDER BY entered_ms")?;
        stmt.query_map(params![ms(now - max)], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    for (subject, entered) in &overdue {
        let entered = DateTime::from_timestamp_millis(*entered).unwrap_or(now);
        super::checkout::record_inferred_exit(tx, s, subject, entered, entered + max, Reason::AutoCheckout)?;
    }
    Ok(overdue.len())
}
