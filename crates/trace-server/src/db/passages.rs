//! Passages: ingest, a kiosk's status (gaps per log, clock), retention.

use chrono::{DateTime, Utc};
use wire::{IngestReport, KioskStatus};

use super::{Db, RAISE_PURGE_MARKS, rollup, visits};
use crate::error::ServerError;
use crate::ingest::CheckedPassage;

impl Db {
    /// Stores checked passages with one statement (the batch's columns as arrays, unnested on the
    /// server: one round trip instead of one per passage); an event id or a (kiosk, log, seq) seen
    /// before is counted as a duplicate, not stored again. `refused` passages are counted against
    /// the kiosk.
    pub async fn record_passages(
        &self,
        kiosk_id: &str,
        venue_id: &str,
        batch: &[CheckedPassage],
        refused: usize,
    ) -> Result<IngestReport, ServerError> {
        let pool = &self.pool;
        let column = |f: fn(&CheckedPassage) -> Option<&str>| batch.iter().map(f).collect::<Vec<_>>();
        let event_ids: Vec<uuid::Uuid> = batch.iter().map(|p| p.event_id).collect();
        let seqs: Vec<i64> = batch.iter().map(|p| p.record.seq).collect();
        let ats: Vec<DateTime<Utc>> = batch.iter().map(|p| p.record.at).collect();
        let inferred: Vec<bool> = batch.iter().map(|p| p.record.inferred).collect();
        let log_ids = column(|p| Some(&p.record.log_id));
        let kiosk_ids = column(|p| Some(&p.record.kiosk_id));
        let venue_ids = column(|p| Some(&p.record.venue_id));
        let gates = column(|p| Some(&p.record.gate));
        let directions = column(|p| Some(p.record.direction.as_str()));
        let subjects = column(|p| p.record.subject.as_deref());
        let kinds = column(|p| p.record.kind.as_deref());
        let issuers = column(|p| p.record.issuer.as_deref());
        let healths = column(|p| p.record.health.as_deref());
        let formats = column(|p| p.record.format.as_deref());
        let hashes = column(|p| Some(p.record.hash.as_str()).filter(|h| !h.is_empty()));
        let verdicts = column(|p| Some(p.record.verdict.as_str()));
        let reasons = column(|p| Some(p.record.reason.as_str()));
        // Each day's partitions first (a kiosk back after days offline sends old days).
        let days = ats.iter().map(|at| at.date_naive()).collect();
        self.ensure_days(&days).await?;
        let mut client = pool.get().await?;
        let generic = self.generic_plans(&client).await?;
        // The whole (checked) batch is stored, or none of it; under the venue's lock, so that a
        // gate's share is computed from one consistent set of the venue's passages (db/venue.rs).
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7216, hashtext($1))", &[&venue_id])
            .await?;
        // Counted from RETURNING, not the command tag: on Citus an INSERT … SELECT reports the
        // rows it routed, duplicates included.
        let accepted = tx
            .query(
                "INSERT INTO passages (event_id, kiosk_id, venue_id, seq, gate, direction, subject, kind, issuer, health,
                                       verdict, reason, at, inferred, log_id, format, chain_hash)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::text[],
                                      $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[],
                                      $14::bool[], $15::text[], $16::text[], $17::text[])
                 ON CONFLICT DO NOTHING
                 RETURNING venue_id, at, direction, verdict, subject",
                &[
                    &event_ids,
                    &kiosk_ids,
                    &venue_ids,
                    &seqs,
                    &gates,
                    &directions,
                    &subjects,
                    &kinds,
                    &issuers,
                    &healths,
                    &verdicts,
                    &reasons,
                    &ats,
                    &inferred,
                    &log_ids,
                    &formats,
                    &hashes,
                ],
            )
            .await
            .inspect_err(|e| {
                // No partition for a day this server thought it had: another server's retention
                // dropped it. Made again on the kiosk's next try.
                if e.code() == Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION) {
                    self.forget_days();
                }
            })?;
        let stored: Vec<rollup::Stored> = accepted
            .iter()
            .map(|r| rollup::Stored {
                venue_id: r.get(0),
                at: r.get(1),
                direction: r.get(2),
                verdict: r.get(3),
                subject: r.get(4),
            })
            .collect();
        // The venue's counts move with its passages, in the same transaction.
        rollup::Tally::of(&stored).apply(&tx).await?;
        // And its visits (`db/visits.rs`).
        visits::refresh(&tx, &stored, generic).await?;
        let accepted = stored.len() as u64;
        tx.commit().await?;
        if refused > 0 {
            // After the commit, and only a counter: failing here must not tell the kiosk that a
            // stored batch was not (on Citus this row is on every node, a worker away fails it).
            if let Err(e) = client
                .execute(
                    "UPDATE kiosks SET rejected = rejected + $2 WHERE id = $1",
                    &[&kiosk_id, &(refused as i64)],
                )
                .await
            {
                tracing::warn!("kiosk {kiosk_id}: {refused} refused passages not counted: {e}");
            }
        }
        Ok(IngestReport {
            accepted,
            duplicates: batch.len() as u64 - accepted,
            ..IngestReport::default()
        })
    }

    /// Passages older than the retention period, sent by kiosk `kiosk_id`: not stored, as if
    /// stored and purged at once. Their logs' purge marks rise as retention's would, so the gap
    /// report does not call them lost.
    pub async fn expire_on_arrival(&self, kiosk_id: &str, expired: &[CheckedPassage]) -> Result<(), ServerError> {
        if expired.is_empty() {
            return Ok(());
        }
        let log_ids: Vec<&str> = expired.iter().map(|p| p.record.log_id.as_str()).collect();
        let seqs: Vec<i64> = expired.iter().map(|p| p.record.seq).collect();
        self.pool
            .get()
            .await?
            .execute(
                &format!(
                    "WITH marks AS (SELECT $1::text AS kiosk_id, log_id, MAX(seq) AS seq
                                    FROM UNNEST($2::text[], $3::int8[]) AS m(log_id, seq) GROUP BY log_id),
                          {RAISE_PURGE_MARKS}
                     SELECT COUNT(*) FROM raised"
                ),
                &[&kiosk_id, &log_ids, &seqs],
            )
            .await?;
        Ok(())
    }
}

impl Db {
    /// What the server knows of a kiosk; gaps and the highest seq are those of the log that sent
    /// last (a reset kiosk's new log starts at 1 and is not compared with the old one).
    pub async fn kiosk_status(&self, kiosk_id: &str) -> Result<Option<KioskStatus>, ServerError> {
        let pool = &self.pool;
        let client = pool.get().await?;
        let Some(k) = client
            .query_opt("SELECT venue_id FROM kiosks WHERE id = $1", &[&kiosk_id])
            .await?
        else {
            return Ok(None);
        };
        let venue_id: String = k.get(0);
        let s = client
            .query_one(
                "SELECT COUNT(*), COUNT(DISTINCT log_id), MAX(received_at),
                        -- reported by the kiosk with its calls: passage times may be back-dated
                        (SELECT clock_skew_seconds FROM kiosks WHERE id = $1),
                        (SELECT log_id FROM passages WHERE venue_id = $2 AND kiosk_id = $1
                         ORDER BY received_at DESC, seq DESC LIMIT 1)
                 FROM passages WHERE venue_id = $2 AND kiosk_id = $1",
                &[&kiosk_id, &venue_id],
            )
            .await?;
        let log_id: String = s.get::<_, Option<String>>(4).unwrap_or_default();
        let newest = client
            .query_opt(
                "SELECT seq, chain_hash FROM passages WHERE venue_id = $3 AND kiosk_id = $1 AND log_id = $2
                 ORDER BY seq DESC LIMIT 1",
                &[&kiosk_id, &log_id, &venue_id],
            )
            .await?;
        let max_seq: i64 = newest.as_ref().map_or(0, |r| r.get(0));
        let head = newest.and_then(|r| r.get::<_, Option<String>>(1).map(|h| (r.get::<_, i64>(0), h)));
        let gaps = client
            .query(
                // Before the first row kept, only sequence numbers above the purge mark are missing.
                "SELECT prev + 1, seq - 1 FROM (
                     SELECT seq, COALESCE(LAG(seq) OVER (ORDER BY seq),
                                          (SELECT purged_through FROM log_purge_marks WHERE kiosk_id = $1 AND log_id = $2),
                                          0) AS prev
                     FROM passages WHERE venue_id = $3 AND kiosk_id = $1 AND log_id = $2
                 ) s WHERE seq - prev > 1 ORDER BY seq",
                &[&kiosk_id, &log_id, &venue_id],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok(Some(KioskStatus {
            kiosk_id: kiosk_id.to_string(),
            venue_id,
            passages: s.get(0),
            max_seq,
            gaps,
            log_id,
            logs: s.get(1),
            head,
            last_received: s.get(2),
            clock_skew_seconds: s.get(3),
        }))
    }
}

impl Db {
    /// The planner's estimate of the passages stored: a catalogue read, not a count, because
    /// `/metrics` answers anyone and a COUNT(*) of a national table costs seconds each time.
    /// `None` before the table was first analysed.
    pub async fn passage_estimate(&self) -> Result<Option<i64>, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_one(
                // Summed over the day partitions (the parent itself holds no rows); -1 is a
                // partition never analysed.
                "SELECT COALESCE(SUM(c.reltuples) FILTER (WHERE c.reltuples >= 0), -1)::int8
                 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'passages'::regclass",
                &[],
            )
            .await?;
        Ok(Some(row.get::<_, i64>(0)).filter(|n| *n >= 0))
    }
}

impl Db {
    /// Deletes every passage from before `cutoff` (privacy: the server keeps no more than the
    /// retention period) and raises each kiosk log's purge mark; audit rows go after a year
    /// (migration 0006 refuses younger ones). Whole days go as partitions (`db/days.rs`); the
    /// cutoff's own day loses its rows before the cutoff. Returns how many passages went.
    pub async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, ServerError> {
        let client = self.pool.get().await?;
        client
            .execute("DELETE FROM audit WHERE at < now() - interval '366 days'", &[])
            .await?;
        // The counts and visitor sets of the days and hours purged go with them: the sets name
        // subjects, and counts kept longer would answer for passages no longer there. (The
        // cutoff's own day and hour keep theirs until the next purge.)
        client
            .batch_execute(&format!(
                "DELETE FROM venue_day_visitors WHERE day < DATE '{day}';
                 DELETE FROM venue_days WHERE day < DATE '{day}';
                 DELETE FROM venue_hours WHERE hour < '{hour}'::timestamptz;",
                day = cutoff.date_naive(),
                hour = rollup::hour_of(cutoff).to_rfc3339(),
            ))
            .await?;
        drop(client);
        let mut purged = 0;
        for day in self.days_before(cutoff.date_naive()).await? {
            purged += self.drop_day(day).await?;
        }
        let client = self.pool.get().await?;
        client.execute("DELETE FROM visits WHERE t_in < $1", &[&cutoff]).await?;
        let row = client
            .query_one(
                &format!(
                    "WITH gone AS (DELETE FROM passages WHERE at < $1 RETURNING kiosk_id, log_id, seq),
                          marks AS (SELECT kiosk_id, log_id, MAX(seq) AS seq FROM gone GROUP BY kiosk_id, log_id),
                          {RAISE_PURGE_MARKS}
                     SELECT COUNT(*) FROM gone"
                ),
                &[&cutoff],
            )
            .await?;
        Ok(purged + row.get::<_, i64>(0) as u64)
    }
}

impl Db {
    /// A round trip to the database (for `/healthz`).
    pub async fn ping(&self) -> Result<(), ServerError> {
        self.pool.get().await?.query_one("SELECT 1", &[]).await?;
        Ok(())
    }
}
