//! What pairing does to the backlog: passages recorded before `kiosk pair`, under ids the
//! server does not know for this token, are either sent under the paired ids or parked with a
//! reason — never left in the queue to be refused for ever.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Store, StoreError};

/// Unsent passages recorded under one pair of ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacklogGroup {
    pub kiosk_id: String,
    pub venue_id: String,
    pub passages: u32,
}

/// What happens to a group when the kiosk is paired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BacklogFate {
    /// Already recorded under the paired ids.
    Unchanged,
    /// Sent under the paired ids (the same venue; or the installer said so).
    SentAsPaired,
    /// Kept in the log, out of the queue, with this reason.
    Parked(String),
}

/// The fate of each group: a passage is a fact about a venue, so one recorded at another
/// venue is never sent as this venue's unless `adopt` (the installer's word that the kiosk was
/// at the paired venue all along, only misconfigured); a different kiosk id at the same venue
/// is only a name, so those are sent as the paired kiosk.
pub fn plan(groups: &[BacklogGroup], paired: (&str, &str), adopt: bool) -> Vec<(BacklogGroup, BacklogFate)> {
    let (kiosk, venue) = paired;
    groups
        .iter()
        .map(|g| {
            let fate = if (g.kiosk_id.as_str(), g.venue_id.as_str()) == (kiosk, venue) {
                BacklogFate::Unchanged
            } else if g.venue_id == venue || adopt {
                BacklogFate::SentAsPaired
            } else {
                BacklogFate::Parked(format!(
                    "recorded as kiosk {} at venue {} before this kiosk was paired as {kiosk} at {venue}; \
                     not sent as another venue's passages (`kiosk pair --adopt-backlog` would)",
                    g.kiosk_id, g.venue_id
                ))
            };
            (g.clone(), fate)
        })
        .collect()
}

impl Store {
    /// Unsent, unparked passages grouped by the ids they were recorded under.
    pub fn backlog_groups(&self) -> Result<Vec<BacklogGroup>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT kiosk_id, venue_id, COUNT(*) FROM passages WHERE synced = 0 AND parked IS NULL
             GROUP BY kiosk_id, venue_id ORDER BY kiosk_id, venue_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(BacklogGroup {
                kiosk_id: r.get(0)?,
                venue_id: r.get(1)?,
                passages: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Applies a pairing's plan in one transaction and returns it.
    pub fn pair_backlog(
        &mut self,
        paired: (&str, &str),
        adopt: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<(BacklogGroup, BacklogFate)>, StoreError> {
        let steps = plan(&self.backlog_groups()?, paired, adopt);
        let tx = self.conn.transaction()?;
        for (g, fate) in &steps {
            match fate {
                BacklogFate::Unchanged => {}
                BacklogFate::SentAsPaired => {
                    tx.execute(
                        "INSERT OR REPLACE INTO sent_as (kiosk_id, venue_id, as_kiosk, as_venue, since_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![g.kiosk_id, g.venue_id, paired.0, paired.1, now.timestamp_millis()],
                    )?;
                }
                BacklogFate::Parked(reason) => {
                    tx.execute(
                        "UPDATE passages SET parked = ?3
                         WHERE synced = 0 AND parked IS NULL AND kiosk_id = ?1 AND venue_id = ?2",
                        params![g.kiosk_id, g.venue_id, reason],
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(k: &str, v: &str) -> BacklogGroup {
        BacklogGroup {
            kiosk_id: k.into(),
            venue_id: v.into(),
            passages: 3,
        }
    }

    #[test]
    fn another_venue_is_parked_unless_adopted_and_a_new_name_is_sent() {
        let groups = [g("gate-01", "mall"), g("kiosk-1", "mall"), g("kiosk-1", "demo-venue")];
        let fates: Vec<_> = plan(&groups, ("gate-01", "mall"), false)
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        assert_eq!(fates[0], BacklogFate::Unchanged);
        assert_eq!(fates[1], BacklogFate::SentAsPaired);
        assert!(
            matches!(&fates[2], BacklogFate::Parked(r) if r.contains("demo-venue") && r.contains("--adopt-backlog"))
        );
        let adopted = plan(&groups, ("gate-01", "mall"), true);
        assert_eq!(adopted[2].1, BacklogFate::SentAsPaired);
    }
}
