//! Synthetic passages at national scale for benchmarks: generated inside PostgreSQL (no
//! round trips), with skewed venue popularity, a daytime peak, real visit lengths and missing
//! exits. Never point it at a production database: every row it writes is fake.

use chrono::{DateTime, Utc};

use super::Db;
use crate::error::ServerError;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Passages in total (entries plus exits; about one visit in twenty has no exit).
    pub passages: u64,
    pub venues: u32,
    pub subjects: u32,
    pub days: u32,
    /// Midnight (UTC) of the first day.
    pub start: DateTime<Utc>,
}

/// Visits generated per statement at most: keeps each statement's memory and WAL bounded.
const CHUNK: u64 = 500_000;

impl Db {
    /// Inserts `spec.passages` passages (and one kiosk per venue, ids `synth-kN` / `synth-vN`).
    /// `progress` is called after each chunk with the passages written so far.
    pub async fn generate_synthetic(&self, spec: Spec, mut progress: impl FnMut(u64)) -> Result<u64, ServerError> {
        let pool = &self.pool;
        let client = pool.get().await?;
        client
            .execute(
                "INSERT INTO kiosks (id, venue_id, token_hash)
                 SELECT 'synth-k' || v, 'synth-v' || v, 'synth-unusable-' || v FROM generate_series(1, $1::int) v
                 ON CONFLICT DO NOTHING",
                &[&(spec.venues as i32)],
            )
            .await?;
        // Each visit writes an entry and, 19 times in 20, an exit: visits ≈ passages / 1.95.
        // Day by day, each day's rows in time order: kiosks sync as they scan, so the table grows
        // in time order (which is what makes a day's range scan cheap in production too).
        let visits = (spec.passages as f64 / 1.95).ceil() as u64;
        let days = u64::from(spec.days.max(1));
        // Every day written, and the next (exits after midnight).
        let partitions = (0..=days as i64)
            .map(|d| (spec.start + chrono::Duration::days(d)).date_naive())
            .collect();
        self.ensure_days(&partitions).await?;
        let mut written = 0u64;
        let mut first = 0u64;
        for day in 0..days {
            let per_day = visits / days + u64::from(day < visits % days);
            let mut left = per_day;
            while left > 0 {
                let n = CHUNK.min(left);
                written += client
                    .execute(
                        // venue: popularity falls off as random()^3 (a few malls, many small shops);
                        // entry: hour of day triangular around 15:00 (08:00–22:00); length: 10
                        // minutes to 3 hours, short visits commoner.
                        "WITH v AS (
                             SELECT i,
                                    1 + floor($3::int * power(random(), 3))::int AS venue,
                                    1 + floor($4::int * random())::int AS subject,
                                    $5::timestamptz + make_interval(secs => 28800 + 50400 * (random() + random()) / 2) AS t_in,
                                    make_interval(secs => 600 + 10200 * power(random(), 2)) AS stay,
                                    random() < 0.05 AS no_exit
                             FROM generate_series($1::int8, $1::int8 + $2::int8 - 1) i
                         )
                         INSERT INTO passages (event_id, kiosk_id, venue_id, seq, gate, direction, subject, kind, issuer,
                                               health, verdict, reason, at, inferred)
                         SELECT gen_random_uuid(), 'synth-k' || venue, 'synth-v' || venue, 2 * i + d.exit::int, 'main',
                                CASE WHEN d.exit THEN 'exit' ELSE 'entry' END, 'sub-' || subject, 'health', 'synth',
                                'green', 'admit', CASE WHEN d.exit THEN 'ok_exit' ELSE 'ok' END,
                                CASE WHEN d.exit THEN t_in + stay ELSE t_in END, false
                         FROM v CROSS JOIN (VALUES (false), (true)) AS d(exit)
                         WHERE NOT (d.exit AND no_exit)
                         ORDER BY 13",
                        &[
                            &(first as i64),
                            &(n as i64),
                            &(spec.venues as i32),
                            &(spec.subjects as i32),
                            &(spec.start + chrono::Duration::days(day as i64)),
                        ],
                    )
                    .await?;
                first += n;
                left -= n;
                progress(written);
            }
        }
        // Written around ingest, so counted afterwards.
        self.rebuild_rollups().await?;
        client.batch_execute("ANALYZE passages, visits").await?;
        Ok(written)
    }
}

impl Db {
    /// Subjects that visited something, for picking query targets (a uniform sample).
    pub async fn some_subjects(&self, n: i64) -> Result<Vec<String>, ServerError> {
        let pool = &self.pool;
        let rows = pool
            .get()
            .await?
            .query(
                // The same sample on every run, so that runs of two builds compare like with like.
                "SELECT subject FROM (SELECT DISTINCT subject FROM passages TABLESAMPLE SYSTEM (1) REPEATABLE (7)
                                      WHERE subject IS NOT NULL) s
                 ORDER BY md5(subject) LIMIT $1",
                &[&n],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
