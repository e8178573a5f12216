//! Visits kept at ingest (migration 0019): each admitted entry with the subject's next admitted
//! passage at that venue, so tracing queries read the visits that can overlap a window instead
//! of rebuilding every visit around it from the passages.
//!
//! A new passage can only change the visits of its own subject at its own venue, and only the
//! one that began at the subject's previous passage there (whose next passage it may now be) and
//! those it begins; so ingest rebuilds, per (venue, subject) in the batch, the entries from that
//! previous passage through the batch's last one, in the batch's transaction.

use std::collections::BTreeMap;

use wire::{Direction, VerdictKind};

use super::rollup::Stored;

/// Rebuilds the visits the stored passages touch (see the module comment). One statement per
/// venue: Citus routes each to that venue's shard.
/// `generic`: keep one plan per connection (`Db::generic_plans`).
pub(super) async fn refresh(
    tx: &deadpool_postgres::Transaction<'_>,
    stored: &[Stored],
    generic: bool,
) -> Result<(), tokio_postgres::Error> {
    let admit = VerdictKind::Admit;
    let mut by_venue: BTreeMap<&str, (Vec<&str>, Vec<chrono::DateTime<chrono::Utc>>)> = BTreeMap::new();
    for p in stored.iter().filter(|p| p.verdict == admit.as_str()) {
        let Some(subject) = p.subject.as_deref() else { continue };
        let (subjects, ats) = by_venue.entry(&p.venue_id).or_default();
        subjects.push(subject);
        ats.push(p.at);
    }
    if by_venue.is_empty() {
        return Ok(());
    }
    let sql = refresh_sql();
    if generic {
        tx.batch_execute(super::trace::GENERIC_PLAN).await?;
        let statement = tx.prepare_cached(&sql).await?;
        for (venue, (subjects, ats)) in by_venue {
            tx.execute(&statement, &[&venue, &subjects, &ats]).await?;
        }
    } else {
        for (venue, (subjects, ats)) in by_venue {
            tx.execute(&sql, &[&venue, &subjects, &ats]).await?;
        }
    }
    Ok(())
}

/// $1 venue, $2 subjects, $3 times of the new admitted passages. For each subject: `hi`, the
/// latest new one; `lo`, the earliest new one, or the subject's last entry here before it if that
/// entry's next passage may now be a new one (none yet, or one after the earliest new: only the
/// last entry before can have such a next). The entries of [lo, hi] are rebuilt from the
/// passages of [lo, hi] and the first after hi. Looking `lo` up among the visits, not the
/// passages, stops at the newest day partition that has it. Entries only ever arrive, never go
/// (retention aside), so an upsert is enough.
fn refresh_sql() -> String {
    let (entry, exit, admit) = (Direction::Entry, Direction::Exit, VerdictKind::Admit);
    format!(
        "WITH b AS (SELECT subject, MIN(at) AS lo, MAX(at) AS hi
                    FROM UNNEST($2::text[], $3::timestamptz[]) AS b(subject, at) GROUP BY subject),
              r AS (SELECT b.subject, b.hi,
                           COALESCE((SELECT v.t_in FROM visits v
                                     WHERE v.venue_id = $1 AND v.subject = b.subject AND v.t_in < b.lo
                                       AND (v.next_at IS NULL OR v.next_at >= b.lo)
                                     ORDER BY v.t_in DESC LIMIT 1), b.lo) AS lo
                    FROM b),
              ev AS (SELECT p.venue_id, p.subject, p.event_id, p.seq, p.direction, p.at, r.lo, r.hi,
                            LEAD(p.direction) OVER w AS next_dir, LEAD(p.at) OVER w AS next_at,
                            LEAD(p.inferred) OVER w AS next_inferred
                     FROM r CROSS JOIN LATERAL (
                         (SELECT venue_id, subject, event_id, seq, direction, at, inferred FROM passages p
                          WHERE p.venue_id = $1 AND p.subject = r.subject AND p.verdict = '{admit}'
                            AND p.at >= r.lo AND p.at <= r.hi)
                         UNION ALL
                         (SELECT venue_id, subject, event_id, seq, direction, at, inferred FROM passages p
                          WHERE p.venue_id = $1 AND p.subject = r.subject AND p.verdict = '{admit}' AND p.at > r.hi
                          ORDER BY p.at, p.seq LIMIT 1)) p
                     WINDOW w AS (PARTITION BY p.subject ORDER BY p.at, p.seq))
         INSERT INTO visits (venue_id, subject, t_in, entry_seq, entry_event, next_at, next_exit, next_inferred, span_class)
         SELECT venue_id, subject, at, seq, event_id, next_at, COALESCE(next_dir = '{exit}', false),
                COALESCE(next_inferred, false), visit_span_class(at, next_at, COALESCE(next_dir = '{exit}', false))
         FROM ev WHERE direction = '{entry}' AND at <= hi
         ON CONFLICT (venue_id, entry_event, t_in) DO UPDATE
         SET next_at = excluded.next_at, next_exit = excluded.next_exit,
             next_inferred = excluded.next_inferred, span_class = excluded.span_class"
    )
}

/// The longest a visit without an exit is assumed to last (the server's `--visit-hours` is at
/// most 24): the span classes of migration 0019 rely on it.
pub const MAX_VISIT_SECS: f64 = 86_400.0;

/// The end of a visit `v` of the `visits` table, with the server's visit length in $3 seconds:
/// its exit, or the visit length after its entry (sooner if the next passage is an entry).
pub(super) const T_OUT: &str = "CASE WHEN v.next_exit THEN v.next_at
    ELSE LEAST(v.t_in + make_interval(secs => $3), COALESCE(v.next_at, 'infinity'::timestamptz)) END";

/// Whether a visit `v`'s end was not scanned: assumed, or an exit the kiosk inferred.
pub(super) const INFERRED: &str = "(NOT v.next_exit OR v.next_inferred)";

/// The span classes of migration 0019 with how far before a time a visit of that class may have
/// begun and still cover it (`span_class`, `back`): 30 min × 2^k for k < 7; for class 7 the
/// longest such visit at the venues `venues` (an SQL set of venue ids) has made, per venue
/// (`venue_id`, NULL for the shared classes).
pub(super) fn spans_cte(venues: &str) -> String {
    format!(
        "spans AS (
             SELECT NULL::text AS venue_id, k::smallint AS span_class, make_interval(secs => 1800 * 2 ^ k) AS back
             FROM generate_series(0, 6) k
             UNION ALL
             SELECT venue_id, 7::smallint, MAX(next_at - t_in) FROM visits
             WHERE span_class = 7 AND venue_id IN ({venues}) GROUP BY venue_id)"
    )
}
