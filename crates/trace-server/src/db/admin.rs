//! Kiosks, tracers and their tokens (hashes only): adding, listing, revoking, rotating; and
//! reading back the audit trail of tracing queries.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::error::SqlState;

use super::Db;
use crate::error::ServerError;

/// A kiosk's credential as the token check needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct KioskCredential {
    pub id: String,
    pub venue: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
}

/// A tracer's credential as the token check needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct TracerCredential {
    pub name: String,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
}

/// One row of `trace-server kiosk list`.
#[derive(Debug, Clone, Serialize)]
pub struct KioskRow {
    pub id: String,
    pub venue: String,
    pub created_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub clock_skew_seconds: Option<f64>,
}

/// One row of `trace-server tracer list`.
#[derive(Debug, Clone, Serialize)]
pub struct TracerRow {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
}

/// One tracing query as the audit trail recorded it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub tracer: String,
    pub query: String,
    pub params: serde_json::Value,
}

/// A unique-key clash as a sentence; other errors pass through.
fn clash(e: tokio_postgres::Error, what: impl FnOnce() -> String) -> ServerError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        ServerError::Conflict(what())
    } else {
        ServerError::Db(e)
    }
}

impl Db {
    pub async fn add_kiosk(&self, id: &str, venue: &str, token_hash: &str) -> Result<(), ServerError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO kiosks (id, venue_id, token_hash) VALUES ($1, $2, $3)",
                &[&id, &venue, &token_hash],
            )
            .await
            .map_err(|e| {
                clash(e, || {
                    format!(
                        "a kiosk named {id:?} already exists: `trace-server kiosk rotate {id} --url URL` gives it a new \
                         token, or choose another --name (`trace-server kiosk list` shows them all)"
                    )
                })
            })?;
        Ok(())
    }

    pub async fn add_tracer(
        &self,
        name: &str,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), ServerError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO tracers (name, token_hash, expires_at) VALUES ($1, $2, $3)",
                &[&name, &token_hash, &expires_at],
            )
            .await
            .map_err(|e| {
                clash(e, || {
                    format!(
                        "a tracer named {name:?} already exists: `trace-server tracer rotate {name}` gives them a \
                         new token, or choose another name"
                    )
                })
            })?;
        Ok(())
    }

    /// The kiosk a token hash belongs to, revoked or not (the caller says which it is).
    pub async fn kiosk_by_token(&self, token_hash: &str) -> Result<Option<KioskCredential>, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "SELECT id, venue_id, revoked_at, last_seen FROM kiosks WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?;
        Ok(row.map(|r| KioskCredential {
            id: r.get(0),
            venue: r.get(1),
            revoked_at: r.get(2),
            last_seen: r.get(3),
        }))
    }

    pub async fn tracer_by_token(&self, token_hash: &str) -> Result<Option<TracerCredential>, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "SELECT name, revoked_at, expires_at, last_seen FROM tracers WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?;
        Ok(row.map(|r| TracerCredential {
            name: r.get(0),
            revoked_at: r.get(1),
            expires_at: r.get(2),
            last_seen: r.get(3),
        }))
    }

    /// Notes that kiosk `id` called, and the clock difference it reported (kiosk minus server).
    pub async fn kiosk_seen(&self, id: &str, clock_skew_seconds: Option<f64>) -> Result<(), ServerError> {
        self.pool
            .get()
            .await?
            .execute(
                "UPDATE kiosks SET last_seen = now(), clock_skew_seconds = COALESCE($2, clock_skew_seconds)
                 WHERE id = $1",
                &[&id, &clock_skew_seconds],
            )
            .await?;
        Ok(())
    }

    pub async fn tracer_seen(&self, name: &str) -> Result<(), ServerError> {
        self.pool
            .get()
            .await?
            .execute("UPDATE tracers SET last_seen = now() WHERE name = $1", &[&name])
            .await?;
        Ok(())
    }

    pub async fn kiosks(&self) -> Result<Vec<KioskRow>, ServerError> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "SELECT id, venue_id, created_at, rotated_at, revoked_at, last_seen, clock_skew_seconds
                 FROM kiosks ORDER BY venue_id, id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| KioskRow {
                id: r.get(0),
                venue: r.get(1),
                created_at: r.get(2),
                rotated_at: r.get(3),
                revoked_at: r.get(4),
                last_seen: r.get(5),
                clock_skew_seconds: r.get(6),
            })
            .collect())
    }

    pub async fn tracers(&self) -> Result<Vec<TracerRow>, ServerError> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "SELECT name, created_at, rotated_at, revoked_at, expires_at, last_seen FROM tracers ORDER BY name",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| TracerRow {
                name: r.get(0),
                created_at: r.get(1),
                rotated_at: r.get(2),
                revoked_at: r.get(3),
                expires_at: r.get(4),
                last_seen: r.get(5),
            })
            .collect())
    }

    /// Stops kiosk `id`'s token from working; its passages stay. `false`: no such kiosk.
    pub async fn revoke_kiosk(&self, id: &str) -> Result<bool, ServerError> {
        let n = self
            .pool
            .get()
            .await?
            .execute(
                // The time as a parameter: Citus refuses now() inside COALESCE on its tables.
                "UPDATE kiosks SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                &[&id, &Utc::now()],
            )
            .await?;
        Ok(n == 1)
    }

    /// Whether kiosk `id`'s token may receive the DCC subject key now: the first time, and
    /// again within ten minutes of it (a pairing retried after a mistake), never later. Each
    /// time it is given is audited under `kiosk:ID`, in the same statement.
    pub async fn give_subject_key(&self, id: &str) -> Result<bool, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "WITH given AS (
                     UPDATE kiosks SET subject_key_given_at = COALESCE(subject_key_given_at, $2::timestamptz)
                     WHERE id = $1
                       AND (subject_key_given_at IS NULL OR subject_key_given_at > $2::timestamptz - interval '10 minutes')
                     RETURNING id, subject_key_given_at)
                 INSERT INTO audit (tracer, query, params)
                 SELECT 'kiosk:' || id, 'subject_key_given', jsonb_build_object('first_given_at', subject_key_given_at)
                 FROM given
                 RETURNING 1",
                &[&id, &Utc::now()],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Gives kiosk `id` a new token (the old one stops working now; a revoked kiosk works
    /// again). `None`: no such kiosk; otherwise its venue.
    pub async fn rotate_kiosk(&self, id: &str, token_hash: &str) -> Result<Option<String>, ServerError> {
        let row = self
            .pool
            .get()
            .await?
            .query_opt(
                "UPDATE kiosks SET token_hash = $2, rotated_at = now(), revoked_at = NULL, subject_key_given_at = NULL
                 WHERE id = $1
                 RETURNING venue_id",
                &[&id, &token_hash],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn revoke_tracer(&self, name: &str) -> Result<bool, ServerError> {
        let n = self
            .pool
            .get()
            .await?
            .execute(
                "UPDATE tracers SET revoked_at = COALESCE(revoked_at, now()) WHERE name = $1",
                &[&name],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn rotate_tracer(
        &self,
        name: &str,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, ServerError> {
        let n = self
            .pool
            .get()
            .await?
            .execute(
                "UPDATE tracers SET token_hash = $2, expires_at = $3, rotated_at = now(), revoked_at = NULL
                 WHERE name = $1",
                &[&name, &token_hash, &expires_at],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn audit(&self, tracer: &str, query: &str, params: &serde_json::Value) -> Result<(), ServerError> {
        self.pool
            .get()
            .await?
            .execute(
                "INSERT INTO audit (tracer, query, params) VALUES ($1, $2, $3)",
                &[&tracer, &query, params],
            )
            .await?;
        Ok(())
    }

    /// The audit trail since `since`, oldest first, of one tracer or all; at most `limit` rows.
    pub async fn audit_trail(
        &self,
        since: DateTime<Utc>,
        tracer: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, ServerError> {
        let rows = self
            .pool
            .get()
            .await?
            .query(
                "SELECT at, tracer, query, params FROM audit
                 WHERE at >= $1 AND ($2::text IS NULL OR tracer = $2) ORDER BY at, id LIMIT $3",
                &[&since, &tracer, &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                at: r.get(0),
                tracer: r.get(1),
                query: r.get(2),
                params: r.get(3),
            })
            .collect())
    }
}
