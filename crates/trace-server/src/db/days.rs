//! The day partitions of `passages` and `visits` (migration 0020; on Citus `visits` is one
//! table, whose rows retention deletes): made ahead of time and on demand for a day ingest
//! lacks, dropped whole by retention.
//!
//! Making or dropping a partition locks the whole table for an instant, behind any tracing query
//! running on it; so each waits at most [`LOCK_WAIT`], and a batch that had to wait longer is
//! answered 503 (nothing stored; the kiosk sends it again) instead of holding every other
//! kiosk's ingest in the lock's queue.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{Db, RAISE_PURGE_MARKS};
use crate::error::ServerError;

/// How long making or dropping a partition waits for the table's lock; and on Citus, one
/// connection per worker: a new partition of `passages` gets its foreign key to the reference
/// table `kiosks`, after which Citus refuses parallel DDL in the same transaction. (A
/// placeholder setting on plain PostgreSQL.)
const LOCK_WAIT: &str = "SET LOCAL lock_timeout = '3s';
    SELECT set_config('citus.multi_shard_modify_mode', 'sequential', true)";

/// The partition of `table` holding `day`: `passages_p20261107`.
fn partition(table: &str, day: NaiveDate) -> String {
    format!("{table}_p{}", day.format("%Y%m%d"))
}

impl Db {
    /// Makes the partitions of each day in `days` that this server has not seen made. Cheap
    /// when they are known: one look at a set in memory.
    pub(super) async fn ensure_days(&self, days: &BTreeSet<NaiveDate>) -> Result<(), ServerError> {
        let missing: Vec<NaiveDate> = {
            let known = self.days.lock().unwrap_or_else(|p| p.into_inner());
            days.difference(&known).copied().collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.batch_execute(LOCK_WAIT).await?;
        // Two servers, or two batches, making the same day: one at a time.
        tx.execute("SELECT pg_advisory_xact_lock(7218)", &[]).await?;
        for day in &missing {
            tx.execute("SELECT ensure_day_partitions($1, $1)", &[day]).await?;
        }
        tx.commit().await?;
        self.days.lock().unwrap_or_else(|p| p.into_inner()).extend(missing);
        Ok(())
    }

    /// Makes the partitions of yesterday through the day after tomorrow (UTC), so that ingest
    /// seldom has to: at start and hourly.
    pub async fn prepare_days(&self, now: DateTime<Utc>) -> Result<(), ServerError> {
        let today = now.date_naive();
        let days = (-1..=2).map(|d| today + Duration::days(d)).collect();
        self.ensure_days(&days).await
    }

    /// Forgets which days have partitions (another server's retention may have dropped some).
    pub(super) fn forget_days(&self) {
        self.days.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The days before `day` that have a partition of passages, oldest first.
    pub(super) async fn days_before(&self, day: NaiveDate) -> Result<Vec<NaiveDate>, ServerError> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'passages'::regclass",
                &[],
            )
            .await?;
        let mut days: Vec<NaiveDate> = rows
            .iter()
            .filter_map(|r| {
                let name: String = r.get(0);
                NaiveDate::parse_from_str(name.strip_prefix("passages_p")?, "%Y%m%d").ok()
            })
            .filter(|d| *d < day)
            .collect();
        days.sort();
        Ok(days)
    }

    /// Drops a whole day of passages and visits, first raising each kiosk log's purge mark past
    /// the day's passages (so the gap report does not call them lost). Returns the passages
    /// dropped.
    pub(super) async fn drop_day(&self, day: NaiveDate) -> Result<u64, ServerError> {
        let (passages, visits) = (partition("passages", day), partition("visits", day));
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.batch_execute(LOCK_WAIT).await?;
        tx.execute("SELECT pg_advisory_xact_lock(7218)", &[]).await?;
        // Names made by `partition` from a date: nothing from outside.
        let row = tx
            .query_one(
                &format!(
                    "WITH marks AS (SELECT kiosk_id, log_id, MAX(seq) AS seq, COUNT(*) AS n FROM {passages} GROUP BY 1, 2),
                          {RAISE_PURGE_MARKS}
                     SELECT COALESCE(SUM(n), 0)::int8 FROM marks"
                ),
                &[],
            )
            .await?;
        tx.batch_execute(&format!("DROP TABLE IF EXISTS {passages}, {visits}"))
            .await?;
        tx.commit().await?;
        self.days.lock().unwrap_or_else(|p| p.into_inner()).remove(&day);
        Ok(row.get::<_, i64>(0) as u64)
    }
}
