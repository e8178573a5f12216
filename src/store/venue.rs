//! The venue as every gate sees it: the trace server's view of who is inside (taken in by
//! [`Store::apply_venue_state`]), merged with this gate's own newer passages, and this gate's
//! share of the room — the presence the gate decides on inside the recording transaction.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use wire::VenueState;

use super::{Store, StoreError};
use crate::gate::Presence;

/// This gate's standing with the venue, for the screens.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShareView {
    /// The passage of this log the share is counted from.
    pub counted_seq: i64,
    /// Entries the gate may still admit on its share (`None`: the venue has no capacity).
    pub left: Option<u32>,
    pub share: Option<u32>,
    pub capacity: Option<u32>,
    /// Gates of the venue, this one included.
    pub gates: u32,
    /// When the view arrived (the kiosk's clock).
    pub pulled_at: DateTime<Utc>,
}

/// Who is inside, as the gate decides it: visits this gate opened, and visits the server
/// says other gates opened (younger than `[visit] max_hours`).
pub(super) struct VenuePresence<'t, 'c> {
    pub tx: &'t Transaction<'c>,
    /// Remote visits that entered before this are over (the kiosk closes its own alike).
    pub open_since_ms: i64,
    /// `[gate] capacity` of this kiosk, used until the server has given it a share.
    pub capacity: Option<u32>,
    /// See [`super::StoreSettings::shares_room`].
    pub shares_room: bool,
}

impl Presence for VenuePresence<'_, '_> {
    type Error = StoreError;
    fn is_inside(&self, subject: &str) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .query_row(
                "SELECT 1 FROM open_visits WHERE subject = ?1
                 UNION ALL SELECT 1 FROM venue_inside WHERE subject = ?1 AND entered_ms > ?2",
                params![subject, self.open_since_ms],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
    fn occupancy(&self) -> Result<u32, StoreError> {
        inside_count(self.tx, self.open_since_ms)
    }
    fn room(&self) -> Result<(u32, Option<u32>), StoreError> {
        match share(self.tx)? {
            // Connected or cut off, the gate spends only its share: visits it opened after
            // the passage the share was counted from, still open.
            Some(Share {
                share: Some(limit),
                counted_seq,
                ..
            }) => Ok((opened_since(self.tx, counted_seq)?, Some(limit))),
            Some(Share { share: None, .. }) => Ok((self.occupancy()?, None)),
            // Paired but no share yet (a new gate, or a reset log, and the server not reached
            // since): other gates may hold every place, so none is spent here.
            None if self.shares_room && self.capacity.is_some() => Ok((0, Some(0))),
            // No trace server: this gate alone counts.
            None => Ok((self.occupancy()?, self.capacity)),
        }
    }
    fn capacity(&self) -> Result<Option<u32>, StoreError> {
        Ok(match share(self.tx)? {
            Some(s) => s.capacity,
            None => self.capacity,
        })
    }
}

struct Share {
    counted_seq: i64,
    share: Option<u32>,
    capacity: Option<u32>,
    gates: u32,
    pulled_ms: i64,
}

fn share(tx: &rusqlite::Connection) -> Result<Option<Share>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT counted_seq, share, capacity, gates, pulled_ms FROM venue_share
             WHERE log_id = COALESCE((SELECT value FROM meta WHERE key = 'log_id'), '')",
            [],
            |r| {
                Ok(Share {
                    counted_seq: r.get(0)?,
                    share: r.get(1)?,
                    capacity: r.get(2)?,
                    gates: r.get(3)?,
                    pulled_ms: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// Visits open at the venue: this gate's, and other gates' that entered after `open_since_ms`
/// (older ones are over, as this gate closes its own).
fn inside_count(conn: &rusqlite::Connection, open_since_ms: i64) -> Result<u32, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM (SELECT subject FROM open_visits
                               UNION SELECT subject FROM venue_inside WHERE entered_ms > ?1)",
        params![open_since_ms],
        |r| r.get::<_, i64>(0),
    )? as u32)
}

fn opened_since(conn: &rusqlite::Connection, counted_seq: i64) -> Result<u32, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM open_visits WHERE entry_seq > ?1",
        params![counted_seq],
        |r| r.get::<_, i64>(0),
    )? as u32)
}

impl Store {
    /// Takes in the server's view of the venue. Passages of this log newer than the view
    /// (`counted_seq`) win over it; visits this gate opened that the server has seen closed at
    /// another gate are closed here too (without a passage: the exit is the other gate's).
    pub fn apply_venue_state(&mut self, state: &VenueState, now: DateTime<Utc>) -> Result<(), StoreError> {
        let log_id = self.log_id()?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM venue_inside", [])?;
        {
            // This log's own admitted passages of the subject since the server's view know better.
            let mut newer = tx.prepare_cached(
                "SELECT 1 FROM passages WHERE subject = ?1 AND seq > ?2 AND verdict = 'admit' AND at_ms >= ?3 LIMIT 1",
            )?;
            let mut ours = tx.prepare_cached("SELECT 1 FROM open_visits WHERE subject = ?1")?;
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO venue_inside (subject, kiosk_id, gate, entered_ms) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for v in &state.inside {
                let entered = v.entered_at.timestamp_millis();
                // Visits this gate opened are in open_visits (a reset log's are not: those the
                // server's view brings back).
                if ours.exists(params![v.subject])? || newer.exists(params![v.subject, state.counted_seq, entered])? {
                    continue;
                }
                put.execute(params![v.subject, v.kiosk_id, v.gate, entered])?;
            }
        }
        let still_inside: std::collections::HashSet<&str> = state.inside.iter().map(|v| v.subject.as_str()).collect();
        let ours: Vec<(String, i64)> = {
            let mut stmt = tx.prepare("SELECT subject, entry_seq FROM open_visits WHERE entry_seq <= ?1")?;
            stmt.query_map(params![state.counted_seq], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        for (subject, _) in ours.iter().filter(|(s, _)| !still_inside.contains(s.as_str())) {
            tx.execute("DELETE FROM open_visits WHERE subject = ?1", params![subject])?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO venue_share (id, log_id, counted_seq, share, capacity, gates, pulled_ms)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                log_id,
                state.counted_seq,
                state.share,
                state.capacity,
                state.gates.len().max(1) as u32,
                now.timestamp_millis()
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The server refused this kiosk's token (revoked): it gives up its share, so nothing more
    /// is admitted on capacity until a new pairing gets a new one.
    pub fn forfeit_share(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE venue_share SET share = 0 WHERE share IS NOT NULL", [])?;
        Ok(())
    }

    /// Who is inside the venue as this gate knows it: the visits it opened and those the
    /// server's last view listed at other gates.
    pub fn venue_occupancy(&self, now: DateTime<Utc>) -> Result<u32, StoreError> {
        inside_count(
            &self.conn,
            now.timestamp_millis() - self.settings.visit_max.as_millis() as i64,
        )
    }

    /// This gate's share and what is left of it, if the server has given one.
    pub fn share_view(&self) -> Result<Option<ShareView>, StoreError> {
        let Some(s) = share(&self.conn)? else {
            return Ok(None);
        };
        let left = match s.share {
            Some(limit) => Some(limit.saturating_sub(opened_since(&self.conn, s.counted_seq)?)),
            None => None,
        };
        Ok(Some(ShareView {
            counted_seq: s.counted_seq,
            left,
            share: s.share,
            capacity: s.capacity,
            gates: s.gates,
            pulled_at: DateTime::from_timestamp_millis(s.pulled_ms).unwrap_or_default(),
        }))
    }
}
