//! PostgreSQL: pool, migrations, and every SQL statement of the server (domain-named methods).

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde::{Deserialize, Serialize};
use tokio_postgres::NoTls;

use crate::error::ServerError;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_trust.sql"),
    include_str!("../migrations/0003_passages_at.sql"),
    include_str!("../migrations/0004_retention.sql"),
];

pub fn pool(database_url: &str) -> Result<Pool, ServerError> {
    let config: tokio_postgres::Config = database_url
        .parse()
        .map_err(|e: tokio_postgres::Error| ServerError::Config(format!("--database-url: {e}")))?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(16)
        .build()
        .map_err(|e| ServerError::Config(e.to_string()))
}

/// Runs the migrations not yet applied, in one transaction each, under an advisory lock so
/// that two servers starting together do not race.
pub async fn migrate(pool: &Pool) -> Result<(), ServerError> {
    let mut client = pool.get().await?;
    client
        .batch_execute(
            "SELECT pg_advisory_lock(7215); CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL)",
        )
        .await?;
    let row = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .await?;
    let current: i32 = row.get(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&((i + 1) as i32)])
            .await?;
        tx.commit().await?;
    }
    client.batch_execute("SELECT pg_advisory_unlock(7215)").await?;
    Ok(())
}

/// A passage as kiosks send it (the kiosk's `store::Passage` JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PassageIn {
    pub event_id: uuid::Uuid,
    pub seq: i64,
    pub kiosk_id: String,
    pub venue_id: String,
    pub gate: String,
    pub direction: String,
    pub subject: Option<String>,
    pub kind: Option<String>,
    pub issuer: Option<String>,
    pub health: Option<String>,
    pub verdict: String,
    pub reason: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub inferred: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IngestReport {
    pub accepted: u64,
    pub duplicates: u64,
}

pub async fn add_kiosk(pool: &Pool, id: &str, venue: &str, token_hash: &str) -> Result<(), ServerError> {
    pool.get()
        .await?
        .execute(
            "INSERT INTO kiosks (id, venue_id, token_hash) VALUES ($1, $2, $3)",
            &[&id, &venue, &token_hash],
        )
        .await?;
    Ok(())
}

pub async fn add_tracer(pool: &Pool, name: &str, token_hash: &str) -> Result<(), ServerError> {
    pool.get()
        .await?
        .execute(
            "INSERT INTO tracers (name, token_hash) VALUES ($1, $2)",
            &[&name, &token_hash],
        )
        .await?;
    Ok(())
}

/// (kiosk id, venue id) for a kiosk token hash.
pub async fn kiosk_by_token(pool: &Pool, token_hash: &str) -> Result<Option<(String, String)>, ServerError> {
    let row = pool
        .get()
        .await?
        .query_opt("SELECT id, venue_id FROM kiosks WHERE token_hash = $1", &[&token_hash])
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

pub async fn tracer_by_token(pool: &Pool, token_hash: &str) -> Result<Option<String>, ServerError> {
    let row = pool
        .get()
        .await?
        .query_opt("SELECT name FROM tracers WHERE token_hash = $1", &[&token_hash])
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Stores a batch with one statement (the batch's columns as arrays, unnested on the server:
/// one round trip instead of one per passage); an event id seen before is counted, not stored
/// again.
pub async fn record_passages(pool: &Pool, batch: &[PassageIn]) -> Result<IngestReport, ServerError> {
    let column = |f: fn(&PassageIn) -> Option<&str>| batch.iter().map(f).collect::<Vec<_>>();
    let event_ids: Vec<uuid::Uuid> = batch.iter().map(|p| p.event_id).collect();
    let seqs: Vec<i64> = batch.iter().map(|p| p.seq).collect();
    let ats: Vec<DateTime<Utc>> = batch.iter().map(|p| p.at).collect();
    let inferred: Vec<bool> = batch.iter().map(|p| p.inferred).collect();
    let kiosk_ids = column(|p| Some(&p.kiosk_id));
    let venue_ids = column(|p| Some(&p.venue_id));
    let gates = column(|p| Some(&p.gate));
    let directions = column(|p| Some(&p.direction));
    let subjects = column(|p| p.subject.as_deref());
    let kinds = column(|p| p.kind.as_deref());
    let issuers = column(|p| p.issuer.as_deref());
    let healths = column(|p| p.health.as_deref());
    let verdicts = column(|p| Some(&p.verdict));
    let reasons = column(|p| Some(&p.reason));
    // One statement is atomic on its own: the whole batch is stored, or none of it.
    let accepted = pool
        .get()
        .await?
        .execute(
            "INSERT INTO passages (event_id, kiosk_id, venue_id, seq, gate, direction, subject, kind, issuer, health,
                                   verdict, reason, at, inferred)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::text[],
                                  $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[],
                                  $14::bool[])
             ON CONFLICT DO NOTHING",
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
            ],
        )
        .await?;
    Ok(IngestReport {
        accepted,
        duplicates: batch.len() as u64 - accepted,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KioskStatus {
    pub kiosk_id: String,
    pub venue_id: String,
    pub passages: i64,
    pub max_seq: i64,
    /// Sequence ranges never received: lost passages are visible, not silent.
    pub gaps: Vec<(i64, i64)>,
    pub last_received: Option<DateTime<Utc>>,
    /// Kiosk clock minus server clock at the last receipt, in seconds (positive: kiosk ahead).
    pub clock_skew_seconds: Option<f64>,
}

pub async fn kiosk_status(pool: &Pool, kiosk_id: &str) -> Result<Option<KioskStatus>, ServerError> {
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
            "SELECT COUNT(*), COALESCE(MAX(seq), 0), MAX(received_at),
                    (SELECT EXTRACT(EPOCH FROM at - received_at)::float8 FROM passages
                      WHERE kiosk_id = $1 ORDER BY received_at DESC, seq DESC LIMIT 1)
             FROM passages WHERE kiosk_id = $1",
            &[&kiosk_id],
        )
        .await?;
    let gaps = client
        .query(
            // Before the first row kept, only sequence numbers above the purge mark are missing.
            "SELECT prev + 1, seq - 1 FROM (
                 SELECT seq, COALESCE(LAG(seq) OVER (ORDER BY seq),
                                      (SELECT purged_through FROM kiosks WHERE id = $1)) AS prev
                 FROM passages WHERE kiosk_id = $1
             ) s WHERE seq - prev > 1 ORDER BY seq",
            &[&kiosk_id],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok(Some(KioskStatus {
        kiosk_id: kiosk_id.to_string(),
        venue_id,
        passages: s.get(0),
        max_seq: s.get(1),
        gaps,
        last_received: s.get(2),
        clock_skew_seconds: s.get(3),
    }))
}

pub async fn audit(pool: &Pool, tracer: &str, query: &str, params: &serde_json::Value) -> Result<(), ServerError> {
    pool.get()
        .await?
        .execute(
            "INSERT INTO audit (tracer, query, params) VALUES ($1, $2, $3)",
            &[&tracer, &query, params],
        )
        .await?;
    Ok(())
}

pub async fn passage_count(pool: &Pool) -> Result<i64, ServerError> {
    Ok(pool
        .get()
        .await?
        .query_one("SELECT COUNT(*) FROM passages", &[])
        .await?
        .get(0))
}

/// Deletes every passage from before `cutoff` (privacy: the server keeps no more than the
/// retention period) and raises each kiosk's purge mark. Returns how many were deleted.
pub async fn purge_before(pool: &Pool, cutoff: DateTime<Utc>) -> Result<u64, ServerError> {
    let row = pool
        .get()
        .await?
        .query_one(
            "WITH gone AS (DELETE FROM passages WHERE at < $1 RETURNING kiosk_id, seq),
                  marks AS (SELECT kiosk_id, MAX(seq) AS seq FROM gone GROUP BY kiosk_id),
                  raised AS (UPDATE kiosks k SET purged_through = GREATEST(k.purged_through, m.seq)
                             FROM marks m WHERE k.id = m.kiosk_id RETURNING 1)
             SELECT COUNT(*) FROM gone",
            &[&cutoff],
        )
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}
