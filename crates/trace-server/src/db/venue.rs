//! One venue, many gates: the venue's open visits by every gate's passages, its gates'
//! counts, conflicts between gates, and each gate's share of the room left (issued under a
//! per-venue lock, so two gates asking at once cannot both be given the same places).

use chrono::{DateTime, Utc};
use wire::{GateConflict, GateCount, OpenVisit, VenueRequest, VenueState};

use super::Db;
use crate::error::ServerError;

/// How far back a visit can still be open: the kiosk closes longer ones itself (`[visit]
/// max_hours`, at most 72) with an inferred exit that reaches the server like any passage.
const PRESENCE_WINDOW: &str = "72 hours";
/// Counts and conflicts shown for the gates cover this much.
const DAY: &str = "1 day";
/// A revoked kiosk may still be at its door, cut off, spending its share: its places stay
/// reserved this long after the revocation.
const REVOKED_GRACE: &str = "1 day";
/// Recent entries that weigh a gate's share (a busy gate gets more of the room).
const RECENT: &str = "10 minutes";
/// Conflicts listed at most (the operator needs to see that there are some, and which).
const MAX_CONFLICTS: i64 = 200;

/// Another gate's standing share: what it was given and the visits it has opened since that
/// the server knows of (each spent one place of the share).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub share: u32,
    pub opened_since: u32,
}

impl Standing {
    /// Places the gate may still spend.
    pub fn unspent(&self) -> u32 {
        self.share.saturating_sub(self.opened_since)
    }
}

/// This gate's share: the room left (capacity − occupancy) split by weight (1 + recent
/// entries per gate), rounded up, but never more than the room other gates' standing shares
/// leave free. The sum of shares still unspent plus occupancy never passes capacity.
pub fn allocate(capacity: u32, occupancy: u32, others: &[Standing], weight: u64, total_weight: u64) -> u32 {
    let room = capacity.saturating_sub(occupancy);
    let reserved: u32 = others.iter().map(Standing::unspent).fold(0u32, u32::saturating_add);
    let pool = room.saturating_sub(reserved);
    let fair = (room as u64 * weight).div_ceil(total_weight.max(1));
    pool.min(fair.min(u32::MAX as u64) as u32)
}

/// A venue's gates and their last day's counts, with each gate's recent entries (its weight).
type Gates = Vec<(GateCount, i64)>;

/// Who is inside, the gates, and the conflicts of a venue.
async fn overview(
    c: &impl deadpool_postgres::GenericClient,
    venue_id: &str,
) -> Result<(Vec<OpenVisit>, Gates, Vec<GateConflict>), ServerError> {
    // One pass over the venue's admitted passages in time order per subject (one sort, the
    // round's main cost): the newest passage of each subject says who is inside, and an entry
    // right after another entry at a different gate is a conflict.
    let rows = c
        .query(
            &format!(
                "SELECT subject, kiosk_id, gate, at, newest, prev_kiosk, prev_gate, prev_at,
                        prev_direction = 'entry' AND prev_kiosk <> kiosk_id AND at > now() - interval '{DAY}'
                            AND prev_at > now() - interval '{DAY}'
                 FROM (
                   SELECT subject, kiosk_id, gate, at, direction,
                          LEAD(seq) OVER w IS NULL AS newest,
                          LAG(direction) OVER w AS prev_direction, LAG(kiosk_id) OVER w AS prev_kiosk,
                          LAG(gate) OVER w AS prev_gate, LAG(at) OVER w AS prev_at
                   FROM passages
                   WHERE venue_id = $1 AND verdict = 'admit' AND subject IS NOT NULL
                     AND at > now() - interval '{PRESENCE_WINDOW}'
                   WINDOW w AS (PARTITION BY subject ORDER BY at, seq)
                 ) x
                 WHERE direction = 'entry'
                   AND (newest OR (prev_direction = 'entry' AND prev_kiosk <> kiosk_id
                                   AND at > now() - interval '{DAY}' AND prev_at > now() - interval '{DAY}'))
                 ORDER BY at"
            ),
            &[&venue_id],
        )
        .await?;
    let mut inside = Vec::new();
    let mut conflicts = Vec::new();
    for r in &rows {
        let (subject, kiosk_id, gate, at): (String, String, String, DateTime<Utc>) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        // The second entry of one subject at another gate with no exit between (last day).
        if r.get::<_, Option<bool>>(8) == Some(true) {
            conflicts.push(GateConflict {
                subject: subject.clone(),
                first_kiosk: r.get::<_, Option<String>>(5).unwrap_or_default(),
                first_gate: r.get::<_, Option<String>>(6).unwrap_or_default(),
                first_at: r.get::<_, Option<DateTime<Utc>>>(7).unwrap_or(at),
                second_kiosk: kiosk_id.clone(),
                second_gate: gate.clone(),
                second_at: at,
            });
        }
        if r.get::<_, bool>(4) {
            inside.push(OpenVisit {
                subject,
                kiosk_id,
                gate,
                entered_at: at,
            });
        }
    }
    // Newest first, at most MAX_CONFLICTS.
    conflicts.reverse();
    conflicts.truncate(MAX_CONFLICTS as usize);

    // Each gate's day: one aggregate over the venue's day (no sort), joined to its kiosks.
    let gates: Gates = c
        .query(
            &format!(
                "SELECT k.id, COALESCE(d.gate, ''), COALESCE(d.entries, 0), COALESCE(d.exits, 0), k.last_seen,
                        COALESCE(d.recent, 0)
                 FROM kiosks k
                 LEFT JOIN (SELECT kiosk_id, MAX(gate) AS gate,
                                   COUNT(*) FILTER (WHERE direction = 'entry') AS entries,
                                   COUNT(*) FILTER (WHERE direction = 'exit') AS exits,
                                   COUNT(*) FILTER (WHERE direction = 'entry' AND at > now() - interval '{RECENT}') AS recent
                            FROM passages
                            WHERE venue_id = $1 AND verdict = 'admit' AND at > now() - interval '{DAY}'
                            GROUP BY kiosk_id) d ON d.kiosk_id = k.id
                 WHERE k.venue_id = $1 AND k.revoked_at IS NULL
                 ORDER BY k.id"
            ),
            &[&venue_id],
        )
        .await?
        .iter()
        .map(|r| {
            (
                GateCount {
                    kiosk_id: r.get(0),
                    gate: r.get(1),
                    entries: r.get(2),
                    exits: r.get(3),
                    last_seen: r.get(4),
                },
                r.get::<_, i64>(5),
            )
        })
        .collect();
    Ok((inside, gates, conflicts))
}

impl Db {
    /// The venue as the server sees it (for the console: nothing changes).
    pub async fn venue_overview(&self, venue_id: &str) -> Result<wire::VenueState, ServerError> {
        let client = self.pool.get().await?;
        let (inside, gates, conflicts) = overview(&client, venue_id).await?;
        let capacity: Option<i32> = client
            .query_one(
                "SELECT MIN(s.capacity) FROM venue_shares s JOIN kiosks k ON k.id = s.kiosk_id
                 WHERE k.venue_id = $1 AND k.revoked_at IS NULL",
                &[&venue_id],
            )
            .await?
            .get(0);
        Ok(VenueState {
            venue_id: venue_id.to_string(),
            server_time: Utc::now(),
            inside,
            capacity: capacity.map(|c| c.max(0) as u32),
            share: None,
            counted_seq: 0,
            gates: gates.into_iter().map(|(g, _)| g).collect(),
            conflicts,
        })
    }

    /// The venue as the server sees it, and a new share for `kiosk_id`, counted from the newest
    /// passage of its log the server holds.
    pub async fn venue_state(
        &self,
        kiosk_id: &str,
        venue_id: &str,
        request: &VenueRequest,
    ) -> Result<VenueState, ServerError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Shares of one venue are issued one at a time.
        tx.execute("SELECT pg_advisory_xact_lock(7216, hashtext($1))", &[&venue_id])
            .await?;

        let (inside, gates, conflicts) = overview(&tx, venue_id).await?;

        let counted_seq: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(seq), 0) FROM passages WHERE venue_id = $3 AND kiosk_id = $1 AND log_id = $2",
                &[&kiosk_id, &request.log_id, &venue_id],
            )
            .await?
            .get(0);

        // The venue's capacity: the smallest its (unrevoked) gates report, this one included.
        let reported = request.capacity.map(|c| c.min(i32::MAX as u32) as i32);
        let others_capacity: Option<i32> = tx
            .query_one(
                "SELECT MIN(s.capacity) FROM venue_shares s JOIN kiosks k ON k.id = s.kiosk_id
                 WHERE k.venue_id = $1 AND k.revoked_at IS NULL AND s.kiosk_id <> $2",
                &[&venue_id, &kiosk_id],
            )
            .await?
            .get(0);
        let capacity = match (reported, others_capacity) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(|c| c.max(0) as u32);

        let share = match capacity {
            None => None,
            Some(capacity) => {
                let others: Vec<Standing> = tx
                    .query(
                        &format!(
                            "SELECT s.share, s.held_share, o.since_counted, o.since_held
                             FROM venue_shares s JOIN kiosks k ON k.id = s.kiosk_id
                             CROSS JOIN LATERAL (
                               SELECT COUNT(*) FILTER (WHERE newest.seq > s.counted_seq) AS since_counted,
                                      COUNT(*) FILTER (WHERE newest.seq > COALESCE(s.held_seq, s.counted_seq)) AS since_held
                               FROM (SELECT DISTINCT ON (p.subject) p.direction, p.seq FROM passages p
                                     WHERE p.venue_id = $1 AND p.kiosk_id = s.kiosk_id AND p.log_id = s.log_id
                                       AND p.seq > LEAST(s.counted_seq, COALESCE(s.held_seq, s.counted_seq))
                                       AND p.verdict = 'admit' AND p.subject IS NOT NULL
                                     ORDER BY p.subject, p.seq DESC) newest
                               WHERE newest.direction = 'entry') o
                             WHERE k.venue_id = $1 AND s.kiosk_id <> $2 AND s.share IS NOT NULL
                               AND (k.revoked_at IS NULL OR k.revoked_at > now() - interval '{REVOKED_GRACE}')"
                        ),
                        &[&venue_id, &kiosk_id],
                    )
                    .await?
                    .iter()
                    .map(|r| {
                        let count = |i: usize| r.get::<_, i64>(i).clamp(0, u32::MAX as i64) as u32;
                        let issued = Standing {
                            share: r.get::<_, i32>(0).max(0) as u32,
                            opened_since: count(2),
                        };
                        // The share the gate may still hold, if it has not confirmed the newer one.
                        let held = r.get::<_, Option<i32>>(1).map(|share| Standing {
                            share: share.max(0) as u32,
                            opened_since: count(3),
                        });
                        match held {
                            Some(h) if h.unspent() > issued.unspent() => h,
                            _ => issued,
                        }
                    })
                    .collect();
                let weight = |recent: i64| 1 + recent.max(0) as u64;
                let total_weight: u64 = gates.iter().map(|(_, recent)| weight(*recent)).sum();
                let mine = gates
                    .iter()
                    .find(|(g, _)| g.kiosk_id == kiosk_id)
                    .map_or(1, |(_, recent)| weight(*recent));
                Some(allocate(
                    capacity,
                    inside.len().min(u32::MAX as usize) as u32,
                    &others,
                    mine,
                    total_weight.max(mine),
                ))
            }
        };
        // The share the gate says it holds counts only if this server gave it (the one issued
        // last, or the one still held before it); anything else is ignored.
        let previous = tx
            .query_opt(
                "SELECT counted_seq, share, held_seq, held_share FROM venue_shares WHERE kiosk_id = $1 AND log_id = $2",
                &[&kiosk_id, &request.log_id],
            )
            .await?;
        let held = request.held.filter(|h| {
            let h = (Some(h.counted_seq), Some(h.share.min(i32::MAX as u32) as i32));
            previous.as_ref().is_some_and(|r| {
                h == (r.get::<_, Option<i64>>(0), r.get::<_, Option<i32>>(1))
                    || h == (r.get::<_, Option<i64>>(2), r.get::<_, Option<i32>>(3))
            })
        });
        tx.execute(
            "INSERT INTO venue_shares (kiosk_id, log_id, counted_seq, share, capacity, issued_at, held_seq, held_share)
             VALUES ($1, $2, $3, $4, $5, now(), $6, $7)
             ON CONFLICT (kiosk_id) DO UPDATE SET log_id = excluded.log_id, counted_seq = excluded.counted_seq,
               share = excluded.share, capacity = excluded.capacity, issued_at = excluded.issued_at,
               held_seq = excluded.held_seq, held_share = excluded.held_share",
            &[
                &kiosk_id,
                &request.log_id,
                &counted_seq,
                &share.map(|s| s.min(i32::MAX as u32) as i32),
                &reported,
                &held.map(|h| h.counted_seq),
                &held.map(|h| h.share.min(i32::MAX as u32) as i32),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(VenueState {
            venue_id: venue_id.to_string(),
            server_time: Utc::now(),
            inside,
            capacity,
            share,
            counted_seq,
            gates: gates.into_iter().map(|(g, _)| g).collect(),
            conflicts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_never_hand_out_more_than_the_room_left() {
        // An empty venue of 10, two gates of equal weight: 5 each, however they ask.
        let first = allocate(10, 0, &[], 1, 2);
        assert_eq!(first, 5);
        let second = allocate(
            10,
            0,
            &[Standing {
                share: first,
                opened_since: 0,
            }],
            1,
            2,
        );
        assert_eq!(second, 5);
        // The first gate asks again having opened 3 visits (now counted in occupancy): the
        // second still holds 5, so at most 2 are free.
        let again = allocate(
            10,
            3,
            &[Standing {
                share: second,
                opened_since: 0,
            }],
            1,
            2,
        );
        assert_eq!(again, 2);
        // Rounded up, but capped by what is free: 3 places, 2 gates → 2, then 1.
        assert_eq!(allocate(3, 0, &[], 1, 2), 2);
        assert_eq!(
            allocate(
                3,
                0,
                &[Standing {
                    share: 2,
                    opened_since: 0
                }],
                1,
                2
            ),
            1
        );
        // A busy gate (weight 9 of 10) gets most of the room.
        assert_eq!(allocate(100, 0, &[], 9, 10), 90);
        // Over capacity (gates that were cut off admitted the same person twice): nothing.
        assert_eq!(allocate(10, 12, &[], 1, 1), 0);
        // A share spent and more (opened beyond it cannot happen, but never underflows).
        assert_eq!(
            allocate(
                10,
                0,
                &[Standing {
                    share: 2,
                    opened_since: 5
                }],
                1,
                1
            ),
            10
        );
    }

    #[test]
    fn shares_sum_within_capacity_for_any_order_of_asking() {
        // Property: whatever the order and occupancy, occupancy + every standing share ≤ capacity.
        for capacity in [1u32, 2, 3, 7, 50] {
            for gates in 1..5usize {
                let mut shares = vec![0u32; gates];
                for round in 0..3 * gates {
                    let g = (round * 7 + 3) % gates;
                    let others: Vec<Standing> = (0..gates)
                        .filter(|&o| o != g)
                        .map(|o| Standing {
                            share: shares[o],
                            opened_since: 0,
                        })
                        .collect();
                    shares[g] = allocate(capacity, 0, &others, 1 + g as u64, (1..=gates as u64).sum());
                    let total: u32 = shares.iter().sum();
                    assert!(total <= capacity, "cap {capacity}, gates {gates}: {shares:?}");
                }
            }
        }
    }
}
