//! Tamper evidence: each passage's hash covers its content and the previous passage's hash.

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError};

/// The hash of the first passage's predecessor.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain version new rows are written with (see migrations/0004).
pub const CHAIN_VERSION: i64 = 2;

/// The content that a passage's hash covers, in a fixed order.
pub struct HashedFields<'a> {
    /// 1: the original fields; 2: also the pass format.
    pub version: i64,
    pub format: Option<&'a str>,
    pub seq: i64,
    pub event_id: &'a str,
    pub kiosk_id: &'a str,
    pub venue_id: &'a str,
    pub gate: &'a str,
    pub direction: &'a str,
    pub subject: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub issuer: Option<&'a str>,
    pub health: Option<&'a str>,
    pub verdict: &'a str,
    pub reason: &'a str,
    pub at_ms: i64,
    pub inferred: bool,
    pub prev_hash: &'a str,
}

impl HashedFields<'_> {
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        // Length-prefixed fields: no two different rows can serialise to the same bytes.
        let mut field = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        field(&self.seq.to_string());
        field(self.event_id);
        field(self.kiosk_id);
        field(self.venue_id);
        field(self.gate);
        field(self.direction);
        field(self.subject.unwrap_or("\u{0}"));
        field(self.kind.unwrap_or("\u{0}"));
        field(self.issuer.unwrap_or("\u{0}"));
        field(self.health.unwrap_or("\u{0}"));
        field(self.verdict);
        field(self.reason);
        field(&self.at_ms.to_string());
        field(if self.inferred { "1" } else { "0" });
        if self.version >= 2 {
            field("v2");
            field(self.format.unwrap_or("\u{0}"));
        }
        field(self.prev_hash);
        hex::encode(h.finalize())
    }
}

/// Where the chain is broken, for `kiosk log verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub event_id: String,
    pub problem: String,
}

impl Store {
    /// Checks this log against the head the trace server holds for it (`(seq, hash)` of the
    /// newest passage it received): a log whose newest passages were removed, or edited and
    /// re-chained, passes `verify_chain` on its own but not this. `None` when they agree.
    pub fn compare_with_server_head(&self, head: (i64, &str)) -> Result<Option<String>, StoreError> {
        let (seq, hash) = head;
        if hash.is_empty() {
            return Ok(None); // a server that does not keep hashes, or rows from older kiosks
        }
        let last: i64 = self.meta("last_seq")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let purged: i64 = self.meta("purged_seq")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        if seq > last {
            return Ok(Some(format!(
                "this log ends at #{last}, but the trace server received passages up to #{seq}: passages were removed from this log"
            )));
        }
        if seq <= purged {
            return Ok(None);
        }
        let local: Option<String> = self
            .conn
            .query_row("SELECT hash FROM passages WHERE seq = ?1", params![seq], |r| r.get(0))
            .optional()?;
        Ok(match local {
            Some(h) if h == hash => None,
            Some(_) => Some(format!(
                "passage #{seq} differs from the copy the trace server received: this log was edited"
            )),
            None => Some(format!(
                "passage #{seq} is missing from this log, but the trace server has it"
            )),
        })
    }

    /// [`Self::compare_with_server_head`] against the server's view of this kiosk, if that view
    /// is of this log (after a reset the server's newest log is the old one until we send).
    pub fn check_against_server(&self, view: &wire::KioskStatus) -> Result<Option<String>, StoreError> {
        match &view.head {
            Some((seq, hash)) if view.log_id == self.log_id()? => self.compare_with_server_head((*seq, hash)),
            _ => Ok(None),
        }
    }

    /// Walks the whole log in order and returns the first broken link, if any.
    pub fn verify_chain(&self) -> Result<(usize, Option<ChainBreak>), StoreError> {
        let anchor_seq: i64 = self.meta("purged_seq")?.and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut expected_prev = self.meta("purged_hash")?.unwrap_or_else(|| GENESIS.to_string());
        let mut expected_seq = anchor_seq + 1;
        let mut stmt = self.conn.prepare(
            "SELECT seq, event_id, kiosk_id, venue_id, gate, direction, subject, kind, issuer, health,
                    verdict, reason, at_ms, inferred, prev_hash, hash, chain_v, format
             FROM passages ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![])?;
        let mut count = 0;
        while let Some(r) = rows.next()? {
            count += 1;
            let seq: i64 = r.get(0)?;
            let event_id: String = r.get(1)?;
            let strings: Vec<Option<String>> = (2..=11).map(|i| r.get(i)).collect::<Result<_, _>>()?;
            let s = |i: usize| strings[i - 2].as_deref().unwrap_or("");
            let o = |i: usize| strings[i - 2].as_deref();
            let at_ms: i64 = r.get(12)?;
            let inferred: bool = r.get(13)?;
            let prev_hash: String = r.get(14)?;
            let hash: String = r.get(15)?;
            let version: i64 = r.get(16)?;
            let format: Option<String> = r.get(17)?;
            let broken = |problem: String| {
                Ok((
                    count,
                    Some(ChainBreak {
                        seq,
                        event_id: event_id.clone(),
                        problem,
                    }),
                ))
            };
            if seq != expected_seq {
                return broken(format!(
                    "sequence jumps from {} to {seq}: passages are missing",
                    expected_seq - 1
                ));
            }
            if prev_hash != expected_prev {
                return broken(
                    "its link to the previous passage does not match: a passage before it was changed or removed"
                        .into(),
                );
            }
            let fields = HashedFields {
                version,
                format: format.as_deref(),
                seq,
                event_id: &event_id,
                kiosk_id: s(2),
                venue_id: s(3),
                gate: s(4),
                direction: s(5),
                subject: o(6),
                kind: o(7),
                issuer: o(8),
                health: o(9),
                verdict: s(10),
                reason: s(11),
                at_ms,
                inferred,
                prev_hash: &prev_hash,
            };
            if fields.hash() != hash {
                return broken("its content does not match its hash: this passage was edited".into());
            }
            expected_prev = hash;
            expected_seq += 1;
        }
        Ok((count, None))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::store::{ScanInput, StoreSettings};

    fn store(dir: &std::path::Path) -> Store {
        let settings = StoreSettings {
            kiosk_id: "k1".into(),
            venue_id: "v1".into(),
            gate: "g".into(),
            gate_mode: crate::gate::GateMode::Auto,
            capacity: None,
            repeat_window: std::time::Duration::from_secs(0),
            visit_max: std::time::Duration::from_secs(3600),
            shares_room: false,
        };
        Store::open(&dir.join("k.db"), settings).unwrap()
    }

    fn scan(subject: &str) -> ScanInput {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
        let claims = passes::vp1::Claims::health("iss", subject, "A*", passes::vp1::HealthColour::Green, at, at);
        ScanInput {
            verdict: crate::policy::Policy::default().decide(claims, at - chrono::Duration::minutes(1)),
            text: String::new(),
            at,
        }
    }

    #[test]
    fn rows_hashed_before_formats_still_verify_and_the_format_is_covered_now() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(dir.path());
        s.record_passage(&scan("a")).unwrap();
        // Rewrite row 1 as a kiosk before formats wrote it: version 1, no format.
        let (event, at_ms, prev): (String, i64, String) = s
            .conn
            .query_row(
                "SELECT event_id, at_ms, prev_hash FROM passages WHERE seq = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let v1 = HashedFields {
            version: 1,
            format: None,
            seq: 1,
            event_id: &event,
            kiosk_id: "k1",
            venue_id: "v1",
            gate: "g",
            direction: "entry",
            subject: Some("a"),
            kind: Some("health"),
            issuer: Some("iss"),
            health: Some("green"),
            verdict: "admit",
            reason: "ok",
            at_ms,
            inferred: false,
            prev_hash: &prev,
        }
        .hash();
        s.conn
            .execute(
                "UPDATE passages SET chain_v = 1, format = NULL, hash = ?1 WHERE seq = 1",
                params![v1],
            )
            .unwrap();
        s.conn
            .execute("UPDATE meta SET value = ?1 WHERE key = 'last_hash'", params![v1])
            .unwrap();
        // New rows are version 2 and link on to the old one.
        s.record_passage(&scan("b")).unwrap();
        assert_eq!(s.verify_chain().unwrap(), (2, None));
        let v: (i64, Option<String>) = s
            .conn
            .query_row("SELECT chain_v, format FROM passages WHERE seq = 2", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(v, (2, Some("vp1".into())));
        // The format is part of what a version-2 hash covers.
        s.conn
            .execute("UPDATE passages SET format = 'hc1' WHERE seq = 2", [])
            .unwrap();
        let (_, broken) = s.verify_chain().unwrap();
        assert_eq!(broken.map(|b| b.seq), Some(2));
    }
}
