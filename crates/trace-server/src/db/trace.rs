//! The SQL of the tracing queries: contacts of a case, a venue's visitors, hotspots, peak flows.
//!
//! Visits are rebuilt from passages: an admitted entry followed (per subject and venue) by an
//! exit; an entry with no exit before the next entry is closed at the default visit length and
//! marked inferred, as is an exit the kiosk itself inferred (automatic check-out).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wire::{Direction, VerdictKind};

use super::{Db, rollup};
use crate::error::ServerError;

/// Longest a tracing query may run: one too big for the database is cancelled, instead of
/// starving ingest (the contacts query's p95 on 10 M passages is under half a second).
const TRACE_TIMEOUT: &str = "SET LOCAL statement_timeout = '30s'";

impl Db {
    /// Runs one tracing query in its own transaction under [`TRACE_TIMEOUT`].
    async fn traced_query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, ServerError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.batch_execute(TRACE_TIMEOUT).await?;
        let rows = tx.query(sql, params).await.map_err(|e| {
            if e.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) {
                ServerError::BadRequest(
                    "the query ran longer than 30 s and was cancelled; narrow the time window".into(),
                )
            } else {
                ServerError::Db(e)
            }
        })?;
        tx.commit().await?;
        Ok(rows)
    }
}

/// SQL for two CTEs: `{name}_ev`, and `{name}`, the visits (visit, subject, venue_id, t_in,
/// t_out, inferred) rebuilt from `source`, a subquery of admitted passages with visit,
/// subject, venue_id, direction, at, seq, inferred. `visit` groups passages that are rebuilt
/// separately (one group per case visit in the contacts query). An entry's visit ends at the
/// subject's next exit at that venue; with no exit before the next entry (or none at all) it
/// ends $3 seconds after the entry and is inferred. `name` and `source` are always literals of
/// this module.
fn visits_cte(name: &str, source: &str) -> String {
    let (entry, exit) = (Direction::Entry, Direction::Exit);
    format!(
        "{name}_ev AS (
            SELECT visit, subject, venue_id, direction, at, inferred,
                   LEAD(direction) OVER w AS next_dir, LEAD(at) OVER w AS next_at, LEAD(inferred) OVER w AS next_inferred
            FROM {source} src
            WINDOW w AS (PARTITION BY visit, subject, venue_id ORDER BY at, seq)
        ),
        {name} AS (
            SELECT visit, subject, venue_id, at AS t_in,
                   CASE WHEN next_dir = '{exit}' THEN next_at
                        ELSE LEAST(at + make_interval(secs => $3), COALESCE(next_at, 'infinity'::timestamptz)) END AS t_out,
                   (next_dir IS DISTINCT FROM '{exit}') OR COALESCE(next_inferred, false) AS inferred
            FROM {name}_ev WHERE direction = '{entry}'
        )"
    )
}

/// How far before a time a visit covering it may have begun, and how far after its entry the
/// exit may come: a long worksite shift with a scanned exit, or the default visit length if
/// that is longer. Passages outside this margin are not read.
const MARGIN: &str = "make_interval(secs => GREATEST($3::float8, 12 * 3600))";

/// Admitted passages of [$1 − margin, $2 + margin): every passage of a visit overlapping
/// [$1, $2).
fn window_passages(extra: &str) -> String {
    let admit = VerdictKind::Admit;
    format!(
        "(SELECT 0 AS visit, subject, venue_id, direction, at, seq, inferred FROM passages
          WHERE subject IS NOT NULL AND verdict = '{admit}'
            AND at >= $1::timestamptz - {MARGIN} AND at < $2::timestamptz + {MARGIN} {extra})"
    )
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Contact {
    pub subject: String,
    pub overlap_minutes: f64,
    pub venues: Vec<String>,
    pub first_overlap: DateTime<Utc>,
    /// Some of the overlap rests on an exit that was inferred, not scanned.
    pub inferred: bool,
}

impl Db {
    pub async fn contacts_of(
        &self,
        case: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        visit_secs: f64,
    ) -> Result<Vec<Contact>, ServerError> {
        // The case's passages come by the (subject, at) index; then, per case visit, the passages
        // at its venue around it by the (venue_id, at) index, rebuilt into visits per case visit
        // (a contiguous range each, so an entry's next passage is never one from a gap between
        // two case visits). Nobody else's visits are rebuilt: the cost follows the case's
        // footprint, not the size of the table.
        //
        // How far around a case visit to read: a visit overlapping it began at most one stay
        // before it and ended at most one stay after, so the margin is the venue's longest
        // scanned stay (kept at ingest, `db/rollup.rs`), or the default visit length if longer,
        // never more than MARGIN. A mall whose visits last an hour reads two hours around each
        // case visit instead of a day. A venue with no stay recorded gets the whole MARGIN.
        let admit = VerdictKind::Admit;
        let near = format!(
            "(SELECT w.visit, p.subject, p.venue_id, p.direction, p.at, p.seq, p.inferred
              FROM case_windows w
              JOIN passages p ON p.venue_id = w.venue_id AND p.at >= w.lo AND p.at < w.hi
              WHERE p.subject IS NOT NULL AND p.subject <> $4 AND p.verdict = '{admit}')"
        );
        let sql = format!(
            "WITH {},
             case_visits AS (SELECT row_number() OVER () AS visit, subject, venue_id, t_in, t_out, inferred
                             FROM case_all WHERE t_in < $2 AND t_out > $1),
             stays AS (SELECT venue_id, longest_secs FROM venue_stays
                       WHERE venue_id IN (SELECT venue_id FROM case_visits)),
             case_margins AS (
                 SELECT c.visit, c.venue_id, c.t_in, c.t_out,
                        CASE WHEN s.longest_secs IS NULL THEN {MARGIN}
                             ELSE LEAST({MARGIN}, make_interval(secs => GREATEST($3::float8, s.longest_secs))) END AS margin
                 FROM case_visits c LEFT JOIN stays s ON s.venue_id = c.venue_id),
             case_windows AS (SELECT visit, venue_id, GREATEST(t_in, $1) - margin AS lo, LEAST(t_out, $2) + margin AS hi
                              FROM case_margins),
             {}
             SELECT o.subject,
                    SUM(EXTRACT(EPOCH FROM LEAST(c.t_out, o.t_out, $2) - GREATEST(c.t_in, o.t_in, $1)))::float8 / 60.0,
                    array_agg(DISTINCT o.venue_id ORDER BY o.venue_id),
                    MIN(GREATEST(c.t_in, o.t_in, $1)),
                    bool_or(o.inferred OR c.inferred)
             FROM case_visits c
             JOIN others o ON o.visit = c.visit
                          AND o.t_in < LEAST(c.t_out, $2) AND o.t_out > GREATEST(c.t_in, $1)
             GROUP BY o.subject
             ORDER BY 2 DESC, 1",
            visits_cte("case_all", &window_passages("AND subject = $4")),
            visits_cte("others", &near),
        );
        let rows = self.traced_query(&sql, &[&from, &to, &visit_secs, &case]).await?;
        Ok(rows
            .iter()
            .map(|r| Contact {
                subject: r.get(0),
                overlap_minutes: r.get(1),
                venues: r.get(2),
                first_overlap: r.get(3),
                inferred: r.get(4),
            })
            .collect())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Visit {
    pub subject: String,
    pub t_in: DateTime<Utc>,
    pub t_out: DateTime<Utc>,
    pub inferred: bool,
}

impl Db {
    pub async fn visitors_of(
        &self,
        venue: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        visit_secs: f64,
    ) -> Result<Vec<Visit>, ServerError> {
        let sql = format!(
            "WITH {}
             SELECT subject, t_in, t_out, inferred FROM visits
             WHERE t_in < $2 AND t_out > $1 ORDER BY t_in, subject",
            visits_cte("visits", &window_passages("AND venue_id = $4"))
        );
        let rows = self.traced_query(&sql, &[&from, &to, &visit_secs, &venue]).await?;
        Ok(rows
            .iter()
            .map(|r| Visit {
                subject: r.get(0),
                t_in: r.get(1),
                t_out: r.get(2),
                inferred: r.get(3),
            })
            .collect())
    }
}

/// One visit of a case's subject: where, and when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CaseVisit {
    pub venue_id: String,
    pub t_in: DateTime<Utc>,
    pub t_out: DateTime<Utc>,
    pub inferred: bool,
}

impl Db {
    /// The visits of one subject overlapping [from, to), in time order.
    pub async fn visits_of(
        &self,
        subject: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        visit_secs: f64,
    ) -> Result<Vec<CaseVisit>, ServerError> {
        let sql = format!(
            "WITH {}
             SELECT venue_id, t_in, t_out, inferred FROM visits
             WHERE t_in < $2 AND t_out > $1 ORDER BY t_in, venue_id",
            visits_cte("visits", &window_passages("AND subject = $4"))
        );
        let rows = self.traced_query(&sql, &[&from, &to, &visit_secs, &subject]).await?;
        Ok(rows
            .iter()
            .map(|r| CaseVisit {
                venue_id: r.get(0),
                t_in: r.get(1),
                t_out: r.get(2),
                inferred: r.get(3),
            })
            .collect())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Hotspot {
    pub venue_id: String,
    pub visits: i64,
    pub unique_visitors: i64,
}

impl Db {
    /// The venues with the most admitted entries in [from, to), with their distinct visitors.
    /// A window of whole UTC days is read from the counts kept at ingest (`db/rollup.rs`): one
    /// row per venue and day, and for several days the venues' visitor sets; whole hours from
    /// the hour counts and the leading venues' passages; any other window from the passages
    /// ([`Db::hotspots_scanned`]). All give the same answer.
    pub async fn hotspots(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Hotspot>, ServerError> {
        if !(rollup::on_day(from) && rollup::on_day(to)) {
            if rollup::on_hour(from) && rollup::on_hour(to) {
                return self.hotspots_by_hours(from, to, limit).await;
            }
            return self.hotspots_scanned(from, to, limit).await;
        }
        let (first, end) = (from.date_naive(), to.date_naive());
        if end - first == chrono::Duration::days(1) {
            let rows = self
                .traced_query(
                    "SELECT venue_id, entries, visitors FROM venue_days
                     WHERE day = $1 AND entries > 0 ORDER BY 2 DESC, 3 DESC, 1 LIMIT $2",
                    &[&first, &limit],
                )
                .await?;
            return Ok(hotspots_of(&rows));
        }
        // Several days: a visitor of two of them is one visitor, so their sets are merged.
        let sql = "WITH visits AS (SELECT venue_id, SUM(entries)::int8 AS entries FROM venue_days
                             WHERE day >= $1 AND day < $2 GROUP BY venue_id HAVING SUM(entries) > 0),
                  visitors AS (SELECT venue_id, COUNT(DISTINCT subject) AS visitors FROM venue_day_visitors
                               WHERE day >= $1 AND day < $2 GROUP BY venue_id)
             SELECT v.venue_id, v.entries, COALESCE(u.visitors, 0) FROM visits v LEFT JOIN visitors u USING (venue_id)
             ORDER BY 2 DESC, 3 DESC, 1 LIMIT $3";
        let rows = self.traced_query(sql, &[&first, &end, &limit]).await?;
        Ok(hotspots_of(&rows))
    }

    /// [`Db::hotspots`] for whole hours that are not whole UTC days (the console's local days):
    /// visits from the hour counts; distinct visitors from the passages, but only of the venues
    /// that can make the list (visits at least the `limit`-th venue's: ties are broken by
    /// visitors), so a day reads a few venues' entries instead of every venue's.
    async fn hotspots_by_hours(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Hotspot>, ServerError> {
        let sql = format!(
            "WITH visits AS MATERIALIZED (
                 SELECT venue_id, SUM(entries)::int8 AS entries FROM venue_hours
                 WHERE hour >= $1 AND hour < $2 GROUP BY venue_id HAVING SUM(entries) > 0),
             top AS MATERIALIZED (
                 SELECT * FROM visits WHERE entries >= COALESCE(
                     (SELECT entries FROM visits ORDER BY entries DESC OFFSET GREATEST($3::int8 - 1, 0) LIMIT 1), 0)),
             visitors AS MATERIALIZED (
                 SELECT venue_id, COUNT(DISTINCT subject) AS visitors FROM passages
                 WHERE venue_id IN (SELECT venue_id FROM top) AND at >= $1 AND at < $2
                   AND direction = '{}' AND verdict = '{}'
                 GROUP BY venue_id)
             SELECT t.venue_id, t.entries, COALESCE(v.visitors, 0) FROM top t LEFT JOIN visitors v USING (venue_id)
             ORDER BY 2 DESC, 3 DESC, 1 LIMIT $3",
            Direction::Entry,
            VerdictKind::Admit
        );
        let rows = self.traced_query(&sql, &[&from, &to, &limit]).await?;
        Ok(hotspots_of(&rows))
    }

    /// [`Db::hotspots`] read from the passages themselves: any window, at the cost of reading
    /// every admitted entry in it.
    pub async fn hotspots_scanned(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Hotspot>, ServerError> {
        let rows = self
            .traced_query(
                &format!(
                    "SELECT venue_id, COUNT(*), COUNT(DISTINCT subject) FROM passages
                     WHERE at >= $1 AND at < $2 AND direction = '{}' AND verdict = '{}'
                     GROUP BY venue_id ORDER BY 2 DESC, 3 DESC, 1 LIMIT $3",
                    Direction::Entry,
                    VerdictKind::Admit
                ),
                &[&from, &to, &limit],
            )
            .await?;
        Ok(hotspots_of(&rows))
    }
}

fn hotspots_of(rows: &[tokio_postgres::Row]) -> Vec<Hotspot> {
    rows.iter()
        .map(|r| Hotspot {
            venue_id: r.get(0),
            visits: r.get(1),
            unique_visitors: r.get(2),
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Peak {
    pub venue_id: String,
    pub hour: DateTime<Utc>,
    pub entries: i64,
    pub exits: i64,
}

impl Db {
    /// The busiest (venue, UTC hour)s in [from, to) by admitted entries, with their exits. A
    /// window of whole hours is read from the hour counts kept at ingest; any other from the
    /// passages ([`Db::peaks_scanned`]). Both give the same answer.
    pub async fn peaks(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        venue: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Peak>, ServerError> {
        if !(rollup::on_hour(from) && rollup::on_hour(to)) {
            return self.peaks_scanned(from, to, venue, limit).await;
        }
        let rows = self
            .traced_query(
                "SELECT venue_id, hour, entries, exits FROM venue_hours
                 WHERE hour >= $1 AND hour < $2 AND ($3::text IS NULL OR venue_id = $3)
                 ORDER BY 3 DESC, 2, 1 LIMIT $4",
                &[&from, &to, &venue, &limit],
            )
            .await?;
        Ok(peaks_of(&rows))
    }

    /// [`Db::peaks`] read from the passages themselves: any window.
    pub async fn peaks_scanned(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        venue: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Peak>, ServerError> {
        let rows = self
            .traced_query(
                &format!(
                    "SELECT venue_id, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                            COUNT(*) FILTER (WHERE direction = '{entry}' AND verdict = '{admit}'),
                            COUNT(*) FILTER (WHERE direction = '{exit}')
                     FROM passages WHERE at >= $1 AND at < $2 AND ($3::text IS NULL OR venue_id = $3)
                     GROUP BY 1, 2 ORDER BY 3 DESC, 2, 1 LIMIT $4",
                    entry = Direction::Entry,
                    exit = Direction::Exit,
                    admit = VerdictKind::Admit
                ),
                &[&from, &to, &venue, &limit],
            )
            .await?;
        Ok(peaks_of(&rows))
    }
}

fn peaks_of(rows: &[tokio_postgres::Row]) -> Vec<Peak> {
    rows.iter()
        .map(|r| Peak {
            venue_id: r.get(0),
            hour: r.get(1),
            entries: r.get(2),
            exits: r.get(3),
        })
        .collect()
}
