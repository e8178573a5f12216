//! The SQL of the tracing queries: contacts of a case, a venue's visitors, hotspots, peak flows.
//!
//! Visits are kept at ingest (`db/visits.rs`): an admitted entry followed (per subject and venue)
//! by an exit; an entry with no exit before the next entry is closed at the default visit length
//! and marked inferred, as is an exit the kiosk itself inferred (automatic check-out).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wire::{Direction, VerdictKind};

use super::visits::{self, INFERRED, T_OUT};
use super::{Db, rollup};
use crate::error::ServerError;

/// Longest a tracing query may run: one too big for the database is cancelled, instead of
/// starving ingest (the contacts query takes milliseconds on 10 M passages: docs/scale-out.md).
const TRACE_TIMEOUT: &str = "SET LOCAL statement_timeout = '30s'";

/// A statement prepared once per connection keeps one plan for every parameter, with the day
/// partitions a run does not need pruned as it starts (`db/days.rs`).
pub(super) const GENERIC_PLAN: &str = "SET LOCAL plan_cache_mode = force_generic_plan";

impl Db {
    /// Runs one tracing query in its own transaction under [`TRACE_TIMEOUT`].
    async fn traced_query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, ServerError> {
        self.traced(sql, params, true).await
    }

    /// [`Db::traced_query`], planned for its parameters each time if not `generic`: a plan
    /// that does not know how many hours a window has or how many rows are asked for reads
    /// every hour's counts (peaks: 53 ms instead of 9).
    async fn traced(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        generic: bool,
    ) -> Result<Vec<tokio_postgres::Row>, ServerError> {
        let mut runs = self.traced_each(sql, &[params], generic).await?;
        Ok(runs.pop().unwrap_or_default())
    }

    /// One tracing query run once per parameter set, in one transaction (one snapshot) under
    /// [`TRACE_TIMEOUT`]; the rows of each run, in order.
    async fn traced_each(
        &self,
        sql: &str,
        param_sets: &[&[&(dyn tokio_postgres::types::ToSql + Sync)]],
        generic: bool,
    ) -> Result<Vec<Vec<tokio_postgres::Row>>, ServerError> {
        let mut client = self.pool.get().await?;
        let generic = generic && self.generic_plans(&client).await?;
        let tx = client.transaction().await?;
        tx.batch_execute(TRACE_TIMEOUT).await?;
        let cancelled = |e: tokio_postgres::Error| {
            if e.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) {
                ServerError::BadRequest(
                    "the query ran longer than 30 s and was cancelled; narrow the time window".into(),
                )
            } else {
                ServerError::Db(e)
            }
        };
        let mut runs = Vec::with_capacity(param_sets.len());
        // Planned once per connection, partitions pruned when it runs: planning these queries
        // afresh for every day partition took several times longer than running them.
        if generic {
            tx.batch_execute(GENERIC_PLAN).await?;
            let statement = tx.prepare_cached(sql).await?;
            for params in param_sets {
                runs.push(tx.query(&statement, params).await.map_err(cancelled)?);
            }
        } else {
            for params in param_sets {
                runs.push(tx.query(sql, params).await.map_err(cancelled)?);
            }
        }
        tx.commit().await?;
        Ok(runs)
    }
}

/// The visits (`v`) meeting `condition` (beside the window's) that overlap [$1, $2): per span
/// class, those that entered in [$1 − the class's span, $2) (`db/visits.rs`), as the CTE `name`
/// (subject, venue_id, t_in, t_out, inferred); `venues` is the SQL set of venues they can be
/// at. All three are literals of this module.
fn overlapping(name: &str, venues: &str, condition: &str) -> String {
    format!(
        "{spans},
         {name} AS (
             SELECT * FROM (
                 SELECT v.subject, v.venue_id, v.t_in, {T_OUT} AS t_out, {INFERRED} AS inferred
                 FROM spans s JOIN visits v ON v.span_class = s.span_class AND (s.venue_id IS NULL OR s.venue_id = v.venue_id)
                                           AND v.t_in >= $1::timestamptz - s.back AND v.t_in < $2
                 WHERE {condition}) o
             WHERE t_out > $1)",
        spans = visits::spans_cte(venues),
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
    /// The contacts of subject `case` in [from, to), longest overlap first (then by subject):
    /// `limit` of them after the first `offset`.
    pub async fn contacts_of(
        &self,
        case: &str,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        visit_secs: f64,
        (limit, offset): (i64, i64),
    ) -> Result<Vec<Contact>, ServerError> {
        // First the case's own visits (few: by the subject index), then the people met at each
        // of their venues, one statement per venue. On Citus each of those runs whole on the
        // venue's shard; one statement over all the case's venues had made each of its steps a
        // round over every shard (at 10 M on Citus, p50 59 -> 24 ms: docs/scale-out.md). The sum
        // over venues and the ranking are here: a case at a busy mall meets thousands, a few
        // hundred kilobytes of rows.
        // Per venue: the times of the case's visits there (its entries, ends, inferred flags).
        type Stays = (Vec<DateTime<Utc>>, Vec<DateTime<Utc>>, Vec<bool>);
        let mut by_venue: BTreeMap<String, Stays> = BTreeMap::new();
        for v in self.visits_of(case, from, to, visit_secs).await? {
            let stays = by_venue.entry(v.venue_id).or_default();
            stays.0.push(v.t_in);
            stays.1.push(v.t_out);
            stays.2.push(v.inferred);
        }
        let visit_secs = visit_secs.clamp(0.0, visits::MAX_VISIT_SECS);
        let sql = met_at_venue_sql();
        type Params<'a> = [&'a (dyn tokio_postgres::types::ToSql + Sync); 8];
        let params: Vec<Params> = by_venue
            .iter()
            .map(|(venue, (t_in, t_out, inferred))| -> Params {
                [&from, &to, &visit_secs, &case, venue, t_in, t_out, inferred]
            })
            .collect();
        let sets: Vec<&[&(dyn tokio_postgres::types::ToSql + Sync)]> = params.iter().map(|p| &p[..]).collect();
        let mut met: BTreeMap<String, Met> = BTreeMap::new();
        for (venue, rows) in by_venue.keys().zip(self.traced_each(&sql, &sets, true).await?) {
            for r in rows {
                let first: DateTime<Utc> = r.get(2);
                let m = met.entry(r.get(0)).or_insert_with(|| Met {
                    micros: 0,
                    first,
                    inferred: false,
                    venues: Vec::new(),
                });
                m.micros += r.get::<_, i64>(1);
                m.first = m.first.min(first);
                m.inferred |= r.get::<_, bool>(3);
                m.venues.push(venue.clone());
            }
        }
        Ok(rank(met, limit, offset))
    }
}

/// What one contact shares with the case, summed over the case's venues.
struct Met {
    micros: i64,
    first: DateTime<Utc>,
    inferred: bool,
    /// Sorted and distinct: the venues are asked in order, each once.
    venues: Vec<String>,
}

/// Longest overlap first, ties by subject; the page [offset, offset + limit). Overlaps are summed
/// in whole microseconds (what PostgreSQL keeps), so equal overlaps tie exactly.
fn rank(met: BTreeMap<String, Met>, limit: i64, offset: i64) -> Vec<Contact> {
    let mut all: Vec<(String, Met)> = met.into_iter().collect();
    all.sort_by(|a, b| b.1.micros.cmp(&a.1.micros).then_with(|| a.0.cmp(&b.0)));
    all.into_iter()
        .skip(usize::try_from(offset).unwrap_or(0))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|(subject, m)| Contact {
            subject,
            overlap_minutes: m.micros as f64 / 60e6,
            venues: m.venues,
            first_overlap: m.first,
            inferred: m.inferred,
        })
        .collect()
}

/// The people subject $4 met at venue $5 in [$1, $2) during the case's visits there (entries
/// $6, ends $7, inferred $8), with visits of $3 seconds where no exit was scanned: per subject,
/// the overlap in microseconds, its first instant, and whether any of it rests on an inferred
/// end. Per case visit, one branch per span class reads the visits that entered at most one
/// span before it and before it ended, from the overlap index alone (`db/visits.rs`), so the
/// cost follows the visits that can overlap the case's, not the venue's history; class 7 (a
/// scanned stay over 32 h, rare) is read back to the start. Written out per class: joined with
/// a table of spans, the planner read the venue's whole history. The only table read is
/// `visits` at venue $5, so Citus runs the statement whole on that venue's shard.
fn met_at_venue_sql() -> String {
    let branches: Vec<String> = (0..=7)
        .map(|class| {
            let back = match class {
                7 => "interval '100 years'".to_string(),
                k => format!("interval '{} minutes'", 30 << k),
            };
            format!(
                "SELECT v.subject, v.t_in, {T_OUT} AS t_out, {INFERRED} AS inferred FROM visits v
                 WHERE v.venue_id = $5 AND v.span_class = {class} AND v.subject <> $4
                   AND v.t_in >= GREATEST(c.t_in, $1) - {back} AND v.t_in < LEAST(c.t_out, $2)"
            )
        })
        .collect();
    format!(
        "SELECT o.subject,
                SUM(EXTRACT(EPOCH FROM LEAST(c.t_out, o.t_out, $2) - GREATEST(c.t_in, o.t_in, $1)) * 1000000)::int8,
                MIN(GREATEST(c.t_in, o.t_in, $1)), bool_or(o.inferred OR c.inferred)
         FROM UNNEST($6::timestamptz[], $7::timestamptz[], $8::bool[]) AS c(t_in, t_out, inferred)
         CROSS JOIN LATERAL ({branches}) o
         WHERE o.t_out > GREATEST(c.t_in, $1)
         GROUP BY o.subject",
        branches = branches.join(" UNION ALL "),
    )
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
            "WITH {} SELECT subject, t_in, t_out, inferred FROM here ORDER BY t_in, subject",
            overlapping("here", "$4", "v.venue_id = $4")
        );
        let visit_secs = visit_secs.clamp(0.0, visits::MAX_VISIT_SECS);
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
        // A subject's visits are few: all of them before $2, by the subject index.
        let sql = format!(
            "SELECT * FROM (SELECT v.venue_id, v.t_in, {T_OUT} AS t_out, {INFERRED} AS inferred
                            FROM visits v WHERE v.subject = $4 AND v.t_in < $2) c
             WHERE t_out > $1 ORDER BY t_in, venue_id"
        );
        let visit_secs = visit_secs.clamp(0.0, visits::MAX_VISIT_SECS);
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
        // Asked of the database once; later calls need no connection for it.
        let plain = match self.citus.get() {
            Some(citus) => !citus,
            None => self.generic_plans(&*self.pool.get().await?).await?,
        };
        let sql = if venue.is_none() && plain {
            // Each hour's first `limit` venues by the index on (hour, entries DESC, venue_id),
            // then the best of those: every row of the answer is among its own hour's first.
            // (Citus cannot push this lateral join down to the shards: it sorts the day instead.)
            "SELECT t.venue_id, t.hour, t.entries, t.exits
             FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 hour', interval '1 hour') AS h(hour)
             CROSS JOIN LATERAL (SELECT venue_id, hour, entries, exits FROM venue_hours v
                                 WHERE v.hour = h.hour AND $3::text IS NULL
                                 ORDER BY entries DESC, venue_id LIMIT $4) t
             ORDER BY 3 DESC, 2, 1 LIMIT $4"
        } else {
            "SELECT venue_id, hour, entries, exits FROM venue_hours
             WHERE hour >= $1 AND hour < $2 AND ($3::text IS NULL OR venue_id = $3)
             ORDER BY 3 DESC, 2, 1 LIMIT $4"
        };
        let rows = self.traced(sql, &[&from, &to, &venue, &limit], false).await?;
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
