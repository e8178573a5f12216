//! PostgreSQL: every SQL statement of the server, behind one handle ([`Db`]), in domain-named
//! methods grouped by what they touch. Porting to Citus touches this folder only.

mod admin;
mod cases;
mod console;
mod days;
mod passages;
pub mod rollup;
pub mod synth;
mod trace;
mod trust;
pub mod venue;
mod visits;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::error::ServerError;

pub use admin::{AuditEntry, KioskCredential, KioskRow, TracerCredential, TracerRow};
pub use cases::Case;
pub use console::{ConsoleSession, KioskHealth, OperatorRow, Role, VenuePassage};
pub use trace::{CaseVisit, Contact, Hotspot, Peak, Visit};

/// A CTE raising each kiosk log's purge mark to the highest `seq` in a CTE `marks (kiosk_id,
/// log_id, seq)` before it, never lowering it: what retention writes before passages go, so the
/// gap report does not call them lost (row deletes in `passages.rs`, dropped days in `days.rs`).
const RAISE_PURGE_MARKS: &str = "raised AS (INSERT INTO log_purge_marks (kiosk_id, log_id, purged_through)
                        SELECT kiosk_id, log_id, seq FROM marks
                        ON CONFLICT (kiosk_id, log_id) DO UPDATE
                        SET purged_through = GREATEST(log_purge_marks.purged_through, excluded.purged_through)
                        RETURNING 1)";

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_trust.sql"),
    include_str!("../../migrations/0003_passages_at.sql"),
    include_str!("../../migrations/0004_retention.sql"),
    include_str!("../../migrations/0005_log_id.sql"),
    include_str!("../../migrations/0006_audit_append_only.sql"),
    include_str!("../../migrations/0007_credentials.sql"),
    include_str!("../../migrations/0008_cases.sql"),
    include_str!("../../migrations/0009_tracer_expiry.sql"),
    include_str!("../../migrations/0010_signer_certificates.sql"),
    include_str!("../../migrations/0011_issuer_kinds.sql"),
    include_str!("../../migrations/0012_subject_key.sql"),
    include_str!("../../migrations/0013_venue_shares.sql"),
    include_str!("../../migrations/0014_console.sql"),
    include_str!("../../migrations/0015_console_session_token.sql"),
    include_str!("../../migrations/0016_subject_key_once.sql"),
    include_str!("../../migrations/0017_scale_out.sql"),
    include_str!("../../migrations/0018_rollups.sql"),
    include_str!("../../migrations/0019_visits.sql"),
    include_str!("../../migrations/0020_days.sql"),
    include_str!("../../migrations/0021_hour_tops.sql"),
];

/// The server's database: a connection pool. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// The days known to have their partitions (`db/days.rs`).
    days: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<chrono::NaiveDate>>>,
    /// Whether the database is a Citus coordinator, once asked (see [`Db::generic_plans`]).
    citus: std::sync::Arc<std::sync::OnceLock<bool>>,
}

impl Db {
    /// A pool for `database_url` (connections are made on first use).
    pub fn connect(database_url: &str) -> Result<Db, ServerError> {
        Ok(Db {
            pool: pool(database_url)?,
            days: Default::default(),
            citus: Default::default(),
        })
    }

    /// The pool itself, for tests and benchmarks that read tables the way an auditor would.
    #[cfg(feature = "testkit")]
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs the migrations not yet applied.
    pub async fn migrate(&self) -> Result<(), ServerError> {
        migrate(&self.pool).await
    }

    /// Whether the queries over the day partitions may keep one plan per connection
    /// (`trace::GENERIC_PLAN`): on plain PostgreSQL, yes, which saves planning every partition
    /// for every run; Citus plans its distributed queries itself and refuses generic plans for
    /// some of them ("could not create distributed plan").
    async fn generic_plans(&self, client: &tokio_postgres::Client) -> Result<bool, ServerError> {
        if let Some(citus) = self.citus.get() {
            return Ok(!citus);
        }
        let citus: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')",
                &[],
            )
            .await?
            .get(0);
        Ok(!*self.citus.get_or_init(|| citus))
    }
}

fn pool(database_url: &str) -> Result<Pool, ServerError> {
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
async fn migrate(pool: &Pool) -> Result<(), ServerError> {
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
